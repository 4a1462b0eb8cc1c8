// Delta sync end to end: a real slapd, NATS, Postgres and every service in process, through the
// gateway. A DELTA run of an unchanged directory writes nothing; changes made with ldapmodify
// (attribute, member added and removed, user deleted) arrive through a delta as updates,
// memberships and removals with their reason; a user who comes back is restored with its id; a
// delta keeps a user within 100 groups, choosing them as the next full sync does.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatLdifEntry, startSlapd, waitFor, type Slapd } from '@dirsync/testkit';
import { RUN_FIELDS, startStack, waitForRun, type RunView, type Stack } from './support/stack.js';

const PEOPLE = 'ou=people,dc=example,dc=org';
const GROUPS = 'ou=groups,dc=example,dc=org';
const uid = (i: number) => `p${String(i).padStart(3, '0')}`;
const dnOf = (i: number) => `uid=${uid(i)},${PEOPLE}`;
const range = (from: number, to: number) => Array.from({ length: to - from }, (_v, i) => from + i);
const LIMITS = `cn=limits,${GROUPS}`;
const limitCn = (g: number) => `limit-${String(g).padStart(3, '0')}`;
const limitDn = (g: number) => `cn=${limitCn(g)},${GROUPS}`;

function directoryLdif(): string {
  const entries = [
    ...range(0, 200).map((i) =>
      formatLdifEntry({
        dn: dnOf(i),
        attributes: {
          objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
          uid: [uid(i)],
          cn: [`Person ${i}`],
          sn: [`Surname ${i}`],
          mail: [`${uid(i)}@example.org`],
        },
      }),
    ),
    formatLdifEntry({
      dn: `cn=staff,${GROUPS}`,
      attributes: {
        objectClass: ['top', 'groupOfNames'],
        cn: ['staff'],
        member: [...range(0, 100).map(dnOf), `cn=team,${GROUPS}`],
      },
    }),
    formatLdifEntry({
      dn: `cn=team,${GROUPS}`,
      attributes: {
        objectClass: ['top', 'groupOfNames'],
        cn: ['team'],
        member: range(90, 120).map(dnOf),
      },
    }),
    // Another directory's scope: "limits" holds 100 groups; p180 is in 99 of them, so in 100
    // (transitively in "limits" too).
    formatLdifEntry({
      dn: LIMITS,
      attributes: {
        objectClass: ['top', 'groupOfNames'],
        cn: ['limits'],
        member: range(0, 100).map(limitDn),
      },
    }),
    ...range(0, 100).map((g) =>
      formatLdifEntry({
        dn: limitDn(g),
        attributes: {
          objectClass: ['top', 'groupOfNames'],
          cn: [limitCn(g)],
          // (groupOfNames needs a member: p181 holds the last one)
          member: [dnOf(g < 99 ? 180 : 181)],
        },
      }),
    ),
  ];
  return entries.join('\n\n') + '\n';
}

const DELTA_RUN = `${RUN_FIELDS} readMode fullReadReason counts { entriesRead }`;

interface DeltaRunView extends RunView {
  readMode: string | null;
  fullReadReason: string | null;
  counts: RunView['counts'] & { entriesRead: number };
}

interface UserView {
  id: string;
  username: string;
  lastName: string | null;
  status: string;
  removalReason: string | null;
  groups: { nodes: { name: string }[] };
}

