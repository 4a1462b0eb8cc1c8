import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, type Entry } from 'ldapts';
import { findBinary, run } from './exec.js';
import { escapeDnValue, normalizeDn, parseDn, splitLdifRecords } from './ldif.js';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

/** Options of {@link startSlapd}. */
export interface StartSlapdOptions {
  /**
   * LDIF content records to load with `slapadd -q` before the server starts (several texts are
   * concatenated in order). Overlays do not run during slapadd: the LDIF must carry its own
   * `memberOf` values. The base entries (suffix, `ou=people`, `ou=groups`) are added unless the
   * LDIF has them.
   */
  ldif?: string | string[];
  /** Naming context, default `dc=example,dc=org`. Its first RDN must be dc=, o= or ou=. */
  suffix?: string;
  /** A label for the temp dir and error messages (default `slapd`). */
  name?: string;
  /** A fixed port; default a free loopback port. */
  port?: number;
  /** The rootdn's password, default `admin-secret`. */
  rootPassword?: string;
  /**
   * Serve TLS: StartTLS on the ldap:// port, and LDAPS on a second free port (`ldapsUrl`).
   * Paths of PEM files (the caller makes the certificates, e.g. with openssl).
   */
  tls?: { certFile: string; keyFile: string; caFile?: string };
}

/** A private OpenLDAP server, see {@link startSlapd}. */
export interface Slapd {
  /** `ldap://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  /** `ldaps://127.0.0.1:PORT2` when started with `tls`. */
  readonly ldapsUrl: string | undefined;
  /** e.g. `dc=example,dc=org` */
  readonly suffix: string;
  /** `cn=admin,<suffix>`: the rootdn, which may do anything (no entry exists for it). */
  readonly rootDn: string;
  readonly rootPassword: string;
  /** `ou=people,<suffix>` and `ou=groups,<suffix>` */
  readonly peopleDn: string;
  readonly groupsDn: string;
  /** The temp folder holding slapd.conf, data/ and the loaded LDIF. */
  readonly dir: string;
  /** Whether the slapd process is running. */
  readonly running: boolean;
  /** Its pid while running. */
  readonly pid: number | undefined;
  /**
   * Apply LDIF change records (`changetype: add | modify | delete | modrdn | moddn`) with
   * `ldapmodify -x` as the rootdn against the live server, so overlays run (memberOf, refint,
   * entryCSN/modifyTimestamp). Stops at the first failing record and throws with ldapmodify's
   * message; the records before it stay applied.
   */
  modify(ldif: string): Promise<void>;
  /** Add LDIF content records (no changetype needed) with `ldapmodify -a`; same rules as modify. */
  add(ldif: string): Promise<void>;
  /**
   * Subtree search as the rootdn through ldapts (paged, so any size works). `filter` defaults to
   * `(objectClass=*)`, `attributes` to all user attributes; ask for `memberOf`, `entryUUID`,
   * `modifyTimestamp` or `+` explicitly (they are operational).
   */
  search(base: string, filter?: string, attributes?: string[]): Promise<Entry[]>;
  /** A new ldapts client already bound as the rootdn. The caller unbinds it. */
  connect(): Promise<Client>;
  /** SIGTERM and wait for the exit (slapd flushes and closes its database). No-op when stopped. */
  stop(): Promise<void>;
  /** SIGKILL and wait for the exit (a crash; the data survives). No-op when stopped. */
  kill(): Promise<void>;
  /** Start again on the same data and the same port and wait until it answers. No-op when running. */
  start(): Promise<void>;
  /** stop() and delete the temp folder. The object is unusable afterwards. */
  dispose(): Promise<void>;
}

const live = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let exitHookInstalled = false;

