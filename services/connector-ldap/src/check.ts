import net from 'node:net';
import tls from 'node:tls';
import { CheckName, ErrorCode, AdminRole } from '@dirsync/proto';
import { DirsyncError, type CheckContext, type LdapSettings } from '@dirsync/kit';
import { plan, type Plan } from './connector.js';
import { isWithin, tryNormalizeDn } from '@dirsync/kit/ldap';
import { translateLdapError } from './errors.js';
import { EntryAttributes } from './mapping.js';
import { LdapSession, ldapServer, ldapTlsOptions } from './session.js';

/** Users the sample search reads. */
const SAMPLE_SIZE = 5;
/** The longest the TCP and TLS probes wait (the directory's timeoutMs when shorter). */
const PROBE_TIMEOUT_MS = 10_000;

/**
 * The connection test of an LDAP directory (OpenLDAP and Active Directory): REACH (TCP), TLS
 * (ldaps:// handshake with the certificate checked as a run checks it, or StartTLS), BIND,
 * BASE_DN, USER_BASE_DN and GROUP_BASE_DN (when set), GROUP for each selected group (it exists,
 * is a group, and lies under groupBaseDn where a run looks for it), ADMIN_GROUP for each admin
 * role group, and SEARCH (one page of 5 users under userBaseDn with the user filter). Errors are
 * the ones a run would fail with, from the same translation (errors.ts).
 */
