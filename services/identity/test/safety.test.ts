// Deletion safety in identity: thresholds on FULL sweeps, BLOCKED runs and their held plans,
// approve / reject over the RunDecision request/reply, supersession, restoreUser / purgeUser and
// the purge job. Real Postgres and NATS; events published the way a connector publishes them.
import { randomUUID } from 'node:crypto';
import {
  ConflictPolicy,
  DirectoryDeletedSchema,
  ErrorCode,
  LifecycleEventsSchema,
  RemovalReason,
  RunDecision,
  RunStatus,
  Subject,
  SyncMode,
  create,
  fromBinary,
  subject,
  toBinary,
  type LifecycleEvent,
  type RunUpdate,
} from '@dirsync/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RunBuilder,
  decide,
  errorOf,
  superseded,
  updateOf,
  gql,
  group,
  runAndWait,
  startHarness,
  user,
  type Harness,
  type UserInit,
} from './harness.js';
import { waitFor } from '@dirsync/testkit';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ purgeIntervalSeconds: 0 });
});

afterAll(async () => {
  await h?.close();
});

const THRESHOLD = { maxCount: 500, maxPercent: 20 };

const people = (n: number, from = 1): UserInit[] =>
  Array.from({ length: n }, (_, i) => user(`u${from + i}`, `user${from + i}`));

/** `u` in directory `dir`: usernames are unique across dirsync, so each directory has its own. */
const inDir = (dir: string, u: UserInit): UserInit => ({ ...u, username: `${u.username}@${dir}` });

/** A FULL run with a threshold: users, one group "all" with every observed user as member. */
function full(
  dir: string,
  users: UserInit[],
  threshold: { maxCount: number; maxPercent: number } | null = THRESHOLD,
): RunBuilder {
  const run = new RunBuilder(dir).started(SyncMode.FULL, { threshold: threshold ?? undefined });
  if (users.length) run.users(users.map((u) => inDir(dir, u)));
  run.groups([group('all', 'All')]);
  if (users.length) run.members({ all: users.map((u) => u.externalId) });
  return run.completed(`cursor-${run.runId}`);
}

async function statuses(dir: string): Promise<Record<string, string>> {
  const rows = await h.rows<{ external_id: string; status: string }>(
    'select external_id, status from users where directory_id = ? order by external_id',
    [dir],
  );
  return Object.fromEntries(rows.map((r) => [r.external_id, r.status]));
}

async function pendingIds(dir: string): Promise<string[]> {
  const rows = await h.rows<{ external_id: string }>(
    `select external_id from users where directory_id = ? and status = 'pending_deletion'
     order by external_id`,
    [dir],
  );
  return rows.map((r) => r.external_id).sort();
}

async function members(dir: string): Promise<number> {
  const [row] = await h.rows<{ n: string }>(
    `select count(*) as n from memberships m join groups g on g.id = m.group_id
     where g.directory_id = ?`,
    [dir],
  );
  return Number(row?.n ?? 0);
}

/** The directory's user lifecycle events of one transition, from identity's outbox. */
async function userEvents(dir: string, transition: string): Promise<LifecycleEvent[]> {
  const rows = await h.rows<{ payload: Buffer }>(
    'select payload from outbox where subject like ? order by id',
    [`%.lifecycle.user.${transition}`],
  );
  return rows
    .flatMap((r) => fromBinary(LifecycleEventsSchema, r.payload).events)
    .filter((e) => e.directoryId === dir);
}

/** A directory with `n` synced users, all active and members of "all". */
async function seeded(n: number): Promise<string> {
  const dir = randomUUID();
  const first = await runAndWait(h, full(dir, people(n)));
  expect(first.status).toBe(RunStatus.COMPLETED);
  return dir;
}

