import { ErrorCode, SyncMode, UserOutcome, errorCodeName } from '@dirsync/proto';
import { toInt, type Sql } from '../db/sql.js';
import { errorChange, recordMemberships, type MembershipRow } from './changes.js';
import { nameKey } from './normalize.js';
import { DELETED_GROUP_RETURNING, emitGroupsDeleted } from './groups.apply.js';
import { groupLimitErrors, rankedMemberships } from './limits.js';
import { removeUsers } from './removal.js';
import { directoryTotals, exceeds, holdFullRemovals } from './safety.js';
import { markLifecycle, rollbackLifecycle } from '../lifecycle/lifecycle.outbox.js';
import { objectError, type RunState } from './run.repository.js';

/**
 * The seqs below `lastSeq` that were never applied (at most `limit` of them). A run with a gap
 * must not sweep: a missing batch would look like users that left.
 */
export async function missingSeqs(
  sql: Sql,
  runId: string,
  lastSeq: number,
  limit = 10,
): Promise<number[]> {
  if (lastSeq <= 1) return [];
  const [row] = await sql.rows<{ n: string }>(
    'select count(*) as n from applied_events where run_id = ? and seq between 1 and ?',
    [runId, lastSeq - 1],
  );
  if (toInt(row?.n) === lastSeq - 1) return [];
  const missing = await sql.rows<{ seq: number }>(
    `select s as seq from generate_series(1, ?::int) s
     where not exists (select 1 from applied_events a where a.run_id = ? and a.seq = s)
     order by s limit ?`,
    [lastSeq - 1, runId, limit],
  );
  return missing.map((m) => m.seq);
}

/**
 * FULL run (and a DELTA run read in full): users not observed → pending deletion, groups not
 * observed → removed, memberships made equal to the observed set. Set-based, and an unchanged
 * directory writes no row.
 *
 * With a deletion threshold the sweep runs inside a savepoint and is measured afterwards (so a
 * run within the limits pays nothing extra but two counts): when its user or membership removals
 * exceed the threshold it is rolled back, the plan is held instead (`safety.ts`) and the run is
 * left BLOCKED for the caller to finish.
 */
export async function completeFull(sql: Sql, run: RunState): Promise<void> {
  await analyzeStaging(sql);
  const totals = run.threshold ? await directoryTotals(sql, run.directoryId) : undefined;
  const before = { ...run.counts };
  // The sweep's lifecycle events and changes are collected in memory: a rollback must drop them.
  const events = markLifecycle(sql);
  const changes = run.changes.length;
  if (totals) await sql.exec('savepoint full_sweep');
  await sweepFull(sql, run);
  if (totals) {
    const reason = exceeds(run.threshold, {
      users: run.counts.pendingDeletion - before.pendingDeletion,
      memberships: run.counts.membershipsRemoved - before.membershipsRemoved,
      ...totals,
    });
    if (reason) {
      await sql.exec('rollback to savepoint full_sweep');
      rollbackLifecycle(sql, events);
      Object.assign(run.counts, before);
      run.changes.length = changes;
      run.removals = await holdFullRemovals(sql, run, totals, reason);
      run.status = 'BLOCKED';
      // Its memberships were kept within the group limit too (holdFullRemovals): reported.
      (run.completionErrors ??= []).push(...(await groupLimitErrors(sql, run)));
      await markDirectorySynced(sql, run, false);
      return;
    }
    await sql.exec('release savepoint full_sweep');
  }
  // Users over the group limit (the sweep kept their first groups by name): reported.
  (run.completionErrors ??= []).push(...(await groupLimitErrors(sql, run)));
  await markDirectorySynced(sql, run, true);
}

