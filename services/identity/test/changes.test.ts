// The per-object changes the apply path returns (src/apply/changes.ts), driven through the
// applier against a real Postgres: what each kind of change looks like, and that a run's counts
// are exactly what its changes say.
import { createLogger } from '@dirsync/kit';
import { AdminRole, ErrorCode, SyncMode } from '@dirsync/proto';
import { createTestDatabase, type TestDatabase } from '@dirsync/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApplier, type Applier } from '../src/apply/applier.js';
import {
  COUNTED_KINDS,
  countKinds,
  type Change,
  type ChangeKind,
  type MembershipChange,
} from '../src/apply/changes.js';
import { openDatabase, type Database } from '../src/db/database.js';
import { RunBuilder, admin, group, user, type AdminInit, type UserInit } from './harness.js';

let database: TestDatabase;
let db: Database;
let applier: Applier;
const logger = createLogger('identity-changes-test', 'silent');

beforeAll(async () => {
  database = await createTestDatabase();
  db = await openDatabase({
    url: database.url,
    schema: 'identity',
    poolMax: 4,
    logger,
    namespace: 'changes',
  });
  applier = createApplier({ db, namespace: 'changes', logger });
});

afterAll(async () => {
  await db?.close();
  await database?.drop();
});

/** Apply every event of a run; the changes of all its transactions, in order. */
async function apply(run: RunBuilder): Promise<Change[]> {
  const out: Change[] = [];
  for (const e of run.events) {
    const outcome = await applier.apply(e);
    expect(outcome.kind).toBe('applied');
    if (outcome.kind === 'applied') out.push(...outcome.changes);
  }
  return out;
}

/** The run's stored counts must be what its changes say (changes.ts rule 3). */
async function expectCountsMatch(runId: string, changes: readonly Change[]): Promise<void> {
  const [row] = await db.sql.rows<{ counts: Record<string, number>; status: string }>(
    'select counts, status from runs where run_id = ?',
    [runId],
  );
  expect(row?.status).toBe('COMPLETED');
  const kinds = countKinds(changes);
  const expected: Record<string, number> = {};
  for (const [kind, counter] of Object.entries(COUNTED_KINDS)) {
    expected[counter] = (expected[counter] ?? 0) + (kinds[kind as ChangeKind] ?? 0);
  }
  const memberships = changes.filter((c): c is MembershipChange => c.kind === 'membership');
  expected.membershipsAdded = memberships.reduce((n, c) => n + c.added.length, 0);
  expected.membershipsRemoved = memberships.reduce((n, c) => n + c.removed.length, 0);
  const actual = Object.fromEntries(Object.keys(expected).map((k) => [k, row?.counts[k] ?? 0]));
  expect(actual).toEqual(expected);
}

function full(dir: string, users: UserInit[], members: Record<string, string[]>): RunBuilder {
  return new RunBuilder(dir)
    .started(SyncMode.FULL)
    .users(users)
    .groups(Object.keys(members).map((g) => group(g, `Group ${g}`)))
    .members(members)
    .completed();
}

function of<K extends ChangeKind>(changes: readonly Change[], kind: K) {
  return changes.filter((c): c is Extract<Change, { kind: K }> => c.kind === kind);
}