export async function checkLdap(
  ctx: CheckContext<LdapSettings>,
  opts: { pageSize?: number } = {},
): Promise<void> {
  // What the kit's SETTINGS check cannot see (DNs, filter, mapping for the profile) fails it
  // here, as a second SETTINGS check; valid settings add nothing.
  let p: Plan;
  try {
    p = plan(ctx);
  } catch (err) {
    await ctx.check(CheckName.SETTINGS, '', () => Promise.reject(err));
    return;
  }
  const s = ctx.settings;
  const { host, port, secure } = ldapServer(s.url);
  const server = `${host}:${port}`;
  const probeMs = Math.min(PROBE_TIMEOUT_MS, s.timeoutMs);
  const dependents = (why: string) => {
    const rest: [CheckName, string][] = [
      [CheckName.BASE_DN, p.baseDn],
      ...(s.userBaseDn ? [[CheckName.USER_BASE_DN, p.userBaseDn] as [CheckName, string]] : []),
      ...(s.groupBaseDn ? [[CheckName.GROUP_BASE_DN, p.groupBaseDn] as [CheckName, string]] : []),
      ...[...p.selected.values()].map((dn) => [CheckName.GROUP, dn] as [CheckName, string]),
      ...[...p.roleGroups.values()].map(
        (g) => [CheckName.ADMIN_GROUP, g.dn] as [CheckName, string],
      ),
      [CheckName.SEARCH, p.userBaseDn],
    ];
    for (const [name, target] of rest) ctx.skip(name, target, why);
  };

  const reached = await ctx.check(CheckName.REACH, server, async () => {
    await tcpProbe(host, port, probeMs, ctx.signal, server);
    return `${server} accepts connections`;
  });
  if (!reached) {
    ctx.skip(CheckName.TLS, server, `needs ${server} to accept connections`);
    ctx.skip(CheckName.BIND, s.bindDn, `needs ${server} to accept connections`);
    dependents(`needs ${server} to accept connections`);
    return;
  }

  let session: LdapSession | undefined;
  const open = (onStartTls?: () => void) =>
    LdapSession.open({
      settings: s,
      password: ctx.secrets.bindPassword ?? '',
      pageSize: Math.min(opts.pageSize ?? s.pageSize, p.profile.maxPageSize ?? Infinity),
      binaryAttributes: p.profile.binaryAttributes,
      signal: ctx.signal,
      logger: ctx.logger,
      onStartTls,
    });
  const boundMessage = () => `bound as "${s.bindDn}" on ${server}`;
  let bound = false;
  if (secure) {
    const tlsOk = await ctx.check(CheckName.TLS, server, () =>
      tlsProbe(s, host, port, probeMs, ctx.signal, server),
    );
    if (!tlsOk) ctx.skip(CheckName.BIND, s.bindDn, `needs a TLS connection to ${server}`);
    else {
      bound = await ctx.check(CheckName.BIND, s.bindDn, async () => {
        session = await open();
        return boundMessage();
      });
    }
  } else if (s.startTls) {
    // StartTLS happens inside the session's open: TLS passed once it reports so; a failure
    // before that is the TLS step's, after it the bind's.
    let negotiated = false;
    let failure: unknown;
    const tlsOk = await ctx.check(CheckName.TLS, server, async () => {
      try {
        session = await open(() => (negotiated = true));
      } catch (err) {
        failure = err;
        if (!negotiated) throw err;
      }
      return s.tlsRejectUnauthorized
        ? `StartTLS negotiated with ${server}; its certificate was verified${s.tlsCaPem ? ' against tlsCaPem' : ''}`
        : `StartTLS negotiated with ${server}, but its certificate was NOT verified (tlsRejectUnauthorized is off)`;
    });
    if (!tlsOk) ctx.skip(CheckName.BIND, s.bindDn, `needs StartTLS with ${server}`);
    else {
      bound = await ctx.check(CheckName.BIND, s.bindDn, async () => {
        if (failure !== undefined) throw failure;
        return boundMessage();
      });
    }
  } else {
    ctx.skip(
      CheckName.TLS,
      server,
      `${s.url} without StartTLS: the connection is not encrypted and the bind password travels in clear`,
    );
    bound = await ctx.check(CheckName.BIND, s.bindDn, async () => {
      session = await open();
      return boundMessage();
    });
  }
  if (!bound || !session) {
    dependents(`needs a successful bind as "${s.bindDn}"`);
    await session?.close();
    return;
  }

  const sess = session;
  const pl = p;
  try {
    const exists = async (label: string, dn: string) => {
      if (!(await sess.exists(dn, label))) {
        throw new DirsyncError(
          ErrorCode.BASE_DN_NOT_FOUND,
          `${label} "${dn}" does not exist on ${server}`,
        );
      }
      return `"${dn}" exists on ${server}`;
    };
    await ctx.check(CheckName.BASE_DN, pl.baseDn, () => exists('baseDn', pl.baseDn));
    let usersOk = true;
    if (s.userBaseDn) {
      usersOk = await ctx.check(CheckName.USER_BASE_DN, pl.userBaseDn, () =>
        exists('userBaseDn', pl.userBaseDn),
      );
    }
    if (s.groupBaseDn) {
      await ctx.check(CheckName.GROUP_BASE_DN, pl.groupBaseDn, () =>
        exists('groupBaseDn', pl.groupBaseDn),
      );
    }
    const groupBase = tryNormalizeDn(pl.groupBaseDn, pl.dnOptions) ?? '';
    const group = async (dn: string, label: string) => {
      const entry = await sess.entry(
        dn,
        pl.profile.groupObjectFilter,
        [pl.profile.groupNameAttribute],
        `the ${label} "${dn}"`,
      );
      if (!entry) {
        const there = await sess.exists(dn, `the ${label} "${dn}"`);
        throw new DirsyncError(
          ErrorCode.GROUP_NOT_FOUND,
          there
            ? `${label} "${dn}" exists on ${server} but is not a group (it does not match ${pl.profile.groupObjectFilter})`
            : `${label} "${dn}" does not exist on ${server}`,
        );
      }
      const key = tryNormalizeDn(dn, pl.dnOptions) ?? '';
      if (!isWithin(key, groupBase)) {
        throw new DirsyncError(
          ErrorCode.GROUP_NOT_FOUND,
          `${label} "${dn}" is not under groupBaseDn "${pl.groupBaseDn}", where a sync looks for groups`,
        );
      }
      const name = new EntryAttributes(entry).first(pl.profile.groupNameAttribute);
      return `found the group${name ? ` "${name}"` : ''} on ${server}`;
    };
    for (const dn of pl.selected.values()) {
      await ctx.check(CheckName.GROUP, dn, () => group(dn, 'selected group'));
    }
    for (const { dn, role } of pl.roleGroups.values()) {
      await ctx.check(CheckName.ADMIN_GROUP, dn, () => group(dn, `${AdminRole[role]} role group`));
    }
    if (!usersOk) {
      ctx.skip(CheckName.SEARCH, pl.userBaseDn, `needs userBaseDn "${pl.userBaseDn}" to exist`);
      return;
    }
    await ctx.check(CheckName.SEARCH, pl.userBaseDn, async () => {
      const username = pl.mapping.username;
      const entries = await sess.sample(
        pl.userBaseDn,
        {
          filter: pl.userFilter,
          attributes: [username],
          what: `users under "${pl.userBaseDn}"`,
        },
        SAMPLE_SIZE,
      );
      if (entries.length === 0) {
        throw new DirsyncError(
          ErrorCode.CONFIG_INVALID,
          `no entry under "${pl.userBaseDn}" on ${server} matches the user filter ${pl.userFilter}; check userBaseDn and userFilter`,
        );
      }
      const without = entries.filter(
        (e) => new EntryAttributes(e).first(username) === undefined,
      ).length;
      const first = entries[0]!;
      return (
        `read ${entries.length} user${entries.length === 1 ? '' : 's'} under "${pl.userBaseDn}" matching ${pl.userFilter} (first: "${first.dn}")` +
        (without > 0 ? `; ${without} of them have no ${username} and would not be imported` : '')
      );
    });
  } finally {
    await sess.close();
  }
}

