import {
  RemovalReason,
  SyncMode,
  type GroupMembershipDelta,
  type RemovedGroup,
  type RemovedUser,
} from '@dirsync/proto';
import type { Sql } from '../db/sql.js';
import { recordMemberships, type MembershipRow } from './changes.js';
import { MEMBERSHIP_ROWS, NO_PAIRS, deleteGroups } from './complete.js';
import {
  GROUP_RANK,
  USER_LIMITS,
  deltaGroupLimitErrors,
  type DroppedMembership,
} from './limits.js';
import { hasNul, storable } from './normalize.js';
import { removeUsers, type StoredRemovalReason } from './removal.js';
import { directoryTotals, exceeds, holdDeltaRemovals } from './safety.js';
import { markLifecycle, rollbackLifecycle } from '../lifecycle/lifecycle.outbox.js';
import type { RunState } from './run.repository.js';

/**
 * DELTA runs say what left the source and how memberships changed. Nothing of it is applied
 * while the run is open: it is staged per run and applied by {@link completeDelta} in the
 * transaction that completes the run, so a DELTA run that fails (or is superseded, or times
 * out) removes nobody — the same rule as for FULL runs. Its removals are measured against the
 * directory's deletion threshold as a FULL sweep's are ({@link completeDelta}).
 */

const REASON: Record<RemovalReason, StoredRemovalReason> = {
  [RemovalReason.UNSPECIFIED]: 'deleted',
  [RemovalReason.DELETED]: 'deleted',
  [RemovalReason.OUT_OF_SCOPE]: 'out_of_scope',
};

/** An external id as stored: trimmed, and none with a NUL (no stored record has one). */
function usableId(raw: string): string | undefined {
  const id = raw.trim();
  return id && !hasNul(id) ? id : undefined;
}

/** Stage one `UserRemovalBatch` (DELTA runs only; other modes derive their removals). */
export async function stageUserRemovals(
  sql: Sql,
  run: RunState,
  users: readonly RemovedUser[],
): Promise<void> {
  if (run.mode !== SyncMode.DELTA) return;
  const ids: string[] = [];
  const reasons: string[] = [];
  const locators: string[] = [];
  for (const u of users) {
    const id = usableId(u.externalId);
    if (!id) continue;
    ids.push(id);
    reasons.push(REASON[u.reason] ?? 'deleted');
    locators.push(storable(u.sourceLocator));
  }
  if (ids.length === 0) return;
  await sql.exec(
    `insert into run_removed_users (run_id, external_id, reason, source_locator)
     select ?, t.id, t.reason, nullif(t.locator, '')
     from unnest(?::text[], ?::text[], ?::text[]) as t(id, reason, locator)`,
    [run.runId, ids, reasons, locators],
  );
}

/** Stage one `GroupRemovalBatch` (DELTA runs only). */
export async function stageGroupRemovals(
  sql: Sql,
  run: RunState,
  groups: readonly RemovedGroup[],
): Promise<void> {
  if (run.mode !== SyncMode.DELTA) return;
  const ids: string[] = [];
  const reasons: string[] = [];
  for (const g of groups) {
    const id = usableId(g.externalId);
    if (!id) continue;
    ids.push(id);
    reasons.push(REASON[g.reason] ?? 'deleted');
  }
  if (ids.length === 0) return;
  await sql.exec(
    `insert into run_removed_groups (run_id, external_id, reason)
     select ?, t.id, t.reason from unnest(?::text[], ?::text[]) as t(id, reason)`,
    [run.runId, ids, reasons],
  );
}

/**
 * Stage one `MembershipDeltaBatch` (DELTA runs only), keeping the order of its statements:
 * (event seq, position in the message) — for a (group, user) pair the last one wins.
 */
export async function stageMembershipDeltas(
  sql: Sql,
  run: RunState,
  seq: number,
  groups: readonly GroupMembershipDelta[],
): Promise<void> {
  if (run.mode !== SyncMode.DELTA) return;
  const groupIds: string[] = [];
  const userIds: string[] = [];
  const added: boolean[] = [];
  for (const g of groups) {
    const gid = usableId(g.groupExternalId);
    if (!gid) continue;
    for (const [list, isAdd] of [
      [g.addedUserExternalIds, true],
      [g.removedUserExternalIds, false],
    ] as const) {
      for (const raw of list) {
        const uid = usableId(raw);
        if (!uid) continue;
        groupIds.push(gid);
        userIds.push(uid);
        added.push(isAdd);
      }
    }
  }
  if (groupIds.length === 0) return;
  await sql.exec(
    `insert into run_membership_deltas (run_id, seq, ord, group_external_id, user_external_id,
       added)
     select ?, ?, t.ord, t.g, t.u, t.a
     from unnest(?::text[], ?::text[], ?::boolean[]) with ordinality as t(g, u, a, ord)`,
    [run.runId, seq, groupIds, userIds, added],
  );
}

