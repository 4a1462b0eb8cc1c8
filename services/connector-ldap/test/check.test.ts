// The connection test of the LDAP connector against a real slapd (LDAPS, StartTLS, plain) and a
// real Samba AD domain controller: every step reported with the code a run would fail with and a
// message naming the host, DN or group; nothing after a failed step is tried; the password never
// appears in an answer.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AdminRole,
  CheckName,
  CheckStatus,
  errorCodeName,
  type ConnectionCheck,
} from '@dirsync/proto';
import type { LdapSettings } from '@dirsync/kit';
import type { ConnectorHarness, HarnessConfig } from '@dirsync/kit/conformance';
import { freePort, startSambaAd, startSlapd, type SambaAd, type Slapd } from '@dirsync/testkit';
import { makeCa, makeServerCert } from './certs.js';
import { GROUPS, PEOPLE, directoryConfig, group, ldapHarness, ldif, person } from './helpers.js';

const STAFF = `cn=staff,${GROUPS}`;
const ADMINS = `cn=admins,${GROUPS}`;
const MISSING = `cn=nobody-here,${GROUPS}`;
const DATA = ldif(
  person({ uid: 'alice' }),
  person({ uid: 'bob' }),
  group('staff', [`uid=alice,${PEOPLE}`, `uid=bob,${PEOPLE}`]),
  group('admins', [`uid=alice,${PEOPLE}`]),
);
const WRONG_PASSWORD = 'Wrong-Bind-Password-913';

/** `NAME:STATUS[:CODE]` per check, in order, for compact expectations. */
const summary = (checks: ConnectionCheck[]) =>
  checks.map(
    (c) =>
      `${CheckName[c.name]}:${CheckStatus[c.status]}${c.status === CheckStatus.FAILED ? `:${errorCodeName(c.code)}` : ''}`,
  );
const find = (checks: ConnectionCheck[], name: CheckName, target?: string) => {
  const c = checks.find((x) => x.name === name && (target === undefined || x.target === target));
  if (!c) throw new Error(`no ${CheckName[name]} check in ${summary(checks).join(', ')}`);
  return c;
};

let h: ConnectorHarness;
async function test(config: HarnessConfig, timeoutMs?: number): Promise<ConnectionCheck[]> {
  const reply = await h.testConnection(config, { directoryId: 'dir-check', timeoutMs });
  if (reply.outcome.case !== 'result') throw new Error(`no result: ${JSON.stringify(reply)}`);
  const checks = reply.outcome.value.checks;
  for (const c of checks) {
    expect(c.message).not.toContain(WRONG_PASSWORD);
    expect(c.message.length).toBeGreaterThan(0);
  }
  return checks;
}

