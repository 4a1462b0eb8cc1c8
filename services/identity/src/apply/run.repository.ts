import {
  ErrorCode,
  FullReadReason,
  DeletionThresholdSchema,
  ObjectErrorSchema,
  RemovalPlanSchema,
  RunCountsSchema,
  RunDecision,
  RunStatus,
  RunUpdateSchema,
  Subject,
  SyncMode,
  UserOutcome,
  create,
  errorCodeFromName,
  errorCodeName,
  runUpdateMsgId,
  subject,
  toBinary,
  type ObjectError,
  type RunCounts,
  type RunUpdate,
} from '@dirsync/proto';
import type { Sql } from '../db/sql.js';
import { emitLifecycle, runEvent } from '../lifecycle/lifecycle.outbox.js';
import type { Change } from './changes.js';
import { recordChanges } from './history.js';

/** A directory's conflict policy as `runs.conflict_policy` stores it. */
export type ConflictPolicyName = 'REPORT' | 'TAKE_OVER';

/** The counters of a run, keyed like the protobuf `RunCounts` fields. */
export type Counts = Omit<RunCounts, '$typeName' | '$unknown'>;

export const COUNT_KEYS = [
  'seen',
  'created',
  'updated',
  'unchanged',
  'disabled',
  'pendingDeletion',
  'restored',
  'errors',
  'groupsSeen',
  'groupsCreated',
  'groupsUpdated',
  'groupsRemoved',
  'membershipsAdded',
  'membershipsRemoved',
  'entriesRead',
  'adminsSeen',
  'adminsCreated',
  'adminsUpdated',
  'adminsUnchanged',
  'adminsDisabled',
  'adminsPendingDeletion',
  'adminsRestored',
  'enabled',
  'conflicts',
  'claimed',
] as const satisfies readonly (keyof Counts)[];

export function emptyCounts(): Counts {
  return Object.fromEntries(COUNT_KEYS.map((k) => [k, 0])) as unknown as Counts;
}

/** A deletion threshold (proto `DeletionThreshold`): 0 turns a limit off. */
export interface Threshold {
  maxCount: number;
  maxPercent: number;
}

/** What a BLOCKED run holds back (proto `RemovalPlan`), as stored in `runs.removals`. */
export interface HeldRemovals {
  users: number;
  memberships: number;
  groups: number;
  baseUsers: number;
  baseMemberships: number;
  /** ADMIN runs: the administrators held back, and the directory's synced ones before. */
  admins: number;
  baseAdmins: number;
  reason: string;
}

/**
 * A run's status here. BLOCKED: finished except for its removals, which wait for a decision
 * (then COMPLETED or REJECTED); REJECTED is final.
 */
export type RunStateStatus = 'RUNNING' | 'COMPLETED' | 'FAILED' | 'BLOCKED' | 'REJECTED';

/** A run row, locked for the transaction that applies one of its events. */
export interface RunState {
  runId: string;
  directoryId: string;
  mode: SyncMode;
  /** USER runs: the requested username; ADMIN runs: the requested e-mail (null: every admin). */
  username: string | null;
  dryRun: boolean;
  status: RunStateStatus;
  counts: Counts;
  restoreWindowDays: number;
  /**
   * What a record whose username a user of another directory holds does (the directory's
   * `DirectoryPolicy.conflict_policy`): REPORT (USERNAME_CONFLICT) or TAKE_OVER.
   */
  conflictPolicy: ConflictPolicyName;
  updateSeq: number;
  lastSeq: number | null;
  cursor: string | null;
  error: { code: ErrorCode; message: string } | null;
  /** USER runs: what happened to the user; ADMIN runs for one e-mail: to the administrator. */
  userOutcome: UserOutcome;
  /** The user's id; for ADMIN runs the administrator's. */
  userId: string | null;
  /** How the connector read (RunCompleted.read_mode); UNSPECIFIED until the run completes. */
  readMode: SyncMode;
  fullReadReason: FullReadReason;
  /** The directory's deletion threshold when the run started; null = no limit. */
  threshold: Threshold | null;
  /** BLOCKED runs (and their decision): the removals held back. */
  removals: HeldRemovals | null;
  decision: RunDecision;
  decidedBy: string | null;
  /** A BLOCKED run made stale by this later FULL run (then REJECTED without decision). */
  supersededBy: string | null;
  /**
   * The per-object changes of the event being applied (see changes.ts): empty when the run is
   * loaded, filled by the apply functions, final when the event's transaction commits.
   */
  changes: Change[];
  /** How many of `changes` are already in the run history (history.ts, by `commitRun`). */
  changesRecorded: number;
  /**
   * Per-object errors found while completing the run (the group limit, limits.ts): sent with
   * the final RunUpdate.
   */
  completionErrors?: ObjectError[];
}

