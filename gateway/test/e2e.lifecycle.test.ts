// The user lifecycle end to end through the gateway, against a real OpenLDAP slapd, NATS
// JetStream and Postgres: an operator's bypass survives syncs; a manual user is claimed by the
// sync that brings its username and is read-only from then on; a second directory bringing the
// same usernames reports USERNAME_CONFLICT per user (REPORT) or takes the users over
// (TAKE_OVER, same dirsync ids), and the run still completes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatLdifEntry, startSlapd, type Slapd } from '@dirsync/testkit';
import { createSlapdDirectory, startStack, waitForRun, type Stack } from './support/stack.js';

const PEOPLE = ['ada', 'bob', 'cy', 'dora'] as const;

let slapd: Slapd;
let stack: Stack;
let dirA: string;

interface UserView {
  id: string;
  username: string;
  status: string;
  bypass: boolean;
  synced: boolean;
  firstName: string | null;
  directory: { id: string } | null;
}
const USER_FIELDS = 'id username status bypass synced firstName directory { id }';

interface Counts {
  seen: number;
  created: number;
  updated: number;
  unchanged: number;
  conflicts: number;
  claimed: number;
  pendingDeletion: number;
}
interface Run {
  id: string;
  status: string;
  counts: Counts;
  errors: { totalCount: number; nodes: { code: string; externalId: string; message: string }[] };
}

async function syncAll(directoryId: string): Promise<Run> {
  const { syncAll } = await stack.gql<{ syncAll: { id: string } }>(
    `mutation($id: ID!) { syncAll(directoryId: $id) { id } }`,
    { id: directoryId },
  );
  await waitForRun(stack, syncAll.id);
  const { run } = await stack.gql<{ run: Run }>(
    `query($id: ID!) { run(id: $id) { id status
       counts { seen created updated unchanged conflicts claimed pendingDeletion }
       errors(first: 100) { totalCount nodes { code externalId message } } } }`,
    { id: syncAll.id },
  );
  return run;
}

async function byName(username: string): Promise<UserView | null> {
  const { userByUsername } = await stack.gql<{ userByUsername: UserView | null }>(
    `query($u: String!) { userByUsername(username: $u) { ${USER_FIELDS} } }`,
    { u: username },
  );
  return userByUsername;
}

async function createDirectory(name: string, conflictPolicy?: string): Promise<string> {
  return createSlapdDirectory(
    stack,
    slapd,
    name,
    ['staff'],
    conflictPolicy ? { conflictPolicy } : {},
  );
}

beforeAll(async () => {
  const people = (p: string) => `uid=${p},ou=people,dc=example,dc=org`;
  const entries = [
    ...PEOPLE.map((p) =>
      formatLdifEntry({
        dn: people(p),
        attributes: {
          objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
          uid: [p],
          cn: [p],
          sn: ['Lifecycle'],
          givenName: [p],
          mail: [`${p}@example.org`],
        },
      }),
    ),
    formatLdifEntry({
      dn: 'cn=staff,ou=groups,dc=example,dc=org',
      attributes: {
        objectClass: ['top', 'groupOfNames'],
        cn: ['staff'],
        member: PEOPLE.map(people),
      },
    }),
  ];
  slapd = await startSlapd({ name: 'e2e-lifecycle', ldif: entries.join('\n\n') + '\n' });
  stack = await startStack();
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await slapd?.dispose();
});

describe('user lifecycle through the gateway', () => {
  let manualId: string;

  it('a manual user is claimed by the sync that brings its username', async () => {
    const { createUser } = await stack.gql<{ createUser: UserView }>(
      `mutation { createUser(input: { username: "DORA", firstName: "Manual" }) { ${USER_FIELDS} } }`,
    );
    expect(createUser).toMatchObject({ synced: false, directory: null, status: 'ACTIVE' });
    manualId = createUser.id;

    dirA = await createDirectory('Lifecycle A');
    const run = await syncAll(dirA);
    expect(run.status).toBe('COMPLETED');
    expect(run.counts).toMatchObject({ seen: 4, created: 3, updated: 1, claimed: 1, conflicts: 0 });
    expect(await byName('dora')).toMatchObject({
      id: manualId,
      username: 'dora',
      firstName: 'dora',
      synced: true,
      directory: { id: dirA },
    });
  });

  it('synced fields are READ_ONLY; the bypass is the operator’s and survives syncs', async () => {
    const upd = await stack.gqlRaw(
      `mutation($id: ID!) { updateUser(id: $id, input: { firstName: "Nope" }) { id } }`,
      { id: manualId },
    );
    expect(upd.errors?.[0]?.extensions?.code).toBe('READ_ONLY');
    const del = await stack.gqlRaw(`mutation($id: ID!) { deleteUser(id: $id) }`, { id: manualId });
    expect(del.errors?.[0]?.extensions?.code).toBe('READ_ONLY');

    const ada = (await byName('ada'))!;
    const { setUserBypass } = await stack.gql<{ setUserBypass: UserView }>(
      `mutation($id: ID!) { setUserBypass(id: $id, bypass: true) { ${USER_FIELDS} } }`,
      { id: ada.id },
    );
    expect(setUserBypass).toMatchObject({ status: 'BYPASS', bypass: true });
    await slapd.modify(
      'dn: uid=ada,ou=people,dc=example,dc=org\nchangetype: modify\nreplace: givenName\ngivenName: Adeline\n-\n',
    );
    const run = await syncAll(dirA);
    expect(run.counts).toMatchObject({ updated: 1, unchanged: 3 });
    expect(await byName('ada')).toMatchObject({
      id: ada.id,
      firstName: 'Adeline',
      status: 'BYPASS',
      bypass: true,
    });
  });

  it('a second directory with the same usernames: REPORT → USERNAME_CONFLICT per user, nothing overwritten', async () => {
    const before = await byName('bob');
    const dirB = await createDirectory('Lifecycle B');
    const run = await syncAll(dirB);
    expect(run.status).toBe('COMPLETED');
    expect(run.counts).toMatchObject({ seen: 4, created: 0, conflicts: 4, claimed: 0 });
    expect(run.errors.nodes.map((e) => e.code)).toEqual(Array(4).fill('USERNAME_CONFLICT'));
    expect(run.errors.nodes[0]?.message).toContain(dirA);
    expect(await byName('bob')).toEqual(before);
  });

  it('TAKE_OVER moves the users to the new directory with their ids; the old one then reports them', async () => {
    const ids = await Promise.all(PEOPLE.map(async (p) => (await byName(p))!.id));
    const dirC = await createDirectory('Lifecycle C', 'TAKE_OVER');
    const run = await syncAll(dirC);
    expect(run.status).toBe('COMPLETED');
    expect(run.counts).toMatchObject({ seen: 4, created: 0, claimed: 4, conflicts: 0 });
    for (const [i, p] of PEOPLE.entries()) {
      expect(await byName(p)).toMatchObject({ id: ids[i], directory: { id: dirC } });
    }
    // ada keeps the operator's bypass wherever she is synced from.
    expect((await byName('ada'))?.status).toBe('BYPASS');

    const back = await syncAll(dirA);
    expect(back.status).toBe('COMPLETED');
    expect(back.counts).toMatchObject({ conflicts: 4, pendingDeletion: 0 });
    expect((await byName('ada'))?.directory).toEqual({ id: dirC });
  });
});
