// Run-level failures against a real slapd: each must end the run with RunFailed carrying the
// right code and a message naming the culprit, never the password, and never RunCompleted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, errorCodeName } from '@dirsync/proto';
import type { CollectedRun, ConnectorHarness } from '@dirsync/kit/conformance';
import { freePort, startSlapd, waitFor, type Slapd } from '@dirsync/testkit';
import {
  GROUPS,
  PEOPLE,
  directoryConfig,
  group,
  ldapHarness,
  ldif,
  newDirectoryId,
  person,
} from './helpers.js';

const ALL = `cn=all,${GROUPS}`;
const SECRET = 'admin-secret';

function expectFailed(run: CollectedRun, code: ErrorCode): string {
  expect(run.completed, 'no RunCompleted').toBeUndefined();
  expect(run.events[0]?.body.case).toBe('runStarted');
  expect(run.events.at(-1)?.body.case).toBe('runFailed');
  expect(errorCodeName(run.failed?.error?.code ?? ErrorCode.UNSPECIFIED)).toBe(errorCodeName(code));
  const message = run.failed?.error?.message ?? '';
  expect(message).not.toContain(SECRET);
  for (const p of run.payloads) expect(Buffer.from(p).toString('latin1')).not.toContain(SECRET);
  return message;
}

describe('run failures', () => {
  let slapd: Slapd;
  let h: ConnectorHarness;
  const runWith = async (config: Parameters<typeof directoryConfig>[2], selected = [ALL]) => {
    const id = newDirectoryId();
    h.setConfig(id, directoryConfig(slapd, selected, config));
    return h.run({ directoryId: id });
  };

  beforeAll(async () => {
    slapd = await startSlapd({
      name: 'failures',
      ldif: ldif(person({ uid: 'alice' }), group('all', [`uid=alice,${PEOPLE}`])),
    });
    h = await ldapHarness();
  });

  afterAll(async () => {
    await h?.close();
    await slapd?.dispose();
  });

  it('succeeds with the right settings (the baseline the failures vary)', async () => {
    const run = await runWith({});
    expect(run.outcome.error).toBeUndefined();
    expect(run.completed?.usersObserved).toBe(1);
  });

  it('a wrong password → INVALID_CREDENTIALS naming the bind DN', async () => {
    const message = expectFailed(
      await runWith({ secrets: { bindPassword: `${SECRET}-wrong` } }),
      ErrorCode.INVALID_CREDENTIALS,
    );
    expect(message).toContain(slapd.rootDn);
  });

  it('an unknown bind DN → INVALID_CREDENTIALS', async () => {
    expectFailed(
      await runWith({ settings: { bindDn: `cn=nobody,${slapd.suffix}` } }),
      ErrorCode.INVALID_CREDENTIALS,
    );
  });

  it('a closed port → SOURCE_UNREACHABLE naming host:port', async () => {
    const port = await freePort();
    const message = expectFailed(
      await runWith({ settings: { url: `ldap://127.0.0.1:${port}` } }),
      ErrorCode.SOURCE_UNREACHABLE,
    );
    expect(message).toContain(`127.0.0.1:${port}`);
  });

  it('a host name that does not resolve → SOURCE_UNREACHABLE', async () => {
    const message = expectFailed(
      await runWith({ settings: { url: 'ldap://no-such-host.invalid:389', timeoutMs: 5_000 } }),
      ErrorCode.SOURCE_UNREACHABLE,
    );
    expect(message).toContain('no-such-host.invalid:389');
  });

  it('a base DN that does not exist → BASE_DN_NOT_FOUND naming it', async () => {
    const message = expectFailed(
      await runWith({ settings: { baseDn: 'dc=nowhere,dc=org' } }),
      ErrorCode.BASE_DN_NOT_FOUND,
    );
    expect(message).toContain('dc=nowhere,dc=org');
  });

  it('a user base DN that does not exist → BASE_DN_NOT_FOUND naming it', async () => {
    const base = `ou=staff,${slapd.suffix}`;
    const message = expectFailed(
      await runWith({ settings: { userBaseDn: base } }),
      ErrorCode.BASE_DN_NOT_FOUND,
    );
    expect(message).toContain(base);
  });

  it('a group base DN that does not exist → BASE_DN_NOT_FOUND naming it', async () => {
    const base = `ou=teams,${slapd.suffix}`;
    const message = expectFailed(
      await runWith({ settings: { groupBaseDn: base } }),
      ErrorCode.BASE_DN_NOT_FOUND,
    );
    expect(message).toContain(base);
  });

  it('a base DN that is not a DN → CONFIG_INVALID naming the setting', async () => {
    const message = expectFailed(
      await runWith({ settings: { baseDn: 'example.org' } }),
      ErrorCode.CONFIG_INVALID,
    );
    expect(message).toContain('baseDn');
  });

  it('a selected group that does not exist → GROUP_NOT_FOUND naming it', async () => {
    const ghost = `cn=ghost,${GROUPS}`;
    const message = expectFailed(await runWith({}, [ALL, ghost]), ErrorCode.GROUP_NOT_FOUND);
    expect(message).toContain(ghost);
  });

  it('a missing bind password → CONFIG_INVALID', async () => {
    expectFailed(await runWith({ secrets: {} }), ErrorCode.CONFIG_INVALID);
  });

  it('an unsupported profile → CONFIG_INVALID naming it', async () => {
    const message = expectFailed(
      await runWith({ settings: { profile: 'edirectory' as 'openldap' } }),
      ErrorCode.CONFIG_INVALID,
    );
    expect(message).toContain('profile');
  });
});

