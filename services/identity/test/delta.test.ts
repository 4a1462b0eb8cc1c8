// DELTA runs: removals with their reason and the directory's restore window, group removals,
// membership deltas (last statement wins), all applied at completion and never for a failed
// run; redelivery changes nothing; a DELTA run the connector read in full completes like FULL;
// the 100-group limit keeps the groups a FULL run keeps, blocked or not.
import {
  ErrorCode,
  FullReadReason,
  RemovalReason,
  RunDecision,
  RunStatus,
  SyncMode,
  errorCodeName,
} from '@dirsync/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RunBuilder,
  decide,
  fullRun,
  gql,
  group,
  runAndWait,
  startHarness,
  user,
  type Harness,
} from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h?.close();
});

interface Row {
  id: string;
  status: string;
  previous_status: string | null;
  removal_reason: string | null;
  pending_deletion_at: Date | string | null;
  purge_after: Date | string | null;
}

async function userRow(dir: string, externalId: string): Promise<Row | undefined> {
  const [row] = await h.rows<Row>(
    `select id, status, previous_status, removal_reason, pending_deletion_at, purge_after
     from users where directory_id = ? and external_id = ?`,
    [dir, externalId],
  );
  return row;
}

/** "group>user" pairs of a directory, sorted. */
async function memberships(dir: string): Promise<string[]> {
  const rows = await h.rows<{ m: string }>(
    `select g.external_id || '>' || u.external_id as m from memberships m
     join groups g on g.id = m.group_id join users u on u.id = m.user_id
     where g.directory_id = ? order by 1`,
    [dir],
  );
  return rows.map((r) => r.m);
}

async function groupIds(dir: string): Promise<string[]> {
  const rows = await h.rows<{ external_id: string }>(
    'select external_id from groups where directory_id = ? order by 1',
    [dir],
  );
  return rows.map((r) => r.external_id);
}

const delta = (dir: string, restoreWindowDays = 7) =>
  new RunBuilder(dir).started(SyncMode.DELTA, { restoreWindowDays });

/** A directory with users a1…a4 and groups ga {a1, a2}, gb {a2, a3, a4}. */
async function seed(dir: string): Promise<void> {
  const final = await runAndWait(
    h,
    fullRun(
      dir,
      ['a1', 'a2', 'a3', 'a4'].map((id) => user(id, `${dir}-${id}`)),
      [group('ga', 'Group A'), group('gb', 'Group B')],
      { ga: ['a1', 'a2'], gb: ['a2', 'a3', 'a4'] },
    ),
  );
  expect(final.status).toBe(RunStatus.COMPLETED);
}

describe('user removals', () => {
  const dir = 'delta-removals';
  beforeAll(() => seed(dir));

  it('moves removed users to pending deletion with the run restore window and the reason', async () => {
    const before = Date.now();
    const final = await runAndWait(
      h,
      delta(dir, 12)
        .removeUsers(['a1'], RemovalReason.DELETED)
        .removeUsers(['a3'], RemovalReason.OUT_OF_SCOPE)
        .completed('c1'),
    );
    expect(final.status).toBe(RunStatus.COMPLETED);
    expect(final.readMode).toBe(SyncMode.DELTA);
    expect(final.cursor).toBe('c1');
    expect(final.counts).toMatchObject({ pendingDeletion: 2, membershipsRemoved: 2 });
    const a1 = await userRow(dir, 'a1');
    expect(a1).toMatchObject({
      status: 'pending_deletion',
      previous_status: 'active',
      removal_reason: 'deleted',
    });
    const at = (v: Date | string | null | undefined) => (v ? new Date(v).getTime() : 0);
    expect(at(a1?.purge_after) - at(a1?.pending_deletion_at)).toBe(12 * 24 * 3600 * 1000);
    expect(at(a1?.pending_deletion_at)).toBeGreaterThanOrEqual(before - 1000);
    expect((await userRow(dir, 'a3'))?.removal_reason).toBe('out_of_scope');
    // Removed users are in no group; nobody else was touched (a DELTA run never sweeps).
    expect(await memberships(dir)).toEqual(['ga>a2', 'gb>a2', 'gb>a4']);
    expect((await userRow(dir, 'a4'))?.status).toBe('active');
  });

  it('ignores unknown ids and users already pending (their window keeps running)', async () => {
    const a1 = await userRow(dir, 'a1');
    const final = await runAndWait(h, delta(dir, 30).removeUsers(['a1', 'nobody']).completed());
    expect(final.counts?.pendingDeletion).toBe(0);
    expect((await userRow(dir, 'a1'))?.purge_after).toEqual(a1?.purge_after);
  });

  it('restores a removed user with the same id when a later delta observes it', async () => {
    const removed = await userRow(dir, 'a1');
    const final = await runAndWait(
      h,
      delta(dir)
        .users([user('a1', `${dir}-a1`)])
        .deltas({ ga: { added: ['a1'] } })
        .completed(),
    );
    expect(final.counts).toMatchObject({ restored: 1, membershipsAdded: 1 });
    expect(await userRow(dir, 'a1')).toMatchObject({
      id: removed?.id,
      status: 'active',
      removal_reason: null,
      purge_after: null,
    });
    expect(await memberships(dir)).toContain('ga>a1');
  });

  it('keeps a user the same run observed: an observation wins over a removal', async () => {
    const final = await runAndWait(
      h,
      delta(dir)
        .removeUsers(['a2'])
        .users([user('a2', `${dir}-a2`)])
        .completed(),
    );
    expect(final.counts?.pendingDeletion).toBe(0);
    expect((await userRow(dir, 'a2'))?.status).toBe('active');
  });
});