interface RunRow {
  run_id: string;
  directory_id: string;
  mode: string;
  username: string | null;
  dry_run: boolean;
  status: RunState['status'];
  counts: Partial<Record<string, number>>;
  restore_window_days: number;
  conflict_policy: string | null;
  update_seq: number;
  last_seq: number | null;
  cursor: string | null;
  error_code: string | null;
  error_message: string | null;
  user_outcome: string | null;
  user_id: string | null;
  read_mode: string | null;
  full_read_reason: string | null;
  deletion_max_count: number | null;
  deletion_max_percent: number | null;
  /** Stored before administrators were measured: without `admins` / `baseAdmins`. */
  removals: (Omit<HeldRemovals, 'admins' | 'baseAdmins'> & Partial<HeldRemovals>) | null;
  decision: 'APPROVE' | 'REJECT' | null;
  decided_by: string | null;
  superseded_by: string | null;
}

function modeFromName(name: string): SyncMode {
  const v = (SyncMode as unknown as Record<string, number | undefined>)[name];
  return (v ?? SyncMode.UNSPECIFIED) as SyncMode;
}

function reasonFromName(name: string | null): FullReadReason {
  const v = name
    ? (FullReadReason as unknown as Record<string, number | undefined>)[name]
    : undefined;
  return (v ?? FullReadReason.UNSPECIFIED) as FullReadReason;
}

function outcomeFromName(name: string | null): UserOutcome {
  const v = name ? (UserOutcome as unknown as Record<string, number | undefined>)[name] : undefined;
  return (v ?? UserOutcome.UNSPECIFIED) as UserOutcome;
}

function fromRow(r: RunRow): RunState {
  const counts = emptyCounts();
  for (const k of COUNT_KEYS) counts[k] = r.counts[k] ?? 0;
  return {
    runId: r.run_id,
    directoryId: r.directory_id,
    mode: modeFromName(r.mode),
    username: r.username,
    dryRun: r.dry_run,
    status: r.status,
    counts,
    restoreWindowDays: r.restore_window_days,
    conflictPolicy: r.conflict_policy === 'TAKE_OVER' ? 'TAKE_OVER' : 'REPORT',
    updateSeq: r.update_seq,
    lastSeq: r.last_seq,
    cursor: r.cursor,
    error: r.error_code
      ? {
          code: errorCodeFromName(r.error_code) ?? ErrorCode.INTERNAL,
          message: r.error_message ?? '',
        }
      : null,
    userOutcome: outcomeFromName(r.user_outcome),
    userId: r.user_id,
    readMode: r.read_mode ? modeFromName(r.read_mode) : SyncMode.UNSPECIFIED,
    fullReadReason: reasonFromName(r.full_read_reason),
    threshold:
      r.deletion_max_count === null && r.deletion_max_percent === null
        ? null
        : { maxCount: r.deletion_max_count ?? 0, maxPercent: r.deletion_max_percent ?? 0 },
    // Plans stored before administrators were measured have no admin counts.
    removals: r.removals
      ? { ...r.removals, admins: r.removals.admins ?? 0, baseAdmins: r.removals.baseAdmins ?? 0 }
      : null,
    decision: r.decision ? RunDecision[r.decision] : RunDecision.UNSPECIFIED,
    decidedBy: r.decided_by,
    supersededBy: r.superseded_by,
    changes: [],
    changesRecorded: 0,
  };
}