async function sweepFull(sql: Sql, run: RunState): Promise<void> {
  await removeUsers(sql, run, { kind: 'unobserved' });

  // Groups first: what remains are the observed groups. Their memberships cascade (by trigger),
  // so list them before they go.
  await deleteGroups(
    sql,
    run,
    `select g.id from groups g
     where g.directory_id = ?
       and not exists (select 1 from run_seen_groups s
                       where s.run_id = ? and s.external_id = g.external_id)`,
    [run.directoryId, run.runId],
  );

  // Memberships become the observed set, between observed groups and users still in the
  // directory (the sweep above just moved everyone unobserved to pending deletion). One hash
  // full join finds both sides of the difference; an unchanged directory writes nothing.
  // At most USER_LIMITS.groups groups per user (the first by name; limits.ts reports the rest).
  const diff = await sql.rows<MembershipRow>(
    `with desired as (
       ${rankedMemberships(`select g.id as group_id, u.id as user_id, g.name_key
       from run_memberships rm
       join groups g on g.directory_id = ? and g.external_id = rm.group_external_id
       join users u on u.directory_id = ? and u.external_id = rm.user_external_id
       where rm.run_id = ? and u.status <> 'pending_deletion'`)}
     ),
     current as (
       select m.ctid as row, m.group_id, m.user_id
       from memberships m join groups g on g.id = m.group_id
       where g.directory_id = ?
     ),
     diff as (
       select d.group_id, d.user_id, c.row
       from desired d full join current c on c.group_id = d.group_id and c.user_id = d.user_id
       where d.group_id is null or c.group_id is null
     ),
     removed as (
       delete from memberships
       where ctid = any(array(select row from diff where group_id is null))
       returning group_id, user_id
     ),
     added as (
       insert into memberships (group_id, user_id)
       select distinct group_id, user_id from diff where row is null
       order by 1, 2
       returning group_id, user_id
     ),
     ${MEMBERSHIP_ROWS}`,
    [run.directoryId, run.directoryId, run.runId, run.directoryId],
  );
  recordMemberships(run, diff);
}

/**
 * USER run: only the requested user changes. Observed → its memberships become the observed
 * ones (in groups that exist); not observed → pending deletion when known, else NOT_FOUND.
 */
export async function completeUser(sql: Sql, run: RunState): Promise<void> {
  const [seen] = await sql.rows<{ id: string; external_id: string }>(
    `select u.id, u.external_id from run_seen_users s
     join users u on u.directory_id = ? and u.external_id = s.external_id
     where s.run_id = ?
     order by (u.username_key = ?) desc, u.username_key
     limit 1`,
    [run.directoryId, run.runId, run.username ? nameKey(run.username) : ''],
  );
  if (seen) {
    await replaceUserMemberships(sql, run, seen.id, seen.external_id);
    if (run.userOutcome === UserOutcome.UNSPECIFIED) run.userOutcome = UserOutcome.UNCHANGED;
    run.userId ??= seen.id;
  } else if (run.userOutcome !== UserOutcome.ERROR && run.userOutcome !== UserOutcome.CONFLICT) {
    // (A record refused for its username, or held by another directory's user, is in the
    // source: nobody is removed for it.)
    const key = run.username ? nameKey(run.username) : '';
    const [known] = await sql.rows<{
      id: string;
      status: string;
      username: string;
      external_id: string;
      source_locator: string | null;
    }>(
      `select id, status, username, external_id, source_locator from users
       where directory_id = ? and username_key = ? for update`,
      [run.directoryId, key],
    );
    if (known && !spelledAlike(run.username ?? '', known.username)) {
      // The source matches names by its own rules (LDAP caseIgnoreMatch, Entra's filter), which
      // need not join what full case folding joins: its "nothing for STRASSE" says nothing about
      // the stored "straße". Never removed for a spelling the source may not know.
      const e = objectError(
        ErrorCode.USERNAME_MISMATCH,
        `dirsync knows '${known.username}'; the source found no '${run.username ?? ''}' — sync '${known.username}' to check that user (nobody was removed)`,
        known.external_id,
        known.source_locator ?? '',
      );
      run.counts.errors += 1;
      run.changes.push(
        errorChange(run, e, errorCodeName(e.code), { userId: known.id, username: known.username }),
      );
      (run.completionErrors ??= []).push(e);
      run.userOutcome = UserOutcome.NOT_FOUND;
      run.userId = null;
    } else if (known) {
      await removeUsers(sql, run, { kind: 'user', userId: known.id });
      run.userOutcome = UserOutcome.PENDING_DELETION;
      run.userId = known.id;
    } else {
      run.userOutcome = UserOutcome.NOT_FOUND;
      run.userId = null;
    }
  }
  await markDirectorySynced(sql, run, false);
}

