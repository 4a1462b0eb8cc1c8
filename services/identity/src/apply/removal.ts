import { Transition } from '@dirsync/proto';
import type { Sql } from '../db/sql.js';
import { recordMemberships, statusName } from './changes.js';
import type { RunState } from './run.repository.js';
import { emitLifecycle, userEvent, type LifecycleCause } from '../lifecycle/lifecycle.outbox.js';

/** What an `update users u set status = 'pending_deletion' … returning` gives for the events. */
export const REMOVED_USER_RETURNING = `u.id, u.directory_id, u.external_id, u.username, u.email,
  u.display_name, u.previous_status, u.purge_after, u.version`;

/** Collects the rows of a CTE `removed` (returning REMOVED_USER_RETURNING) as JSON. */
export const REMOVED_USER_ROWS = `coalesce((select json_agg(r) from removed r), '[]'::json)`;

export interface RemovedRow {
  id: string;
  directory_id: string | null;
  external_id: string | null;
  username: string;
  email: string | null;
  display_name: string | null;
  previous_status: string | null;
  purge_after: Date | string | null;
  version: number;
}

/** PENDING_DELETION events of users just moved there (their version already bumped). */
export function emitUsersPendingDeletion(
  sql: Sql,
  runId: string,
  rows: readonly RemovedRow[] | null | undefined,
  cause: LifecycleCause = { runId },
): void {
  if (!rows || rows.length === 0) return;
  const at = BigInt(Date.now());
  emitLifecycle(
    sql,
    rows.map((u) =>
      userEvent(
        Transition.PENDING_DELETION,
        {
          id: u.id,
          directoryId: u.directory_id,
          externalId: u.external_id,
          username: u.username,
          email: u.email,
          displayName: u.display_name,
          status: 'pending_deletion',
          previousStatus: u.previous_status,
          purgeAfter: u.purge_after,
          version: u.version,
        },
        cause,
        ['status'],
        at,
      ),
    ),
  );
}

/** Why a user is in `pending_deletion` (`users.removal_reason`). */
export type StoredRemovalReason = 'deleted' | 'out_of_scope' | 'not_observed' | 'directory_deleted';

/**
 * Which users a completed run removes:
 *
 * - `unobserved` (FULL, and a DELTA run the connector served with a full read): every user of
 *   the directory the run did not observe (`not_observed`: gone from the source or from the
 *   scope; a full read cannot tell which).
 * - `named` (DELTA): the users the connector named in `UserRemovalBatch`es, with their reason,
 *   except those the same run observed — an observation wins over a removal.
 * - `user` (USER): the requested user, which the run did not observe (`not_observed`: the source
 *   found nobody by that name in scope, whether deleted or out of every selected group).
 * - `held` (approveRun of a BLOCKED FULL or DELTA run, `safety.ts`): the users the run held back, minus
 *   those an open run of the directory has observed since (a completed later run already took
 *   the ones it observed out of the plan).
 *
 * Users already in `pending_deletion` are never planned again (their window keeps running).
 */
export type RemovalPlan =
  | { kind: 'unobserved' }
  | { kind: 'named' }
  | { kind: 'user'; userId: string }
  | { kind: 'held' };

/** The planned removals as one `select id, reason` over the run's staging. */
function planned(run: RunState, plan: RemovalPlan): { sql: string; params: unknown[] } {
  switch (plan.kind) {
    case 'unobserved':
      return {
        sql: `select u.id, 'not_observed'::text as reason from users u
              where u.directory_id = ? and u.status <> 'pending_deletion'
                and not exists (select 1 from run_seen_users s
                                where s.run_id = ? and s.external_id = u.external_id)`,
        params: [run.directoryId, run.runId],
      };
    case 'named':
      return {
        sql: `select distinct on (u.id) u.id, r.reason from run_removed_users r
              join users u on u.directory_id = ? and u.external_id = r.external_id
              where r.run_id = ? and u.status <> 'pending_deletion'
                and not exists (select 1 from run_seen_users s
                                where s.run_id = ? and s.external_id = r.external_id)
              order by u.id, r.reason`,
        params: [run.directoryId, run.runId, run.runId],
      };
    case 'held':
      return {
        sql: `select u.id, h.reason from run_held_users h
              join users u on u.id = h.user_id
              where h.run_id = ? and u.directory_id = ? and u.status <> 'pending_deletion'
                and not exists (select 1 from run_seen_users s join runs r on r.run_id = s.run_id
                                where r.directory_id = ? and r.status = 'RUNNING'
                                  and s.external_id = u.external_id)`,
        params: [run.runId, run.directoryId, run.directoryId],
      };
    case 'user':
      return {
        sql: `select u.id, 'not_observed'::text as reason from users u
              where u.id = ? and u.directory_id = ? and u.status <> 'pending_deletion'`,
        params: [plan.userId, run.directoryId],
      };
  }
}

/**
 * THE removal path of a run: every user a run takes out of dirsync goes through here, in the
 * transaction that completes the run (never before completion, never for a failed run). The
 * planned users move to `pending_deletion` with the run's restore window (`purge_after`), keep
 * their previous status for a restore (same id, bypass kept), record why, and lose their
 * memberships (a removed user is in no group, whichever run removed it).
 * Counts go into the run, and a `pendingDeletion` change per user (plus a `membership` change
 * with the groups it lost) into `run.changes`.
 *
 * Returns the number of users removed.
 */
export async function removeUsers(sql: Sql, run: RunState, plan: RemovalPlan): Promise<number> {
  const p = planned(run, plan);
  // One row per removed user, with the groups it lost (aggregated by a hash join, not per row).
  const rows = await sql.rows<
    RemovedRow & {
      external_id: string;
      removal_reason: string;
      purge_after: Date | string;
      groups: string[] | null;
    }
  >(
    `with planned as (${p.sql}),
     removed as (
       update users u set
         previous_status = u.status,
         status = 'pending_deletion',
         removal_reason = planned.reason,
         pending_deletion_at = now(),
         purge_after = now() + make_interval(days => ?),
         version = u.version + 1,
         updated_at = now(),
         -- The run that removed it is its last sync (User.lastDirectorySync), not the one
         -- that last wrote its fields.
         synced_at = now()
       from planned
       where u.id = planned.id
       returning ${REMOVED_USER_RETURNING}, u.removal_reason
     ),
     memberships as (
       delete from memberships m using removed r where m.user_id = r.id
       returning m.user_id, m.group_id
     ),
     lost as (
       select user_id, array_agg(group_id::text order by group_id) as groups
       from memberships group by user_id
     )
     select r.*, l.groups from removed r left join lost l on l.user_id = r.id`,
    [...p.params, run.restoreWindowDays],
  );
  emitUsersPendingDeletion(sql, run.runId, rows);
  run.counts.pendingDeletion += rows.length;
  for (const r of rows) {
    run.changes.push({
      kind: 'pendingDeletion',
      runId: run.runId,
      directoryId: run.directoryId,
      userId: r.id,
      externalId: r.external_id,
      username: r.username,
      reason: r.removal_reason as StoredRemovalReason,
      previousStatus: statusName(r.previous_status ?? 'active'),
      purgeAfter: new Date(r.purge_after).toISOString(),
    });
  }
  recordMemberships(
    run,
    rows.map((r) => ({
      user_id: r.id,
      external_id: r.external_id,
      username: r.username,
      added: null,
      removed: r.groups,
    })),
  );
  return rows.length;
}