describe('lastDirectorySync after a DELTA run', () => {
  const dir = 'delta-last-sync';
  beforeAll(() => seed(dir));

  const lastSync = async (externalId: string): Promise<number> => {
    const id = (await userRow(dir, externalId))!.id;
    const r = await gql<{ user: { lastDirectorySync: string | null } }>(
      h.service.url,
      'query($id: ID!) { user(id: $id) { lastDirectorySync } }',
      { id },
    );
    expect(r.errors).toBeUndefined();
    return new Date(r.data!.user.lastDirectorySync ?? 0).getTime();
  };

  it('is the DELTA run that removed the user, not the first sync', async () => {
    const first = await lastSync('a1');
    expect(first).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 50));
    const before = Date.now();
    const final = await runAndWait(
      h,
      delta(dir)
        .users([user('a2', `${dir}-a2`)])
        .removeUsers(['a1'], RemovalReason.DELETED)
        .completed('c-last'),
    );
    expect(final.counts).toMatchObject({ pendingDeletion: 1, unchanged: 1 });
    // Removed by this run: its last sync is this run (a pending user has no full-sync cover).
    expect(await lastSync('a1')).toBeGreaterThanOrEqual(before - 1000);
    expect(await lastSync('a1')).toBeGreaterThan(first);
    // Observed unchanged by a DELTA run (not written: UNCHANGED writes nothing) or not observed:
    // still the last full sync.
    expect(await lastSync('a2')).toBe(first);
    expect(await lastSync('a4')).toBe(first);
  });
});

describe('group removals and membership deltas', () => {
  const dir = 'delta-groups';
  beforeAll(() => seed(dir));

  it('removes a group with its memberships, users stay', async () => {
    const final = await runAndWait(
      h,
      delta(dir).removeGroups(['gb'], RemovalReason.OUT_OF_SCOPE).completed(),
    );
    expect(final.counts).toMatchObject({ groupsRemoved: 1, membershipsRemoved: 3 });
    expect(await groupIds(dir)).toEqual(['ga']);
    expect(await memberships(dir)).toEqual(['ga>a1', 'ga>a2']);
    expect((await userRow(dir, 'a3'))?.status).toBe('active');
  });

  it('adds and removes members; for one pair the last statement of the run wins', async () => {
    const final = await runAndWait(
      h,
      delta(dir)
        .groups([group('gb', 'Group B')])
        .deltas({ ga: { added: ['a3'], removed: ['a1'] }, gb: { added: ['a4', 'a1'] } })
        .members({ ga: ['a4'] })
        .deltas({ ga: { removed: ['a4'], added: ['a1'] }, gb: { removed: ['a1'] } })
        .deltas({ gb: { added: ['unknown-user'] }, nope: { added: ['a2'] } })
        .completed(),
    );
    expect(final.status).toBe(RunStatus.COMPLETED);
    // ga: a1 removed then added again (stays), a3 added, a4 added by members() then removed;
    // gb: a4 added, a1 added then removed; unknown users and groups are skipped.
    expect(await memberships(dir)).toEqual(['ga>a1', 'ga>a2', 'ga>a3', 'gb>a4']);
    expect(final.counts).toMatchObject({ membershipsAdded: 2, membershipsRemoved: 0 });
  });

  it('gives no membership to a user in pending deletion', async () => {
    await runAndWait(h, delta(dir).removeUsers(['a2']).completed());
    const final = await runAndWait(
      h,
      delta(dir)
        .deltas({ gb: { added: ['a2'] } })
        .completed(),
    );
    expect(final.counts?.membershipsAdded).toBe(0);
    expect(await memberships(dir)).not.toContain('gb>a2');
  });
});

