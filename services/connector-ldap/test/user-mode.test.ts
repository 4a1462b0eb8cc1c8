// USER mode against a real slapd: one user, found by an escaped equality filter, observed only
// when in scope. Hostile usernames must never return another user — checked both end to end and
// on the connector's raw output (before the kit's own USER-mode guard).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttributeMappingSchema, ErrorCode, SyncJobSchema, SyncMode, create } from '@dirsync/proto';
import { createLogger, ldapSettingsSchema, type RecordSink, type SourceUser } from '@dirsync/kit';
import { observedUsernames, type ConnectorHarness } from '@dirsync/kit/conformance';
import { startSlapd, type Slapd } from '@dirsync/testkit';
import { createLdapConnector } from '../src/index.js';
import {
  GROUPS,
  PEOPLE,
  directoryConfig,
  group,
  ldapHarness,
  ldapSettings,
  ldif,
  newDirectoryId,
  person,
} from './helpers.js';

const STAFF = `cn=staff,${GROUPS}`;
const TEAM = `cn=team,${GROUPS}`;
const UIDS = ['alice', 'a', 'ab', 'abc', 'a*', 'p(x)', 'back\\slash', 'zoë'];
const people = [
  ...UIDS.map((uid, i) => person({ dn: `cn=user${i},${PEOPLE}`, cn: `user${i}`, attrs: { uid } })),
  person({ uid: 'outsider' }),
];
const groups = [
  group('staff', [...UIDS.map((_u, i) => `cn=user${i},${PEOPLE}`), TEAM]),
  group('team', [`cn=user0,${PEOPLE}`]),
];

const HOSTILE: [string, string[]][] = [
  ['*', []],
  ['a*', ['a*']],
  ['*a', []],
  ['(uid=*)', []],
  ['*)(uid=*', []],
  ['a)(|(uid=*', []],
  ['\\', []],
  ['\\2a', []],
  ['back\\slash', ['back\\slash']],
  ['p(x)', ['p(x)']],
  ['\u0000', []],
  ['a\u0000', []],
];

/** Run the connector alone with a sink that records what it hands over. */
async function rawUserRun(slapd: Slapd, username: string): Promise<SourceUser[]> {
  const users: SourceUser[] = [];
  const sink: RecordSink = {
    user: async (u) => {
      users.push(u);
      return true;
    },
    group: async () => undefined,
    members: async () => undefined,
    objectError: async () => undefined,
    removeUser: async () => undefined,
    removeGroup: async () => undefined,
    membershipDelta: async () => undefined,
    admin: async () => undefined,
  };
  await createLdapConnector().run({
    job: create(SyncJobSchema, { runId: 'r', directoryId: 'd', mode: SyncMode.USER, username }),
    directory: {
      directoryId: 'd',
      selectedGroups: [STAFF],
      mapping: create(AttributeMappingSchema, { username: 'uid' }),
      defaultRegion: 'US',
      cursor: '',
      storedCursor: '',
      policy: undefined,
      adminRoleGroups: [],
    },
    settings: ldapSettingsSchema.parse(ldapSettings(slapd)),
    secrets: { bindPassword: slapd.rootPassword },
    sink,
    logger: createLogger('test', 'silent'),
    signal: new AbortController().signal,
    mode: SyncMode.USER,
    countEntriesRead: () => undefined,
  });
  return users;
}

describe('USER mode', () => {
  let slapd: Slapd;
  let h: ConnectorHarness;
  const runUser = async (username: string) => {
    const id = newDirectoryId();
    h.setConfig(id, directoryConfig(slapd, [STAFF]));
    return h.run({ directoryId: id, mode: SyncMode.USER, username });
  };

  beforeAll(async () => {
    slapd = await startSlapd({ name: 'user-mode', ldif: ldif(...people, ...groups) });
    h = await ldapHarness();
  });

  afterAll(async () => {
    await h?.close();
    await slapd?.dispose();
  });

  it('observes the one user with its groups and memberships', async () => {
    const run = await runUser('alice');
    expect(run.outcome.error).toBeUndefined();
    expect(observedUsernames(run)).toEqual(['alice']);
    expect(run.groups.map((g) => g.name).sort()).toEqual(['staff', 'team']);
    const alice = run.users[0]?.externalId;
    for (const g of run.groups)
      expect([...(run.memberships.get(g.externalId) ?? [])]).toEqual([alice]);
  });

  it('matches the username the way LDAP does (case-insensitive, non-ASCII too)', async () => {
    expect(observedUsernames(await runUser('ALICE'))).toEqual(['alice']);
    expect(observedUsernames(await runUser('ZOË'))).toEqual(['zoë']);
  });

  it('observes nobody for a user outside the selected groups', async () => {
    const run = await runUser('outsider');
    expect(run.completed?.usersObserved).toBe(0);
    expect(run.groups).toHaveLength(0);
  });

  it('completes with zero users for an unknown user', async () => {
    const run = await runUser('nobody');
    expect(run.outcome.status).toBe('completed');
    expect(run.completed?.usersObserved).toBe(0);
  });

  it('fails with CONFIG_INVALID for an empty username', async () => {
    const run = await runUser('   ');
    expect(run.failed?.error?.code).toBe(ErrorCode.CONFIG_INVALID);
  });

  describe('hostile usernames', () => {
    for (const [username, expected] of HOSTILE) {
      it(`${JSON.stringify(username)} returns ${expected.length ? JSON.stringify(expected) : 'nobody'} from the connector itself`, async () => {
        const users = await rawUserRun(slapd, username);
        expect(users.map((u) => u.username).sort()).toEqual(expected);
      });

      it(`${JSON.stringify(username)} observes ${expected.length ? JSON.stringify(expected) : 'nobody'} end to end`, async () => {
        const run = await runUser(username);
        expect(run.outcome.status).toBe('completed');
        expect(observedUsernames(run)).toEqual(expected);
      });
    }
  });
});
