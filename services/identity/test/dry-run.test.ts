// Dry runs through the real service (NATS → identity → Postgres): the plan is recorded as the
// run's changes and reported in its final RunUpdate, no user/group/membership/alias/phone row
// (nor any other table but run history) changes, the cursor is not sent, a would-be block is
// reported, and the plan equals what the same run then does for real. While it reads, its
// RunUpdates count what it observed (seen, groupsSeen), batch by batch.
import {
  AdminRole,
  ErrorCode,
  RunStatus,
  SyncMode,
  UserOutcome,
  type DirectoryEvent,
  type RunUpdate,
} from '@dirsync/proto';
import { waitFor } from '@dirsync/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COUNT_KEYS } from '../src/apply/run.repository.js';
import {
  RunBuilder,
  admin,
  gql,
  group,
  runAndWait,
  startHarness,
  user,
  type Harness,
  type UserInit,
} from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h?.close();
});

/** Tables that are a run's own record, not the directory's data: a dry run may write these. */
const RUN_RECORD = new Set([
  'runs',
  'run_changes',
  'applied_events',
  'outbox',
  'run_dry_events',
  'mikro_orm_migrations',
]);

/** A digest of every row of every identity table but the run record, plus the non-run outbox. */
async function snapshot(): Promise<Record<string, string>> {
  const tables = await h.rows<{ name: string }>(
    `select table_name as name from information_schema.tables
     where table_schema = 'identity' and table_type = 'BASE TABLE' order by 1`,
  );
  const out: Record<string, string> = {};
  for (const { name } of tables) {
    if (RUN_RECORD.has(name)) continue;
    const [row] = await h.rows<{ digest: string; n: string }>(
      `select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as digest,
              count(*) as n
       from identity.${name} t`,
    );
    out[name] = `${row?.n}:${row?.digest}`;
  }
  // The outbox may gain RunUpdates and the run's own lifecycle event, nothing about users/groups.
  const [other] = await h.rows<{ n: string }>(
    `select count(*) as n from identity.outbox
     where subject not like '%dirsync.runs.%' and subject not like '%dirsync.lifecycle.run.%'`,
  );
  out['outbox (not run)'] = String(other?.n);
  return out;
}

interface Change {
  kind: string;
  userId: string | null;
  externalId: string | null;
  username: string | null;
  groupName: string | null;
  fields: { field: string; old: unknown; new: unknown }[];
  status: string | null;
  previousStatus: string | null;
  removalReason: string | null;
  addedGroupIds: string[];
  removedGroupIds: string[];
  errorCode: string | null;
}

async function changesOf(runId: string): Promise<Change[]> {
  const res = await gql<{ _entities: { changes: { nodes: Change[] } }[] }>(
    h.service.url,
    `query($r: [_Any!]!) { _entities(representations: $r) { ... on SyncRun {
       changes(first: 500) { nodes { kind userId externalId username groupName
         fields { field old new } status previousStatus removalReason addedGroupIds
         removedGroupIds errorCode } } } } }`,
    { r: [{ __typename: 'SyncRun', id: runId }] },
  );
  expect(res.errors).toBeUndefined();
  return res.data!._entities[0]!.changes.nodes;
}

/** A change without what differs between a plan and its real run (new ids), comparable. */
function comparable(c: Change, knownIds: ReadonlySet<string>) {
  return {
    kind: c.kind,
    user: c.userId && knownIds.has(c.userId) ? c.userId : null,
    externalId: c.externalId,
    username: c.username,
    groupName: c.groupName,
    fields: c.fields,
    status: c.status,
    previousStatus: c.previousStatus,
    removalReason: c.removalReason,
    added: c.addedGroupIds.filter((g) => knownIds.has(g)).length,
    addedNew: c.addedGroupIds.filter((g) => !knownIds.has(g)).length,
    removed: c.removedGroupIds.length,
    errorCode: c.errorCode,
  };
}