describe('per-object changes of a run', () => {
  const dir = 'dir-changes';
  const base = [
    user('c1', 'carol'),
    user('c2', 'chen', { phones: [{ number: '+14155550100', kind: 'mobile' }] }),
    user('c3', 'cyd', { disabled: true }),
    user('c4', 'cora', { aliases: ['cora.x'] }),
  ];

  it('a first import: created (with its values), disabled, groups and memberships', async () => {
    const run = full(dir, base, { g1: ['c1', 'c2'], g2: ['c2', 'c3', 'c4'] });
    const changes = await apply(run);
    expect(countKinds(changes)).toEqual({
      created: 4,
      disabled: 1,
      groupCreated: 2,
      membership: 4,
    });
    const carol = of(changes, 'created').find((c) => c.username === 'carol');
    expect(carol).toMatchObject({
      runId: run.runId,
      directoryId: dir,
      externalId: 'c1',
      values: { email: 'carol@example.org', status: 'ACTIVE', aliases: [], phones: [] },
    });
    expect(carol?.userId).toMatch(/^[0-9a-f-]{36}$/);
    expect(of(changes, 'disabled')[0]).toMatchObject({ username: 'cyd', previousStatus: null });
    const chen = of(changes, 'membership').find((c) => c.username === 'chen');
    expect(chen?.added).toHaveLength(2);
    expect(chen?.removed).toEqual([]);
    // Created, then disabled, for the same user (rule 4).
    const cyd = changes.filter(
      (c) => c.kind !== 'membership' && 'username' in c && c.username === 'cyd',
    );
    expect(cyd.map((c) => c.kind)).toEqual(['created', 'disabled']);
    await expectCountsMatch(run.runId, changes);
  });

  it('an unchanged re-sync has no changes', async () => {
    const run = full(dir, base, { g1: ['c1', 'c2'], g2: ['c2', 'c3', 'c4'] });
    const changes = await apply(run);
    expect(changes).toEqual([]);
    await expectCountsMatch(run.runId, changes);
  });

  it('updated old → new per field, disabled, enabled, pending deletion, error, group deleted', async () => {
    const run = full(
      dir,
      [
        user('c1', 'carol', { email: 'carol@new.example', aliases: ['cc'] }),
        user('c2', 'chen', { disabled: true, phones: [] }),
        user('c3', 'cyd'),
        // c4 (cora) is gone; c5 wants carol's username.
        user('c5', 'Carol'),
      ],
      { g1: ['c1', 'c2', 'c3'] },
    );
    const changes = await apply(run);
    expect(countKinds(changes)).toMatchObject({
      updated: 3,
      disabled: 1,
      enabled: 1,
      pendingDeletion: 1,
      error: 1,
      groupDeleted: 1,
    });
    const carol = of(changes, 'updated').find((c) => c.username === 'carol');
    expect(carol?.fields).toEqual([
      { field: 'email', old: 'carol@example.org', new: 'carol@new.example' },
      { field: 'aliases', old: [], new: ['cc'] },
    ]);
    const chen = of(changes, 'updated').find((c) => c.username === 'chen');
    expect(chen?.fields).toEqual([
      { field: 'status', old: 'ACTIVE', new: 'DISABLED' },
      { field: 'phones', old: [{ number: '+14155550100', kind: 'mobile' }], new: [] },
    ]);
    expect(of(changes, 'disabled')).toMatchObject([{ username: 'chen', previousStatus: 'ACTIVE' }]);
    expect(of(changes, 'enabled')).toMatchObject([{ username: 'cyd', status: 'ACTIVE' }]);
    const [gone] = of(changes, 'pendingDeletion');
    expect(gone).toMatchObject({
      username: 'cora',
      externalId: 'c4',
      reason: 'not_observed',
      previousStatus: 'ACTIVE',
    });
    expect(Date.parse(gone?.purgeAfter ?? '')).toBeGreaterThan(Date.now() + 6 * 86_400_000);
    // Two records of the directory with one username: the source's inconsistency, an error.
    expect(of(changes, 'error')).toMatchObject([
      { externalId: 'c5', username: 'Carol', userId: '', code: ErrorCode.DUPLICATE_USERNAME },
    ]);
    expect(of(changes, 'groupDeleted')).toMatchObject([{ externalId: 'g2', name: 'Group g2' }]);
    // cora lost g2 with her removal; chen and cyd lost g2 with the group; cyd joined g1.
    const cora = of(changes, 'membership').find((c) => c.username === 'cora');
    expect(cora?.removed).toHaveLength(1);
    const cyd = of(changes, 'membership').find((c) => c.username === 'cyd');
    expect(cyd?.added).toHaveLength(1);
    expect(cyd?.removed).toHaveLength(1);
    await expectCountsMatch(run.runId, changes);
  });

  it('restored (with what changed while away, a re-created entry too) and connector errors', async () => {
    // cora (pending since the last run) comes back, with a phone she did not have.
    const first = full(
      dir,
      [
        user('c1', 'carol', { email: 'carol@new.example', aliases: ['cc'] }),
        user('c2', 'chen', { disabled: true, phones: [] }),
        user('c3', 'cyd'),
        user('c4', 'cora', { aliases: ['cora.x'], phones: [{ number: '+4930123', kind: 'work' }] }),
      ],
      { g1: ['c1', 'c2', 'c3'] },
    );
    const changes = await apply(first);
    const [restored] = of(changes, 'restored');
    expect(restored).toMatchObject({
      username: 'cora',
      status: 'ACTIVE',
      fields: [{ field: 'phones', old: [], new: [{ number: '+4930123', kind: 'work' }] }],
    });
    await expectCountsMatch(first.runId, changes);

    // cyd leaves; then an entry with a new external id brings her username back: the same
    // user is restored, with its external id changed.
    await apply(full(dir, [base[0]!, base[1]!, base[3]!], { g1: ['c1'] }));
    const claim = new RunBuilder(dir)
      .started(SyncMode.FULL)
      .users([user('c1', 'carol'), user('c2', 'chen'), user('c4', 'cora'), user('c3-new', 'cyd')])
      .objectErrors([
        { externalId: 'c9', code: ErrorCode.MISSING_USERNAME, message: 'the user has no uid' },
      ])
      .completed();
    const claimed = await apply(claim);
    const cyd = claimed.filter(
      (c) => c.kind !== 'membership' && 'username' in c && c.username === 'cyd',
    );
    expect(cyd).toMatchObject([
      {
        kind: 'restored',
        externalId: 'c3-new',
        fields: [{ field: 'externalId', old: 'c3', new: 'c3-new' }],
      },
    ]);
    expect(of(claimed, 'error')).toMatchObject([
      { externalId: 'c9', code: ErrorCode.MISSING_USERNAME, userId: '', runId: claim.runId },
    ]);
    await expectCountsMatch(claim.runId, claimed);
  });

  it('a DELTA run: named removals, group removals and membership deltas', async () => {
    const run = new RunBuilder(dir)
      .started(SyncMode.DELTA)
      .groups([group('g3', 'Group g3')])
      .removeUsers(['c2'])
      .deltas({ g3: { added: ['c1', 'c4'] } })
      .completed();
    const changes = await apply(run);
    expect(countKinds(changes)).toMatchObject({ groupCreated: 1, pendingDeletion: 1 });
    expect(of(changes, 'pendingDeletion')).toMatchObject([{ username: 'chen', reason: 'deleted' }]);
    expect(of(changes, 'membership').map((c) => [c.username, c.added.length])).toEqual(
      expect.arrayContaining([
        ['carol', 1],
        ['cora', 1],
      ]),
    );
    await expectCountsMatch(run.runId, changes);
  });

  it('a USER run: the one user, and its memberships', async () => {
    const run = new RunBuilder(dir)
      .started(SyncMode.USER, { username: 'carol' })
      .users([user('c1', 'carol', { displayName: 'Carol C.' })])
      .members({ g3: ['c1'] })
      .completed();
    const changes = await apply(run);
    expect(of(changes, 'updated')).toMatchObject([
      { username: 'carol', fields: [{ field: 'displayName', old: 'carol Test', new: 'Carol C.' }] },
    ]);
    await expectCountsMatch(run.runId, changes);
  });
});