describe('a DELTA run that does not complete', () => {
  const dir = 'delta-failed';
  beforeAll(() => seed(dir));

  it('removes nobody and changes no membership when it fails', async () => {
    const before = await memberships(dir);
    const run = delta(dir)
      .removeUsers(['a1', 'a2'])
      .removeGroups(['ga'])
      .deltas({ gb: { removed: ['a3'], added: ['a1'] } })
      .failed(ErrorCode.SOURCE_UNAVAILABLE, 'connection lost');
    const final = await runAndWait(h, run);
    expect(final.status).toBe(RunStatus.FAILED);
    expect((await userRow(dir, 'a1'))?.status).toBe('active');
    expect(await groupIds(dir)).toEqual(['ga', 'gb']);
    expect(await memberships(dir)).toEqual(before);
    const [staged] = await h.rows<{ n: string }>(
      `select (select count(*) from run_removed_users where run_id = ?)
            + (select count(*) from run_membership_deltas where run_id = ?) as n`,
      [run.runId, run.runId],
    );
    expect(Number(staged?.n)).toBe(0);
  });

  it('removes nobody when one of its events never arrived', async () => {
    const run = delta(dir)
      .removeUsers(['a1'])
      .deltas({ ga: { removed: ['a2'] } })
      .completed();
    await h.publish(run.events.filter((e) => e.seq !== 3));
    const final = await h.finalUpdate(run.runId);
    expect(errorCodeName(final.error?.code ?? ErrorCode.UNSPECIFIED)).toBe('EVENTS_INCOMPLETE');
    expect((await userRow(dir, 'a1'))?.status).toBe('active');
    expect(await memberships(dir)).toContain('ga>a2');
  });
});

describe('redelivery', () => {
  const dir = 'delta-redelivery';
  beforeAll(() => seed(dir));

  it('applies every event once, however often it arrives', async () => {
    const run = delta(dir)
      .removeUsers(['a1'])
      .deltas({ gb: { removed: ['a3'] }, ga: { added: ['a4'] } })
      .removeGroups(['nope'])
      .completed('once');
    const first = await runAndWait(h, run);
    const after = { a1: await userRow(dir, 'a1'), memberships: await memberships(dir) };
    // Published again under other message ids, so the server does not drop them: identity's
    // own record of applied events must. a1 leaves ga (its only group), a3 leaves gb.
    await h.publish(run.events, { msgIdSuffix: ':again' });
    const marker = await runAndWait(h, delta(dir).completed());
    expect(marker.status).toBe(RunStatus.COMPLETED);
    expect(await userRow(dir, 'a1')).toEqual(after.a1);
    expect(await memberships(dir)).toEqual(after.memberships);
    expect(after.memberships).toEqual(['ga>a2', 'ga>a4', 'gb>a2', 'gb>a4']);
    const updates = await h.updates(run.runId);
    expect(updates.filter((u) => u.update.status === RunStatus.COMPLETED)).toHaveLength(1);
    expect(first.counts).toMatchObject({
      pendingDeletion: 1,
      membershipsRemoved: 2,
      membershipsAdded: 1,
    });
  });
});