describe('a source that suddenly returns no users', () => {
  let dir: string;
  let blocked: RunUpdate;

  beforeAll(async () => {
    dir = await seeded(10);
    blocked = await runAndWait(h, full(dir, []));
  });

  it('ends BLOCKED with the plan, and removes nobody', async () => {
    expect(blocked.status).toBe(RunStatus.BLOCKED);
    // How it read is known like for a completed run.
    expect(blocked.readMode).toBe(SyncMode.FULL);
    expect(blocked.removals).toMatchObject({
      users: 10,
      memberships: 10,
      groups: 0,
      baseUsers: 10,
      baseMemberships: 10,
      threshold: { maxCount: 500, maxPercent: 20 },
    });
    expect(blocked.removals?.reason).toBe(
      'would remove 10 of 10 users (100 %) and 10 of 10 memberships (100 %); the deletion threshold is more than 500 or more than 20 %',
    );
    expect(blocked.counts).toMatchObject({ pendingDeletion: 0, membershipsRemoved: 0 });
    expect(blocked.cursor).toBe('');
    expect(await pendingIds(dir)).toEqual([]);
    expect(await members(dir)).toBe(10);
    const held = await h.rows<{ n: string }>(
      'select count(*) as n from run_held_users where run_id = ?',
      [blocked.runId],
    );
    expect(Number(held[0]?.n)).toBe(10);
    // Who exactly would go, for the operator deciding: the held users, paged like any list.
    const list = await gql<{
      users: { totalCount: number; nodes: { username: string; status: string }[] };
    }>(
      h.service.url,
      `query($r: ID) { users(first: 4, filter: { heldByRunId: $r }) { totalCount nodes { username status } } }`,
      { r: blocked.runId },
    );
    expect(list.errors).toBeUndefined();
    expect(list.data!.users.totalCount).toBe(10);
    expect(list.data!.users.nodes).toHaveLength(4);
    expect(new Set(list.data!.users.nodes.map((u) => u.status))).toEqual(new Set(['ACTIVE']));
    const none = await gql<{ users: { totalCount: number } }>(
      h.service.url,
      `query($r: ID) { users(filter: { heldByRunId: $r }) { totalCount } }`,
      { r: randomUUID() },
    );
    expect(none.data!.users.totalCount).toBe(0);
    const malformed = await gql(
      h.service.url,
      `{ users(filter: { heldByRunId: "not-a-run-id" }) { totalCount } }`,
    );
    expect(malformed.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    // The rolled-back sweep left no event behind.
    expect(await userEvents(dir, 'pending_deletion')).toEqual([]);
  });

  it('approve removes exactly the held users and memberships; the run becomes COMPLETED', async () => {
    const update = updateOf(await decide(h, blocked.runId, dir, RunDecision.APPROVE));
    expect(update.status).toBe(RunStatus.COMPLETED);
    expect(update.decision).toBe(RunDecision.APPROVE);
    expect(update.decidedBy).toBe('owner-key:test');
    expect(update.cursor).toBe('');
    expect(update.counts).toMatchObject({ pendingDeletion: 10, membershipsRemoved: 10 });
    expect(await pendingIds(dir)).toHaveLength(10);
    expect(await members(dir)).toBe(0);
    const events = await userEvents(dir, 'pending_deletion');
    expect(events).toHaveLength(10);
    expect(new Set(events.map((e) => e.runId))).toEqual(new Set([blocked.runId]));
    // The same update is in the outbox, so sync's consumer sees it too.
    const stored = await h.finalUpdate(blocked.runId);
    expect(stored.status).toBe(RunStatus.BLOCKED);
    const last = await waitFor(
      async () => {
        const all = (await h.updates(blocked.runId)).map((u) => u.update);
        return all.at(-1)?.seq === update.seq ? all.at(-1) : undefined;
      },
      { message: 'the approval in the lifecycle stream' },
    );
    expect(last?.status).toBe(RunStatus.COMPLETED);
    const held = await h.rows('select 1 from run_held_users where run_id = ?', [blocked.runId]);
    expect(held).toEqual([]);
  });

  it('a second decision answers RUN_NOT_BLOCKED', async () => {
    expect(errorOf(await decide(h, blocked.runId, dir, RunDecision.APPROVE))).toBe(
      ErrorCode.RUN_NOT_BLOCKED,
    );
    expect(errorOf(await decide(h, blocked.runId, dir, RunDecision.REJECT))).toBe(
      ErrorCode.RUN_NOT_BLOCKED,
    );
  });
});

describe('the threshold', () => {
  it('by count: more than maxCount users blocks, maxCount itself does not', async () => {
    const dir = await seeded(10);
    const limit = { maxCount: 3, maxPercent: 0 };
    const ok = await runAndWait(h, full(dir, people(7), limit));
    expect(ok.status).toBe(RunStatus.COMPLETED);
    expect(ok.counts?.pendingDeletion).toBe(3);
    const over = await runAndWait(h, full(dir, people(3), limit));
    expect(over.status).toBe(RunStatus.BLOCKED);
    expect(over.removals).toMatchObject({ users: 4, baseUsers: 7 });
    expect(await pendingIds(dir)).toEqual(['u10', 'u8', 'u9']);
  });

  it('by percent: more than maxPercent of the users blocks, exactly maxPercent does not', async () => {
    const dir = await seeded(10);
    const limit = { maxCount: 0, maxPercent: 20 };
    const ok = await runAndWait(h, full(dir, people(8), limit));
    expect(ok.status).toBe(RunStatus.COMPLETED);
    const over = await runAndWait(h, full(dir, people(6), limit));
    expect(over.status).toBe(RunStatus.BLOCKED);
    expect(over.removals).toMatchObject({ users: 2, baseUsers: 8 });
    expect(over.removals?.reason).toContain('2 of 8 users (25 %)');
  });

  it('memberships are measured on their own', async () => {
    const dir = randomUUID();
    const users = people(10);
    const seed = new RunBuilder(dir)
      .started(SyncMode.FULL, { threshold: THRESHOLD })
      .users(users)
      .groups([group('a', 'A'), group('b', 'B')])
      .members({ a: users.map((u) => u.externalId), b: users.map((u) => u.externalId) })
      .completed();
    expect((await runAndWait(h, seed)).status).toBe(RunStatus.COMPLETED);
    // Everyone stays, but group "b" loses all its members: 10 of 20 memberships.
    const run = new RunBuilder(dir)
      .started(SyncMode.FULL, { threshold: THRESHOLD })
      .users(users)
      .groups([group('a', 'A'), group('b', 'B')])
      .members({ a: users.map((u) => u.externalId) })
      .completed();
    const blocked = await runAndWait(h, run);
    expect(blocked.status).toBe(RunStatus.BLOCKED);
    expect(blocked.removals).toMatchObject({ users: 0, memberships: 10, baseMemberships: 20 });
    expect(await members(dir)).toBe(20);
  });

  it('0 turns both limits off; no threshold in the policy is no limit', async () => {
    const dir = await seeded(4);
    const off = await runAndWait(h, full(dir, people(1), { maxCount: 0, maxPercent: 0 }));
    expect(off.status).toBe(RunStatus.COMPLETED);
    expect(off.counts?.pendingDeletion).toBe(3);
    const none = await runAndWait(h, full(dir, [], null));
    expect(none.status).toBe(RunStatus.COMPLETED);
    expect(await pendingIds(dir)).toHaveLength(4);
  });

  it('a blocked run still applies what it observed: creates, updates and new memberships', async () => {
    const dir = await seeded(10);
    const changed = [user('u1', 'user1', { email: 'changed@example.org' }), user('n1', 'newcomer')];
    const blocked = await runAndWait(h, full(dir, changed));
    expect(blocked.status).toBe(RunStatus.BLOCKED);
    expect(blocked.counts).toMatchObject({
      created: 1,
      updated: 1,
      pendingDeletion: 0,
      membershipsAdded: 1,
      membershipsRemoved: 0,
    });
    expect(blocked.removals).toMatchObject({ users: 9, memberships: 9 });
    expect(await statuses(dir)).toMatchObject({ n1: 'active', u5: 'active' });
    // The newcomer's membership was added; nobody's was removed.
    expect(await members(dir)).toBe(11);
    const [u1] = await h.rows<{ email: string }>(
      `select email from users where directory_id = ? and external_id = 'u1'`,
      [dir],
    );
    expect(u1?.email).toBe('changed@example.org');
  });
});

describe('approve after someone came back', () => {
  it('does not remove a user a later run observed again', async () => {
    const dir = await seeded(10);
    const blocked = await runAndWait(h, full(dir, people(2)));
    expect(blocked.status).toBe(RunStatus.BLOCKED);
    expect(blocked.removals?.users).toBe(8);
    // A single-user sync finds u5 in the source again.
    const single = await runAndWait(
      h,
      new RunBuilder(dir)
        .started(SyncMode.USER, { username: `user5@${dir}`, threshold: THRESHOLD })
        .users([inDir(dir, user('u5', 'user5'))])
        .members({ all: ['u5'] })
        .completed(),
    );
    expect(single.status).toBe(RunStatus.COMPLETED);
    const approved = updateOf(await decide(h, blocked.runId, dir, RunDecision.APPROVE));
    expect(approved.counts?.pendingDeletion).toBe(7);
    expect(await pendingIds(dir)).toEqual(['u10', 'u3', 'u4', 'u6', 'u7', 'u8', 'u9']);
    expect(await members(dir)).toBe(3);
  });
});

describe('the held list after another directory took users over', () => {
  it('names exactly whom approving removes: not those now in another directory', async () => {
    const dir = await seeded(10);
    const blocked = await runAndWait(h, full(dir, []));
    expect(blocked.status).toBe(RunStatus.BLOCKED);
    const held = async () =>
      (
        await gql<{ users: { totalCount: number } }>(
          h.service.url,
          `query($r: ID) { users(filter: { heldByRunId: $r }) { totalCount } }`,
          { r: blocked.runId },
        )
      ).data!.users.totalCount;
    expect(await held()).toBe(10);
    // A second directory with the same usernames, TAKE_OVER: u1–u3 move there, same ids.
    const other = randomUUID();
    const moved = [1, 2, 3].map((i) => ({
      ...inDir(dir, user(`u${i}`, `user${i}`)),
      externalId: `other-u${i}`,
    }));
    const claim = await runAndWait(
      h,
      new RunBuilder(other)
        .started(SyncMode.FULL, { conflictPolicy: ConflictPolicy.TAKE_OVER })
        .users(moved)
        .completed(),
    );
    expect(claim.counts?.claimed).toBe(3);
    expect(await held()).toBe(7);
    const approved = updateOf(await decide(h, blocked.runId, dir, RunDecision.APPROVE));
    expect(approved.counts?.pendingDeletion).toBe(7);
  });
});

describe('reject', () => {
  it('discards the plan: nobody is removed, the run is REJECTED', async () => {
    const dir = await seeded(10);
    const blocked = await runAndWait(h, full(dir, []));
    const rejected = updateOf(await decide(h, blocked.runId, dir, RunDecision.REJECT, 'alice'));
    expect(rejected).toMatchObject({
      status: RunStatus.REJECTED,
      decision: RunDecision.REJECT,
      decidedBy: 'alice',
    });
    expect(await pendingIds(dir)).toEqual([]);
    expect(await members(dir)).toBe(10);
    expect(errorOf(await decide(h, blocked.runId, dir, RunDecision.APPROVE))).toBe(
      ErrorCode.RUN_NOT_BLOCKED,
    );
  });
});

describe('supersession', () => {
  it('a later FULL run makes a blocked run REJECTED with superseded_by; deciding it answers RUN_SUPERSEDED', async () => {
    const dir = await seeded(10);
    const blocked = await runAndWait(h, full(dir, []));
    expect(blocked.status).toBe(RunStatus.BLOCKED);
    const later = await runAndWait(h, full(dir, people(10)));
    expect(later.status).toBe(RunStatus.COMPLETED);
    const stale = await waitFor(
      async () =>
        (await h.updates(blocked.runId))
          .map((u) => u.update)
          .find((u) => u.status === RunStatus.REJECTED),
      { message: 'the superseded update' },
    );
    expect(stale).toMatchObject({
      status: RunStatus.REJECTED,
      supersededBy: later.runId,
      decision: RunDecision.UNSPECIFIED,
    });
    expect(errorOf(await decide(h, blocked.runId, dir, RunDecision.APPROVE))).toBe(
      ErrorCode.RUN_SUPERSEDED,
    );
    expect(errorOf(await decide(h, blocked.runId, dir, RunDecision.REJECT))).toBe(
      ErrorCode.RUN_SUPERSEDED,
    );
    expect(await pendingIds(dir)).toEqual([]);
  });

  it('a later blocked FULL run supersedes the earlier one', async () => {
    const dir = await seeded(10);
    const first = await runAndWait(h, full(dir, []));
    const second = await runAndWait(h, full(dir, people(1)));
    expect(second.status).toBe(RunStatus.BLOCKED);
    expect(errorOf(await decide(h, first.runId, dir, RunDecision.APPROVE))).toBe(
      ErrorCode.RUN_SUPERSEDED,
    );
    const approved = updateOf(await decide(h, second.runId, dir, RunDecision.APPROVE));
    expect(approved.counts?.pendingDeletion).toBe(9);
  });

  it('an unknown run, or one of another directory, is DIRECTORY_NOT_FOUND', async () => {
    const dir = await seeded(2);
    expect(errorOf(await decide(h, randomUUID(), dir, RunDecision.APPROVE))).toBe(
      ErrorCode.DIRECTORY_NOT_FOUND,
    );
    const blocked = await runAndWait(h, full(dir, [], { maxCount: 1, maxPercent: 0 }));
    expect(blocked.status).toBe(RunStatus.BLOCKED);
    expect(errorOf(await decide(h, blocked.runId, randomUUID(), RunDecision.APPROVE))).toBe(
      ErrorCode.DIRECTORY_NOT_FOUND,
    );
  });
});

/** A DELTA run with the threshold that names `removed` users gone (out of scope by default). */
function delta(
  dir: string,
  removed: string[],
  opts: {
    reason?: RemovalReason;
    users?: UserInit[];
    deltas?: Record<string, { added?: string[]; removed?: string[] }>;
    threshold?: { maxCount: number; maxPercent: number };
  } = {},
): RunBuilder {
  const run = new RunBuilder(dir).started(SyncMode.DELTA, {
    threshold: opts.threshold ?? THRESHOLD,
  });
  if (opts.users?.length) run.users(opts.users.map((u) => inDir(dir, u)));
  if (removed.length) run.removeUsers(removed, opts.reason ?? RemovalReason.OUT_OF_SCOPE);
  if (opts.deltas) run.deltas(opts.deltas);
  return run.completed(`cursor-${run.runId}`);
}

const ids = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `u${from + i}`);