/**
 * Complete a DELTA run (one the connector read as a delta; one it read in full completes like
 * a FULL run). In order: the named groups go (with their memberships), the named users go to
 * pending deletion ({@link removeUsers}), then memberships change — for each (group, user) the
 * run's last statement, `members()` additions and membership deltas alike, between groups and
 * users that exist (a user in pending deletion gains none), within the per-user limit of 100
 * groups, chosen as a FULL run chooses them ({@link overGroupLimit}; LIMIT_EXCEEDED names what
 * is left out). Nothing the run did not name is touched: a DELTA run never sweeps. Small
 * changes cost index lookups, not directory scans.
 *
 * The removals are measured against the directory's deletion threshold like a FULL sweep's
 * (docs/lifecycle.md#deletion-thresholds): a source that empties the only selected group names
 * every user as out of scope in one delta. With a threshold they run inside a savepoint; when
 * the users moved to pending deletion or the memberships removed exceed it, they are rolled
 * back, exactly what they removed is held instead (`holdDeltaRemovals`), only the membership
 * additions are applied, and the run is left BLOCKED for the caller to finish.
 */
export async function completeDelta(sql: Sql, run: RunState): Promise<void> {
  const totals = run.threshold ? await directoryTotals(sql, run.directoryId) : undefined;
  const before = { ...run.counts };
  // The removals' lifecycle events and changes are collected in memory: a rollback drops them.
  const events = markLifecycle(sql);
  const changes = run.changes.length;
  if (totals) await sql.exec('savepoint delta_removals');

  await deleteGroups(
    sql,
    run,
    `select distinct g.id from run_removed_groups r
     join groups g on g.directory_id = ? and g.external_id = r.external_id
     where r.run_id = ?
       and not exists (select 1 from run_seen_groups s
                       where s.run_id = ? and s.external_id = r.external_id)`,
    [run.directoryId, run.runId, run.runId],
  );
  await removeUsers(sql, run, { kind: 'named' });
  // Decided once, on the directory as the removals leave it: a blocked run keeps within the
  // limit what approving it would (its displaced memberships are held with its removals).
  const dropped = await overGroupLimit(sql, run);
  await applyMemberships(sql, run, dropped, false);

  if (!totals) {
    reportGroupLimit(run, dropped);
    return;
  }
  const reason = exceeds(run.threshold, {
    users: run.counts.pendingDeletion - before.pendingDeletion,
    memberships: run.counts.membershipsRemoved - before.membershipsRemoved,
    ...totals,
  });
  if (!reason) {
    await sql.exec('release savepoint delta_removals');
    reportGroupLimit(run, dropped);
    return;
  }
  const made = run.changes.slice(changes);
  await sql.exec('rollback to savepoint delta_removals');
  rollbackLifecycle(sql, events);
  Object.assign(run.counts, before);
  run.changes.length = changes;
  run.removals = await holdDeltaRemovals(sql, run, made, totals, reason);
  await applyMemberships(sql, run, dropped, true);
  reportGroupLimit(run, dropped);
  run.status = 'BLOCKED';
}

/**
 * The run's membership statements resolved (`resolved`: group_id, user_id, added, status): for
 * each (group, user) its last one wins, between groups and users that exist. `blocked`: none
 * for a held user or into a held group — the run would have removed them first.
 */
function statementCtes(run: RunState, blocked: boolean): { ctes: string; params: unknown[] } {
  const heldOut = blocked
    ? `and not exists (select 1 from run_held_users h where h.run_id = ? and h.user_id = us.id)
       and not exists (select 1 from run_held_groups h where h.run_id = ? and h.group_id = gr.id)`
    : '';
  return {
    ctes: `statements as (
       select rm.group_external_id as g, rm.user_external_id as u, true as added, rm.seq, rm.ord
       from run_memberships rm where rm.run_id = ?
       union all
       select d.group_external_id, d.user_external_id, d.added, d.seq, d.ord
       from run_membership_deltas d where d.run_id = ?
     ),
     latest as (
       select distinct on (g, u) g, u, added from statements order by g, u, seq desc, ord desc
     ),
     resolved as (
       select gr.id as group_id, us.id as user_id, l.added, us.status
       from latest l
       join groups gr on gr.directory_id = ? and gr.external_id = l.g
       join users us on us.directory_id = ? and us.external_id = l.u
       where true ${heldOut}
     )`,
    params: [
      run.runId,
      run.runId,
      run.directoryId,
      run.directoryId,
      ...(blocked ? [run.runId, run.runId] : []),
    ],
  };
}