/** Kill every slapd this process started when it exits, so a failed test leaves none behind. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) {
      try {
        child.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (const dir of tempDirs) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        /* best effort */
      }
    }
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/** `{SSHA}` hash for rootpw, as slappasswd makes it. */
function ssha(password: string): string {
  const salt = randomBytes(8);
  const digest = createHash('sha1').update(password).update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`;
}

function slapdConf(
  dir: string,
  suffix: string,
  rootDn: string,
  rootPassword: string,
  tls?: StartSlapdOptions['tls'],
): string {
  const q = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  return `# generated by @dirsync/testkit startSlapd
include         /etc/ldap/schema/core.schema
include         /etc/ldap/schema/cosine.schema
include         /etc/ldap/schema/inetorgperson.schema
include         /etc/ldap/schema/nis.schema

modulepath      /usr/lib/ldap
moduleload      back_mdb
moduleload      memberof
moduleload      refint
moduleload      syncprov

pidfile         ${join(dir, 'slapd.pid')}
argsfile        ${join(dir, 'slapd.args')}
sizelimit       unlimited
${
  tls
    ? [
        `TLSCertificateFile ${tls.certFile}`,
        `TLSCertificateKeyFile ${tls.keyFile}`,
        ...(tls.caFile ? [`TLSCACertificateFile ${tls.caFile}`] : []),
      ].join('\n')
    : ''
}

database        mdb
maxsize         4294967296
suffix          ${q(suffix)}
rootdn          ${q(rootDn)}
rootpw          ${ssha(rootPassword)}
directory       ${join(dir, 'data')}
dbnosync

index           objectClass eq
index           uid,cn,mail eq
index           member,memberOf,uniqueMember,memberUid eq
index           entryUUID,entryCSN eq
index           modifyTimestamp eq

overlay         syncprov
syncprov-checkpoint 100 10

overlay         memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint TRUE

overlay         memberof
memberof-group-oc groupOfUniqueNames
memberof-member-ad uniqueMember
memberof-memberof-ad memberOf
memberof-refint TRUE

overlay         refint
refint_attributes member uniqueMember
refint_nothing  ${q(rootDn)}
`;
}

/** The LDIF record for a base entry `dn` (whose first RDN is dc=, o= or ou=). */
function baseEntry(dn: string): string {
  const first = parseDn(dn)[0]?.[0];
  if (!first) throw new Error(`startSlapd: empty suffix`);
  const type = first.type.toLowerCase();
  const v = first.value;
  const line = (name: string, value: string) =>
    /^[\x20-\x7e]*$/.test(value) && !value.startsWith(' ')
      ? `${name}: ${value}`
      : `${name}:: ${Buffer.from(value).toString('base64')}`;
  if (type === 'dc') {
    return [
      line('dn', dn),
      'objectClass: dcObject',
      'objectClass: organization',
      line('dc', v),
      line('o', v),
    ].join('\n');
  }
  if (type === 'o') return [line('dn', dn), 'objectClass: organization', line('o', v)].join('\n');
  if (type === 'ou')
    return [line('dn', dn), 'objectClass: organizationalUnit', line('ou', v)].join('\n');
  throw new Error(
    `startSlapd: cannot create a base entry for "${dn}" (first RDN must be dc=, o= or ou=); put it in the LDIF`,
  );
}

/**
 * The LDIF slapadd loads: the caller's records with the missing base entries spliced in where
 * they belong (the suffix first, ou=people/ou=groups right after the suffix entry).
 */
function assembleLdif(texts: string[], suffix: string, peopleDn: string, groupsDn: string): string {
  const recs = texts.flatMap((t) => splitLdifRecords(t));
  const have = new Set(recs.map((r) => normalizeDn(r.dn)));
  const nSuffix = normalizeDn(suffix);
  const missingOus = [peopleDn, groupsDn].filter((dn) => !have.has(normalizeDn(dn))).map(baseEntry);
  const out: string[] = [];
  if (!have.has(nSuffix)) out.push(baseEntry(suffix), ...missingOus);
  for (const r of recs) {
    out.push(r.text);
    if (have.has(nSuffix) && normalizeDn(r.dn) === nSuffix) out.push(...missingOus);
  }
  return out.join('\n\n') + '\n';
}

class SlapdServer implements Slapd {
  readonly url: string;
  readonly rootDn: string;
  readonly peopleDn: string;
  readonly groupsDn: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private stderrTail = '';
  private disposed = false;

  readonly ldapsUrl: string | undefined;

  constructor(
    readonly name: string,
    readonly dir: string,
    readonly port: number,
    readonly suffix: string,
    readonly rootPassword: string,
    readonly ldapsPort?: number,
  ) {
    this.url = `ldap://127.0.0.1:${port}`;
    this.ldapsUrl = ldapsPort === undefined ? undefined : `ldaps://127.0.0.1:${ldapsPort}`;
    this.rootDn = `cn=admin,${suffix}`;
    this.peopleDn = `ou=people,${suffix}`;
    this.groupsDn = `ou=groups,${suffix}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Spawn slapd and wait for a successful bind. Rejects (with slapd's stderr) if it exits. */
  async start(): Promise<void> {
    if (this.disposed) throw new Error(`slapd ${this.name}: disposed`);
    if (this.child) return;
    const slapd = findBinary('slapd');
    // slapd exits silently (code 1) when it cannot bind, and our readiness probe would happily
    // bind to whoever holds the port: refuse a port that already answers.
    if (await portAnswers(this.port)) {
      throw new Error(`slapd ${this.name}: 127.0.0.1:${this.port} is already in use`);
    }
    this.stderrTail = '';
    const child = spawn(
      slapd,
      [
        '-f',
        join(this.dir, 'slapd.conf'),
        '-h',
        `ldap://127.0.0.1:${this.port}/${this.ldapsUrl ? ` ${this.ldapsUrl}/` : ''}`,
        '-d',
        '0',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const collect = (b: Buffer) => {
      this.stderrTail = (this.stderrTail + b.toString('utf8')).slice(-4000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    let exitedEarly: Error | undefined;
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        live.delete(child);
        if (this.child === child) this.child = undefined;
        exitedEarly = new Error(
          `slapd ${this.name} exited (code ${code}, signal ${signal}): ${this.stderrTail.trim()}`,
        );
        resolve();
      });
      child.once('error', (err) => {
        live.delete(child);
        if (this.child === child) this.child = undefined;
        exitedEarly = err;
        resolve();
      });
    });
    this.child = child;
    live.add(child);
    // Do not keep a test runner alive for a forgotten server; the exit hook kills it.
    child.unref();
    (child.stdout as unknown as { unref?: () => void } | null)?.unref?.();
    (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();

    const outcome = await waitFor(
      async () => {
        if (exitedEarly) return 'exited' as const;
        const client = new Client({ url: this.url, connectTimeout: 500, timeout: 1000 });
        try {
          await client.bind(this.rootDn, this.rootPassword);
          return 'ready' as const;
        } finally {
          await client.unbind().catch(() => undefined);
        }
      },
      { timeoutMs: 15_000, intervalMs: 20, message: `slapd ${this.name} answering on ${this.url}` },
    );
    if (outcome === 'exited') {
      throw exitedEarly ?? new Error(`slapd ${this.name} exited`);
    }
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = this.exited;
    child.kill(sig);
    await exited;
  }

  stop(): Promise<void> {
    return this.signal('SIGTERM');
  }

  kill(): Promise<void> {
    return this.signal('SIGKILL');
  }

  async dispose(): Promise<void> {
    await this.stop();
    this.disposed = true;
    rmSync(this.dir, { recursive: true, force: true });
    tempDirs.delete(this.dir);
  }

  private async ldapmodify(extra: string[], ldif: string): Promise<void> {
    if (!this.child) throw new Error(`slapd ${this.name} is not running`);
    const res = await run(
      findBinary('ldapmodify'),
      ['-x', '-H', this.url, '-D', this.rootDn, '-w', this.rootPassword, ...extra],
      { input: ldif },
    );
    if (res.code !== 0) {
      throw new Error(`ldapmodify failed (exit ${res.code}): ${(res.stderr || res.stdout).trim()}`);
    }
  }

  modify(ldif: string): Promise<void> {
    return this.ldapmodify([], ldif);
  }

  add(ldif: string): Promise<void> {
    return this.ldapmodify(['-a'], ldif);
  }

  async connect(): Promise<Client> {
    const client = new Client({ url: this.url, connectTimeout: 2000, timeout: 30_000 });
    await client.bind(this.rootDn, this.rootPassword);
    return client;
  }

  async search(base: string, filter = '(objectClass=*)', attributes?: string[]): Promise<Entry[]> {
    const client = await this.connect();
    try {
      const { searchEntries } = await client.search(base, {
        scope: 'sub',
        filter,
        ...(attributes ? { attributes } : {}),
        paged: { pageSize: 1000 },
      });
      return searchEntries;
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }
}

