// Run history through the real service: events over NATS → run_changes in the same
// transaction → GraphQL (SyncRun.changes as the gateway resolves it, User.history), the counts ==
// recorded changes rule per kind, paging, filters and retention.
import { AdminRole, ErrorCode, SyncMode, UserOutcome, type RunUpdate } from '@dirsync/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RunBuilder,
  admin,
  gql,
  group,
  runAndWait,
  startHarness,
  user,
  type AdminInit,
  type Harness,
} from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h?.close();
});

interface Page {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  nodes: {
    id: string;
    kind: string;
    username: string | null;
    userId: string | null;
    fields: { field: string; old: unknown; new: unknown }[];
    addedGroupIds: string[];
    removedGroupIds: string[];
    errorCode: string | null;
    user: { username: string } | null;
    at: string;
  }[];
}

/** `SyncRun.changes` as the gateway asks for it: through `_entities`. */
async function changes(runId: string, args = ''): Promise<Page> {
  const res = await gql<{ _entities: { changes: Page }[] }>(
    h.service.url,
    `query($r: [_Any!]!) { _entities(representations: $r) { ... on SyncRun {
       changes${args} { totalCount pageInfo { hasNextPage endCursor }
         nodes { id kind at username userId fields { field old new } addedGroupIds removedGroupIds
                 errorCode user { username } } } } } }`,
    { r: [{ __typename: 'SyncRun', id: runId }] },
  );
  expect(res.errors).toBeUndefined();
  return res.data!._entities[0]!.changes;
}

/** Every count of the run equals the number of its recorded changes of that kind. */
async function expectCountsEqualHistory(update: RunUpdate): Promise<void> {
  const c = update.counts!;
  const perKind: [string, number][] = [
    ['CREATED', c.created],
    ['UPDATED', c.updated],
    ['RESTORED', c.restored],
    ['DISABLED', c.disabled],
    ['ENABLED', c.enabled],
    ['CLAIMED', c.claimed],
    ['PENDING_DELETION', c.pendingDeletion],
    ['CONFLICT', c.conflicts],
    ['ERROR', c.errors],
    ['GROUP_CREATED', c.groupsCreated],
    ['GROUP_UPDATED', c.groupsUpdated],
    ['GROUP_DELETED', c.groupsRemoved],
  ];
  for (const [kind, count] of perKind) {
    const page = await changes(update.runId, `(first: 0, filter: { kinds: [${kind}] })`);
    expect({ kind, recorded: page.totalCount }).toEqual({ kind, recorded: count });
  }
  const [m] = await h.rows<{ added: string; removed: string }>(
    `select coalesce(sum(jsonb_array_length(detail->'added')), 0) as added,
            coalesce(sum(jsonb_array_length(detail->'removed')), 0) as removed
     from run_changes where run_id = ? and kind = 'membership'`,
    [update.runId],
  );
  expect({ added: Number(m?.added), removed: Number(m?.removed) }).toEqual({
    added: c.membershipsAdded,
    removed: c.membershipsRemoved,
  });
}

const dir = 'dir-history';
const people = [
  user('h1', 'hana'),
  user('h2', 'hugo', { phones: [{ number: '+14155550101', kind: 'work' }] }),
  user('h3', 'hiro', { disabled: true }),
  user('h4', 'hedy'),
];