/**
 * Whether two spellings of a username are the same name for every source: equal after NFC and
 * lower-casing letter by letter, only within simple case pairs (what LDAP's caseIgnoreMatch and
 * Entra's case-insensitive filters agree on). Full case folding (`nameKey`)
 * joins more — `ß`/`ss`/`ẞ`, final and non-final sigma, `İ`/`i̇` — and so does a whole-string
 * `toLowerCase()` (`Σ` → `ς` at a word's end, `İ` → `i̇`); a source need not, so those stay apart.
 */
export function spelledAlike(a: string, b: string): boolean {
  return simpleLower(a) === simpleLower(b);
}

function simpleLower(s: string): string {
  let out = '';
  for (const c of s.trim().normalize('NFC')) {
    // Only a letter whose lower case is one letter that upper-cases back to it (a case pair
    // every source knows): not `İ` (→ `i̇`), `ẞ` (→ `ß` → `SS`) or the Kelvin sign (→ `k`).
    const l = c.toLowerCase();
    out += [...l].length === 1 && l.toUpperCase() === c ? l : c;
  }
  return out;
}

async function replaceUserMemberships(
  sql: Sql,
  run: RunState,
  userId: string,
  externalId: string,
): Promise<void> {
  const diff = await sql.rows<MembershipRow>(
    `with desired as (
       select group_id from (${rankedMemberships(`select g.id as group_id, 0 as user_id, g.name_key
       from run_memberships rm
       join groups g on g.directory_id = ? and g.external_id = rm.group_external_id
       where rm.run_id = ? and rm.user_external_id = ?`)}) l
     ),
     removed as (
       delete from memberships m using groups g
       where m.user_id = ? and g.id = m.group_id and g.directory_id = ?
         and m.group_id not in (select group_id from desired)
       returning m.group_id, m.user_id
     ),
     added as (
       insert into memberships (group_id, user_id)
       select distinct d.group_id, ?::uuid from desired d
       on conflict do nothing
       returning group_id, user_id
     ),
     ${MEMBERSHIP_ROWS}`,
    [run.directoryId, run.runId, externalId, userId, run.directoryId, userId],
  );
  recordMemberships(run, diff);
  (run.completionErrors ??= []).push(...(await groupLimitErrors(sql, run, externalId)));
}

/**
 * The tail of a membership statement whose CTEs `added` and `removed` return the (group_id,
 * user_id) pairs it wrote: `membership_rows`, one row per user with the group ids it gained and
 * lost ({@link MembershipRow}), grouped by hash, joined to the user once.
 */
export const MEMBERSHIP_CTES = `pairs as (
       select user_id, group_id, true as added from added
       union all
       select user_id, group_id, false from removed
     ),
     per_user as (
       select user_id,
         array_agg(group_id::text order by group_id) filter (where added) as added,
         array_agg(group_id::text order by group_id) filter (where not added) as removed
       from pairs group by user_id
     ),
     membership_rows as (
       select p.user_id, u.external_id, u.username, p.added, p.removed
       from per_user p join users u on u.id = p.user_id
     )`;

/** {@link MEMBERSHIP_CTES} with the select of its rows. */
export const MEMBERSHIP_ROWS = `${MEMBERSHIP_CTES}
     select * from membership_rows`;

/** No pairs: for a statement that only adds (`removed`) or only removes (`added`). */
export const NO_PAIRS = 'select null::uuid as group_id, null::uuid as user_id where false';

/**
 * Delete the groups `unseenSql` selects (one column, `id`) with their memberships (cascaded by
 * trigger), recording a `groupDeleted` change per group and a `membership` change per member
 * that lost groups; the counts move by what is recorded.
 */