describe('per-object changes of an ADMIN run', () => {
  const dir = 'dir-changes-admins';
  const adminRun = (admins: AdminInit[], email = '') =>
    new RunBuilder(dir).started(SyncMode.ADMIN, { email }).admins(admins).completed();

  it('created + disabled, then pending, then restored + role changed + disabled; counts match', async () => {
    const first = adminRun([
      admin('ad1', 'ida@example.org', AdminRole.READ_ONLY, { disabled: true }),
      admin('ad2', 'ike@example.org', AdminRole.BILLING),
    ]);
    const created = await apply(first);
    expect(created.map((c) => c.kind)).toEqual(['adminCreated', 'adminDisabled', 'adminCreated']);
    expect(of(created, 'adminCreated')[0]).toMatchObject({
      email: 'ida@example.org',
      values: { role: 'READ_ONLY', roles: ['READ_ONLY'], status: 'DISABLED', externalId: 'ad1' },
    });
    await expectCountsMatch(first.runId, created);

    const gone = adminRun([admin('ad2', 'ike@example.org', AdminRole.BILLING)]);
    const removed = await apply(gone);
    expect(removed.map((c) => c.kind)).toEqual(['adminPendingDeletion']);
    expect(of(removed, 'adminPendingDeletion')[0]).toMatchObject({
      email: 'ida@example.org',
      reason: 'not_observed',
      previousStatus: 'DISABLED',
    });
    await expectCountsMatch(gone.runId, removed);

    // Back, still disabled, with a higher role: restored (the role among its fields), role
    // changed, disabled (changes.ts rule 4).
    const back = adminRun([
      admin('ad1', 'ida@example.org', AdminRole.OWNER, { disabled: true }),
      admin('ad2', 'ike@example.org', AdminRole.BILLING),
    ]);
    const restored = await apply(back);
    expect(restored.map((c) => c.kind)).toEqual([
      'adminRestored',
      'adminRoleChanged',
      'adminDisabled',
    ]);
    expect(of(restored, 'adminRestored')[0]).toMatchObject({
      status: 'DISABLED',
      fields: [
        { field: 'role', old: 'READ_ONLY', new: 'OWNER' },
        { field: 'roles', old: ['READ_ONLY'], new: ['OWNER'] },
      ],
    });
    expect(of(restored, 'adminDisabled')[0]?.previousStatus).toBe('DISABLED');
    await expectCountsMatch(back.runId, restored);
  });
});
