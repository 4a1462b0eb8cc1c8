import { Transition } from '@dirsync/proto';
import type { Sql } from '../db/sql.js';
import { emitLifecycle, userEvent, type LifecycleCause } from '../lifecycle/lifecycle.outbox.js';

/**
 * The end of a removal (docs/lifecycle.md#restore-and-purge). A user in `pending_deletion` is
 * either restored — by a later sync that observes it again (`users.apply.ts`), or by an operator
 * (`restoreUser`) — or purged: by an operator (`purgeUser`), or by the purge job once its
 * `purge_after` (removal time + the directory's restore window) has passed. Purging deletes the
 * row; its aliases, phones and memberships go with it (statement trigger, see the first
 * migration). Each is a lifecycle event (RESTORED, PURGED) in the same transaction.
 */

/** What a restore or purge returns for its event. */
const USER_EVENT_RETURNING = `u.id, u.directory_id, u.external_id, u.username, u.email,
  u.display_name, u.status, u.previous_status, u.version`;

interface UserEventRow {
  id: string;
  directory_id: string | null;
  external_id: string | null;
  username: string;
  email: string | null;
  display_name: string | null;
  status: string;
  previous_status: string | null;
  version: number;
}

function emitUsers(
  sql: Sql,
  transition: Transition,
  rows: readonly UserEventRow[],
  cause: LifecycleCause,
  previous: (r: UserEventRow) => string | null,
): void {
  if (rows.length === 0) return;
  const at = BigInt(Date.now());
  emitLifecycle(
    sql,
    rows.map((u) =>
      userEvent(
        transition,
        {
          id: u.id,
          directoryId: u.directory_id,
          externalId: u.external_id,
          username: u.username,
          email: u.email,
          displayName: u.display_name,
          status: transition === Transition.PURGED ? 'purged' : u.status,
          previousStatus: previous(u),
          // A purge is the row's last transition: one version past the last one it stored.
          version: transition === Transition.PURGED ? u.version + 1 : u.version,
        },
        cause,
        ['status'],
        at,
      ),
    ),
  );
}

/** What a user's status is, for a restore or purge refused because it is not pending. */
export type PendingCheck =
  | { ok: true }
  | { ok: false; reason: 'not_found' }
  | { ok: false; reason: 'not_pending'; status: string };

async function checkPending(sql: Sql, userId: string): Promise<PendingCheck> {
  const [row] = await sql.rows<{ status: string }>(
    'select status from users where id = ? for update',
    [userId],
  );
  if (!row) return { ok: false, reason: 'not_found' };
  if (row.status !== 'pending_deletion')
    return { ok: false, reason: 'not_pending', status: row.status };
  return { ok: true };
}

/**
 * Restore a pending user by hand, with the same id: disabled if it was disabled when removed,
 * else bypass when an operator's bypass flag is set, else active (as a sync's restore does); the memberships it lost come back with the next
 * sync that observes it. A user the source still does not have is removed again by the next
 * FULL sync — restoring is for mistakes the source is being fixed for.
 */
export async function restoreUser(sql: Sql, userId: string, actor: string): Promise<PendingCheck> {
  const check = await checkPending(sql, userId);
  if (!check.ok) return check;
  const rows = await sql.rows<UserEventRow>(
    `update users u set status = case
         when previous_status = 'disabled' then 'disabled'
         when bypass then 'bypass'
         else 'active'
       end,
       previous_status = null,
       removal_reason = null, pending_deletion_at = null, purge_after = null,
       version = u.version + 1, updated_at = now()
     where u.id = ?
     returning ${USER_EVENT_RETURNING}`,
    [userId],
  );
  emitUsers(sql, Transition.RESTORED, rows, { actor }, () => 'pending_deletion');
  return check;
}

/** Purge a pending user now, with its aliases, phones and memberships. */
export async function purgeUser(sql: Sql, userId: string, actor: string): Promise<PendingCheck> {
  const check = await checkPending(sql, userId);
  if (!check.ok) return check;
  const rows = await sql.rows<UserEventRow>(
    `delete from users u where u.id = ? and u.status = 'pending_deletion'
     returning ${USER_EVENT_RETURNING}`,
    [userId],
  );
  emitUsers(sql, Transition.PURGED, rows, { actor }, (u) => u.status);
  return check;
}

/**
 * The purge job's pass over users: delete every pending user whose restore window has ended by
 * `at` (the job passes the current time; tests pass a time past the window instead of waiting).
 */
export async function purgeExpiredUsers(sql: Sql, at: Date): Promise<number> {
  const rows = await sql.rows<UserEventRow>(
    `delete from users u where u.status = 'pending_deletion' and u.purge_after <= ?::timestamptz
     returning ${USER_EVENT_RETURNING}`,
    [at.toISOString()],
  );
  emitUsers(sql, Transition.PURGED, rows, {}, (u) => u.status);
  return rows.length;
}
