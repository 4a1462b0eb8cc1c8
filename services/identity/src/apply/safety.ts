import {
  ErrorCode,
  ErrorInfoSchema,
  RunDecision,
  SyncMode,
  create,
  type ErrorInfo,
  type RunUpdate,
} from '@dirsync/proto';
import { toInt, type Sql } from '../db/sql.js';
import { recordMemberships, type Change, type MembershipRow } from './changes.js';
import { MEMBERSHIP_ROWS, deleteGroups } from './complete.js';
import { rankedMemberships } from './limits.js';
import { removeUsers } from './removal.js';
import {
  commitRun,
  lockBlockedRuns,
  lockRun,
  lockRunningRuns,
  type HeldRemovals,
  type RunState,
  type Threshold,
} from './run.repository.js';
import { removeAdmins } from './admins.apply.js';

/**
 * Deletion safety (docs/lifecycle.md#deletion-thresholds).
 *
 * A FULL sweep (and a DELTA run read in full) — or a DELTA run's named removals, or a full ADMIN
 * run's administrators not observed — whose planned removals exceed the directory's threshold
 * removes nothing: the run ends BLOCKED and its plan — the exact users, groups, memberships and
 * administrators it would have removed — is kept (`run_held_*`) until an operator decides:
 *
 * - approve: exactly the held removals are applied, minus what was observed again since (a later
 *   completed run that observed a held user or group takes it out of the plan; a run still open
 *   that has observed one keeps it too), and the run becomes COMPLETED;
 * - reject: the plan is discarded and the run becomes REJECTED;
 * - a later run that read the same source state again supersedes it ({@link supersedeBlocked}):
 *   the plan is discarded, the run becomes REJECTED with `superseded_by`, and approve/reject
 *   answer RUN_SUPERSEDED.
 *
 * What the run observed (creates, updates, restores, membership additions) is applied whether
 * or not it is blocked: those changes come from records the source did return.
 */

/** What a sweep would remove, and what it is measured against. */
export interface Measured {
  users: number;
  memberships: number;
  baseUsers: number;
  baseMemberships: number;
}

const pct = (n: number, base: number) =>
  base > 0 ? Math.round((n * 1000) / base) / 10 : n > 0 ? 100 : 0;

function over(limit: Threshold, n: number, base: number): boolean {
  if (n === 0) return false;
  if (limit.maxCount > 0 && n > limit.maxCount) return true;
  // n / base > maxPercent / 100, in integers.
  return limit.maxPercent > 0 && n * 100 > limit.maxPercent * base;
}

/**
 * Why the removals exceed the threshold, or undefined when they do not. Users and memberships
 * are measured separately against the same limits, each against the directory's own total; a
 * limit of 0 is off, and a removal must be strictly more than a limit to exceed it.
 */
export function exceeds(limit: Threshold | null, m: Measured): string | undefined {
  if (!limit) return undefined;
  const parts: string[] = [];
  if (over(limit, m.users, m.baseUsers)) {
    parts.push(`${m.users} of ${m.baseUsers} users (${pct(m.users, m.baseUsers)} %)`);
  }
  if (over(limit, m.memberships, m.baseMemberships)) {
    parts.push(
      `${m.memberships} of ${m.baseMemberships} memberships (${pct(m.memberships, m.baseMemberships)} %)`,
    );
  }
  if (parts.length === 0) return undefined;
  const limits = [
    limit.maxCount > 0 ? `more than ${limit.maxCount}` : '',
    limit.maxPercent > 0 ? `more than ${limit.maxPercent} %` : '',
  ].filter(Boolean);
  return `would remove ${parts.join(' and ')}; the deletion threshold is ${limits.join(' or ')}`;
}

/**
 * The percentage limit alone never holds back this many administrators or fewer (unless they
 * are the directory's last): one person leaving a role group is everyday turnover, and with the
 * handful of administrators a directory has, 20 % would otherwise block every such change.
 */
export const ADMIN_PERCENT_FLOOR = 1;

/**
 * Why a full ADMIN run's removals exceed the threshold, or undefined when they do not. The
 * directory's threshold applies to its synced administrators (`base`: those not pending
 * deletion) as to its users — more than `maxCount`, or more than `maxPercent` % — except that
 * the percentage needs more than {@link ADMIN_PERCENT_FLOOR} administrators, or all of them: a
 * role group that suddenly returns nobody (the failure this guards against) removes every
 * synced administrator, which is held back however few there are.
 */