/**
 * Start a private OpenLDAP slapd (2.5, back_mdb) for one test file.
 *
 * Contract:
 * - Listens on ldap://127.0.0.1:PORT (a free port unless `opts.port`), suffix `dc=example,dc=org`
 *   unless `opts.suffix`, rootdn `cn=admin,<suffix>` with password `admin-secret` (rootdn has no
 *   entry and no limits). Schemas core, cosine, inetorgperson, nis; overlays syncprov, memberof
 *   (for groupOfNames/member and groupOfUniqueNames/uniqueMember, with refint) and refint
 *   (member, uniqueMember; an emptied group keeps the rootdn as its placeholder member);
 *   `sizelimit unlimited`; `dbnosync` (safe against process kills, not OS crashes).
 * - Data lives in a fresh temp dir, loaded with `slapadd -q` from `opts.ldif` plus the base
 *   entries the LDIF lacks. slapadd bypasses overlays, so memberOf comes only from the LDIF.
 * - Resolves once a rootdn bind succeeds; rejects with slapd's output if slapd exits first.
 * - Returned server can be stopped, killed and restarted on the same port and data; call
 *   `dispose()` in `afterAll`. Any server still running when the Node process exits is SIGKILLed.
 * - Requires slapd/ldap-utils (`ensure_ldap_packages` in infra/scripts/lib.sh installs them).
 */