describe('a DELTA run the connector read in full', () => {
  const dir = 'delta-full-read';
  beforeAll(() => seed(dir));

  it('completes like a FULL run: what it did not observe is removed', async () => {
    const final = await runAndWait(
      h,
      delta(dir)
        // from the delta attempt before the cursor was rejected: superseded by the full read
        .removeUsers(['a2'])
        .deltas({ ga: { removed: ['a1'] } })
        .users([user('a1', `${dir}-a1`), user('a2', `${dir}-a2`), user('a3', `${dir}-a3`)])
        .groups([group('ga', 'Group A')])
        .members({ ga: ['a1', 'a2', 'a3'] })
        .completed('fresh', {
          readMode: SyncMode.FULL,
          fullReadReason: FullReadReason.CURSOR_REJECTED,
          entriesRead: 5,
        }),
    );
    expect(final.status).toBe(RunStatus.COMPLETED);
    expect(final.mode).toBe(SyncMode.DELTA);
    expect(final.readMode).toBe(SyncMode.FULL);
    expect(final.fullReadReason).toBe(FullReadReason.CURSOR_REJECTED);
    expect(final.counts).toMatchObject({ pendingDeletion: 1, groupsRemoved: 1, entriesRead: 5 });
    expect(await userRow(dir, 'a4')).toMatchObject({
      status: 'pending_deletion',
      removal_reason: 'not_observed',
    });
    expect((await userRow(dir, 'a2'))?.status).toBe('active');
    expect(await memberships(dir)).toEqual(['ga>a1', 'ga>a2', 'ga>a3']);
  });

  it('a FULL run ignores delta events and reports its read mode', async () => {
    const final = await runAndWait(
      h,
      new RunBuilder(dir)
        .started(SyncMode.FULL)
        .users(['a1', 'a2', 'a3'].map((id) => user(id, `${dir}-${id}`)))
        .groups([group('ga', 'Group A')])
        .members({ ga: ['a1', 'a2', 'a3'] })
        .removeUsers(['a1'])
        .deltas({ ga: { removed: ['a2'] } })
        .completed(),
    );
    expect(final.readMode).toBe(SyncMode.FULL);
    expect(final.counts).toMatchObject({ pendingDeletion: 0, membershipsRemoved: 0 });
    expect((await userRow(dir, 'a1'))?.status).toBe('active');
  });
});