export function adminsExceed(
  limit: Threshold | null,
  admins: number,
  base: number,
): string | undefined {
  if (!limit || admins === 0) return undefined;
  const byCount = limit.maxCount > 0 && admins > limit.maxCount;
  const byPercent =
    limit.maxPercent > 0 &&
    admins * 100 > limit.maxPercent * base &&
    (admins > ADMIN_PERCENT_FLOOR || admins >= base);
  if (!byCount && !byPercent) return undefined;
  const limits = [
    limit.maxCount > 0 ? `more than ${limit.maxCount}` : '',
    limit.maxPercent > 0
      ? `more than ${limit.maxPercent} % (for administrators: of more than ${ADMIN_PERCENT_FLOOR}, or the last)`
      : '',
  ].filter(Boolean);
  return (
    `would remove ${admins} of ${base} administrators (${pct(admins, base)} %); ` +
    `the deletion threshold is ${limits.join(' or ')}`
  );
}

/** The directory's users (not pending deletion) and memberships now, before a sweep. */
export async function directoryTotals(
  sql: Sql,
  directoryId: string,
): Promise<{ baseUsers: number; baseMemberships: number }> {
  const [row] = await sql.rows<{ users: string; memberships: string }>(
    `select (select count(*) from users
              where directory_id = ? and status <> 'pending_deletion') as users,
            (select count(*) from memberships m join groups g on g.id = m.group_id
              where g.directory_id = ?) as memberships`,
    [directoryId, directoryId],
  );
  return { baseUsers: toInt(row?.users), baseMemberships: toInt(row?.memberships) };
}

/**
 * A blocked FULL run's sweep: store exactly what it would remove — users not observed, groups
 * not observed, memberships not observed (those of held users and held groups included) — and
 * apply only the memberships it observed that are missing. Runs in the transaction that
 * completes the run, after the sweep itself was rolled back.
 */
export async function holdFullRemovals(
  sql: Sql,
  run: RunState,
  totals: { baseUsers: number; baseMemberships: number },
  reason: string,
): Promise<HeldRemovals> {
  const [users] = await sql.rows<{ n: string }>(
    `with held as (
       insert into run_held_users (run_id, user_id, reason)
       select ?, u.id, 'not_observed' from users u
       where u.directory_id = ? and u.status <> 'pending_deletion'
         and not exists (select 1 from run_seen_users s
                         where s.run_id = ? and s.external_id = u.external_id)
       returning 1
     )
     select count(*) as n from held`,
    [run.runId, run.directoryId, run.runId],
  );
  const [groups] = await sql.rows<{ n: string }>(
    `with held as (
       insert into run_held_groups (run_id, group_id)
       select ?, g.id from groups g
       where g.directory_id = ?
         and not exists (select 1 from run_seen_groups s
                         where s.run_id = ? and s.external_id = g.external_id)
       returning 1
     )
     select count(*) as n from held`,
    [run.runId, run.directoryId, run.runId],
  );
  // Desired: the observed memberships between observed groups and users that stay, at most the
  // first 100 groups of a user by name, as the sweep keeps them (limits.ts). Held: every current
  // membership that is not desired. Added: desired ones that do not exist yet (recorded as
  // changes, like the sweep's).
  const desired = `desired as (
       ${rankedMemberships(`select g.id as group_id, u.id as user_id, g.name_key
       from run_memberships rm
       join groups g on g.directory_id = ? and g.external_id = rm.group_external_id
       join users u on u.directory_id = ? and u.external_id = rm.user_external_id
       where rm.run_id = ? and u.status <> 'pending_deletion'
         and not exists (select 1 from run_held_users h where h.run_id = ? and h.user_id = u.id)
         and not exists (select 1 from run_held_groups h where h.run_id = ? and h.group_id = g.id)`)}
     ),
     current as (
       select m.group_id, m.user_id from memberships m join groups g on g.id = m.group_id
       where g.directory_id = ?
     )`;
  const desiredParams = [
    run.directoryId,
    run.directoryId,
    run.runId,
    run.runId,
    run.runId,
    run.directoryId,
  ];
  const [held] = await sql.rows<{ n: string }>(
    `with ${desired},
     held as (
       insert into run_held_memberships (run_id, group_id, user_id)
       select ?, c.group_id, c.user_id from current c
       where not exists (select 1 from desired d
                         where d.group_id = c.group_id and d.user_id = c.user_id)
       returning 1
     )
     select count(*) as n from held`,
    [...desiredParams, run.runId],
  );
  const added = await sql.rows<MembershipRow>(
    `with ${desired},
     added as (
       insert into memberships (group_id, user_id)
       select d.group_id, d.user_id from desired d
       where not exists (select 1 from current c
                         where c.group_id = d.group_id and c.user_id = d.user_id)
       order by 1, 2
       on conflict do nothing
       returning group_id, user_id
     ),
     removed as (select null::uuid as group_id, null::uuid as user_id where false),
     ${MEMBERSHIP_ROWS}`,
    desiredParams,
  );
  recordMemberships(run, added);
  return {
    users: toInt(users?.n),
    memberships: toInt(held?.n),
    groups: toInt(groups?.n),
    baseUsers: totals.baseUsers,
    baseMemberships: totals.baseMemberships,
    admins: 0,
    baseAdmins: 0,
    reason,
  };
}