describe('run history', () => {
  let first: RunUpdate;
  let second: RunUpdate;

  it('records every change of a real run; its counts equal the recorded changes, per kind', async () => {
    first = await runAndWait(
      h,
      new RunBuilder(dir)
        .started(SyncMode.FULL)
        .users(people)
        .groups([group('hg1', 'Staff'), group('hg2', 'Ops')])
        .members({ hg1: ['h1', 'h2', 'h3'], hg2: ['h4'] })
        .objectErrors([
          { externalId: 'h9', code: ErrorCode.MISSING_USERNAME, message: 'no uid on this entry' },
        ])
        .completed(),
    );
    expect(first.counts).toMatchObject({ created: 4, disabled: 1, errors: 1, groupsCreated: 2 });
    await expectCountsEqualHistory(first);
    const all = await changes(first.runId, '(first: 500)');
    expect(all.totalCount).toBe(4 + 1 + 1 + 2 + 4); // created, disabled, error, groups, members
    const error = all.nodes.find((n) => n.kind === 'ERROR');
    expect(error).toMatchObject({ errorCode: 'MISSING_USERNAME', userId: null });
    const created = all.nodes.find((n) => n.kind === 'CREATED' && n.username === 'hugo');
    expect(created?.fields).toContainEqual({
      field: 'phones',
      old: null,
      new: [{ number: '+14155550101', kind: 'work' }],
    });
    expect(created?.user).toEqual({ username: 'hugo' });
    // When it happened, as a DateTime (ISO 8601) within this test's run.
    const at = Date.parse(created?.at ?? '');
    expect(Math.abs(Date.now() - at)).toBeLessThan(5 * 60_000);
    expect(created?.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
  });

  it('a second run: updated old → new, enabled, pending deletion, memberships; counts again', async () => {
    second = await runAndWait(
      h,
      new RunBuilder(dir)
        .started(SyncMode.FULL)
        .users([
          user('h1', 'hana', { email: 'hana@new.example' }),
          user('h2', 'hugo', { phones: [] }),
          user('h3', 'hiro'),
        ])
        .groups([group('hg1', 'Staff')])
        .members({ hg1: ['h1', 'h3'] })
        .completed(),
    );
    expect(second.counts).toMatchObject({ updated: 3, enabled: 1, pendingDeletion: 1 });
    await expectCountsEqualHistory(second);
    const updated = await changes(second.runId, '(filter: { kinds: [UPDATED] })');
    const hana = updated.nodes.find((n) => n.username === 'hana');
    expect(hana?.fields).toEqual([
      { field: 'email', old: 'hana@example.org', new: 'hana@new.example' },
    ]);
    const gone = await changes(second.runId, '(filter: { kinds: [PENDING_DELETION] })');
    expect(gone.nodes.map((n) => n.username)).toEqual(['hedy']);
  });

  it('pages in the order the changes were made, and filters by user', async () => {
    const all = await changes(first.runId, '(first: 500)');
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const p: Page = await changes(first.runId, `(first: 3${after ? `, after: "${after}"` : ''})`);
      seen.push(...p.nodes.map((n) => n.id));
      if (!p.pageInfo.hasNextPage) break;
      after = p.pageInfo.endCursor;
    }
    expect(seen).toEqual(all.nodes.map((n) => n.id));
    expect([...seen].sort((a, b) => Number(a) - Number(b))).toEqual(seen);

    const hiro = all.nodes.find((n) => n.username === 'hiro')!;
    const mine = await changes(first.runId, `(filter: { userId: "${hiro.userId}" })`);
    expect(mine.nodes.map((n) => n.kind)).toEqual(['CREATED', 'DISABLED', 'MEMBERSHIP']);

    const bad = await gql(
      h.service.url,
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on SyncRun {
         changes(after: "nope") { totalCount } } } }`,
      { r: [{ __typename: 'SyncRun', id: first.runId }] },
    );
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('User.history: what runs did to one user, newest first', async () => {
    const res = await gql<{
      userByUsername: {
        history: { totalCount: number; nodes: { kind: string; runId: string }[] };
      };
    }>(
      h.service.url,
      `{ userByUsername(username: "hiro", directoryId: "${dir}") {
           history(first: 10) { totalCount nodes { kind runId } } } }`,
    );
    expect(res.errors).toBeUndefined();
    const nodes = res.data!.userByUsername.history.nodes;
    expect(nodes.map((n) => [n.kind, n.runId === second.runId ? 'second' : 'first'])).toEqual([
      ['ENABLED', 'second'],
      ['UPDATED', 'second'],
      ['MEMBERSHIP', 'first'],
      ['DISABLED', 'first'],
      ['CREATED', 'first'],
    ]);
  });

  it('retention deletes changes older than RUN_HISTORY_RETENTION_DAYS (default 30), nothing else', async () => {
    const [before] = await h.rows<{ n: string }>('select count(*) as n from run_changes');
    expect(await h.service.expireRunHistory(new Date(Date.now() + 29 * 86_400_000))).toBe(0);
    const deleted = await h.service.expireRunHistory(new Date(Date.now() + 31 * 86_400_000));
    expect(deleted).toBe(Number(before?.n));
    expect((await changes(first.runId)).totalCount).toBe(0);
    const [users] = await h.rows<{ n: string }>('select count(*) as n from users');
    expect(Number(users?.n)).toBe(4);
  });
});

describe('run history of a dry run', () => {
  it('a dry run read in several batches: its planned counts equal its recorded changes', async () => {
    const d = 'dir-history-dry';
    await runAndWait(
      h,
      new RunBuilder(d)
        .started(SyncMode.FULL)
        .users([user('y1', 'yara'), user('y2', 'yusuf'), user('y3', 'yves')])
        .groups([group('yg1', 'Yard')])
        .members({ yg1: ['y1', 'y2'] })
        .completed(),
    );
    // While it reads, the dry run counts seen / groupsSeen per batch (dry-run.test.ts); the
    // plan's counts must still be the plan's changes, each counted once.
    const plan = await runAndWait(
      h,
      new RunBuilder(d)
        .started(SyncMode.FULL, { dryRun: true })
        .users([user('y1', 'yara', { email: 'yara@new.example' }), user('y4', 'yoko')])
        .users([user('y2', 'yusuf', { disabled: true }), user('y5', '')])
        .users([user('y6', 'YARA')])
        .groups([group('yg1', 'Yard'), group('yg2', 'Yonder')])
        .members({ yg1: ['y1'], yg2: ['y4'] })
        .completed(),
    );
    expect(plan.dryRun).toBe(true);
    expect(plan.counts).toMatchObject({
      seen: 4,
      groupsSeen: 2,
      created: 1,
      updated: 2,
      disabled: 1,
      pendingDeletion: 1,
      errors: 2,
      groupsCreated: 1,
    });
    await expectCountsEqualHistory(plan);
  });
});

interface AdminPage {
  totalCount: number;
  nodes: {
    id: string;
    kind: string;
    email: string | null;
    adminId: string | null;
    username: string | null;
    userId: string | null;
    fields: { field: string; old: unknown; new: unknown }[];
    status: string | null;
    previousStatus: string | null;
    role: string | null;
    previousRole: string | null;
    removalReason: string | null;
    purgeAfter: string | null;
    errorCode: string | null;
    admin: { email: string; status: string } | null;
    runId: string;
  }[];
}

const ADMIN_NODE = `id kind email adminId username userId fields { field old new } status
  previousStatus role previousRole removalReason purgeAfter errorCode admin { email status } runId`;

async function adminChanges(runId: string, args = '(first: 500)'): Promise<AdminPage> {
  const res = await gql<{ _entities: { changes: AdminPage }[] }>(
    h.service.url,
    `query($r: [_Any!]!) { _entities(representations: $r) { ... on SyncRun {
       changes${args} { totalCount nodes { ${ADMIN_NODE} } } } } }`,
    { r: [{ __typename: 'SyncRun', id: runId }] },
  );
  expect(res.errors).toBeUndefined();
  return res.data!._entities[0]!.changes;
}

/** Every admin count of an ADMIN run equals the number of its recorded changes of that kind. */
async function expectAdminCountsEqualHistory(update: RunUpdate): Promise<void> {
  const c = update.counts!;
  const perKind: [string, number][] = [
    ['ADMIN_CREATED', c.adminsCreated],
    ['ADMIN_UPDATED', c.adminsUpdated],
    ['ADMIN_RESTORED', c.adminsRestored],
    ['ADMIN_DISABLED', c.adminsDisabled],
    ['ADMIN_PENDING_DELETION', c.adminsPendingDeletion],
    ['ERROR', c.errors],
  ];
  for (const [kind, count] of perKind) {
    const page = await adminChanges(update.runId, `(first: 0, filter: { kinds: [${kind}] })`);
    expect({ kind, recorded: page.totalCount }).toEqual({ kind, recorded: count });
  }
  // An ADMIN run records no user or group change.
  const users = await adminChanges(
    update.runId,
    `(first: 0, filter: { kinds: [CREATED, UPDATED, RESTORED, DISABLED, ENABLED, CLAIMED,
       PENDING_DELETION, CONFLICT, MEMBERSHIP, GROUP_CREATED, GROUP_UPDATED, GROUP_DELETED] })`,
  );
  expect(users.totalCount).toBe(0);
}

function adminRun(directoryId: string, admins: AdminInit[], email = ''): RunBuilder {
  return new RunBuilder(directoryId).started(SyncMode.ADMIN, { email }).admins(admins).completed();
}

describe('run history of administrators', () => {
  const adir = 'dir-history-admins';
  const other = 'dir-history-admins-other';
  let first: RunUpdate;
  let second: RunUpdate;

  it('an ADMIN run records created (with values), disabled and errors; counts equal them', async () => {
    await runAndWait(h, adminRun(other, [admin('o-oz', 'oz@example.org', AdminRole.OWNER)]));
    first = await runAndWait(
      h,
      adminRun(adir, [
        admin('a-ana', 'ana@example.org', AdminRole.HELP_DESK),
        admin('a-ben', 'ben@example.org', AdminRole.BILLING, { disabled: true }),
        admin('a-col', 'col@example.org', AdminRole.READ_ONLY),
        admin('a-dan', 'dan@example.org', AdminRole.READ_ONLY),
        admin('a-nomail', '', AdminRole.OWNER),
        admin('a-oz', 'OZ@example.org', AdminRole.READ_ONLY),
      ]),
    );
    expect(first.counts).toMatchObject({ adminsCreated: 4, adminsDisabled: 1, errors: 2 });
    await expectAdminCountsEqualHistory(first);
    const all = await adminChanges(first.runId);
    expect(all.nodes.map((n) => [n.kind, n.email])).toEqual([
      ['ERROR', null],
      ['ERROR', 'OZ@example.org'],
      ['ADMIN_CREATED', 'ana@example.org'],
      ['ADMIN_CREATED', 'ben@example.org'],
      ['ADMIN_DISABLED', 'ben@example.org'],
      ['ADMIN_CREATED', 'col@example.org'],
      ['ADMIN_CREATED', 'dan@example.org'],
    ]);
    const ana = all.nodes.find((n) => n.kind === 'ADMIN_CREATED' && n.email === 'ana@example.org');
    expect(ana).toMatchObject({
      username: null,
      userId: null,
      admin: { email: 'ana@example.org', status: 'ACTIVE' },
    });
    expect(ana?.fields).toEqual(
      expect.arrayContaining([
        { field: 'role', old: null, new: 'HELP_DESK' },
        { field: 'roles', old: null, new: ['HELP_DESK'] },
        { field: 'status', old: null, new: 'ACTIVE' },
        { field: 'externalId', old: null, new: 'a-ana' },
      ]),
    );
    // The conflict names the administrator another directory syncs with that e-mail.
    const oz = await gql<{ adminByEmail: { id: string } }>(
      h.service.url,
      `{ adminByEmail(email: "oz@example.org") { id } }`,
    );
    expect(all.nodes[1]).toMatchObject({
      errorCode: 'ADMIN_CONFLICT',
      adminId: oz.data!.adminByEmail.id,
    });
    expect(all.nodes[0]).toMatchObject({ errorCode: 'MISSING_EMAIL', adminId: null });
    expect(all.nodes.find((n) => n.kind === 'ADMIN_DISABLED')?.previousStatus).toBeNull();
  });

  it('a second run: updated old → new, role changed, enabled, pending deletion, restored', async () => {
    // Pending first, so that the second run restores it.
    await runAndWait(h, adminRun(adir, [], 'dan@example.org'));
    second = await runAndWait(
      h,
      adminRun(adir, [
        admin('a-ana', 'ana@example.org', AdminRole.OWNER, {
          roles: [AdminRole.OWNER, AdminRole.HELP_DESK],
        }),
        admin('a-ben', 'ben@example.org', AdminRole.BILLING, { displayName: 'Ben B' }),
        admin('a-dan', 'dan@example.org', AdminRole.READ_ONLY),
      ]),
    );
    expect(second.counts).toMatchObject({
      adminsUpdated: 2,
      adminsRestored: 1,
      adminsPendingDeletion: 1,
      adminsDisabled: 0,
    });
    await expectAdminCountsEqualHistory(second);
    const all = await adminChanges(second.runId);
    const of = (email: string) => all.nodes.filter((n) => n.email === email).map((n) => n.kind);
    expect(of('ana@example.org')).toEqual(['ADMIN_UPDATED', 'ADMIN_ROLE_CHANGED']);
    expect(of('ben@example.org')).toEqual(['ADMIN_UPDATED', 'ADMIN_ENABLED']);
    expect(of('dan@example.org')).toEqual(['ADMIN_RESTORED']);
    expect(of('col@example.org')).toEqual(['ADMIN_PENDING_DELETION']);
    const ana = all.nodes.find((n) => n.kind === 'ADMIN_UPDATED' && n.email === 'ana@example.org');
    expect(ana?.fields).toEqual([
      { field: 'role', old: 'HELP_DESK', new: 'OWNER' },
      { field: 'roles', old: ['HELP_DESK'], new: ['OWNER', 'HELP_DESK'] },
    ]);
    expect(all.nodes.find((n) => n.kind === 'ADMIN_ROLE_CHANGED')).toMatchObject({
      previousRole: 'HELP_DESK',
      role: 'OWNER',
    });
    const ben = all.nodes.find((n) => n.kind === 'ADMIN_UPDATED' && n.email === 'ben@example.org');
    expect(ben?.fields).toEqual([
      { field: 'displayName', old: 'ben', new: 'Ben B' },
      { field: 'status', old: 'DISABLED', new: 'ACTIVE' },
    ]);
    expect(all.nodes.find((n) => n.kind === 'ADMIN_ENABLED')?.status).toBe('ACTIVE');
    expect(all.nodes.find((n) => n.kind === 'ADMIN_RESTORED')).toMatchObject({
      status: 'ACTIVE',
      fields: [],
    });
    const col = all.nodes.find((n) => n.kind === 'ADMIN_PENDING_DELETION');
    expect(col).toMatchObject({
      removalReason: 'NOT_OBSERVED',
      previousStatus: 'ACTIVE',
      admin: { email: 'col@example.org', status: 'PENDING_DELETION' },
    });
    expect(Date.parse(col!.purgeAfter!)).toBeGreaterThan(Date.now());
  });

  it('a run for one e-mail records that administrator only; filter by admin; Admin.history', async () => {
    const one = await runAndWait(
      h,
      adminRun(
        adir,
        [admin('a-ben', 'ben@example.org', AdminRole.USER_MANAGER)],
        'ben@example.org',
      ),
    );
    expect(one.adminOutcome).toBe(UserOutcome.UPDATED);
    await expectAdminCountsEqualHistory(one);
    const mine = await adminChanges(one.runId);
    expect(mine.nodes.map((n) => [n.kind, n.adminId])).toEqual([
      ['ADMIN_UPDATED', one.adminId],
      ['ADMIN_ROLE_CHANGED', one.adminId],
    ]);

    const ana = (await adminChanges(first.runId)).nodes.find((n) => n.email === 'ana@example.org')!;
    const filtered = await adminChanges(second.runId, `(filter: { adminId: "${ana.adminId}" })`);
    expect(filtered.nodes.map((n) => n.kind)).toEqual(['ADMIN_UPDATED', 'ADMIN_ROLE_CHANGED']);

    const res = await gql<{
      adminByEmail: { history: { totalCount: number; nodes: { kind: string; runId: string }[] } };
    }>(
      h.service.url,
      `{ adminByEmail(email: "ben@example.org") { history(first: 10) { totalCount nodes { kind runId } } } }`,
    );
    expect(res.errors).toBeUndefined();
    const name = (runId: string) =>
      runId === first.runId ? 'first' : runId === second.runId ? 'second' : 'one';
    expect(res.data!.adminByEmail.history.nodes.map((n) => [n.kind, name(n.runId)])).toEqual([
      ['ADMIN_ROLE_CHANGED', 'one'],
      ['ADMIN_UPDATED', 'one'],
      ['ADMIN_ENABLED', 'second'],
      ['ADMIN_UPDATED', 'second'],
      ['ADMIN_DISABLED', 'first'],
      ['ADMIN_CREATED', 'first'],
    ]);
  });

  it('a manual administrator taken over by a sync is ADMIN_UPDATED + ADMIN_CLAIMED', async () => {
    const created = await gql<{ createAdmin: { id: string } }>(
      h.service.url,
      `mutation { createAdmin(input: { email: "mo@example.org", role: READ_ONLY }) { id } }`,
    );
    expect(created.errors).toBeUndefined();
    const run = await runAndWait(
      h,
      adminRun(adir, [admin('a-mo', 'mo@example.org', AdminRole.READ_ONLY)], 'mo@example.org'),
    );
    await expectAdminCountsEqualHistory(run);
    const all = await adminChanges(run.runId);
    expect(all.nodes.map((n) => [n.kind, n.adminId])).toEqual([
      ['ADMIN_UPDATED', created.data!.createAdmin.id],
      ['ADMIN_CLAIMED', created.data!.createAdmin.id],
    ]);
    expect(all.nodes[0]?.fields).toContainEqual({ field: 'externalId', old: null, new: 'a-mo' });
  });
});

describe('run history rows (COPY)', () => {
  it('keeps text COPY treats specially as it was: tab, newline, carriage return, backslash, quotes', async () => {
    const odd = 'Tab\there, "quoted", back\\slash,\nnew line\r\nand \\N';
    const done = await runAndWait(
      h,
      new RunBuilder('dir-history-copy')
        .started(SyncMode.FULL)
        .users([user('hc1', 'copy.user', { displayName: odd, sourceLocator: `cn=${odd}` })])
        .objectErrors([{ externalId: 'hc9', code: ErrorCode.MISSING_USERNAME, message: odd }])
        .completed(),
    );
    const res = await gql<{
      _entities: {
        changes: {
          nodes: {
            kind: string;
            username: string | null;
            fields: { field: string; new: unknown }[];
            errorMessage: string | null;
          }[];
        };
      }[];
    }>(
      h.service.url,
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on SyncRun {
         changes(first: 10) { nodes { kind username fields { field new } errorMessage } } } } }`,
      { r: [{ __typename: 'SyncRun', id: done.runId }] },
    );
    expect(res.errors).toBeUndefined();
    const nodes = res.data!._entities[0]!.changes.nodes;
    const created = nodes.find((n) => n.kind === 'CREATED');
    expect(created?.username).toBe('copy.user');
    expect(created?.fields.find((f) => f.field === 'displayName')?.new).toBe(odd);
    expect(created?.fields.find((f) => f.field === 'sourceLocator')?.new).toBe(`cn=${odd}`);
    expect(nodes.find((n) => n.kind === 'ERROR')?.errorMessage).toBe(odd);
  });
});
