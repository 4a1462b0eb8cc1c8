// End to end through the gateway: a real slapd serving the demo directory, real NATS JetStream
// and Postgres, and all four services in process. Each `describe` checks a behaviour a user of
// directory sync relies on (issue: the first end-to-end sync).
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  computeExpected,
  loadDemo,
  normalizeDn,
  parseLdif,
  startSlapd,
  waitFor,
  type Slapd,
} from '@dirsync/testkit';
import { DirectoryEventSchema, fromBinary } from '@dirsync/proto';
import {
  RUN_FIELDS,
  startStack,
  syncAllAndWait,
  waitForRun,
  type RunView,
  type Stack,
} from './support/stack.js';

const demo = loadDemo();

interface UserView {
  id: string;
  username: string;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  displayName: string | null;
  status: string;
  aliases: string[];
  phones: { number: string; kind: string }[];
  customAttributes: { name: string; value: string }[];
  sourceLocator: string | null;
  updatedAt: string;
}

const USER_FIELDS = `id username email firstName lastName displayName status aliases
  phones { number kind } customAttributes { name value } sourceLocator updatedAt`;

function directoryInput(slapd: Slapd, overrides: Record<string, unknown> = {}) {
  const { custom, ...mapping } = demo.directory.mapping;
  return {
    name: `demo ${Math.random().toString(16).slice(2, 8)}`,
    ldap: { ...demo.directory.ldap, url: slapd.url },
    bindPassword: slapd.rootPassword,
    selectedGroups: demo.directory.selectedGroups,
    mapping: {
      ...mapping,
      custom: Object.entries(custom).map(([name, attribute]) => ({ name, attribute })),
    },
    defaultRegion: demo.directory.defaultRegion,
    scheduleIntervalMinutes: 0,
    ...overrides,
  };
}

async function createDirectory(stack: Stack, input: Record<string, unknown>): Promise<string> {
  const { createDirectory } = await stack.gql<{ createDirectory: { id: string } }>(
    `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { id } }`,
    { input },
  );
  return createDirectory.id;
}