export async function startSlapd(opts: StartSlapdOptions = {}): Promise<Slapd> {
  installExitHook();
  const name = opts.name ?? 'slapd';
  const suffix = opts.suffix ?? 'dc=example,dc=org';
  const rootPassword = opts.rootPassword ?? 'admin-secret';
  const slapadd = findBinary('slapadd');
  findBinary('slapd');
  const texts = opts.ldif === undefined ? [] : Array.isArray(opts.ldif) ? opts.ldif : [opts.ldif];

  const dir = mkdtempSync(join(tmpdir(), `dirsync-${name.replace(/[^A-Za-z0-9_-]/g, '_')}-`));
  tempDirs.add(dir);
  try {
    mkdirSync(join(dir, 'data'));
    const rootDn = `cn=admin,${suffix}`;
    writeFileSync(join(dir, 'slapd.conf'), slapdConf(dir, suffix, rootDn, rootPassword, opts.tls));
    const ldif = assembleLdif(texts, suffix, `ou=people,${suffix}`, `ou=groups,${suffix}`);
    writeFileSync(join(dir, 'load.ldif'), ldif);
    const res = await run(slapadd, [
      '-q',
      '-f',
      join(dir, 'slapd.conf'),
      '-l',
      join(dir, 'load.ldif'),
    ]);
    if (res.code !== 0) {
      throw new Error(`slapadd failed (exit ${res.code}): ${(res.stderr || res.stdout).trim()}`);
    }
    // A port found free may be taken before slapd binds it: retry with another one.
    for (let attempt = 1; ; attempt++) {
      const port = opts.port ?? (await freePort());
      const ldapsPort = opts.tls ? await freePort() : undefined;
      const server = new SlapdServer(name, dir, port, suffix, rootPassword, ldapsPort);
      try {
        await server.start();
        return server;
      } catch (err) {
        await server.kill();
        // with a port of our choosing, a failure may be someone taking it meanwhile: try another
        if (opts.port !== undefined || attempt >= 3) throw err;
      }
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
    throw err;
  }
}

/** Escape one RDN value for building DNs in tests: `rdn('cn', 'Smith, Anna')` → `cn=Smith\, Anna`. */
export function rdn(type: string, value: string): string {
  return `${type}=${escapeDnValue(value)}`;
}
