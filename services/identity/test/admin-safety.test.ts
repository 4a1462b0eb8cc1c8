// Deletion safety for administrators in identity: a full ADMIN run whose planned removals exceed
// the directory's threshold removes nobody, ends BLOCKED with the exact plan, and waits for
// approve / reject (RunDecision request/reply) or a later ADMIN run that supersedes it. Real
// Postgres and NATS; events published the way a connector publishes them.
import { randomUUID } from 'node:crypto';
import {
  AdminRole,
  ErrorCode,
  LifecycleEventsSchema,
  RunDecision,
  RunStatus,
  SyncMode,
  UserOutcome,
  fromBinary,
  type RunUpdate,
} from '@dirsync/proto';
import { waitFor } from '@dirsync/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RunBuilder,
  decide,
  errorOf,
  superseded,
  updateOf,
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
  h = await startHarness({ purgeIntervalSeconds: 0 });
});

afterAll(async () => {
  await h?.close();
});

const THRESHOLD = { maxCount: 500, maxPercent: 20 };

/** `n` administrators of directory `dir` (e-mails are unique across dirsync). */
const staff = (dir: string, n: number, from = 1): AdminInit[] =>
  Array.from({ length: n }, (_, i) =>
    admin(`a${from + i}`, `admin${from + i}@${dir}.example`, AdminRole.ADMINISTRATOR),
  );

/** A full ADMIN run observing `admins`, with the directory's threshold. */
function adminRun(
  dir: string,
  admins: AdminInit[],
  threshold: { maxCount: number; maxPercent: number } | null = THRESHOLD,
): RunBuilder {
  const run = new RunBuilder(dir).started(SyncMode.ADMIN, { threshold: threshold ?? undefined });
  if (admins.length) run.admins(admins);
  return run.completed();
}

/** An ADMIN run for one e-mail (syncAdmin), observing it or not. */
function oneAdmin(dir: string, email: string, observed: AdminInit[] = []): RunBuilder {
  const run = new RunBuilder(dir).started(SyncMode.ADMIN, { email, threshold: THRESHOLD });
  if (observed.length) run.admins(observed);
  return run.completed();
}

async function seeded(n: number): Promise<string> {
  const dir = randomUUID();
  const first = await runAndWait(h, adminRun(dir, staff(dir, n)));
  expect(first.status).toBe(RunStatus.COMPLETED);
  expect(first.counts?.adminsCreated).toBe(n);
  return dir;
}

/** The directory's administrators by external id → status. */
async function statuses(dir: string): Promise<Record<string, string>> {
  const rows = await h.rows<{ external_id: string; status: string }>(
    'select external_id, status from admins where directory_id = ? order by external_id',
    [dir],
  );
  return Object.fromEntries(rows.map((r) => [r.external_id, r.status]));
}

async function pending(dir: string): Promise<string[]> {
  const rows = await h.rows<{ external_id: string }>(
    `select external_id from admins where directory_id = ? and status = 'pending_deletion'`,
    [dir],
  );
  return rows.map((r) => r.external_id).sort();
}

async function adminEvents(dir: string, transition: string): Promise<string[]> {
  const rows = await h.rows<{ payload: Buffer }>(
    'select payload from outbox where subject like ? order by id',
    [`%.lifecycle.admin.${transition}`],
  );
  return rows
    .flatMap((r) => fromBinary(LifecycleEventsSchema, r.payload).events)
    .filter((e) => e.directoryId === dir)
    .map((e) => (e.subject.case === 'admin' ? e.subject.value.externalId : '?'))
    .sort();
}

async function held(runId: string): Promise<{ totalCount: number; emails: string[] }> {
  const r = await gql<{ admins: { totalCount: number; nodes: { email: string }[] } }>(
    h.service.url,
    `query($r: ID) { admins(first: 100, filter: { heldByRunId: $r }) { totalCount nodes { email } } }`,
    { r: runId },
  );
  expect(r.errors).toBeUndefined();
  return {
    totalCount: r.data!.admins.totalCount,
    emails: r.data!.admins.nodes.map((a) => a.email),
  };
}