/**
 * A blocked DELTA run: store exactly what its removals did before they were rolled back, from
 * the changes they recorded — the users moved to pending deletion (with their reason), the
 * groups deleted, and every membership removed (those of the held users and groups included).
 * An approval then applies these and nothing else, as for a blocked FULL run.
 */
export async function holdDeltaRemovals(
  sql: Sql,
  run: RunState,
  made: readonly Change[],
  totals: { baseUsers: number; baseMemberships: number },
  reason: string,
): Promise<HeldRemovals> {
  const users: string[] = [];
  const reasons: string[] = [];
  const groups: string[] = [];
  const mGroups: string[] = [];
  const mUsers: string[] = [];
  for (const c of made) {
    if (c.kind === 'pendingDeletion') {
      users.push(c.userId);
      reasons.push(c.reason);
    } else if (c.kind === 'groupDeleted') {
      groups.push(c.groupId);
    } else if (c.kind === 'membership') {
      for (const g of c.removed) {
        mGroups.push(g);
        mUsers.push(c.userId);
      }
    }
  }
  await sql.exec(
    `with u as (
       insert into run_held_users (run_id, user_id, reason)
       select ?, t.id::uuid, t.reason from unnest(?::text[], ?::text[]) as t(id, reason)
       on conflict do nothing
     ),
     g as (
       insert into run_held_groups (run_id, group_id)
       select ?, t.id::uuid from unnest(?::text[]) as t(id)
       on conflict do nothing
     )
     insert into run_held_memberships (run_id, group_id, user_id)
     select ?, t.g::uuid, t.u::uuid from unnest(?::text[], ?::text[]) as t(g, u)
     on conflict do nothing`,
    [run.runId, users, reasons, run.runId, groups, run.runId, mGroups, mUsers],
  );
  return {
    users: users.length,
    memberships: mGroups.length,
    groups: groups.length,
    baseUsers: totals.baseUsers,
    baseMemberships: totals.baseMemberships,
    admins: 0,
    baseAdmins: 0,
    reason,
  };
}

async function dropHeld(sql: Sql, runId: string): Promise<void> {
  await sql.exec(
    `with u as (delete from run_held_users where run_id = ?),
          g as (delete from run_held_groups where run_id = ?),
          a as (delete from run_held_admins where run_id = ?)
     delete from run_held_memberships where run_id = ?`,
    [runId, runId, runId, runId],
  );
}

/**
 * A later run that read the source again makes the directory's BLOCKED runs stale: their plans
 * describe a state that is gone. Each becomes REJECTED with `superseded_by`, its plan is
 * dropped, and its final RunUpdate goes to the outbox. Which runs a finishing run supersedes:
 *
 * - a FULL read (COMPLETED or BLOCKED): every blocked run — it observed everything in scope;
 * - a DELTA read that is BLOCKED itself: every blocked run. A blocked run stores no cursor, so
 *   it read from where the earlier blocked runs read (or later) and its plan is the one now
 *   held; superseding only discards plans, it never removes anyone;
 * - a DELTA read that COMPLETED: the blocked DELTA runs — it read again, from the same stored
 *   cursor, the changes they held back, and what is still gone it named (and removed within the
 *   threshold) itself. A blocked FULL run stays, minus what this run observed (`pruneHeld`):
 *   a delta does not show everything a full read missed;
 * - a full ADMIN run (COMPLETED or BLOCKED): every blocked ADMIN run, and nothing else — it read
 *   every role group again. User runs never supersede an ADMIN run's plan, nor the reverse.
 */
