import type { Sql } from '../db/sql.js';
import { isAdminChange, type Change } from './changes.js';

/**
 * Run history: the per-object changes of every run (changes.ts), stored in `run_changes` by
 * {@link recordChanges} in the transaction that made them, so the history has a row for a
 * change if and only if the change committed — and a dry run, whose changes are rolled back,
 * still has its planned changes here (they are its result).
 *
 * Rows are one set-based insert per transaction (arrays through `unnest`), never one per change.
 */

/** The columns a change is stored under; the rest of it goes to `detail`. */
function columns(c: Change): {
  userId: string | null;
  groupId: string | null;
  adminId: string | null;
  externalId: string;
  /** The username; the group's name (group changes); the e-mail (administrator changes). */
  name: string;
  detail: Record<string, unknown>;
} {
  if (c.kind === 'groupCreated' || c.kind === 'groupUpdated' || c.kind === 'groupDeleted') {
    const { kind: _k, runId: _r, directoryId: _d, groupId, externalId, name, ...detail } = c;
    return { userId: null, groupId: groupId || null, adminId: null, externalId, name, detail };
  }
  if (c.kind === 'error' && (c.adminId || c.email)) {
    // An ADMIN run's error about an administrator: `admin` tells the reader that `name` is an
    // e-mail, also when no administrator has it.
    const { kind: _k, runId: _r, directoryId: _d, userId: _u, username: _n, ...rest } = c;
    const { adminId, externalId, email, ...detail } = rest;
    return {
      userId: null,
      groupId: null,
      adminId: adminId || null,
      externalId,
      name: email ?? '',
      detail: { ...detail, admin: true },
    };
  }
  if (isAdminChange(c)) {
    const { kind: _k, runId: _r, directoryId: _d, adminId, externalId, email, ...detail } = c;
    return {
      userId: null,
      groupId: null,
      adminId: adminId || null,
      externalId,
      name: email,
      detail,
    };
  }
  const { kind: _k, runId: _r, directoryId: _d, userId, externalId, username, ...detail } = c;
  return {
    userId: userId || null,
    groupId: null,
    adminId: null,
    externalId,
    name: username,
    detail,
  };
}

/**
 * Store the changes of `run` not stored yet (from `run.changesRecorded` on), in the caller's
 * transaction. Called by `commitRun`, which every path that changes a run goes through, so no
 * producer can forget it.
 */
export async function recordChanges(
  sql: Sql,
  run: { runId: string; directoryId: string; changes: Change[]; changesRecorded: number },
): Promise<void> {
  const fresh = run.changes.slice(run.changesRecorded);
  run.changesRecorded = run.changes.length;
  if (fresh.length === 0) return;
  const kinds: string[] = [];
  const users: (string | null)[] = [];
  const groups: (string | null)[] = [];
  const admins: (string | null)[] = [];
  const externalIds: string[] = [];
  const names: string[] = [];
  const details: string[] = [];
  for (const c of fresh) {
    const col = columns(c);
    kinds.push(c.kind);
    users.push(col.userId);
    groups.push(col.groupId);
    admins.push(col.adminId);
    externalIds.push(col.externalId);
    names.push(col.name);
    details.push(JSON.stringify(col.detail));
  }
  await sql.exec(
    `insert into run_changes (run_id, directory_id, kind, user_id, group_id, admin_id,
       external_id, name, detail)
     select ?, ?, t.kind, t.user_id, t.group_id, t.admin_id, nullif(t.external_id, ''),
       nullif(t.name, ''), t.detail::jsonb
     from unnest(?::text[], ?::uuid[], ?::uuid[], ?::uuid[], ?::text[], ?::text[], ?::text[])
       with ordinality as t(kind, user_id, group_id, admin_id, external_id, name, detail, ord)
     order by t.ord`,
    [run.runId, run.directoryId, kinds, users, groups, admins, externalIds, names, details],
  );
}

/**
 * The retention job: delete the history older than `before`, at most `limit` rows per call
 * (the caller repeats while it returns `limit`), so a big backlog never holds one long lock.
 */
export async function expireHistory(sql: Sql, before: Date, limit = 50_000): Promise<number> {
  return sql.exec(
    `delete from run_changes where id in (
       select id from run_changes where at < ? order by id limit ?)`,
    [before, limit],
  );
}