describe('a role group that suddenly returns nobody', () => {
  let dir: string;
  let blocked: RunUpdate;

  beforeAll(async () => {
    dir = await seeded(5);
    blocked = await runAndWait(h, adminRun(dir, []));
  });

  it('ends BLOCKED with the plan, and removes no administrator', async () => {
    expect(blocked.status).toBe(RunStatus.BLOCKED);
    expect(blocked.cursor).toBe('');
    expect(blocked.removals).toMatchObject({
      admins: 5,
      baseAdmins: 5,
      users: 0,
      memberships: 0,
      groups: 0,
      threshold: THRESHOLD,
    });
    expect(blocked.removals?.reason).toBe(
      'would remove 5 of 5 administrators (100 %); the deletion threshold is more than 500 or ' +
        'more than 20 % (for administrators: of more than 1, or the last)',
    );
    expect(blocked.counts?.adminsPendingDeletion).toBe(0);
    expect(Object.values(await statuses(dir))).toEqual(Array(5).fill('active'));
    expect(await adminEvents(dir, 'pending_deletion')).toEqual([]);
    // Who exactly approving would remove, listable like any administrators.
    const list = await held(blocked.runId);
    expect(list.totalCount).toBe(5);
    expect(list.emails).toEqual(staff(dir, 5).map((a) => a.email));
    expect((await held(randomUUID())).totalCount).toBe(0);
    // An id in upper case is the same run (as for users(filter: { heldByRunId })).
    expect((await held(blocked.runId.toUpperCase())).totalCount).toBe(5);
  });

  it('approve removes exactly the held administrators, minus one observed since', async () => {
    // syncAdmin finds admin3 in a role group again: it leaves the plan.
    const single = await runAndWait(h, oneAdmin(dir, `admin3@${dir}.example`, staff(dir, 1, 3)));
    expect(single.status).toBe(RunStatus.COMPLETED);
    expect((await held(blocked.runId)).totalCount).toBe(4);
    const approved = updateOf(await decide(h, blocked.runId, dir, RunDecision.APPROVE, 'alice'));
    expect(approved).toMatchObject({
      status: RunStatus.COMPLETED,
      decision: RunDecision.APPROVE,
      decidedBy: 'alice',
    });
    expect(approved.counts?.adminsPendingDeletion).toBe(4);
    expect(await pending(dir)).toEqual(['a1', 'a2', 'a4', 'a5']);
    expect(await adminEvents(dir, 'pending_deletion')).toEqual(['a1', 'a2', 'a4', 'a5']);
    // The approval is in the run's history: one change per administrator it removed, and the
    // blocked run itself recorded none.
    const changes = await h.rows<{ kind: string; external_id: string }>(
      `select kind, external_id from run_changes where run_id = ? and kind = 'adminPendingDeletion'
       order by external_id`,
      [blocked.runId],
    );
    expect(changes.map((c) => c.external_id)).toEqual(['a1', 'a2', 'a4', 'a5']);
    // The plan is spent.
    expect((await held(blocked.runId)).totalCount).toBe(0);
    expect(errorOf(await decide(h, blocked.runId, dir, RunDecision.APPROVE))).toBe(
      ErrorCode.RUN_NOT_BLOCKED,
    );
  });
});

describe('reject', () => {
  it('discards the plan: no administrator is removed, the run is REJECTED', async () => {
    const dir = await seeded(4);
    const blocked = await runAndWait(h, adminRun(dir, []));
    expect(blocked.status).toBe(RunStatus.BLOCKED);
    const rejected = updateOf(await decide(h, blocked.runId, dir, RunDecision.REJECT, 'bob'));
    expect(rejected).toMatchObject({
      status: RunStatus.REJECTED,
      decision: RunDecision.REJECT,
      decidedBy: 'bob',
    });
    expect(await pending(dir)).toEqual([]);
    expect((await held(blocked.runId)).totalCount).toBe(0);
  });
});