beforeAll(async () => {
  h = await ldapHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('connection test: OpenLDAP', () => {
  let dir: string;
  let slapd: Slapd;
  let caPem: string;
  let otherCaPem: string;
  const config = (settings: Partial<LdapSettings> = {}, extra: Partial<HarnessConfig> = {}) =>
    directoryConfig(slapd, [STAFF], { ...extra, settings: { timeoutMs: 5_000, ...settings } });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dirsync-check-'));
    makeCa(dir, 'good');
    makeCa(dir, 'other');
    makeServerCert(dir, 'good', 'server', 'IP:127.0.0.1,DNS:localhost');
    caPem = readFileSync(join(dir, 'good-ca.pem'), 'utf8');
    otherCaPem = readFileSync(join(dir, 'other-ca.pem'), 'utf8');
    slapd = await startSlapd({
      name: 'check',
      ldif: DATA,
      tls: {
        certFile: join(dir, 'server.pem'),
        keyFile: join(dir, 'server.key'),
        caFile: join(dir, 'good-ca.pem'),
      },
    });
  });
  afterAll(async () => {
    await slapd?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('all good over LDAPS: every step passes and says what it found', async () => {
    const checks = await test(
      config(
        { url: slapd.ldapsUrl, tlsCaPem: caPem },
        { adminRoleGroups: [{ role: AdminRole.OWNER, groups: [ADMINS] }] },
      ),
    );
    expect(summary(checks)).toEqual([
      'SETTINGS:OK',
      'REACH:OK',
      'TLS:OK',
      'BIND:OK',
      'BASE_DN:OK',
      'USER_BASE_DN:OK',
      'GROUP_BASE_DN:OK',
      'GROUP:OK',
      'ADMIN_GROUP:OK',
      'SEARCH:OK',
    ]);
    const server = slapd.ldapsUrl!.replace('ldaps://', '');
    expect(find(checks, CheckName.REACH).target).toBe(server);
    expect(find(checks, CheckName.TLS).message).toMatch(
      /certificate .* was verified against tlsCaPem/,
    );
    expect(find(checks, CheckName.BIND).message).toBe(`bound as "${slapd.rootDn}" on ${server}`);
    expect(find(checks, CheckName.GROUP, STAFF).message).toBe(
      `found the group "staff" on ${server}`,
    );
    expect(find(checks, CheckName.SEARCH).message).toMatch(/^read 2 users under "ou=people,/);
  });

  it('all good over StartTLS', async () => {
    const checks = await test(config({ startTls: true, tlsCaPem: caPem }));
    expect(find(checks, CheckName.TLS).status).toBe(CheckStatus.OK);
    expect(find(checks, CheckName.TLS).message).toMatch(/^StartTLS negotiated/);
    expect(find(checks, CheckName.SEARCH).status).toBe(CheckStatus.OK);
  });

  it('plain ldap:// says the connection is not encrypted (TLS skipped)', async () => {
    const checks = await test(config());
    const t = find(checks, CheckName.TLS);
    expect(t.status).toBe(CheckStatus.SKIPPED);
    expect(t.message).toMatch(/not encrypted/);
    expect(checks.filter((c) => c.status === CheckStatus.FAILED)).toEqual([]);
  });

  it('wrong password: BIND fails with INVALID_CREDENTIALS naming the bind DN; the rest is skipped', async () => {
    const checks = await test(config({}, { secrets: { bindPassword: WRONG_PASSWORD } }));
    expect(summary(checks)).toEqual([
      'SETTINGS:OK',
      'REACH:OK',
      'TLS:SKIPPED',
      'BIND:FAILED:INVALID_CREDENTIALS',
      'BASE_DN:SKIPPED',
      'USER_BASE_DN:SKIPPED',
      'GROUP_BASE_DN:SKIPPED',
      'GROUP:SKIPPED',
      'SEARCH:SKIPPED',
    ]);
    const bind = find(checks, CheckName.BIND);
    expect(bind.message).toContain(slapd.rootDn);
    expect(bind.message).toContain(slapd.url.replace('ldap://', ''));
    expect(find(checks, CheckName.BASE_DN).message).toMatch(/needs a successful bind/);
  });

  it('missing base DN: BASE_DN fails with BASE_DN_NOT_FOUND naming it', async () => {
    const base = 'dc=missing,dc=example';
    const checks = await test(config({ baseDn: base, userBaseDn: `ou=people,${base}` }));
    const b = find(checks, CheckName.BASE_DN);
    expect(errorCodeName(b.code)).toBe('BASE_DN_NOT_FOUND');
    expect(b.message).toContain(`"${base}"`);
    expect(errorCodeName(find(checks, CheckName.USER_BASE_DN).code)).toBe('BASE_DN_NOT_FOUND');
    // no users base: no sample search
    expect(find(checks, CheckName.SEARCH).status).toBe(CheckStatus.SKIPPED);
    expect(find(checks, CheckName.GROUP_BASE_DN).status).toBe(CheckStatus.OK);
  });

  it('missing group: GROUP fails with GROUP_NOT_FOUND naming it; the others pass', async () => {
    const person = `uid=alice,${PEOPLE}`;
    const checks = await test({
      ...config(),
      selectedGroups: [STAFF, MISSING, person],
    });
    expect(find(checks, CheckName.GROUP, STAFF).status).toBe(CheckStatus.OK);
    const missing = find(checks, CheckName.GROUP, MISSING);
    expect(errorCodeName(missing.code)).toBe('GROUP_NOT_FOUND');
    expect(missing.message).toBe(
      `selected group "${MISSING}" does not exist on ${slapd.url.replace('ldap://', '')}`,
    );
    const notGroup = find(checks, CheckName.GROUP, person);
    expect(errorCodeName(notGroup.code)).toBe('GROUP_NOT_FOUND');
    expect(notGroup.message).toMatch(/exists .* but is not a group/);
    expect(find(checks, CheckName.SEARCH).status).toBe(CheckStatus.OK);
  });

  it('a group outside groupBaseDn is not found where a sync looks', async () => {
    const checks = await test(config({ groupBaseDn: PEOPLE }));
    const g = find(checks, CheckName.GROUP, STAFF);
    expect(errorCodeName(g.code)).toBe('GROUP_NOT_FOUND');
    expect(g.message).toContain(`is not under groupBaseDn "${PEOPLE}"`);
  });

  it('bad TLS CA over LDAPS: TLS fails with TLS_ERROR, nothing is sent to the server', async () => {
    const checks = await test(config({ url: slapd.ldapsUrl, tlsCaPem: otherCaPem }));
    expect(summary(checks).slice(1, 4)).toEqual([
      'REACH:OK',
      'TLS:FAILED:TLS_ERROR',
      'BIND:SKIPPED',
    ]);
    expect(find(checks, CheckName.TLS).message).toMatch(/could not be verified .*tlsCaPem/);
  });

  it('bad TLS CA with StartTLS: TLS fails with TLS_ERROR, BIND is skipped', async () => {
    const checks = await test(config({ startTls: true, tlsCaPem: otherCaPem }));
    expect(summary(checks).slice(1, 4)).toEqual([
      'REACH:OK',
      'TLS:FAILED:TLS_ERROR',
      'BIND:SKIPPED',
    ]);
  });

  it('a certificate not verified on purpose is reported as such', async () => {
    const checks = await test(
      config({ url: slapd.ldapsUrl, tlsCaPem: otherCaPem, tlsRejectUnauthorized: false }),
    );
    const t = find(checks, CheckName.TLS);
    expect(t.status).toBe(CheckStatus.OK);
    expect(t.message).toMatch(/NOT verified/);
  });

  it('nothing listens: REACH fails with SOURCE_UNREACHABLE naming host:port', async () => {
    const port = await freePort();
    const checks = await test(config({ url: `ldap://127.0.0.1:${port}` }));
    const r = find(checks, CheckName.REACH);
    expect(errorCodeName(r.code)).toBe('SOURCE_UNREACHABLE');
    expect(r.message).toBe(`cannot connect to 127.0.0.1:${port}: the connection was refused`);
    expect(find(checks, CheckName.BIND).status).toBe(CheckStatus.SKIPPED);
  });

  it('invalid settings fail SETTINGS before anything is contacted', async () => {
    const checks = await test(config({ url: 'http://nope' }));
    expect(summary(checks)).toEqual(['SETTINGS:FAILED:CONFIG_INVALID']);
    expect(checks[0]?.message).toMatch(/url/);
  });

  it('a user filter that matches nobody fails SEARCH', async () => {
    const checks = await test(config({ userFilter: '(uid=nobody-at-all)' }));
    const s = find(checks, CheckName.SEARCH);
    expect(errorCodeName(s.code)).toBe('CONFIG_INVALID');
    expect(s.message).toContain('(uid=nobody-at-all)');
  });
});

describe('connection test: Active Directory (Samba AD)', () => {
  const BASE = 'DC=example,DC=test';
  const OU_PEOPLE = `OU=People,${BASE}`;
  const OU_GROUPS = `OU=Groups,${BASE}`;
  const TEAM = `CN=Team,${OU_GROUPS}`;
  let ad: SambaAd;
  const adConfig = (settings: Partial<LdapSettings> = {}, extra: Partial<HarnessConfig> = {}) => ({
    defaultRegion: 'US',
    mapping: {},
    secrets: { bindPassword: ad.adminPassword },
    selectedGroups: [TEAM],
    ...extra,
    settings: {
      url: ad.ldapsUrl,
      tlsCaPem: ad.caPem,
      profile: 'activedirectory',
      bindDn: ad.adminDn,
      baseDn: BASE,
      userBaseDn: OU_PEOPLE,
      groupBaseDn: OU_GROUPS,
      timeoutMs: 10_000,
      ...settings,
    },
  });

  beforeAll(async () => {
    const fixture = [
      `dn: ${OU_PEOPLE}\nchangetype: add\nobjectClass: organizationalUnit\n`,
      `dn: ${OU_GROUPS}\nchangetype: add\nobjectClass: organizationalUnit\n`,
      `dn: CN=Ann Example,${OU_PEOPLE}\nchangetype: add\nobjectClass: user\nsAMAccountName: ann\nuserAccountControl: 544\n`,
      `dn: ${TEAM}\nchangetype: add\nobjectClass: group\nmember: CN=Ann Example,${OU_PEOPLE}\n`,
    ].join('\n');
    ad = await startSambaAd({ name: 'ad-check', fixture });
  }, 300_000);
  afterAll(async () => {
    await ad?.dispose();
  });

  it('all good over LDAPS with the domain CA', async () => {
    const checks = await test(adConfig());
    expect(checks.filter((c) => c.status !== CheckStatus.OK).map((c) => CheckName[c.name])).toEqual(
      [],
    );
    expect(find(checks, CheckName.GROUP, TEAM).message).toMatch(/found the group "Team"/);
    expect(find(checks, CheckName.SEARCH).message).toMatch(/^read 1 user under "OU=People/);
  });

  it('wrong password → BIND INVALID_CREDENTIALS', async () => {
    const checks = await test(adConfig({}, { secrets: { bindPassword: WRONG_PASSWORD } }));
    const b = find(checks, CheckName.BIND);
    expect(errorCodeName(b.code)).toBe('INVALID_CREDENTIALS');
    expect(b.message).toContain(ad.adminDn);
    expect(find(checks, CheckName.GROUP).status).toBe(CheckStatus.SKIPPED);
  });

  it('missing user base DN and group → BASE_DN_NOT_FOUND and GROUP_NOT_FOUND', async () => {
    const gone = `CN=Gone,${OU_GROUPS}`;
    const checks = await test(
      adConfig({ userBaseDn: `OU=Nowhere,${BASE}` }, { selectedGroups: [TEAM, gone] }),
    );
    expect(errorCodeName(find(checks, CheckName.USER_BASE_DN).code)).toBe('BASE_DN_NOT_FOUND');
    expect(find(checks, CheckName.GROUP, TEAM).status).toBe(CheckStatus.OK);
    const g = find(checks, CheckName.GROUP, gone);
    expect(errorCodeName(g.code)).toBe('GROUP_NOT_FOUND');
    expect(g.message).toContain(gone);
  });

  it('LDAPS without the domain CA → TLS_ERROR', async () => {
    const checks = await test(adConfig({ tlsCaPem: undefined }));
    expect(errorCodeName(find(checks, CheckName.TLS).code)).toBe('TLS_ERROR');
    expect(find(checks, CheckName.BIND).status).toBe(CheckStatus.SKIPPED);
  });
});