const dir = 'dir-dry';
const base: UserInit[] = [
  user('d1', 'dina', { aliases: ['dina.a'] }),
  user('d2', 'dave', { phones: [{ number: '+14155550102', kind: 'mobile' }] }),
  user('d3', 'dora'),
  user('d4', 'drew'),
  user('d5', 'dale', { disabled: true }),
];
const baseGroups = [group('dg1', 'Sales'), group('dg2', 'Support')];

/** The run the dry run plans: an update, a disable, an enable, a removal, a new user and group. */
function changedRun(dryRun: boolean, cursor = 'c-next'): RunBuilder {
  return new RunBuilder(dir)
    .started(SyncMode.FULL, { dryRun })
    .users([
      user('d1', 'dina', { aliases: ['dina.b'], email: 'dina@new.example' }),
      user('d2', 'dave', { disabled: true }),
      user('d4', 'drew'),
      user('d5', 'dale'),
      user('d6', 'dana'),
      user('d7', 'DINA'),
    ])
    .groups([...baseGroups, group('dg3', 'New team')])
    .members({ dg1: ['d1', 'd6'], dg2: ['d2', 'd4'], dg3: ['d1'] })
    .objectErrors([{ externalId: 'd8', code: ErrorCode.INVALID_PHONE, message: 'bad phone' }])
    .completed(cursor);
}

describe('dry run', () => {
  let plan: RunUpdate;
  let planned: Change[];
  let known: Set<string>;

  beforeAll(async () => {
    const first = await runAndWait(
      h,
      new RunBuilder(dir)
        .started(SyncMode.FULL)
        .users(base)
        .groups(baseGroups)
        .members({ dg1: ['d1', 'd2', 'd3'], dg2: ['d3', 'd4'] })
        .completed('c-first'),
    );
    expect(first.status).toBe(RunStatus.COMPLETED);
    const ids = await h.rows<{ id: string }>(
      'select id from users union all select id from groups',
    );
    known = new Set(ids.map((r) => r.id));
  });

  it('writes no row of any identity table but run history, and records the plan', async () => {
    const before = await snapshot();
    plan = await runAndWait(h, changedRun(true));
    expect(await snapshot()).toEqual(before);

    expect(plan.status).toBe(RunStatus.COMPLETED);
    expect(plan.dryRun).toBe(true);
    // The connector's cursor is not handed on: a dry run never advances the delta cursor.
    expect(plan.cursor).toBe('');
    expect(plan.removals).toBeUndefined();
    expect(plan.counts).toMatchObject({
      created: 1,
      updated: 3,
      disabled: 1,
      enabled: 1,
      pendingDeletion: 1,
      errors: 2,
      groupsCreated: 1,
    });
    // The per-object errors are reported as for a real run.
    const codes = (await h.updates(plan.runId)).flatMap((u) => u.update.errors.map((e) => e.code));
    expect(codes.sort()).toEqual([ErrorCode.DUPLICATE_USERNAME, ErrorCode.INVALID_PHONE].sort());

    planned = await changesOf(plan.runId);
    const dina = planned.find((c) => c.kind === 'UPDATED' && c.username === 'dina');
    expect(dina?.fields).toEqual([
      { field: 'email', old: 'dina@example.org', new: 'dina@new.example' },
      { field: 'aliases', old: ['dina.a'], new: ['dina.b'] },
    ]);
    expect(planned.filter((c) => c.kind === 'PENDING_DELETION')).toMatchObject([
      { username: 'dora', removalReason: 'NOT_OBSERVED', previousStatus: 'ACTIVE' },
    ]);
    expect(planned.find((c) => c.kind === 'CREATED')).toMatchObject({ username: 'dana' });
    expect(planned.find((c) => c.kind === 'GROUP_CREATED')).toMatchObject({
      groupName: 'New team',
    });
  });

  it('the plan is what the same run then does for real', async () => {
    const real = await runAndWait(h, changedRun(false));
    expect(real.status).toBe(RunStatus.COMPLETED);
    expect(real.dryRun).toBe(false);
    expect(real.cursor).toBe('c-next');
    expect({ ...real.counts, entriesRead: 0 }).toEqual({ ...plan.counts, entriesRead: 0 });
    const done = await changesOf(real.runId);
    expect(done.map((c) => comparable(c, known))).toEqual(planned.map((c) => comparable(c, known)));
  });

  it('reports a real run would be BLOCKED (RunUpdate.removals), removes nobody', async () => {
    const before = await snapshot();
    const dry = await runAndWait(
      h,
      new RunBuilder(dir)
        .started(SyncMode.FULL, { dryRun: true, threshold: { maxCount: 1, maxPercent: 0 } })
        .users([user('d1', 'dina')])
        .completed(),
    );
    expect(await snapshot()).toEqual(before);
    expect(dry.status).toBe(RunStatus.COMPLETED);
    expect(dry.dryRun).toBe(true);
    // d2, d4, d5, d6 would go (d3 is pending already): 4 > 1.
    expect(dry.removals?.users).toBe(4);
    expect(dry.counts?.pendingDeletion).toBe(0);
    const [held] = await h.rows<{ n: string }>('select count(*) as n from run_held_users');
    expect(Number(held?.n)).toBe(0);
  });

  it('syncUser dry run: the planned outcome and changes of one user', async () => {
    const before = await snapshot();
    const one = await runAndWait(
      h,
      new RunBuilder(dir)
        .started(SyncMode.USER, { username: 'drew', dryRun: true })
        .users([user('d4', 'drew', { displayName: 'Drew D.' })])
        .completed(),
    );
    expect(await snapshot()).toEqual(before);
    expect(one.userOutcome).toBe(UserOutcome.UPDATED);
    const [drew] = await h.rows<{ id: string }>(`select id from users where external_id = 'd4'`);
    expect(one.userId).toBe(drew?.id);
    // A USER run's memberships become the observed ones: none here, so drew would leave dg2.
    expect(await changesOf(one.runId)).toMatchObject([
      {
        kind: 'UPDATED',
        username: 'drew',
        fields: [{ field: 'displayName', old: 'drew Test', new: 'Drew D.' }],
      },
      {
        kind: 'MEMBERSHIP',
        username: 'drew',
        addedGroupIds: [],
        removedGroupIds: [expect.any(String)],
      },
    ]);
  });
});