/** Load a run and lock it until the transaction ends (one writer per run, whatever happens). */
export async function lockRun(sql: Sql, runId: string): Promise<RunState | undefined> {
  const rows = await sql.rows<RunRow>('select * from runs where run_id = ? for update', [runId]);
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/** Runs of a directory that are still open, locked. */
export async function lockRunningRuns(sql: Sql, directoryId: string): Promise<RunState[]> {
  const rows = await sql.rows<RunRow>(
    `select * from runs where directory_id = ? and status = 'RUNNING' order by run_id for update`,
    [directoryId],
  );
  return rows.map(fromRow);
}

/** The directory's BLOCKED runs, locked. */
export async function lockBlockedRuns(sql: Sql, directoryId: string): Promise<RunState[]> {
  const rows = await sql.rows<RunRow>(
    `select * from runs where directory_id = ? and status = 'BLOCKED' order by run_id for update`,
    [directoryId],
  );
  return rows.map(fromRow);
}

export function newRun(init: {
  runId: string;
  directoryId: string;
  mode: SyncMode;
  username: string | null;
  dryRun: boolean;
  restoreWindowDays: number;
  threshold?: Threshold | null;
  conflictPolicy?: ConflictPolicyName;
}): RunState {
  return {
    ...init,
    threshold: init.threshold ?? null,
    conflictPolicy: init.conflictPolicy ?? 'REPORT',
    removals: null,
    decision: RunDecision.UNSPECIFIED,
    decidedBy: null,
    supersededBy: null,
    status: 'RUNNING',
    counts: emptyCounts(),
    updateSeq: 0,
    lastSeq: null,
    cursor: null,
    error: null,
    userOutcome: UserOutcome.UNSPECIFIED,
    userId: null,
    readMode: SyncMode.UNSPECIFIED,
    fullReadReason: FullReadReason.UNSPECIFIED,
    changes: [],
    changesRecorded: 0,
  };
}

export async function insertRun(sql: Sql, run: RunState): Promise<void> {
  await sql.exec(
    `insert into runs (run_id, directory_id, mode, username, dry_run, status, counts,
       restore_window_days, conflict_policy, update_seq, deletion_max_count,
       deletion_max_percent)
     values (?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?, ?, ?, ?)`,
    [
      run.runId,
      run.directoryId,
      SyncMode[run.mode],
      run.username,
      run.dryRun,
      run.status,
      JSON.stringify(run.counts),
      run.restoreWindowDays,
      run.conflictPolicy,
      run.updateSeq,
      run.threshold?.maxCount ?? null,
      run.threshold?.maxPercent ?? null,
    ],
  );
}

/**
 * Drop the per-run staging rows; called when a run ends, whichever way. When no other run is
 * open the tables are truncated, which costs nothing however big the run was.
 */
export async function dropStaging(sql: Sql, runId: string): Promise<void> {
  const [others] = await sql.rows<{ open: boolean }>(
    `select exists (select 1 from runs where status = 'RUNNING' and run_id <> ?) as open`,
    [runId],
  );
  if (others?.open) {
    await sql.exec(
      `with u as (delete from run_seen_users where run_id = ?),
            g as (delete from run_seen_groups where run_id = ?),
            ru as (delete from run_removed_users where run_id = ?),
            rg as (delete from run_removed_groups where run_id = ?),
            md as (delete from run_membership_deltas where run_id = ?),
            a as (delete from run_seen_admins where run_id = ?),
            dry as (delete from run_dry_events where run_id = ?)
       delete from run_memberships where run_id = ?`,
      [runId, runId, runId, runId, runId, runId, runId, runId],
    );
  } else {
    await sql.exec(
      `truncate run_seen_users, run_seen_groups, run_memberships, run_removed_users,
         run_removed_groups, run_membership_deltas, run_seen_admins, run_dry_events`,
    );
  }
}

const RUN_STATUS: Record<RunState['status'], RunStatus> = {
  RUNNING: RunStatus.RUNNING,
  COMPLETED: RunStatus.COMPLETED,
  FAILED: RunStatus.FAILED,
  BLOCKED: RunStatus.BLOCKED,
  REJECTED: RunStatus.REJECTED,
};

/**
 * Save the run and put its state into the outbox as the next `RunUpdate`, in one statement of
 * the transaction that made the change (a `Database.tx()` one: a run's end is also a lifecycle
 * event). `errors` are the per-object errors of this change only.
 */
export async function commitRun(
  sql: Sql,
  namespace: string,
  run: RunState,
  errors: readonly ObjectError[] = [],
): Promise<RunUpdate> {
  // The run's changes go to its history in the same transaction (history.ts).
  await recordChanges(sql, run);
  run.updateSeq += 1;
  const finished = run.status !== 'RUNNING';
  const admin = run.mode === SyncMode.ADMIN;
  const read = run.status === 'COMPLETED' || run.status === 'BLOCKED' || run.status === 'REJECTED';
  const update = create(RunUpdateSchema, {
    runId: run.runId,
    directoryId: run.directoryId,
    seq: run.updateSeq,
    status: RUN_STATUS[run.status],
    counts: create(RunCountsSchema, run.counts),
    errors: errors.map((e) => create(ObjectErrorSchema, e)),
    error: run.status === 'FAILED' && run.error ? run.error : undefined,
    cursor: run.status === 'COMPLETED' ? (run.cursor ?? '') : '',
    mode: run.mode,
    // ADMIN runs keep the requested admin's outcome and id in the same fields (see RunState).
    userOutcome: finished && !admin ? run.userOutcome : UserOutcome.UNSPECIFIED,
    userId: finished && !admin ? (run.userId ?? '') : '',
    adminOutcome: finished && admin ? run.userOutcome : UserOutcome.UNSPECIFIED,
    adminId: finished && admin ? (run.userId ?? '') : '',
    atMs: BigInt(Date.now()),
    // How the connector read: known once the run completed, and kept by a BLOCKED run (it read
    // like any other) and by its decision.
    readMode: read ? run.readMode : SyncMode.UNSPECIFIED,
    fullReadReason: read ? run.fullReadReason : FullReadReason.UNSPECIFIED,
    removals: run.removals
      ? create(RemovalPlanSchema, {
          ...run.removals,
          threshold: run.threshold ? create(DeletionThresholdSchema, run.threshold) : undefined,
        })
      : undefined,
    decision: run.decision,
    decidedBy: run.decidedBy ?? '',
    supersededBy: run.supersededBy ?? '',
    dryRun: run.dryRun,
  });
  await sql.exec(
    `with o as (insert into outbox (subject, msg_id, payload) values (?, ?, ?))
     update runs set status = ?, counts = ?::jsonb, update_seq = ?, last_seq = ?, cursor = ?,
       error_code = ?, error_message = ?, user_outcome = ?, user_id = ?, read_mode = ?,
       full_read_reason = ?, removals = ?::jsonb, decision = ?, decided_by = ?,
       decided_at = case when ? then coalesce(decided_at, now()) end, superseded_by = ?,
       updated_at = now(),
       finished_at = case when ? then coalesce(finished_at, now()) else null end
     where run_id = ?`,
    [
      subject(Subject.RUNS, { run_id: run.runId }, namespace),
      runUpdateMsgId(run.runId, run.updateSeq),
      Buffer.from(toBinary(RunUpdateSchema, update)),
      run.status,
      JSON.stringify(run.counts),
      run.updateSeq,
      run.lastSeq,
      run.cursor,
      run.error ? errorCodeName(run.error.code) : null,
      run.error?.message ?? null,
      run.userOutcome === UserOutcome.UNSPECIFIED ? null : UserOutcome[run.userOutcome],
      run.userId,
      run.readMode === SyncMode.UNSPECIFIED ? null : SyncMode[run.readMode],
      run.fullReadReason === FullReadReason.UNSPECIFIED ? null : FullReadReason[run.fullReadReason],
      run.removals ? JSON.stringify(run.removals) : null,
      run.decision === RunDecision.UNSPECIFIED ? null : RunDecision[run.decision],
      run.decidedBy,
      run.decision !== RunDecision.UNSPECIFIED,
      run.supersededBy,
      finished,
      run.runId,
    ],
  );
  // The end of a run (completed, failed; blocked, rejected) is also a lifecycle event, carrying
  // this final RunUpdate: dirsync.lifecycle.run.<transition>, id run:<run id>:<transition>.
  // An operator's decision (approve, reject) names them as the actor.
  const ended = runEvent(update, run.decidedBy ?? '');
  // A dry run changes nobody and tells subscribers nothing, wherever it ends.
  if (ended && !run.dryRun) emitLifecycle(sql, [ended]);
  return update;
}

/** A per-object error identity itself reports (the connector reports its own). */
export function objectError(
  code: ErrorCode,
  message: string,
  externalId = '',
  sourceLocator = '',
): ObjectError {
  return create(ObjectErrorSchema, { code, message, externalId, sourceLocator });
}