describe('server limits', () => {
  // A service account whose searches slapd cuts short after 5 entries (size.prtotal covers
  // paged searches too): the run must fail, never complete with the first 5 users as if the
  // rest had left the directory — a completed FULL run would send them all to pendingDeletion.
  const SVC = 'cn=svc,dc=example,dc=org';
  const SVC_PASSWORD = 'svc-secret-1';
  let slapd: Slapd;
  let h: ConnectorHarness;

  beforeAll(async () => {
    const people = Array.from({ length: 20 }, (_v, i) => person({ uid: `p${i}` }));
    slapd = await startSlapd({
      name: 'limits',
      ldif: ldif(
        person({ dn: SVC, cn: 'svc', attrs: { userPassword: SVC_PASSWORD } }),
        ...people,
        group(
          'all',
          people.map((p) => p.dn),
        ),
      ),
      limits: [`dn.exact="${SVC}" size=5 size.prtotal=5`],
    });
    h = await ldapHarness({ connector: { pageSize: 3 } });
  });

  afterAll(async () => {
    await h?.close();
    await slapd?.dispose();
  });

  it('a size-limit answer → SIZE_LIMIT_EXCEEDED naming the base, not a truncated run', async () => {
    const id = newDirectoryId();
    h.setConfig(
      id,
      directoryConfig(slapd, [ALL], {
        settings: { bindDn: SVC },
        secrets: { bindPassword: SVC_PASSWORD },
      }),
    );
    const run = await h.run({ directoryId: id });
    expect(run.completed, 'no RunCompleted').toBeUndefined();
    expect(errorCodeName(run.failed?.error?.code ?? ErrorCode.UNSPECIFIED)).toBe(
      'SIZE_LIMIT_EXCEEDED',
    );
    const message = run.failed?.error?.message ?? '';
    expect(message).toContain('dc=example,dc=org');
    expect(message).toContain('never accepts a truncated result');
    expect(message).not.toContain(SVC_PASSWORD);
  });

  it('the same directory read by an unlimited bind DN completes with all 20 users', async () => {
    const id = newDirectoryId();
    h.setConfig(id, directoryConfig(slapd, [ALL]));
    const run = await h.run({ directoryId: id });
    expect(run.failed).toBeUndefined();
    expect(run.completed?.usersObserved).toBe(20);
  });
});

describe('source lost mid-run', () => {
  const USERS = 20_000;
  let slapd: Slapd;
  let h: ConnectorHarness;

  beforeAll(async () => {
    const people = Array.from({ length: USERS }, (_v, i) => person({ uid: `u${i}` }));
    slapd = await startSlapd({
      name: 'killed',
      ldif: ldif(
        ...people,
        group(
          'all',
          people.map((p) => p.dn),
        ),
      ),
    });
    h = await ldapHarness({ batchSize: 20, connector: { pageSize: 5 } });
  });

  afterAll(async () => {
    await h?.close();
    await slapd?.dispose();
  });

  it('a slapd killed while users are paged → RunFailed SOURCE_UNAVAILABLE, no RunCompleted', async () => {
    const id = newDirectoryId();
    h.setConfig(id, directoryConfig(slapd, [ALL]));
    const runId = await h.publishJob({ directoryId: id });
    // Kill once the first users are out: the connector is then in the middle of the user search.
    await waitFor(
      async () =>
        (await h.readEvents(id)).some(
          (e) => e.event.runId === runId && e.event.body.case === 'users',
        ),
      { timeoutMs: 30_000, intervalMs: 10, message: 'first users batch published' },
    );
    await slapd.kill();
    const outcome = await h.waitForRun(runId);
    expect(outcome.status).toBe('failed');
    const events = (await h.readEvents(id)).filter((e) => e.event.runId === runId);
    expect(events.some((e) => e.event.body.case === 'runCompleted')).toBe(false);
    const last = events.at(-1)?.event.body;
    expect(last?.case).toBe('runFailed');
    if (last?.case !== 'runFailed') return;
    expect(errorCodeName(last.value.error?.code ?? ErrorCode.UNSPECIFIED)).toBe(
      'SOURCE_UNAVAILABLE',
    );
    expect(last.value.error?.message).toContain(slapd.url.replace('ldap://', ''));
    // It really stopped part-way: fewer users than the directory holds were observed.
    const observed = events.reduce(
      (n, e) => n + (e.event.body.case === 'users' ? e.event.body.value.users.length : 0),
      0,
    );
    expect(observed).toBeGreaterThan(0);
    expect(observed).toBeLessThan(USERS);
    expect(events.map((e) => e.event.seq)).toEqual(events.map((_e, i) => i + 1));
  });

  it('a stopped slapd → SOURCE_UNREACHABLE at the next run; a restarted one works again', async () => {
    const id = newDirectoryId();
    h.setConfig(id, directoryConfig(slapd, [ALL]));
    const down = await h.run({ directoryId: id });
    expect(errorCodeName(down.failed?.error?.code ?? ErrorCode.UNSPECIFIED)).toBe(
      'SOURCE_UNREACHABLE',
    );
    await slapd.start();
    const up = await h.run({ directoryId: id });
    expect(up.outcome.error).toBeUndefined();
    expect(up.completed?.usersObserved).toBe(USERS);
  });
});