describe('an open run', () => {
  it('keeps the administrators it has observed out of an approval', async () => {
    const dir = await seeded(5);
    const blocked = await runAndWait(h, adminRun(dir, []));
    expect(blocked.status).toBe(RunStatus.BLOCKED);
    // A syncAdmin for admin2 has observed it but not completed yet.
    const open = new RunBuilder(dir)
      .started(SyncMode.ADMIN, { email: `admin2@${dir}.example`, threshold: THRESHOLD })
      .admins(staff(dir, 1, 2));
    await h.publish(open.events);
    await waitFor(
      async () =>
        (await h.rows('select 1 from run_seen_admins where run_id = ?', [open.runId])).length > 0 ||
        undefined,
      { message: 'the open run observed admin2' },
    );
    const approved = updateOf(await decide(h, blocked.runId, dir, RunDecision.APPROVE));
    expect(approved.counts?.adminsPendingDeletion).toBe(4);
    expect(await pending(dir)).toEqual(['a1', 'a3', 'a4', 'a5']);
  });
});

describe('supersession', () => {
  it('a later full ADMIN run makes a blocked one REJECTED with superseded_by; deciding it answers RUN_SUPERSEDED', async () => {
    const dir = await seeded(5);
    const blocked = await runAndWait(h, adminRun(dir, []));
    expect(blocked.status).toBe(RunStatus.BLOCKED);
    const later = await runAndWait(h, adminRun(dir, staff(dir, 5)));
    expect(later.status).toBe(RunStatus.COMPLETED);
    expect(await superseded(h, blocked.runId)).toMatchObject({
      supersededBy: later.runId,
      decision: RunDecision.UNSPECIFIED,
    });
    for (const d of [RunDecision.APPROVE, RunDecision.REJECT]) {
      expect(errorOf(await decide(h, blocked.runId, dir, d))).toBe(ErrorCode.RUN_SUPERSEDED);
    }
    expect(await pending(dir)).toEqual([]);
  });

  it('a later blocked ADMIN run supersedes the earlier one and is the one to decide', async () => {
    const dir = await seeded(5);
    const first = await runAndWait(h, adminRun(dir, []));
    const second = await runAndWait(h, adminRun(dir, staff(dir, 1)));
    expect(second.status).toBe(RunStatus.BLOCKED);
    expect(second.removals).toMatchObject({ admins: 4, baseAdmins: 5 });
    expect((await superseded(h, first.runId))?.supersededBy).toBe(second.runId);
    const approved = updateOf(await decide(h, second.runId, dir, RunDecision.APPROVE));
    expect(approved.counts?.adminsPendingDeletion).toBe(4);
    expect(await pending(dir)).toEqual(['a2', 'a3', 'a4', 'a5']);
  });

  it('user runs and admin runs never supersede each other’s plans', async () => {
    const dir = await seeded(5);
    const blockedAdmins = await runAndWait(h, adminRun(dir, []));
    expect(blockedAdmins.status).toBe(RunStatus.BLOCKED);
    // A FULL user run of the same directory (completed, then blocked) leaves the admin plan.
    const users = [1, 2, 3].map((i) => user(`u${i}`, `user${i}@${dir}`));
    const seed = new RunBuilder(dir).started(SyncMode.FULL, { threshold: THRESHOLD });
    seed
      .users(users)
      .groups([group('all', 'All')])
      .members({ all: ['u1', 'u2', 'u3'] });
    expect((await runAndWait(h, seed.completed('c1'))).status).toBe(RunStatus.COMPLETED);
    const emptied = new RunBuilder(dir).started(SyncMode.FULL, { threshold: THRESHOLD });
    const blockedUsers = await runAndWait(h, emptied.completed('c2'));
    expect(blockedUsers.status).toBe(RunStatus.BLOCKED);
    // A full admin run (completed) leaves the user plan.
    const later = await runAndWait(h, adminRun(dir, staff(dir, 5)));
    expect(later.status).toBe(RunStatus.COMPLETED);
    const blockedRows = await h.rows<{ run_id: string; status: string; superseded_by: string }>(
      'select run_id, status, superseded_by from runs where run_id = any(?::text[])',
      [[blockedAdmins.runId, blockedUsers.runId]],
    );
    expect(Object.fromEntries(blockedRows.map((r) => [r.run_id, r.superseded_by]))).toEqual({
      [blockedAdmins.runId]: later.runId,
      [blockedUsers.runId]: null,
    });
    const approved = updateOf(await decide(h, blockedUsers.runId, dir, RunDecision.APPROVE));
    expect(approved.counts).toMatchObject({ pendingDeletion: 3, adminsPendingDeletion: 0 });
    expect(await pending(dir)).toEqual([]);
  });
});

