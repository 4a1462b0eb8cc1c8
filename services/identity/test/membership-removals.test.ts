// Every membership a run takes away is recorded (a MEMBERSHIP change with the removed group ids,
// counted in membershipsRemoved), whichever path removes it: a TAKE_OVER claim.
import { ConflictPolicy, RunStatus, SyncMode } from '@dirsync/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RunBuilder,
  fullRun,
  group,
  runAndWait,
  startHarness,
  user,
  type Harness,
} from './harness.js';
import { nameKey } from '../src/apply/normalize.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h?.close();
});

async function userId(username: string): Promise<string> {
  const [row] = await h.rows<{ id: string }>('select id from users where username_key = ?', [
    nameKey(username),
  ]);
  return row!.id;
}

async function groupIds(directoryId: string, ...externalIds: string[]): Promise<string[]> {
  const rows = await h.rows<{ id: string }>(
    'select id from groups where directory_id = ? and external_id = any(?) order by id',
    [directoryId, externalIds],
  );
  return rows.map((r) => r.id);
}

async function groupsOf(id: string): Promise<string[]> {
  const rows = await h.rows<{ group_id: string }>(
    'select group_id from memberships where user_id = ? order by group_id',
    [id],
  );
  return rows.map((r) => r.group_id);
}

/** The run's MEMBERSHIP changes of one user, their lists merged. */
async function membershipChanges(
  runId: string,
  id: string,
): Promise<{ added: string[]; removed: string[] }> {
  const rows = await h.rows<{ detail: { added: string[]; removed: string[] } }>(
    `select detail from run_changes where run_id = ? and kind = 'membership' and user_id = ?`,
    [runId, id],
  );
  return {
    added: rows.flatMap((r) => r.detail.added).sort(),
    removed: rows.flatMap((r) => r.detail.removed).sort(),
  };
}

/** membershipsAdded / membershipsRemoved equal the sums of the recorded MEMBERSHIP changes. */
async function expectMembershipCountsRecorded(
  runId: string,
  counts: { membershipsAdded: number; membershipsRemoved: number },
): Promise<void> {
  const [m] = await h.rows<{ added: string; removed: string }>(
    `select coalesce(sum(jsonb_array_length(detail->'added')), 0) as added,
            coalesce(sum(jsonb_array_length(detail->'removed')), 0) as removed
     from run_changes where run_id = ? and kind = 'membership'`,
    [runId],
  );
  expect({ added: Number(m?.added), removed: Number(m?.removed) }).toEqual({
    added: counts.membershipsAdded,
    removed: counts.membershipsRemoved,
  });
}

describe('TAKE_OVER: the memberships a claimed user loses in its old directory', () => {
  const OLD = 'dir-mr-old';
  const NEW = 'dir-mr-new';

  it('are recorded and counted, in the dry run plan as in the real run', async () => {
    const setup = await runAndWait(
      h,
      fullRun(
        OLD,
        [user('o1', 'tina'), user('o2', 'timo'), user('o3', 'tess')],
        [group('og1', 'staff'), group('og2', 'sales')],
        { og1: ['o1', 'o2', 'o3'], og2: ['o1', 'o2'] },
      ),
    );
    expect(setup.counts).toMatchObject({ membershipsAdded: 5 });
    const tina = await userId('tina');
    const timo = await userId('timo');
    const oldGroups = await groupIds(OLD, 'og1', 'og2');

    const takeOver = (dryRun: boolean) =>
      new RunBuilder(NEW)
        .started(SyncMode.FULL, { conflictPolicy: ConflictPolicy.TAKE_OVER, dryRun })
        .users([user('n1', 'TINA'), user('n2', 'timo')])
        .groups([group('ng1', 'team')])
        .members({ ng1: ['n1'] })
        .completed('c');

    const plan = await runAndWait(h, takeOver(true));
    expect(plan.status).toBe(RunStatus.COMPLETED);
    expect(plan.counts).toMatchObject({
      claimed: 2,
      membershipsAdded: 1,
      membershipsRemoved: 4,
    });
    await expectMembershipCountsRecorded(plan.runId, plan.counts!);
    expect(await membershipChanges(plan.runId, tina)).toMatchObject({ removed: oldGroups });
    // The dry run changed nothing.
    expect(await groupsOf(tina)).toEqual(oldGroups);

    const real = await runAndWait(h, takeOver(false));
    expect(real.status).toBe(RunStatus.COMPLETED);
    expect(real.counts).toMatchObject({
      updated: 2,
      claimed: 2,
      membershipsAdded: 1,
      membershipsRemoved: 4,
    });
    await expectMembershipCountsRecorded(real.runId, real.counts!);
    const [team] = await groupIds(NEW, 'ng1');
    expect(await membershipChanges(real.runId, tina)).toEqual({
      added: [team],
      removed: oldGroups,
    });
    expect(await membershipChanges(real.runId, timo)).toEqual({ added: [], removed: oldGroups });
    expect(await groupsOf(tina)).toEqual([team]);
    expect(await groupsOf(timo)).toEqual([]);
    // The user's history has the removal, not only the addition.
    const history = await h.rows<{ kind: string; detail: { removed?: string[] } }>(
      `select kind, detail from run_changes where user_id = ? and run_id = ? order by id`,
      [tina, real.runId],
    );
    expect(history.map((c) => c.kind)).toEqual(['updated', 'claimed', 'membership', 'membership']);
  });
});