export async function deleteGroups(
  sql: Sql,
  run: RunState,
  unseenSql: string,
  params: readonly unknown[],
): Promise<void> {
  const rows = await sql.rows<{
    t: 'g' | 'm';
    id: string;
    external_id: string;
    name: string;
    version: number | null;
    groups: string[] | null;
  }>(
    `with unseen as (${unseenSql}),
     lost as (
       select m.user_id, array_agg(m.group_id::text order by m.group_id) as groups
       from memberships m where m.group_id in (select id from unseen) group by m.user_id
     ),
     removed as (
       delete from groups g where g.id in (select id from unseen)
       returning ${DELETED_GROUP_RETURNING}
     )
     select 'g' as t, id::text as id, external_id, name, version, null::text[] as groups
     from removed
     union all
     select 'm', l.user_id::text, u.external_id, u.username, null, l.groups
     from lost l join users u on u.id = l.user_id`,
    params,
  );
  // The lifecycle events (DELETED) of the same groups.
  emitGroupsDeleted(
    sql,
    run.directoryId,
    run.runId,
    rows.flatMap((r) =>
      r.t === 'g'
        ? [{ id: r.id, external_id: r.external_id, name: r.name, version: r.version ?? 0 }]
        : [],
    ),
  );
  const members: MembershipRow[] = [];
  for (const r of rows) {
    if (r.t === 'g') {
      run.counts.groupsRemoved += 1;
      run.changes.push({
        kind: 'groupDeleted',
        runId: run.runId,
        directoryId: run.directoryId,
        groupId: r.id,
        externalId: r.external_id,
        name: r.name,
      });
    } else {
      members.push({
        user_id: r.id,
        external_id: r.external_id,
        username: r.name,
        added: null,
        removed: r.groups,
      });
    }
  }
  recordMemberships(run, members);
}

/**
 * Prepare for whole-directory statements. The staging tables (and after a first import, the
 * directory's own tables) were just filled, so statistics are stale and the planner would take
 * them for empty: nested loops over 100k rows, or rescans of a table while filling it. These
 * statements always touch whole sets, so hash joins are right whatever the statistics say.
 */
async function analyzeStaging(sql: Sql): Promise<void> {
  await sql.exec('analyze run_seen_users, run_seen_groups, run_memberships');
  await sql.rows(
    `select set_config('enable_nestloop', 'off', true), set_config('work_mem', '64MB', true)`,
  );
}

export async function markDirectorySynced(sql: Sql, run: RunState, full: boolean): Promise<void> {
  await sql.exec(
    `insert into directory_state (directory_id, last_full_run_id, last_full_sync_at, last_sync_at)
     values (?, case when ? then ? end, case when ? then now() end, now())
     on conflict (directory_id) do update set
       last_full_run_id = coalesce(excluded.last_full_run_id, directory_state.last_full_run_id),
       last_full_sync_at = coalesce(excluded.last_full_sync_at, directory_state.last_full_sync_at),
       last_sync_at = excluded.last_sync_at`,
    [run.directoryId, full, run.runId, full],
  );
}

/** Why a run cannot be completed as requested, or undefined when it can. */
export function unsupported(run: RunState): { code: ErrorCode; message: string } | undefined {
  if (run.dryRun && run.mode === SyncMode.ADMIN) {
    return { code: ErrorCode.CONFIG_INVALID, message: 'administrators have no dry run' };
  }
  if (run.mode === SyncMode.USER && !run.username?.trim()) {
    return { code: ErrorCode.CONFIG_INVALID, message: 'a USER run needs a username' };
  }
  if (
    run.mode !== SyncMode.FULL &&
    run.mode !== SyncMode.DELTA &&
    run.mode !== SyncMode.USER &&
    run.mode !== SyncMode.ADMIN
  ) {
    return { code: ErrorCode.CONFIG_INVALID, message: 'the run has no sync mode' };
  }
  return undefined;
}