describe('DELTA runs that name removals are measured like a FULL sweep', () => {
  it('a delta naming most of the directory out of scope is BLOCKED, removes nobody, and still applies what it observed', async () => {
    const dir = await seeded(10);
    const blocked = await runAndWait(
      h,
      delta(dir, ids(5), {
        users: [user('n1', 'new1')],
        deltas: { all: { added: ['n1'] } },
      }),
    );
    expect(blocked.status).toBe(RunStatus.BLOCKED);
    expect(blocked.readMode).toBe(SyncMode.DELTA);
    expect(blocked.cursor).toBe('');
    expect(blocked.removals).toMatchObject({
      users: 5,
      memberships: 5,
      groups: 0,
      // The directory's users when the run completes: the newcomer is one of them.
      baseUsers: 11,
      baseMemberships: 10,
      threshold: THRESHOLD,
    });
    expect(blocked.removals?.reason).toBe(
      'would remove 5 of 11 users (45.5 %) and 5 of 10 memberships (50 %); the deletion threshold is more than 500 or more than 20 %',
    );
    expect(blocked.counts).toMatchObject({
      created: 1,
      pendingDeletion: 0,
      membershipsAdded: 1,
      membershipsRemoved: 0,
    });
    expect(await pendingIds(dir)).toEqual([]);
    expect(await members(dir)).toBe(11);
    expect(await userEvents(dir, 'pending_deletion')).toEqual([]);

    // Reject: nobody is removed.
    const rejected = updateOf(await decide(h, blocked.runId, dir, RunDecision.REJECT));
    expect(rejected.status).toBe(RunStatus.REJECTED);
    expect(await pendingIds(dir)).toEqual([]);
    expect(await members(dir)).toBe(11);
  });

  it('approve applies exactly the held removals, with the reason the delta gave', async () => {
    const dir = await seeded(10);
    const blocked = await runAndWait(h, delta(dir, ids(3)));
    expect(blocked.status).toBe(RunStatus.BLOCKED);
    const approved = updateOf(await decide(h, blocked.runId, dir, RunDecision.APPROVE));
    expect(approved.status).toBe(RunStatus.COMPLETED);
    expect(approved.readMode).toBe(SyncMode.DELTA);
    expect(approved.counts).toMatchObject({ pendingDeletion: 3, membershipsRemoved: 3 });
    expect(await pendingIds(dir)).toEqual(ids(3).sort());
    expect(await members(dir)).toBe(7);
    const reasons = await h.rows<{ removal_reason: string }>(
      `select distinct removal_reason from users where directory_id = ? and status = 'pending_deletion'`,
      [dir],
    );
    expect(reasons.map((r) => r.removal_reason)).toEqual(['out_of_scope']);
  });

  it('within the threshold a delta completes and removes what it names', async () => {
    const dir = await seeded(10);
    const ok = await runAndWait(h, delta(dir, ids(2), { reason: RemovalReason.DELETED }));
    expect(ok.status).toBe(RunStatus.COMPLETED);
    expect(ok.counts?.pendingDeletion).toBe(2);
    expect(ok.cursor).not.toBe('');
  });

  it('membership removals alone are measured too', async () => {
    const dir = await seeded(10);
    const blocked = await runAndWait(h, delta(dir, [], { deltas: { all: { removed: ids(4) } } }));
    expect(blocked.status).toBe(RunStatus.BLOCKED);
    expect(blocked.removals).toMatchObject({ users: 0, memberships: 4, baseMemberships: 10 });
    expect(await members(dir)).toBe(10);
    const approved = updateOf(await decide(h, blocked.runId, dir, RunDecision.APPROVE));
    expect(approved.counts?.membershipsRemoved).toBe(4);
    expect(await members(dir)).toBe(6);
    expect(await pendingIds(dir)).toEqual([]);
  });

  it('a later delta re-reading the same removals blocks again and supersedes the blocked one', async () => {
    const dir = await seeded(10);
    const first = await runAndWait(h, delta(dir, ids(5)));
    const second = await runAndWait(h, delta(dir, ids(5)));
    expect(first.status).toBe(RunStatus.BLOCKED);
    expect(second.status).toBe(RunStatus.BLOCKED);
    expect(await superseded(h, first.runId)).toMatchObject({ supersededBy: second.runId });
    expect(errorOf(await decide(h, first.runId, dir, RunDecision.APPROVE))).toBe(
      ErrorCode.RUN_SUPERSEDED,
    );
    expect(await pendingIds(dir)).toEqual([]);
    // A later delta that completes (the source was fixed: it names nothing) supersedes it too.
    const fixed = await runAndWait(h, delta(dir, []));
    expect(fixed.status).toBe(RunStatus.COMPLETED);
    expect(await superseded(h, second.runId)).toMatchObject({ supersededBy: fixed.runId });
    expect(await pendingIds(dir)).toEqual([]);
  });

  it('a blocked FULL run followed by a DELTA naming the same removals: nobody is removed, and rejecting leaves everyone where they were', async () => {
    const dir = await seeded(10);
    const blockedFull = await runAndWait(h, full(dir, people(5, 6)));
    expect(blockedFull.status).toBe(RunStatus.BLOCKED);
    const blockedDelta = await runAndWait(h, delta(dir, ids(5), { reason: RemovalReason.DELETED }));
    expect(blockedDelta.status).toBe(RunStatus.BLOCKED);
    expect(blockedDelta.counts?.pendingDeletion).toBe(0);
    expect(blockedDelta.removals).toMatchObject({ users: 5, memberships: 5 });
    expect(await pendingIds(dir)).toEqual([]);
    // The delta's plan is the one to decide now.
    expect(await superseded(h, blockedFull.runId)).toMatchObject({
      supersededBy: blockedDelta.runId,
    });
    const rejected = updateOf(await decide(h, blockedDelta.runId, dir, RunDecision.REJECT));
    expect(rejected.status).toBe(RunStatus.REJECTED);
    expect(errorOf(await decide(h, blockedFull.runId, dir, RunDecision.REJECT))).toBe(
      ErrorCode.RUN_SUPERSEDED,
    );
    expect(Object.values(await statuses(dir))).toEqual(Array(10).fill('active'));
    expect(await members(dir)).toBe(10);
  });

  it('a small delta after a blocked FULL run completes and leaves the FULL plan waiting', async () => {
    const dir = await seeded(10);
    const blockedFull = await runAndWait(h, full(dir, []));
    expect(blockedFull.status).toBe(RunStatus.BLOCKED);
    const small = await runAndWait(h, delta(dir, [], { users: [user('u1', 'user1')] }));
    expect(small.status).toBe(RunStatus.COMPLETED);
    const [row] = await h.rows<{ status: string }>('select status from runs where run_id = ?', [
      blockedFull.runId,
    ]);
    expect(row?.status).toBe('BLOCKED');
    // u1 was observed again: the approval no longer removes it.
    const approved = updateOf(await decide(h, blockedFull.runId, dir, RunDecision.APPROVE));
    expect(approved.counts?.pendingDeletion).toBe(9);
    expect(await pendingIds(dir)).toEqual(ids(9, 2).sort());
  });
});