describe('the 100-group limit in DELTA runs', () => {
  const dir = 'delta-glimit';
  const teams = Array.from({ length: 100 }, (_, i) =>
    group(`t${i}`, `Team ${String(i).padStart(3, '0')}`),
  );
  const extra = [group('ga', 'Aardvark'), group('gz', 'Zebra'), group('gb', 'Aa first')];
  const people = [user('m1', `${dir}-m1`), user('m2', `${dir}-m2`)];

  async function errorsOf(runId: string): Promise<{ code: string; message: string }[]> {
    return (await h.updates(runId)).flatMap((u) =>
      u.update.errors.map((e) => ({
        code: `${errorCodeName(e.code)} ${e.externalId}`,
        message: e.message,
      })),
    );
  }

  /** m1's groups, in name order. */
  async function groupsOfM1(): Promise<string[]> {
    const rows = await h.rows<{ name: string }>(
      `select g.name from memberships m join groups g on g.id = m.group_id
       join users u on u.id = m.user_id
       where u.directory_id = ? and u.external_id = 'm1' order by g.name_key`,
      [dir],
    );
    return rows.map((r) => r.name);
  }

  beforeAll(async () => {
    // m1 is in exactly 100 groups: at the limit.
    const members = Object.fromEntries(teams.map((t) => [t.externalId, ['m1']]));
    members['t0'] = ['m1', 'm2'];
    const final = await runAndWait(h, fullRun(dir, people, [...teams, ...extra], members));
    expect(final.counts).toMatchObject({ errors: 0, membershipsAdded: 101 });
  });

  it('does not add a group past the limit that ranks after the first 100 by name, and says so', async () => {
    const run = delta(dir)
      .deltas({ gz: { added: ['m1', 'm2'] } })
      .completed('l1');
    const final = await runAndWait(h, run);
    expect(final.status).toBe(RunStatus.COMPLETED);
    // m2 joins Zebra; m1, at the limit, does not.
    expect(final.counts).toMatchObject({ membershipsAdded: 1, membershipsRemoved: 0, errors: 1 });
    const errors = await errorsOf(run.runId);
    expect(errors.map((e) => e.code)).toEqual(['LIMIT_EXCEEDED m1']);
    expect(errors[0]?.message).toBe(
      `${dir}-m1 is in more than 100 groups (101 after this delta sync); the first 100 by name are kept, left out: "Zebra"`,
    );
    const m1 = await groupsOfM1();
    expect(m1).toHaveLength(100);
    expect(m1).not.toContain('Zebra');
  });

  it('adds a group that ranks among the first 100 and drops the one it displaces, as a FULL run would', async () => {
    const run = new RunBuilder(dir)
      .started(SyncMode.DELTA, { threshold: { maxCount: 500, maxPercent: 20 } })
      .deltas({ ga: { added: ['m1'] } })
      .completed('l2');
    const final = await runAndWait(h, run);
    expect(final.status).toBe(RunStatus.COMPLETED);
    expect(final.counts).toMatchObject({ membershipsAdded: 1, membershipsRemoved: 1, errors: 1 });
    expect((await errorsOf(run.runId))[0]?.message).toContain('left out: "Team 099"');
    const m1 = await groupsOfM1();
    expect(m1).toHaveLength(100);
    expect(m1[0]).toBe('Aardvark');
    expect(m1.at(-1)).toBe('Team 098');
  });

  it('a FULL run of the same source after the deltas changes no membership', async () => {
    // The source: m1 in every team, Aardvark and Zebra (102 groups); m2 in Team 000 and Zebra.
    const members: Record<string, string[]> = Object.fromEntries(
      teams.map((t) => [t.externalId, ['m1']]),
    );
    members['t0'] = ['m1', 'm2'];
    members['ga'] = ['m1'];
    members['gz'] = ['m1', 'm2'];
    const before = await groupsOfM1();
    const run = fullRun(dir, people, [...teams, ...extra], members);
    const final = await runAndWait(h, run);
    expect(final.counts).toMatchObject({ membershipsAdded: 0, membershipsRemoved: 0, errors: 1 });
    expect((await errorsOf(run.runId))[0]?.message).toContain('is in 102 groups');
    expect(await groupsOfM1()).toEqual(before);
  });

  it('a blocked DELTA adds within the limit and holds the displaced group with its removals; approving applies it', async () => {
    // Two users named gone against a threshold of 1: blocked. m1 joins "Aa first".
    const extraUsers = [user('r1', `${dir}-r1`), user('r2', `${dir}-r2`)];
    await runAndWait(h, delta(dir).users(extraUsers).completed('l3'));
    const run = new RunBuilder(dir)
      .started(SyncMode.DELTA, { threshold: { maxCount: 1, maxPercent: 0 } })
      .removeUsers(['r1', 'r2'])
      .deltas({ gb: { added: ['m1'] } })
      .completed('l4');
    const blocked = await runAndWait(h, run);
    expect(blocked.status).toBe(RunStatus.BLOCKED);
    expect(blocked.removals).toMatchObject({ users: 2, memberships: 1 });
    expect(blocked.counts).toMatchObject({ membershipsAdded: 1, membershipsRemoved: 0, errors: 1 });
    // One error (not one per pass), naming the displaced group.
    const errors = await errorsOf(run.runId);
    expect(errors.map((e) => e.code)).toEqual(['LIMIT_EXCEEDED m1']);
    expect(errors[0]?.message).toContain('left out: "Team 098"');
    // A blocked run removes nothing: m1 keeps Team 098 until the run is decided.
    expect(await groupsOfM1()).toHaveLength(101);

    const reply = await decide(h, run.runId, dir, RunDecision.APPROVE);
    expect(reply.result.case).toBe('update');
    const m1 = await groupsOfM1();
    expect(m1).toHaveLength(100);
    expect(m1.slice(0, 2)).toEqual(['Aa first', 'Aardvark']);
    expect(m1.at(-1)).toBe('Team 097');
  });
});