describe('delta sync end to end (OpenLDAP → … → GraphQL)', () => {
  let slapd: Slapd;
  let stack: Stack;
  let db: pg.Client;
  let dirId: string;

  async function sync(mode: 'FULL' | 'DELTA', id = dirId): Promise<DeltaRunView> {
    const { syncAll } = await stack.gql<{ syncAll: { id: string } }>(
      `mutation($id: ID!, $mode: SyncMode) { syncAll(directoryId: $id, mode: $mode) { id } }`,
      { id, mode },
    );
    await waitForRun(stack, syncAll.id);
    const { run } = await stack.gql<{ run: DeltaRunView }>(
      `query($id: ID!) { run(id: $id) { ${DELTA_RUN} } }`,
      { id: syncAll.id },
    );
    expect(run.status).toBe('COMPLETED');
    return run;
  }

  async function user(i: number): Promise<UserView | null> {
    const { userByUsername } = await stack.gql<{ userByUsername: UserView | null }>(
      `query($dir: ID!, $u: String!) { userByUsername(directoryId: $dir, username: $u) {
         id username lastName status removalReason groups { nodes { name } } } }`,
      { dir: dirId, u: uid(i) },
    );
    return userByUsername;
  }

  /** Every row version of the directory in identity: unchanged when nothing was written. */
  async function rowVersions(): Promise<string> {
    const r = await db.query<{ v: string }>(
      `select string_agg(x, ',' order by x) as v from (
         select 'u' || id || xmin::text as x from identity.users where directory_id = $1
         union all select 'g' || id || xmin::text from identity.groups where directory_id = $1
         union all select 'm' || m.group_id || m.user_id || m.xmin::text from identity.memberships m
           join identity.groups g on g.id = m.group_id where g.directory_id = $1) t`,
      [dirId],
    );
    return r.rows[0]?.v ?? '';
  }

  beforeAll(async () => {
    slapd = await startSlapd({ name: 'delta-e2e', ldif: directoryLdif() });
    stack = await startStack();
    db = new pg.Client({ connectionString: stack.databaseUrl });
    await db.connect();
    const { createDirectory } = await stack.gql<{ createDirectory: { id: string } }>(
      `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { id } }`,
      {
        input: {
          name: 'delta e2e',
          ldap: {
            url: slapd.url,
            bindDn: slapd.rootDn,
            baseDn: slapd.suffix,
            userBaseDn: PEOPLE,
            groupBaseDn: GROUPS,
          },
          bindPassword: slapd.rootPassword,
          selectedGroups: [`cn=staff,${GROUPS}`],
          scheduleIntervalMinutes: 0,
        },
      },
    );
    dirId = createDirectory.id;
    const first = await sync('FULL');
    expect(first.counts.created).toBe(120);
  }, 180_000);

  afterAll(async () => {
    await db?.end();
    await stack?.stop();
    await slapd?.dispose();
  });

  it('a DELTA run of an unchanged directory reads almost nothing and writes nothing', async () => {
    const before = await rowVersions();
    const run = await sync('DELTA');
    expect(run.readMode).toBe('DELTA');
    expect(run.counts).toMatchObject({ seen: 0, created: 0, updated: 0, pendingDeletion: 0 });
    expect(run.counts.entriesRead).toBeLessThan(10);
    expect(await rowVersions()).toBe(before);
  });

  it('brings attribute changes, new members, leavers and deletions through a DELTA run', async () => {
    await slapd.modify(
      [
        `dn: ${dnOf(3)}\nchangetype: modify\nreplace: sn\nsn: Changed\n`,
        `dn: cn=team,${GROUPS}\nchangetype: modify\nadd: member\nmember: ${dnOf(150)}\n`,
        `dn: cn=staff,${GROUPS}\nchangetype: modify\ndelete: member\nmember: ${dnOf(4)}\n`,
        `dn: ${dnOf(5)}\nchangetype: delete\n`,
      ].join('\n'),
    );
    await waitFor(
      async () => (await slapd.search(GROUPS, `(member=${dnOf(5)})`, ['1.1'])).length === 0,
      { message: 'refint took the deleted user out of staff' },
    );
    const run = await sync('DELTA');
    expect(run.readMode).toBe('DELTA');
    expect(run.counts).toMatchObject({ created: 1, updated: 1, pendingDeletion: 2 });
    expect(run.counts.entriesRead).toBeLessThan(20);
    expect(await user(3)).toMatchObject({ lastName: 'Changed', status: 'ACTIVE' });
    const joiner = await user(150);
    expect(joiner?.status).toBe('ACTIVE');
    expect(joiner?.groups.nodes.map((g) => g.name).sort()).toEqual(['staff', 'team']);
    expect(await user(4)).toMatchObject({
      status: 'PENDING_DELETION',
      removalReason: 'OUT_OF_SCOPE',
      groups: { nodes: [] },
    });
    expect(await user(5)).toMatchObject({ status: 'PENDING_DELETION', removalReason: 'DELETED' });
    expect((await user(6))?.status).toBe('ACTIVE');
  });

  it('restores a user who comes back, with the same id', async () => {
    const removed = await user(4);
    await slapd.modify(
      `dn: cn=team,${GROUPS}\nchangetype: modify\nadd: member\nmember: ${dnOf(4)}\n`,
    );
    const run = await sync('DELTA');
    expect(run.counts.restored).toBe(1);
    const back = await user(4);
    expect(back).toMatchObject({ id: removed?.id, status: 'ACTIVE', removalReason: null });
    expect(back?.groups.nodes.map((g) => g.name).sort()).toEqual(['staff', 'team']);
  });

  it('a DELTA run keeps a user within 100 groups, the same ones the next FULL run keeps', async () => {
    const { createDirectory } = await stack.gql<{ createDirectory: { id: string } }>(
      `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { id } }`,
      {
        input: {
          name: 'delta e2e limits',
          ldap: {
            url: slapd.url,
            bindDn: slapd.rootDn,
            baseDn: slapd.suffix,
            userBaseDn: PEOPLE,
            groupBaseDn: GROUPS,
          },
          bindPassword: slapd.rootPassword,
          selectedGroups: [LIMITS],
          scheduleIntervalMinutes: 0,
          deltaIntervalMinutes: 0,
        },
      },
    );
    const limitsDir = createDirectory.id;
    const groupsOf180 = async () => {
      const { userByUsername } = await stack.gql<{
        userByUsername: { groups: { totalCount: number; nodes: { name: string }[] } };
      }>(
        `query($dir: ID!) { userByUsername(directoryId: $dir, username: "${uid(180)}") {
           groups(first: 500) { totalCount nodes { name } } } }`,
        { dir: limitsDir },
      );
      return userByUsername.groups;
    };
    const errorsOf = async (id: string) =>
      (
        await stack.gql<{ run: { errors: { nodes: { code: string; message: string }[] } } }>(
          `query($id: ID!) { run(id: $id) { errors(first: 10) { nodes { code message } } } }`,
          { id },
        )
      ).run.errors.nodes;
    const first = await sync('FULL', limitsDir);
    expect(first.counts).toMatchObject({ created: 2, errors: 0, membershipsAdded: 102 });

    // Group 100 for p180: "limits" (transitive), ranking after every "limit-0…", is left out.
    await slapd.modify(
      `dn: ${limitDn(99)}\nchangetype: modify\nadd: member\nmember: ${dnOf(180)}\n`,
    );
    const delta = await sync('DELTA', limitsDir);
    expect(delta.readMode).toBe('DELTA');
    expect(delta.counts).toMatchObject({ membershipsAdded: 1, membershipsRemoved: 1, errors: 1 });
    const [error] = await errorsOf(delta.id);
    expect(error).toMatchObject({ code: 'LIMIT_EXCEEDED' });
    expect(error?.message).toContain('left out: "limits"');
    const after = await groupsOf180();
    expect(after.totalCount).toBe(100);
    expect(after.nodes.map((g) => g.name)).toContain(limitCn(99));
    expect(after.nodes.map((g) => g.name)).not.toContain('limits');

    // The next FULL run chooses the same 100 groups: no membership moves back and forth.
    const full = await sync('FULL', limitsDir);
    expect(full.counts).toMatchObject({ membershipsAdded: 0, membershipsRemoved: 0, errors: 1 });
    expect((await errorsOf(full.id))[0]?.message).toContain('is in 101 groups');
    expect((await groupsOf180()).nodes.map((g) => g.name).sort()).toEqual(
      after.nodes.map((g) => g.name).sort(),
    );
  });
});