/**
 * The memberships the per-user group limit leaves out of a DELTA run's result (limits.ts): for
 * each user the run adds to groups, the groups it has after the run — those it holds (after the
 * run's user and group removals), minus the run's membership removals, plus its additions —
 * beyond the first `USER_LIMITS.groups` by {@link GROUP_RANK}. That is the choice a FULL run
 * makes from the source's list, so a FULL run after the delta keeps the same groups. Nothing
 * for a user within the limit, and only users gaining groups are looked at.
 */
async function overGroupLimit(sql: Sql, run: RunState): Promise<DroppedMembership[]> {
  const { ctes, params } = statementCtes(run, false);
  return sql.rows<DroppedMembership>(
    `with ${ctes},
     grown as (
       select distinct user_id from resolved where added and status <> 'pending_deletion'
     ),
     after_run as (
       select m.group_id, m.user_id from memberships m
       join groups g on g.id = m.group_id and g.directory_id = ?
       where m.user_id in (select user_id from grown)
         and not exists (select 1 from resolved r where not r.added
                         and r.group_id = m.group_id and r.user_id = m.user_id)
       union
       select group_id, user_id from resolved where added and status <> 'pending_deletion'
     ),
     over as (
       select user_id, count(*) as total from after_run group by user_id having count(*) > ?
     ),
     ranked as (
       select s.group_id, s.user_id, s.name, s.total, ${GROUP_RANK} as n
       from (select a.group_id, a.user_id, g.name, g.name_key, o.total
             from after_run a join over o on o.user_id = a.user_id
             join groups g on g.id = a.group_id) s
     )
     select r.group_id::text as group_id, r.user_id::text as user_id, u.external_id, u.username,
       u.source_locator, r.name, r.total
     from ranked r join users u on u.id = r.user_id
     where r.n > ?
     order by u.username_key, u.id, r.n`,
    [...params, run.directoryId, USER_LIMITS.groups, USER_LIMITS.groups],
  );
}

/**
 * The run's membership statements: for each (group, user) its last one wins, within the
 * per-user group limit (`dropped`, {@link overGroupLimit}: additions it leaves out are not
 * made, memberships it displaces are removed). `additionsOnly` (a blocked run): only
 * additions, and none for a held user or into a held group — the run would have removed them
 * first; displaced memberships are among the held removals.
 */
async function applyMemberships(
  sql: Sql,
  run: RunState,
  dropped: readonly DroppedMembership[],
  additionsOnly: boolean,
): Promise<void> {
  const { ctes, params } = statementCtes(run, additionsOnly);
  const changed = await sql.rows<MembershipRow>(
    `with ${ctes},
     dropped as (
       select t.g::uuid as group_id, t.u::uuid as user_id
       from unnest(?::text[], ?::text[]) as t(g, u)
     ),
     added as (
       insert into memberships (group_id, user_id)
       select r.group_id, r.user_id from resolved r
       where r.added and r.status <> 'pending_deletion'
         and not exists (select 1 from dropped d
                         where d.group_id = r.group_id and d.user_id = r.user_id)
       on conflict do nothing
       returning group_id, user_id
     ),
     removed as (${
       additionsOnly
         ? NO_PAIRS
         : `delete from memberships m using (
         select group_id, user_id from resolved where not added
         union all
         select group_id, user_id from dropped
       ) r
       where m.group_id = r.group_id and m.user_id = r.user_id
       returning m.group_id, m.user_id`
     }),
     ${MEMBERSHIP_ROWS}`,
    [...params, dropped.map((d) => d.group_id), dropped.map((d) => d.user_id)],
  );
  recordMemberships(run, changed);
}

/** The run's LIMIT_EXCEEDED errors, sent with its final RunUpdate (counted, recorded). */
function reportGroupLimit(run: RunState, dropped: readonly DroppedMembership[]): void {
  if (dropped.length > 0)
    (run.completionErrors ??= []).push(...deltaGroupLimitErrors(run, dropped));
}