/** A TCP connection to host:port, closed at once; failures translated as a run's connect. */
function tcpProbe(
  host: string,
  port: number,
  timeoutMs: number,
  signal: AbortSignal,
  server: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, timeout: timeoutMs, signal });
    const fail = (err: unknown) => {
      socket.destroy();
      reject(translateLdapError(err, { phase: 'connect', server }));
    };
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('timeout', () =>
      fail(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })),
    );
    socket.once('error', fail);
  });
}

/**
 * The TLS handshake of an ldaps:// connection with the options a run uses; resolves with what
 * was verified (the certificate's subject, issuer and expiry).
 */
function tlsProbe(
  s: LdapSettings,
  host: string,
  port: number,
  timeoutMs: number,
  signal: AbortSignal,
  server: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ ...ldapTlsOptions(s, host), port, timeout: timeoutMs });
    const onAbort = () => socket.destroy(new Error('the connection test was stopped'));
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('close', () => signal.removeEventListener('abort', onAbort));
    const fail = (err: unknown) => {
      socket.destroy();
      reject(translateLdapError(err, { phase: 'connect', server }));
    };
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      const authorized = socket.authorized;
      const why = socket.authorizationError;
      socket.destroy();
      const subject = cert?.subject?.CN ?? '';
      const issuer = cert?.issuer?.CN ?? '';
      const about =
        `${subject ? ` for "${subject}"` : ''}${issuer ? `, issued by "${issuer}"` : ''}` +
        `${cert?.valid_to ? `, valid until ${cert.valid_to}` : ''}`;
      resolve(
        authorized
          ? `the certificate of ${server}${about} was verified${s.tlsCaPem ? ' against tlsCaPem' : ''}`
          : `TLS with ${server}, but its certificate${about} was NOT verified (${String(why)}; tlsRejectUnauthorized is off)`,
      );
    });
    socket.once('timeout', () =>
      fail(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })),
    );
    socket.once('error', fail);
  });
}