describe('a deleted directory', () => {
  it('discards its blocked runs: REJECTED without decision, plan dropped', async () => {
    const dir = await seeded(5);
    const blocked = await runAndWait(h, full(dir, []));
    expect(blocked.status).toBe(RunStatus.BLOCKED);
    const event = create(DirectoryDeletedSchema, {
      directoryId: dir,
      restoreWindowDays: 7,
      atMs: BigInt(Date.now()),
    });
    await h.nc
      .jetstream()
      .publish(
        subject(Subject.LIFECYCLE, { entity: 'directory', transition: 'deleted' }, h.ns),
        toBinary(DirectoryDeletedSchema, event),
        { msgID: `directory-deleted:${dir}` },
      );
    const rejected = await waitFor(
      async () =>
        (await h.updates(blocked.runId))
          .map((u) => u.update)
          .find((u) => u.status === RunStatus.REJECTED),
      { message: 'the blocked run discarded' },
    );
    expect(rejected).toMatchObject({ decision: RunDecision.UNSPECIFIED, supersededBy: '' });
    expect(await h.rows('select 1 from run_held_users where run_id = ?', [blocked.runId])).toEqual(
      [],
    );
    expect(errorOf(await decide(h, blocked.runId, dir, RunDecision.APPROVE))).toBe(
      ErrorCode.RUN_NOT_BLOCKED,
    );
  });
});