export async function supersedeBlocked(sql: Sql, namespace: string, run: RunState): Promise<void> {
  const admin = run.mode === SyncMode.ADMIN;
  const all = run.readMode === SyncMode.FULL || run.status === 'BLOCKED';
  for (const stale of await lockBlockedRuns(sql, run.directoryId)) {
    if (stale.runId === run.runId) continue;
    // Administrators and users are read by different runs: a full ADMIN run (completed or
    // blocked) supersedes the blocked ADMIN runs and only those, and no user run touches them.
    if ((stale.mode === SyncMode.ADMIN) !== admin) continue;
    if (!admin && !all && stale.readMode === SyncMode.FULL) continue;
    stale.status = 'REJECTED';
    stale.supersededBy = run.runId;
    stale.cursor = null;
    await dropHeld(sql, stale.runId);
    await commitRun(sql, namespace, stale);
  }
}

/**
 * The directory was deleted: its BLOCKED runs become REJECTED (no decision, no superseding run)
 * and their plans are dropped; the directory's users are all removed anyway.
 */
export async function discardBlocked(
  sql: Sql,
  namespace: string,
  directoryId: string,
): Promise<void> {
  for (const stale of await lockBlockedRuns(sql, directoryId)) {
    stale.status = 'REJECTED';
    stale.cursor = null;
    await dropHeld(sql, stale.runId);
    await commitRun(sql, namespace, stale);
  }
}

/**
 * A completed DELTA or USER run observed some users and groups again: they leave the plans of
 * the directory's BLOCKED runs (with the held memberships of those users), so an approval never
 * removes someone the source has shown since.
 */
export async function pruneHeld(sql: Sql, run: RunState): Promise<void> {
  const [blocked] = await sql.rows<{ any: boolean }>(
    `select exists (select 1 from runs where directory_id = ? and status = 'BLOCKED') as any`,
    [run.directoryId],
  );
  if (!blocked?.any) return;
  await sql.exec(
    `with seen as (
       select u.id from run_seen_users s
       join users u on u.directory_id = ? and u.external_id = s.external_id
       where s.run_id = ?
     ),
     blocked as (select run_id from runs where directory_id = ? and status = 'BLOCKED'),
     hu as (delete from run_held_users h where h.run_id in (select run_id from blocked)
              and h.user_id in (select id from seen))
     delete from run_held_memberships h where h.run_id in (select run_id from blocked)
       and h.user_id in (select id from seen)`,
    [run.directoryId, run.runId, run.directoryId],
  );
  await sql.exec(
    `delete from run_held_groups h using groups g, run_seen_groups s, runs r
     where r.directory_id = ? and r.status = 'BLOCKED' and h.run_id = r.run_id
       and g.id = h.group_id and s.run_id = ? and s.external_id = g.external_id`,
    [run.directoryId, run.runId],
  );
}

/**
 * A completed ADMIN run for one e-mail observed that administrator again: it leaves the plans
 * of the directory's BLOCKED ADMIN runs, so an approval never removes someone the source has
 * shown since.
 */
export async function pruneHeldAdmins(sql: Sql, run: RunState): Promise<void> {
  await sql.exec(
    `delete from run_held_admins h using admins a, run_seen_admins s, runs r
     where r.directory_id = ? and r.status = 'BLOCKED' and h.run_id = r.run_id
       and a.id = h.admin_id and s.run_id = ? and s.email_key = a.email_key`,
    [run.directoryId, run.runId],
  );
}

/** A decision as sync sends it (RunDecisionRequest). */
export interface DecisionRequest {
  runId: string;
  directoryId: string;
  decision: RunDecision;
  actor: string;
}

const failure = (code: ErrorCode, message: string): ErrorInfo =>
  create(ErrorInfoSchema, { code, message });

