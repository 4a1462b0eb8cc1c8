// End to end through the gateway for a Microsoft Entra ID directory: the fake Graph tenant over
// verified HTTPS, real NATS JetStream and Postgres, all services in process. Covers what an
// operator adding an Entra directory relies on: the secret stays secret, nested groups and
// disabled users arrive, a removal is swept, throttling is survived, bad credentials are a clear
// run error, and a DELTA after a blocked FULL run does not carry out the removals it held back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeGraphAdmin, startFakeGraph, type FakeGraph } from '@dirsync/fake-graph';
import { waitFor } from '@dirsync/testkit';
import { startStack, syncAllAndWait, type Stack } from './support/stack.js';

const SECRET = 'e2e-Entra-Secret~1';

interface UserView {
  username: string;
  status: string;
  email: string | null;
  phones: { number: string; kind: string }[];
  groups: { nodes: { name: string }[] };
}

describe('an Entra ID directory through the gateway', () => {
  let stack: Stack;
  let fake: FakeGraph;
  let admin: FakeGraphAdmin;
  let clientId: string;
  let directoryId: string;
  const ids: Record<string, string> = {};

  async function users(): Promise<UserView[]> {
    const { users } = await stack.gql<{ users: { nodes: UserView[] } }>(
      `query($dir: ID!) { users(first: 100, filter: { directoryId: $dir }) {
        nodes { username status email phones { number kind } groups { nodes { name } } } } }`,
      { dir: directoryId },
    );
    return users.nodes.sort((a, b) => a.username.localeCompare(b.username));
  }

  async function createDirectory(overrides: Record<string, unknown> = {}): Promise<string> {
    const { createDirectory } = await stack.gql<{ createDirectory: { id: string } }>(
      `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { id } }`,
      {
        input: {
          name: `entra ${Math.random().toString(16).slice(2, 8)}`,
          entra: {
            tenantId: fake.tenantId,
            clientId,
            loginUrl: fake.url,
            graphUrl: fake.url,
            tlsCaPem: fake.caPem,
          },
          clientSecret: SECRET,
          selectedGroups: [ids.staff],
          scheduleIntervalMinutes: 0,
          // A tenant of three: one removal is 33 %, which the default deletion threshold (20 %)
          // would block. Thresholds are gateway/test/e2e.safety.test.ts's subject.
          deletionThreshold: { maxCount: 0, maxPercent: 0 },
          ...overrides,
        },
      },
    );
    return createDirectory.id;
  }

  beforeAll(async () => {
    [stack, fake] = await Promise.all([startStack(), startFakeGraph()]);
    admin = new FakeGraphAdmin(fake.url, fake.caPem);
    clientId = (await admin.registerApp({ secrets: [SECRET] })).clientId;
    const created = await admin.addUsers([
      {
        userPrincipalName: 'grace@contoso.example',
        mail: 'grace@contoso.example',
        businessPhones: ['+1 212 555 0147'],
      },
      { userPrincipalName: 'linus@contoso.example', accountEnabled: false },
      { userPrincipalName: 'margaret@contoso.example' },
      { userPrincipalName: 'contractor@contoso.example' },
    ]);
    for (const u of created)
      ids[String(u.userPrincipalName).split('@')[0] as string] = String(u.id);
    const [staff, eng, apollo] = await admin.addGroups([
      { displayName: 'Staff' },
      { displayName: 'Engineering' },
      { displayName: 'Apollo' },
    ]);
    Object.assign(ids, {
      staff: String(staff?.id),
      eng: String(eng?.id),
      apollo: String(apollo?.id),
    });
    await admin.addMembers(ids.staff as string, [ids.grace as string, ids.eng as string]);
    await admin.addMembers(ids.eng as string, [ids.linus as string, ids.apollo as string]);
    await admin.addMembers(ids.apollo as string, [ids.margaret as string]);
    directoryId = await createDirectory();
  });

  afterAll(async () => {
    admin?.close();
    await fake?.close();
    await stack?.stop();
  });

  it('never returns the client secret', async () => {
    const { directory } = await stack.gql<{ directory: Record<string, unknown> }>(
      `query($id: ID!) { directory(id: $id) { kind hasBindPassword entra { tenantId clientId credential } } }`,
      { id: directoryId },
    );
    expect(directory).toMatchObject({
      kind: 'ENTRA',
      hasBindPassword: true,
      entra: { clientId, credential: 'clientSecret' },
    });
    expect(JSON.stringify(directory)).not.toContain(SECRET);
  });

  it('imports the transitive members of nested groups, disabled users as disabled', async () => {
    const run = await syncAllAndWait(stack, directoryId);
    expect(run).toMatchObject({ status: 'COMPLETED', errorCode: null });
    expect(run.counts).toMatchObject({ seen: 3, created: 3, groupsSeen: 3 });
    const list = await users();
    expect(list.map((u) => [u.username, u.status])).toEqual([
      ['grace@contoso.example', 'ACTIVE'],
      ['linus@contoso.example', 'DISABLED'],
      ['margaret@contoso.example', 'ACTIVE'],
    ]);
    const margaret = list.find((u) => u.username.startsWith('margaret'));
    expect(margaret?.groups.nodes.map((g) => g.name).sort()).toEqual([
      'Apollo',
      'Engineering',
      'Staff',
    ]);
    expect(list[0]?.phones).toEqual([{ number: '+12125550147', kind: 'businessPhones' }]);
  });

  it('survives throttling in the middle of paging, and sweeps who left the groups', async () => {
    await admin.removeMember(ids.apollo as string, ids.margaret as string);
    await admin.addFault({
      match: 'transitiveMembers',
      skip: 1,
      count: 2,
      status: 429,
      retryAfterSeconds: 0,
    });
    const run = await syncAllAndWait(stack, directoryId);
    expect(run).toMatchObject({ status: 'COMPLETED' });
    expect(run.counts).toMatchObject({ seen: 2, pendingDeletion: 1 });
    const margaret = (await users()).find((u) => u.username.startsWith('margaret'));
    expect(margaret?.status).toBe('PENDING_DELETION');
    expect((await admin.stats()).faultsServed).toBe(2);
  });

  async function deltaAndWait(dir = directoryId): Promise<{
    id: string;
    status: string;
    readMode: string | null;
    fullReadReason: string | null;
    counts: { seen: number; pendingDeletion: number; updated: number; entriesRead: number };
  }> {
    const fields = `id status readMode fullReadReason counts { seen pendingDeletion updated entriesRead }`;
    const { syncAll } = await stack.gql<{ syncAll: { id: string } }>(
      `mutation($id: ID!) { syncAll(directoryId: $id, mode: DELTA) { id } }`,
      { id: dir },
    );
    return waitFor(
      async () => {
        const { run } = await stack.gql<{ run: Awaited<ReturnType<typeof deltaAndWait>> }>(
          `query($id: ID!) { run(id: $id) { ${fields} } }`,
          { id: syncAll.id },
        );
        return ['COMPLETED', 'FAILED', 'BLOCKED'].includes(run.status) ? run : undefined;
      },
      { timeoutMs: 30_000, message: 'delta run finished' },
    );
  }

  it('a DELTA run reads only the changes: an update, a removal from the groups', async () => {
    await admin.updateUser(ids.grace as string, { mail: 'grace.hopper@contoso.example' });
    await admin.removeMember(ids.eng as string, ids.linus as string);
    const run = await deltaAndWait();
    expect(run).toMatchObject({ status: 'COMPLETED', readMode: 'DELTA', fullReadReason: null });
    expect(run.counts).toMatchObject({ seen: 1, updated: 1, pendingDeletion: 1 });
    const list = await users();
    expect(list.find((u) => u.username.startsWith('grace'))?.email).toBe(
      'grace.hopper@contoso.example',
    );
    expect(list.find((u) => u.username.startsWith('linus'))?.status).toBe('PENDING_DELETION');
  });

  it('an expired delta link is recovered with a full read, nobody lost or duplicated', async () => {
    await admin.expireDeltaLinks();
    const run = await deltaAndWait();
    expect(run).toMatchObject({
      status: 'COMPLETED',
      readMode: 'FULL',
      fullReadReason: 'CURSOR_REJECTED',
    });
    const list = await users();
    expect(list.filter((u) => u.status === 'ACTIVE').map((u) => u.username)).toEqual([
      'grace@contoso.example',
    ]);
    expect(new Set(list.map((u) => u.username)).size).toBe(list.length);
    const again = await deltaAndWait();
    expect(again).toMatchObject({ status: 'COMPLETED', readMode: 'DELTA' });
    expect(again.counts.seen).toBe(0);
  });

  it('bad credentials fail the run with INVALID_CREDENTIALS, removing nobody', async () => {
    const bad = await createDirectory({ clientSecret: 'not-the-Secret' });
    const run = await syncAllAndWait(stack, bad);
    expect(run.status).toBe('FAILED');
    expect(run.errorCode).toBe('INVALID_CREDENTIALS');
    expect(run.errorMessage).toContain(clientId);
    expect(run.errorMessage).not.toContain('not-the-Secret');
    expect(run.counts.pendingDeletion).toBe(0);
  });
  it('a blocked FULL run followed by a DELTA naming the same removals removes nobody; rejecting leaves everyone where they were', async () => {
    const made = await admin.addUsers(
      Array.from({ length: 10 }, (_, i) => ({ userPrincipalName: `safe${i}@contoso.example` })),
    );
    const [safety] = await admin.addGroups([{ displayName: 'Safety' }]);
    await admin.addMembers(
      String(safety?.id),
      made.map((u) => String(u.id)),
    );
    // This directory keeps the default threshold (more than 500 or more than 20 %).
    const dir = await createDirectory({
      selectedGroups: [String(safety?.id)],
      deletionThreshold: { maxCount: 500, maxPercent: 20 },
    });
    const statuses = async () => {
      const { users } = await stack.gql<{ users: { nodes: { status: string }[] } }>(
        `query($dir: ID!) { users(first: 100, filter: { directoryId: $dir }) { nodes { status } } }`,
        { dir },
      );
      return users.nodes.map((u) => u.status);
    };
    expect((await syncAllAndWait(stack, dir)).status).toBe('COMPLETED');
    expect(await deltaAndWait(dir)).toMatchObject({ status: 'COMPLETED', readMode: 'DELTA' });

    // Half the users soft-deleted: the FULL run blocks.
    for (const u of made.slice(0, 5)) await admin.deleteUser(String(u.id));
    const full = await syncAllAndWait(stack, dir);
    expect(full).toMatchObject({ status: 'BLOCKED', counts: { pendingDeletion: 0 } });

    // The DELTA names the same five removals: it is measured, blocks too, and supersedes the
    // FULL run (its plan is the one to decide); nobody is removed.
    const delta = await deltaAndWait(dir);
    expect(delta).toMatchObject({ status: 'BLOCKED', counts: { pendingDeletion: 0 } });
    expect(await statuses()).toEqual(Array(10).fill('ACTIVE'));
    const stale = await waitFor(
      async () => {
        const { run } = await stack.gql<{
          run: { status: string; supersededBy: { id: string } | null };
        }>(`query($id: ID!) { run(id: $id) { status supersededBy { id } } }`, { id: full.id });
        return run.status === 'REJECTED' ? run : undefined;
      },
      { message: 'the blocked FULL run superseded' },
    );
    expect(stale.supersededBy?.id).toBe(delta.id);

    const { rejectRun } = await stack.gql<{ rejectRun: { status: string } }>(
      `mutation($id: ID!) { rejectRun(runId: $id) { status } }`,
      { id: delta.id },
    );
    expect(rejectRun.status).toBe('REJECTED');
    expect(await statuses()).toEqual(Array(10).fill('ACTIVE'));
  });
});