describe('the threshold for administrators', () => {
  it('by percent, with a floor: one of five leaving completes, two of five (40 %) block', async () => {
    const dir = await seeded(5);
    const one = await runAndWait(h, adminRun(dir, staff(dir, 4)));
    expect(one.status).toBe(RunStatus.COMPLETED);
    expect(one.counts?.adminsPendingDeletion).toBe(1);
    const two = await runAndWait(h, adminRun(dir, staff(dir, 2)));
    expect(two.status).toBe(RunStatus.BLOCKED);
    // Measured against the administrators not already pending: 2 of 4.
    expect(two.removals).toMatchObject({ admins: 2, baseAdmins: 4 });
  });

  it('the last administrator is held back however few there are', async () => {
    const dir = await seeded(1);
    const last = await runAndWait(h, adminRun(dir, []));
    expect(last.status).toBe(RunStatus.BLOCKED);
    expect(last.removals).toMatchObject({ admins: 1, baseAdmins: 1 });
    expect(await pending(dir)).toEqual([]);
  });

  it('by count: more than maxCount blocks, maxCount itself does not', async () => {
    const dir = await seeded(10);
    const limit = { maxCount: 2, maxPercent: 0 };
    expect((await runAndWait(h, adminRun(dir, staff(dir, 8), limit))).status).toBe(
      RunStatus.COMPLETED,
    );
    const over = await runAndWait(h, adminRun(dir, staff(dir, 5), limit));
    expect(over.status).toBe(RunStatus.BLOCKED);
    expect(over.removals).toMatchObject({ admins: 3, baseAdmins: 8 });
  });

  it('0 turns it off, no threshold is no limit, and a run for one e-mail is never measured', async () => {
    const dir = await seeded(6);
    const single = await runAndWait(h, oneAdmin(dir, `admin6@${dir}.example`));
    expect(single.status).toBe(RunStatus.COMPLETED);
    expect(single.adminOutcome).toBe(UserOutcome.PENDING_DELETION);
    expect(await pending(dir)).toEqual(['a6']);
    const off = await runAndWait(h, adminRun(dir, staff(dir, 2), { maxCount: 0, maxPercent: 0 }));
    expect(off.status).toBe(RunStatus.COMPLETED);
    expect(off.counts?.adminsPendingDeletion).toBe(3);
    const none = await runAndWait(h, adminRun(dir, [], null));
    expect(none.status).toBe(RunStatus.COMPLETED);
    expect(await pending(dir)).toEqual(['a1', 'a2', 'a3', 'a4', 'a5', 'a6']);
  });

  it('a blocked admin run still applies what it observed', async () => {
    const dir = await seeded(5);
    const changed = [
      admin('a1', `admin1@${dir}.example`, AdminRole.OWNER),
      admin('new', `new@${dir}.example`, AdminRole.HELP_DESK),
    ];
    const blocked = await runAndWait(h, adminRun(dir, changed));
    expect(blocked.status).toBe(RunStatus.BLOCKED);
    expect(blocked.counts).toMatchObject({ adminsCreated: 1, adminsUpdated: 1 });
    expect(blocked.removals).toMatchObject({ admins: 4, baseAdmins: 6 });
    const [a1] = await h.rows<{ role: string }>(
      'select role from admins where directory_id = ? and external_id = ?',
      [dir, 'a1'],
    );
    expect(a1?.role).toBe('OWNER');
  });
});