describe('restoreUser, purgeUser and the purge job', () => {
  let dir: string;
  const idOf = async (externalId: string) =>
    (
      await h.rows<{ id: string }>(
        'select id from users where directory_id = ? and external_id = ?',
        [dir, externalId],
      )
    )[0]!.id;

  beforeAll(async () => {
    dir = randomUUID();
    const seed = new RunBuilder(dir)
      .started(SyncMode.FULL, { restoreWindowDays: 3 })
      .users([
        user('r1', 'rita', {
          aliases: ['rita.a'],
          phones: [{ number: '+12025550101', kind: 'work' }],
        }),
        user('r2', 'rob'),
        user('r3', 'rosa'),
        user('r4', 'ruth'),
      ])
      .groups([group('g', 'G')])
      .members({ g: ['r1', 'r2', 'r3', 'r4'] })
      .completed();
    await runAndWait(h, seed);
    const removal = new RunBuilder(dir)
      .started(SyncMode.FULL, { restoreWindowDays: 3 })
      .users([user('r4', 'ruth')])
      .groups([group('g', 'G')])
      .members({ g: ['r4'] })
      .completed();
    expect((await runAndWait(h, removal)).counts?.pendingDeletion).toBe(3);
  });

  const RESTORE = `mutation($id: ID!) { restoreUser(id: $id) { id status removalReason pendingDeletionAt } }`;
  const PURGE = `mutation($id: ID!) { purgeUser(id: $id) }`;

  it('restoreUser gives a pending user its previous status back, with the same id', async () => {
    const id = await idOf('r2');
    const res = await gql<{ restoreUser: { id: string; status: string } }>(
      h.service.url,
      RESTORE,
      { id },
      'USER_MANAGER',
    );
    expect(res.errors).toBeUndefined();
    expect(res.data?.restoreUser).toMatchObject({
      id,
      status: 'ACTIVE',
      removalReason: null,
      pendingDeletionAt: null,
    });
    const again = await gql(h.service.url, RESTORE, { id });
    const restored = await userEvents(dir, 'restored');
    expect(
      restored.map((e) => e.subject.value && 'id' in e.subject.value && e.subject.value.id),
    ).toEqual([id]);
    expect(restored[0]?.actor).not.toBe('');
    expect(again.errors?.[0]?.extensions).toMatchObject({
      code: 'NOT_PENDING_DELETION',
      status: 'ACTIVE',
    });
  });

  it('purgeUser deletes a pending user with its aliases, phones and memberships', async () => {
    const id = await idOf('r1');
    const denied = await gql(h.service.url, PURGE, { id }, 'USER_MANAGER');
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const res = await gql<{ purgeUser: string }>(h.service.url, PURGE, { id }, 'ADMINISTRATOR');
    expect(res.data?.purgeUser).toBe(id);
    for (const table of ['users', 'user_aliases', 'user_phones', 'memberships']) {
      const col = table === 'users' ? 'id' : 'user_id';
      expect(await h.rows(`select 1 from ${table} where ${col} = ?`, [id])).toEqual([]);
    }
    const gone = await gql(h.service.url, PURGE, { id }, 'ADMINISTRATOR');
    expect(gone.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const active = await gql(h.service.url, PURGE, { id: await idOf('r4') }, 'ADMINISTRATOR');
    expect(active.errors?.[0]?.extensions?.code).toBe('NOT_PENDING_DELETION');
  });

  it('the purge job deletes pending users once their restore window has passed, not before', async () => {
    const r3 = await idOf('r3');
    const [row] = await h.rows<{ purge_after: Date; pending_deletion_at: Date }>(
      'select purge_after, pending_deletion_at from users where id = ?',
      [r3],
    );
    const days =
      (new Date(row!.purge_after).getTime() - new Date(row!.pending_deletion_at).getTime()) /
      86_400_000;
    expect(days).toBeCloseTo(3, 5);
    const day = 86_400_000;
    expect(await h.service.purgeExpired(new Date(Date.now() + 2 * day))).toBe(0);
    expect(await h.rows('select 1 from users where id = ?', [r3])).toHaveLength(1);
    expect(await h.service.purgeExpired(new Date(Date.now() + 3 * day + 60_000))).toBe(1);
    expect(await h.rows('select 1 from users where id = ?', [r3])).toEqual([]);
    const purged = await userEvents(dir, 'purged');
    expect(purged).toHaveLength(2);
    // The restored and the active user stay.
    expect(await statuses(dir)).toEqual({ r2: 'active', r4: 'active' });
  });
});