async function allUsers(stack: Stack, directoryId: string, status?: string[]): Promise<UserView[]> {
  const out: UserView[] = [];
  let after: string | null = null;
  for (;;) {
    const page: {
      users: { nodes: UserView[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
    } = await stack.gql(
      `query($dir: ID!, $after: String, $status: [UserStatus!]) {
        users(first: 500, after: $after, filter: { directoryId: $dir, status: $status }) {
          nodes { ${USER_FIELDS} } pageInfo { hasNextPage endCursor } } }`,
      { dir: directoryId, after, status: status ?? null },
    );
    out.push(...page.users.nodes);
    if (!page.users.pageInfo.hasNextPage) return out;
    after = page.users.pageInfo.endCursor;
  }
}

async function userByUsername(stack: Stack, directoryId: string, username: string) {
  const { userByUsername } = await stack.gql<{ userByUsername: UserView | null }>(
    `query($dir: ID!, $u: String!) { userByUsername(directoryId: $dir, username: $u) { ${USER_FIELDS} } }`,
    { dir: directoryId, u: username },
  );
  return userByUsername;
}

async function syncUser(stack: Stack, directoryId: string, username: string) {
  const { syncUser } = await stack.gql<{
    syncUser: {
      outcome: string;
      run: RunView;
      user: { id: string; username: string; directory: { id: string } } | null;
    };
  }>(
    `mutation($dir: ID!, $u: String!) { syncUser(directoryId: $dir, username: $u) {
        outcome run { ${RUN_FIELDS} } user { id username directory { id } } } }`,
    { dir: directoryId, u: username },
  );
  return syncUser;
}

/** The newest updated_at of the directory's users, straight from Postgres. */
async function lastWrite(stack: Stack, directoryId: string): Promise<string> {
  const client = new pg.Client({ connectionString: stack.databaseUrl });
  await client.connect();
  try {
    const r = await client.query<{ w: string | null; n: string }>(
      `select max(updated_at)::text as w, count(*)::text as n from identity.users where directory_id = $1`,
      [directoryId],
    );
    return `${r.rows[0]?.w}/${r.rows[0]?.n}`;
  } finally {
    await client.end();
  }
}

const entriesByDn = new Map(demo.entries.map((e) => [normalizeDn(e.dn), e]));

/** An attribute of the LDIF entry with this DN, NFC-normalised as dirsync stores text. */
function ldifValue(dn: string, attr: string): string[] {
  const entry = entriesByDn.get(normalizeDn(dn));
  return (entry?.attributes[attr] ?? []).map((v) => v.normalize('NFC'));
}

describe('dirsync end to end (OpenLDAP → NATS → Postgres → GraphQL)', () => {
  let slapd: Slapd;
  let stack: Stack;
  let dirId: string;
  let firstRun: RunView;

  beforeAll(async () => {
    slapd = await startSlapd({ ldif: demo.ldif, name: 'e2e' });
    stack = await startStack();
    dirId = await createDirectory(stack, directoryInput(slapd));
    firstRun = await syncAllAndWait(stack, dirId);
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    await slapd?.dispose();
  });

  describe('a full sync of the demo directory', () => {
    it('imports exactly the members of the selected groups', async () => {
      expect(firstRun.status).toBe('COMPLETED');
      const expected = computeExpected(parseLdif(demo.ldif));
      expect(expected.inScope.usernames).toEqual(demo.expected.inScope.usernames);
      const users = await allUsers(stack, dirId);
      expect(users.map((u) => u.username).sort()).toEqual([...expected.inScope.usernames].sort());
      expect(firstRun.counts.seen).toBe(expected.inScope.importable);
      expect(firstRun.counts.created).toBe(expected.inScope.importable);
      expect(users.every((u) => u.status === 'ACTIVE')).toBe(true);
    });

    it('maps attributes, phones in E.164 and custom attributes from the LDIF', async () => {
      const users = await allUsers(stack, dirId);
      let checkedPhones = 0;
      for (const user of users) {
        const dn = user.sourceLocator!;
        expect(dn).toBeTruthy();
        expect(user.email ?? null).toBe(ldifValue(dn, 'mail')[0] ?? null);
        expect(user.lastName ?? null).toBe(ldifValue(dn, 'sn')[0] ?? null);
        expect(user.firstName ?? null).toBe(ldifValue(dn, 'givenName')[0] ?? null);
        for (const p of user.phones) {
          expect(p.number).toMatch(/^\+[1-9]\d{6,14}$/);
          checkedPhones++;
        }
        const dept = ldifValue(dn, 'departmentNumber')[0];
        const custom = Object.fromEntries(user.customAttributes.map((c) => [c.name, c.value]));
        expect(custom['department']).toBe(dept);
      }
      expect(checkedPhones).toBeGreaterThan(1000);
      // A national number takes the directory's default region (GB).
      const withNational = demo.entries.find((e) =>
        (e.attributes['telephoneNumber'] ?? []).includes('020 7946 0018'),
      );
      if (
        withNational &&
        users.some((u) => normalizeDn(u.sourceLocator!) === normalizeDn(withNational.dn))
      ) {
        const u = users.find(
          (x) => normalizeDn(x.sourceLocator!) === normalizeDn(withNational.dn),
        )!;
        expect(u.phones.map((p) => p.number)).toContain('+442079460018');
      }
    });

    it('expands nested groups, memberUid and case/escape-variant member DNs', async () => {
      for (const username of ['jdoe', 'posix.only', 'cycle.only', 'alovelace']) {
        const u = await userByUsername(stack, dirId, username);
        expect(u, username).not.toBeNull();
      }
      const { groups } = await stack.gql<{
        groups: { nodes: { name: string; memberCount: number; sourceLocator: string }[] };
      }>(
        `query($dir: ID!) { groups(first: 100, filter: { directoryId: $dir }) { nodes { name memberCount sourceLocator } } }`,
        {
          dir: dirId,
        },
      );
      expect(groups.nodes.map((g) => normalizeDn(g.sourceLocator)).sort()).toEqual(
        demo.expected.reachableGroups.map((g) => normalizeDn(g)).sort(),
      );
      // Hans Christian Ørsted (uid hcorsted) is only in sre-oncall, three levels below a selected
      // group: he is a member of every group on the way up.
      const { userByUsername: hans } = await stack.gql<{
        userByUsername: { displayName: string; groups: { nodes: { name: string }[] } };
      }>(
        `query($dir: ID!) { userByUsername(directoryId: $dir, username: "hcorsted") {
           displayName groups(first: 50) { nodes { name } } } }`,
        { dir: dirId },
      );
      expect(hans.displayName).toBe('Hans Christian Ørsted');
      expect(hans.groups.nodes.map((g) => g.name).sort()).toEqual(
        ['engineering', 'infra-core', 'platform', 'sre-oncall'].sort(),
      );
    });

    it('reports the entry without a username as a per-object error, not a crash', async () => {
      const { run } = await stack.gql<{
        run: { errors: { edges: { node: { code: string; sourceLocator: string } }[] } };
      }>(
        `query($id: ID!) { run(id: $id) { errors(first: 200) { edges { node { code sourceLocator } } } } }`,
        { id: firstRun.id },
      );
      const missing = run.errors.edges
        .map((e) => e.node)
        .filter((e) => e.code === 'MISSING_USERNAME');
      expect(missing.map((e) => normalizeDn(e.sourceLocator))).toEqual(
        demo.expected.inScope.withoutUsername.map((d) => normalizeDn(d)),
      );
    });

    it('answers a query that crosses subgraphs (user → directory)', async () => {
      const u = await stack.gql<{ userByUsername: { directory: { id: string; name: string } } }>(
        `query($dir: ID!) { userByUsername(directoryId: $dir, username: "jdoe") { directory { id name } } }`,
        { dir: dirId },
      );
      expect(u.userByUsername.directory.id).toBe(dirId);
      expect(u.userByUsername.directory.name).toMatch(/^demo /);
    });
  });

  describe('a second full sync with no change in the source', () => {
    it('writes nothing: every user unchanged', async () => {
      const before = await lastWrite(stack, dirId);
      const run = await syncAllAndWait(stack, dirId);
      expect(run.status).toBe('COMPLETED');
      expect(run.counts.unchanged).toBe(demo.expected.inScope.importable);
      expect(run.counts.created + run.counts.updated + run.counts.pendingDeletion).toBe(0);
      expect(run.counts.membershipsAdded + run.counts.membershipsRemoved).toBe(0);
      expect(await lastWrite(stack, dirId)).toBe(before);
    });
  });

  describe('after ldapmodify in slapd', () => {
    it('updates a changed attribute, removes a user who left every selected group and a deleted entry, restores on re-add', async () => {
      const jdoeBefore = (await userByUsername(stack, dirId, 'jdoe'))!;
      // posix.only is only reachable through unix-admins' memberUid; cycle.only only through cycle-c.
      const leaver = (await userByUsername(stack, dirId, 'posix.only'))!;
      const deleted = (await userByUsername(stack, dirId, 'cycle.only'))!;
      const cycleOnlyEntry = demo.entries.find((e) => e.attributes['uid']?.[0] === 'cycle.only')!;
      await slapd.modify(`dn: ${jdoeBefore.sourceLocator}
changetype: modify
replace: sn
sn: Doe-Renamed

dn: cn=unix-admins,ou=groups,dc=example,dc=org
changetype: modify
delete: memberUid
memberUid: posix.only

dn: ${cycleOnlyEntry.dn}
changetype: delete
`);
      const run = await syncAllAndWait(stack, dirId);
      expect(run.status).toBe('COMPLETED');
      const jdoe = (await userByUsername(stack, dirId, 'jdoe'))!;
      expect(jdoe.lastName).toBe('Doe-Renamed');
      expect(jdoe.id).toBe(jdoeBefore.id);
      expect((await userByUsername(stack, dirId, 'posix.only'))!.status).toBe('PENDING_DELETION');
      expect((await userByUsername(stack, dirId, 'cycle.only'))!.status).toBe('PENDING_DELETION');
      expect(run.counts.updated).toBe(1);
      expect(run.counts.pendingDeletion).toBe(2);

      // Re-add both inside the restore window: same ids, active again.
      const attrs = Object.entries(cycleOnlyEntry.attributes)
        .filter(
          ([k]) =>
            ![
              'memberOf',
              'entryUUID',
              'entryCSN',
              'createTimestamp',
              'modifyTimestamp',
              'creatorsName',
              'modifiersName',
              'structuralObjectClass',
              'entryDN',
              'subschemaSubentry',
              'hasSubordinates',
            ].includes(k),
        )
        .flatMap(([k, vs]) => vs.map((v) => `${k}:: ${Buffer.from(v, 'utf8').toString('base64')}`));
      await slapd.modify(`dn: cn=unix-admins,ou=groups,dc=example,dc=org
changetype: modify
add: memberUid
memberUid: posix.only

dn: ${cycleOnlyEntry.dn}
changetype: add
${attrs.join('\n')}

dn: cn=cycle-c,ou=groups,dc=example,dc=org
changetype: modify
add: member
member: ${cycleOnlyEntry.dn}
`);
      const again = await syncAllAndWait(stack, dirId);
      expect(again.status).toBe('COMPLETED');
      expect(again.counts.restored).toBe(2);
      const back = (await userByUsername(stack, dirId, 'posix.only'))!;
      expect(back.status).toBe('ACTIVE');
      expect(back.id).toBe(leaver.id);
      // The re-created entry has a new entryUUID; coming back inside the window it claims the
      // pending record of the same username: restored, not duplicated.
      const recreated = (await allUsers(stack, dirId)).filter((u) => u.username === 'cycle.only');
      expect(recreated.map((u) => [u.id, u.status])).toEqual([[deleted.id, 'ACTIVE']]);
    });
  });

  describe('syncUser', () => {
    it('touches only that user', async () => {
      const a = (await userByUsername(stack, dirId, 'jdoe'))!;
      const b = (await userByUsername(stack, dirId, 'alovelace'))!;
      await slapd.modify(`dn: ${a.sourceLocator}
changetype: modify
replace: title
title: Principal Engineer

dn: ${b.sourceLocator}
changetype: modify
replace: title
title: Countess
`);
      const result = await syncUser(stack, dirId, 'jdoe');
      expect(result.outcome).toBe('UPDATED');
      expect(result.user?.id).toBe(a.id);
      expect(result.user?.directory.id).toBe(dirId);
      expect(result.run.counts.seen).toBe(1);
      const bAfter = (await userByUsername(stack, dirId, 'alovelace'))!;
      expect(bAfter.updatedAt).toBe(b.updatedAt);
      expect(bAfter.customAttributes.find((c) => c.name === 'title')?.value).not.toBe('Countess');
      expect((await syncUser(stack, dirId, 'jdoe')).outcome).toBe('UNCHANGED');
    });

    it('returns NOT_FOUND for an unknown username and changes nothing', async () => {
      const before = await lastWrite(stack, dirId);
      const result = await syncUser(stack, dirId, 'no-such-person');
      expect(result.outcome).toBe('NOT_FOUND');
      expect(result.user).toBeNull();
      expect(await lastWrite(stack, dirId)).toBe(before);
    });

    it('escapes filter metacharacters: they never widen the search', async () => {
      const before = await lastWrite(stack, dirId);
      for (const username of [
        '*',
        'j*',
        'jdoe)(uid=*',
        '*)(|(uid=*',
        '\\',
        'jdoe\\2a',
        'jd\u0000oe',
        '(uid=jdoe)',
      ]) {
        const result = await syncUser(stack, dirId, username);
        expect(result.outcome, JSON.stringify(username)).toBe('NOT_FOUND');
        expect(result.run.counts.seen).toBe(0);
      }
      expect(await lastWrite(stack, dirId)).toBe(before);
    });
  });

  describe('resilience', () => {
    it('an identity service stopped in the middle of a run finishes the run correctly after restart', async () => {
      await slapd.modify(
        demo.expected.inScope.usernames
          .slice(0, 300)
          .map((u) => {
            const dn = demo.entries.find((e) => e.attributes['uid']?.[0] === u)?.dn;
            return dn ? `dn: ${dn}\nchangetype: modify\nreplace: title\ntitle: Restart Test\n` : '';
          })
          .filter(Boolean)
          .join('\n'),
      );
      await stack.stopIdentity();
      const { syncAll } = await stack.gql<{ syncAll: RunView }>(
        `mutation($id: ID!) { syncAll(directoryId: $id) { id } }`,
        { id: dirId },
      );
      // Let the connector publish the whole run while identity is down, then start identity,
      // stop it after it has applied part of the run, and start it again.
      const jsm = await stack.nc.jetstreamManager();
      await waitFor(
        async () => {
          const last = await jsm.streams
            .getMessage(`${stack.namespace}_DIRSYNC_EVENTS`, {
              last_by_subj: `${stack.namespace}.dirsync.events.${dirId}`,
            })
            .catch(() => undefined);
          if (!last) return undefined;
          const event = fromBinary(DirectoryEventSchema, last.data);
          return event.runId === syncAll.id && event.body.case === 'runCompleted'
            ? true
            : undefined;
        },
        { timeoutMs: 30_000, message: 'connector did not publish the whole run' },
      );
      await stack.startIdentity();
      await waitFor(async () => {
        const { run } = await stack.gql<{ run: RunView }>(
          `query($id: ID!) { run(id: $id) { ${RUN_FIELDS} } }`,
          { id: syncAll.id },
        );
        return run.counts.seen > 0 || run.status !== 'QUEUED' ? true : undefined;
      });
      await stack.restartIdentity();
      const run = await waitForRun(stack, syncAll.id);
      expect(run.status).toBe('COMPLETED');
      expect(run.counts.seen).toBe(demo.expected.inScope.importable);
      expect(run.counts.updated).toBeGreaterThanOrEqual(290);
      expect(run.counts.updated + run.counts.unchanged + run.counts.created).toBe(run.counts.seen);
      const users = await allUsers(stack, dirId, ['ACTIVE']);
      expect(users.length).toBe(demo.expected.inScope.importable);
    });

    it('events delivered twice change nothing', async () => {
      const jsm = await stack.nc.jetstreamManager();
      const js = stack.nc.jetstream();
      const stream = `${stack.namespace}_DIRSYNC_EVENTS`;
      const run = await syncAllAndWait(stack, dirId);
      expect(run.status).toBe('COMPLETED');
      const before = await lastWrite(stack, dirId);
      // Re-publish every event of that run under new message ids (past the server's dedupe).
      const info = await jsm.streams.info(stream);
      let republished = 0;
      for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
        const m = await jsm.streams.getMessage(stream, { seq }).catch(() => undefined);
        if (!m || !m.header?.get('Nats-Msg-Id').startsWith(run.id)) continue;
        await js.publish(m.subject, m.data, { msgID: `${m.header.get('Nats-Msg-Id')}:again` });
        republished++;
      }
      expect(republished).toBeGreaterThan(2);
      await waitFor(async () => {
        const c = await jsm.consumers.info(stream, 'identity');
        return c.num_pending === 0 && c.num_ack_pending === 0 ? true : undefined;
      });
      const { run: after } = await stack.gql<{ run: RunView }>(
        `query($id: ID!) { run(id: $id) { ${RUN_FIELDS} } }`,
        { id: run.id },
      );
      expect(after.counts).toEqual(run.counts);
      expect(await lastWrite(stack, dirId)).toBe(before);
    });

    it('slapd stopped → the run fails and nobody is removed', async () => {
      const activeBefore = (await allUsers(stack, dirId, ['ACTIVE'])).length;
      await slapd.stop();
      try {
        const run = await syncAllAndWait(stack, dirId);
        expect(run.status).toBe('FAILED');
        expect(run.errorCode).toBe('SOURCE_UNREACHABLE');
        expect((await allUsers(stack, dirId, ['ACTIVE'])).length).toBe(activeBefore);
      } finally {
        await slapd.start();
      }
    });
  });

  describe('bad directory settings fail the run with a stable code that names the problem', () => {
    it.each([
      [
        'wrong password',
        { bindPassword: 'not-the-password' },
        'INVALID_CREDENTIALS',
        /bind|credentials/i,
      ],
      ['unreachable host', { ldapUrlPort: 1 }, 'SOURCE_UNREACHABLE', /127\.0\.0\.1:1\b/],
      [
        'bad base DN',
        { userBaseDn: 'ou=nobody,dc=example,dc=org' },
        'BASE_DN_NOT_FOUND',
        /ou=nobody,dc=example,dc=org/,
      ],
      [
        'missing group',
        { selectedGroups: ['cn=no-such-group,ou=groups,dc=example,dc=org'] },
        'GROUP_NOT_FOUND',
        /cn=no-such-group/,
      ],
    ])('%s → %s', async (_label, change, code, message) => {
      const base = directoryInput(slapd);
      const ldap = { ...base.ldap } as Record<string, unknown>;
      if ('ldapUrlPort' in change) ldap['url'] = `ldap://127.0.0.1:${change.ldapUrlPort}`;
      if ('userBaseDn' in change) ldap['userBaseDn'] = change.userBaseDn;
      const input = {
        ...base,
        ldap,
        ...('bindPassword' in change ? { bindPassword: change.bindPassword } : {}),
        ...('selectedGroups' in change ? { selectedGroups: change.selectedGroups } : {}),
      };
      const id = await createDirectory(stack, input);
      const run = await syncAllAndWait(stack, id);
      expect(run.status).toBe('FAILED');
      expect(run.errorCode).toBe(code);
      expect(run.errorMessage).toMatch(message);
      expect(run.errorMessage).not.toContain(slapd.rootPassword);
      expect(await allUsers(stack, id)).toEqual([]);
    });
  });
});