/**
 * Approve or reject a BLOCKED run, in one transaction: the run's final RunUpdate is committed to
 * the outbox with the change and returned. An unknown run (or one of another directory) answers
 * DIRECTORY_NOT_FOUND, a superseded one RUN_SUPERSEDED, any other RUN_NOT_BLOCKED.
 */
export async function decideRun(
  sql: Sql,
  namespace: string,
  req: DecisionRequest,
): Promise<{ update: RunUpdate; changes: RunState['changes'] } | { error: ErrorInfo }> {
  if (req.decision !== RunDecision.APPROVE && req.decision !== RunDecision.REJECT) {
    return { error: failure(ErrorCode.CONFIG_INVALID, 'the decision must be APPROVE or REJECT') };
  }
  const [known] = await sql.rows<{ directory_id: string }>(
    'select directory_id from runs where run_id = ?',
    [req.runId],
  );
  if (!known || (req.directoryId && known.directory_id !== req.directoryId)) {
    return { error: failure(ErrorCode.DIRECTORY_NOT_FOUND, `run ${req.runId} not found`) };
  }
  // Locks in the apply path's order: the directory's open runs first (their events wait until
  // this commits, and what they have observed so far, run_seen_*, is kept out of the removals),
  // then the blocked run — a completing FULL run holds its own row and then locks the blocked
  // ones to supersede them.
  await lockRunningRuns(sql, known.directory_id);
  const run = await lockRun(sql, req.runId);
  if (!run || run.directoryId !== known.directory_id) {
    return { error: failure(ErrorCode.DIRECTORY_NOT_FOUND, `run ${req.runId} not found`) };
  }
  if (run.supersededBy) {
    return {
      error: failure(
        ErrorCode.RUN_SUPERSEDED,
        `run ${run.runId} was superseded by run ${run.supersededBy}, a later sync that read the ` +
          `source again; its removals were discarded and nobody was removed`,
      ),
    };
  }
  if (run.status !== 'BLOCKED') {
    const decided =
      run.decision !== RunDecision.UNSPECIFIED ? ` (${RunDecision[run.decision]})` : '';
    return {
      error: failure(
        ErrorCode.RUN_NOT_BLOCKED,
        `run ${run.runId} is ${run.status}${decided}, not BLOCKED; only a blocked run can be approved or rejected`,
      ),
    };
  }
  if (req.decision === RunDecision.APPROVE) {
    await applyHeld(sql, run);
    run.status = 'COMPLETED';
  } else {
    run.status = 'REJECTED';
  }
  await dropHeld(sql, run.runId);
  run.decision = req.decision;
  run.decidedBy = req.actor || 'unknown';
  // The cursor of a blocked run is never stored: later runs may have moved it on.
  run.cursor = null;
  const update = await commitRun(sql, namespace, run);
  // The approval's per-object changes (pending deletion, groups deleted, memberships), as an
  // applied event's are (changes.ts).
  return { update, changes: run.changes };
}

/**
 * Apply a blocked run's held removals (users, groups, memberships; administrators for an ADMIN
 * run), minus what open runs of the directory observed.
 */
async function applyHeld(sql: Sql, run: RunState): Promise<void> {
  await removeAdmins(sql, run, { kind: 'held' });
  await removeUsers(sql, run, { kind: 'held' });
  await deleteGroups(
    sql,
    run,
    `select g.id from run_held_groups h join groups g on g.id = h.group_id
     where h.run_id = ? and g.directory_id = ?
       and not exists (select 1 from run_seen_groups s join runs r on r.run_id = s.run_id
                       where r.directory_id = ? and r.status = 'RUNNING'
                         and s.external_id = g.external_id)`,
    [run.runId, run.directoryId, run.directoryId],
  );
  const rows = await sql.rows<MembershipRow>(
    `with removed as (
       delete from memberships m using run_held_memberships h, users u
       where h.run_id = ? and m.group_id = h.group_id and m.user_id = h.user_id
         and u.id = m.user_id and u.directory_id = ?
         and not exists (select 1 from run_seen_users s join runs r on r.run_id = s.run_id
                         where r.directory_id = ? and r.status = 'RUNNING'
                           and s.external_id = u.external_id)
       returning m.group_id, m.user_id
     ),
     added as (select null::uuid as group_id, null::uuid as user_id where false),
     ${MEMBERSHIP_ROWS}`,
    [run.runId, run.directoryId, run.directoryId],
  );
  recordMemberships(run, rows);
}