/** Every count of a run 0. */
const everyCountZero = Object.fromEntries(COUNT_KEYS.map((k) => [k, 0]));

describe('dry run progress', () => {
  const pdir = 'dir-dry-progress';

  /** Publish `events` and wait until identity has sent the run's RunUpdate numbered `seq`. */
  async function step(events: readonly DirectoryEvent[], seq: number): Promise<RunUpdate> {
    await h.publish(events);
    const runId = events[0]!.runId;
    const found = await waitFor(
      async () => (await h.updates(runId)).find((u) => u.update.seq === seq),
      { timeoutMs: 20_000, message: `RunUpdate ${seq} of run ${runId}` },
    );
    return found.update;
  }

  /** The run the dry run below plans, in batches as a connector sends them. */
  function batches(dryRun: boolean): RunBuilder {
    return (
      new RunBuilder(pdir)
        .started(SyncMode.FULL, { dryRun })
        // 3 records.
        .users([
          user('p1', 'pia'),
          user('p2', 'paul', { displayName: 'Paul P.' }),
          user('p3', 'pat'),
        ])
        // The same record twice in a batch is one observation; a record without username is a
        // per-object error (MISSING_USERNAME), not seen: 1.
        .users([user('p4', 'pete'), user('p4', 'pete'), user('p5', '  ')])
        // An observation of the wrong kind (administrators in a user run): ignored, counts nothing.
        .admins([admin('pa1', 'pa1@example.org', AdminRole.OWNER)])
        // Again in a later batch (counted again, as a real run counts it), and a record whose
        // username another record of the directory holds (DUPLICATE_USERNAME, but seen): 2.
        .users([user('p3', 'pat'), user('p6', 'PIA')])
        // 2 groups (one of them twice); a group without a name is an error.
        .groups([group('pg1', 'Ops'), group('pg2', 'Dev'), group('pg2', 'Dev'), group('pg3', ' ')])
        .members({ pg1: ['p1', 'p3'], pg2: ['p4'] })
        .completed('c-progress', { entriesRead: 14 })
    );
  }

  it('counts seen and groupsSeen per staged batch; the plan replaces them; writes no row', async () => {
    const first = await runAndWait(
      h,
      new RunBuilder(pdir)
        .started(SyncMode.FULL)
        .users([user('p1', 'pia'), user('p2', 'paul'), user('p7', 'pam')])
        .groups([group('pg1', 'Ops')])
        .members({ pg1: ['p1', 'p2'] })
        .completed('c-first'),
    );
    expect(first.status).toBe(RunStatus.COMPLETED);
    const before = await snapshot();

    const run = batches(true);
    const [started, u1, u2, wrongKind, u3, g1, m1, done] = run.events as [
      DirectoryEvent,
      DirectoryEvent,
      DirectoryEvent,
      DirectoryEvent,
      DirectoryEvent,
      DirectoryEvent,
      DirectoryEvent,
      DirectoryEvent,
    ];
    const reading: RunUpdate[] = [];
    reading.push(await step([started], 1));
    reading.push(await step([u1], 2));
    // A redelivery of a staged batch (a new JetStream message, which applied_events drops)
    // counts nothing and sends no update: the next batch's update comes next.
    await h.publish([u1], { msgIdSuffix: ':again' });
    reading.push(await step([u2], 3));
    reading.push(await step([wrongKind], 4));
    reading.push(await step([u3], 5));
    reading.push(await step([g1], 6));
    reading.push(await step([m1], 7));

    expect(reading.map((u) => [u.status, u.dryRun])).toEqual(
      Array(7).fill([RunStatus.RUNNING, true]),
    );
    expect(reading.map((u) => [u.counts!.seen, u.counts!.groupsSeen])).toEqual([
      [0, 0],
      [3, 0],
      [4, 0],
      [4, 0],
      [6, 0],
      [6, 2],
      [6, 2],
    ]);
    // What only the plan knows stays 0 while the run reads, errors included.
    for (const u of reading) {
      expect({ ...u.counts!, seen: 0, groupsSeen: 0 }).toMatchObject(everyCountZero);
      expect(u.errors).toEqual([]);
    }
    // Identity's run row has them too (sync keeps the latest update's counts for SyncRun).
    const [row] = await h.rows<{ counts: Record<string, number> }>(
      'select counts from runs where run_id = ?',
      [run.runId],
    );
    expect(row?.counts).toMatchObject({ seen: 6, groupsSeen: 2, created: 0 });
    // Nothing written while it reads.
    expect(await snapshot()).toEqual(before);

    await h.publish([done]);
    const plan = await h.finalUpdate(run.runId);
    expect(plan.status).toBe(RunStatus.COMPLETED);
    expect(await snapshot()).toEqual(before);
    // The plan's seen / groupsSeen are what the run counted while it read: the replay counts
    // from 0, not on top of the reading.
    expect(plan.counts).toMatchObject({
      seen: 6,
      groupsSeen: 2,
      created: 2,
      updated: 1,
      unchanged: 2,
      pendingDeletion: 1,
      groupsCreated: 1,
      errors: 3,
      entriesRead: 14,
    });

    // The same batches applied for real count exactly the same.
    const real = await runAndWait(h, batches(false));
    expect(real.status).toBe(RunStatus.COMPLETED);
    expect(real.counts).toEqual(plan.counts);
  });

  it('a USER dry run counts the user it read while it reads', async () => {
    const run = new RunBuilder(pdir)
      .started(SyncMode.USER, { username: 'pia', dryRun: true })
      .users([user('p1', 'pia', { displayName: 'Pia P.' })])
      .completed();
    const [started, users, done] = run.events as [DirectoryEvent, DirectoryEvent, DirectoryEvent];
    await step([started], 1);
    const read = await step([users], 2);
    expect(read.status).toBe(RunStatus.RUNNING);
    expect(read.counts).toMatchObject({ seen: 1, updated: 0 });
    await h.publish([done]);
    const plan = await h.finalUpdate(run.runId);
    expect(plan.userOutcome).toBe(UserOutcome.UPDATED);
    expect(plan.counts).toMatchObject({ seen: 1, updated: 1 });
  });
});
