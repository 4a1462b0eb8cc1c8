import {
  ConflictPolicy,
  ErrorCode,
  FullReadReason,
  Subject,
  SyncMode,
  UserOutcome,
  subject,
  type DirectoryEvent,
  type ObjectError,
  type RunCompleted,
  type RunStarted,
} from '@dirsync/proto';
import type { Logger } from '@dirsync/kit';
import type { Database } from '../db/database.js';
import { errorClass } from '../db/errors.js';
import type { Sql } from '../db/sql.js';
import {
  completeFull,
  completeUser,
  markDirectorySynced,
  missingSeqs,
  unsupported,
} from './complete.js';
import {
  completeDelta,
  stageGroupRemovals,
  stageMembershipDeltas,
  stageUserRemovals,
} from './delta.apply.js';
import {
  applyGroupBatch,
  applyObjectErrors,
  stageMemberships,
  storableError,
} from './groups.apply.js';
import {
  dropStaging,
  insertRun,
  lockRun,
  lockRunningRuns,
  newRun,
  commitRun,
  type RunState,
} from './run.repository.js';
import { hasNul, storable } from './normalize.js';
import { suppressLifecycle } from '../lifecycle/lifecycle.outbox.js';
import { applyUserBatch } from './users.apply.js';
import { applyAdminBatch, completeAdmins } from './admins.apply.js';
import { pruneHeld, pruneHeldAdmins, supersedeBlocked } from './safety.js';
import type { Change } from './changes.js';
import { planDryRun, stageDryEvent } from './dry-run.js';

/** Restore window when a directory's policy does not set one. */
export const DEFAULT_RESTORE_WINDOW_DAYS = 7;

/** What applying one event did. */
export type ApplyOutcome =
  /**
   * Committed; `outbox` tells whether RunUpdates were written; `changes` are the per-object
   * changes the transaction made (changes.ts), in the order they were made.
   */
  | { kind: 'applied'; outbox: boolean; changes: readonly Change[] }
  /** (run, seq) was applied before: nothing changed. */
  | { kind: 'duplicate' }
  /** The run is already finished here, or the event is unusable: nothing changed. */
  | { kind: 'ignored'; reason: string };

export interface Applier {
  apply(event: DirectoryEvent): Promise<ApplyOutcome>;
  /**
   * Give up on an event whose apply failed `attempts` times with `err` (a poison event): in a
   * transaction of its own, fail its run with INTERNAL (the final FAILED RunUpdate goes to the
   * outbox as usual) and record the event as handled. Nobody is removed: whatever the event
   * would have done was rolled back, and the run's later events are ignored like those of any
   * finished run. A run unknown here (its RunStarted was the poison) is recorded as failed.
   */
  giveUp(event: DirectoryEvent, err: unknown, attempts: number): Promise<ApplyOutcome>;
}

class Rollback extends Error {
  constructor(readonly outcome: ApplyOutcome) {
    super('rollback');
  }
}

/**
 * The apply path: each event in its own transaction, recorded in `applied_events` so that a
 * redelivery or a re-publish changes nothing, with the run's RunUpdate written to the outbox in
 * the same transaction.
 */
export function createApplier(deps: { db: Database; namespace: string; logger: Logger }): Applier {
  const { db, namespace, logger } = deps;

  async function finish(
    sql: Sql,
    run: RunState,
    status: 'COMPLETED' | 'FAILED' | 'BLOCKED',
    error?: { code: ErrorCode; message: string },
  ): Promise<void> {
    run.status = status;
    run.error = error ?? null;
    await dropStaging(sql, run.runId);
    await commitRun(sql, namespace, run, run.completionErrors ?? []);
  }

  async function progress(sql: Sql, run: RunState, errors: ObjectError[]): Promise<void> {
    await commitRun(sql, namespace, run, errors);
  }

  async function start(sql: Sql, event: DirectoryEvent, body: RunStarted): Promise<void> {
    // One active run per directory: a run still open here was abandoned (sync timed it out).
    for (const stale of await lockRunningRuns(sql, event.directoryId)) {
      await finish(sql, stale, 'FAILED', {
        code: ErrorCode.RUN_TIMEOUT,
        message: `superseded by run ${event.runId} before it completed`,
      });
    }
    // ADMIN runs keep the requested e-mail where USER runs keep the username ("" = every admin).
    const username = (body.mode === SyncMode.ADMIN ? body.email : body.username).trim();
    const run = newRun({
      runId: event.runId,
      directoryId: event.directoryId,
      mode: body.mode,
      username: storable(username) || null,
      dryRun: body.dryRun,
      // proto3 cannot tell an unset window from 0: 0 means the default (README).
      restoreWindowDays: body.policy?.restoreWindowDays || DEFAULT_RESTORE_WINDOW_DAYS,
      // No threshold in the policy: no limit (the sync service always sends one).
      threshold: body.policy?.deletionThreshold
        ? {
            maxCount: body.policy.deletionThreshold.maxCount,
            maxPercent: body.policy.deletionThreshold.maxPercent,
          }
        : null,
      // UNSPECIFIED is REPORT (proto): nobody is taken over unless the directory says so.
      conflictPolicy:
        body.policy?.conflictPolicy === ConflictPolicy.TAKE_OVER ? 'TAKE_OVER' : 'REPORT',
    });
    await insertRun(sql, run);
    const problem = unsupported(run);
    if (problem) {
      await finish(sql, run, 'FAILED', problem);
    } else if (run.mode === SyncMode.USER && hasNul(username)) {
      // No stored username has a NUL (such records are refused), so this user cannot be known
      // here: the run is over before the connector's events, which are ignored, change anything.
      run.userOutcome = UserOutcome.NOT_FOUND;
      await finish(sql, run, 'COMPLETED');
    } else {
      await progress(sql, run, []);
    }
  }

  async function complete(
    sql: Sql,
    run: RunState,
    lastSeq: number,
    body: RunCompleted,
  ): Promise<void> {
    run.lastSeq = lastSeq;
    const missing = await missingSeqs(sql, run.runId, lastSeq);
    if (missing.length > 0) {
      await finish(sql, run, 'FAILED', {
        code: ErrorCode.EVENTS_INCOMPLETE,
        message: `events ${missing.join(', ')} of run ${run.runId} were never applied; nobody was removed`,
      });
      return;
    }
    // A DELTA job the connector had to serve with a full read completes like a FULL run: it
    // observed everything in scope, so what it did not observe is gone.
    const readFull =
      run.mode === SyncMode.FULL ||
      (run.mode === SyncMode.DELTA && body.readMode === SyncMode.FULL);
    run.readMode = readFull ? SyncMode.FULL : run.mode;
    run.fullReadReason =
      run.mode === SyncMode.DELTA && readFull ? body.fullReadReason : FullReadReason.UNSPECIFIED;
    run.counts.entriesRead = body.entriesRead;
    if (run.dryRun) {
      const errors = await planDryRun(sql, run, {
        replay: (event) => observe(sql, run, event),
        complete: () => completeByMode(sql, run, readFull),
      });
      await dropStaging(sql, run.runId);
      // The completion's own errors (group limits, a USER run's USERNAME_MISMATCH) with them.
      await commitRun(sql, namespace, run, [...errors, ...(run.completionErrors ?? [])]);
      return;
    }
    await completeByMode(sql, run, readFull);
    // Deletion safety: a FULL or DELTA read — or a full ADMIN read, for blocked ADMIN runs —
    // supersedes the directory's blocked runs it read again (supersedeBlocked; this one may be
    // blocked itself); a partial read takes what it observed out of the plans that remain.
    const admin = run.mode === SyncMode.ADMIN;
    if (readFull || run.mode === SyncMode.DELTA || (admin && !run.username)) {
      await supersedeBlocked(sql, namespace, run);
    }
    if (admin && run.username) await pruneHeldAdmins(sql, run);
    else if (!readFull && !admin) await pruneHeld(sql, run);
    run.cursor = storable(body.cursor);
    await finish(sql, run, run.status === 'BLOCKED' ? 'BLOCKED' : 'COMPLETED');
  }

  /**
   * Apply one observation event of a run (users, groups, memberships, removals, errors): its
   * rows, staging and counts; the per-object errors it reports. The real path and a dry run's
   * replay (dry-run.ts) share it, so a dry run plans with exactly the code a real run applies.
   */
  async function observe(sql: Sql, run: RunState, event: DirectoryEvent): Promise<ObjectError[]> {
    const body = event.body;
    switch (body.case) {
      case 'admins':
        // Records its changes, errors included (admins.apply.ts).
        return applyAdminBatch(sql, run, body.value.admins);
      case 'users':
        return applyUserBatch(sql, run, body.value.users);
      case 'groups':
        return applyGroupBatch(sql, run, body.value.groups);
      case 'memberships':
        await stageMemberships(sql, run, event.seq, body.value.groups);
        return [];
      case 'userRemovals':
        await stageUserRemovals(sql, run, body.value.users);
        return [];
      case 'groupRemovals':
        await stageGroupRemovals(sql, run, body.value.groups);
        return [];
      case 'membershipDeltas':
        await stageMembershipDeltas(sql, run, event.seq, body.value.groups);
        return [];
      case 'objectErrors': {
        const errors = body.value.errors.map(storableError);
        await applyObjectErrors(sql, run, errors);
        return errors;
      }
      default:
        return [];
    }
  }

  /** What a run does when it completes, by mode (a dry run's plan runs the same). */
  async function completeByMode(sql: Sql, run: RunState, readFull: boolean): Promise<void> {
    if (run.mode === SyncMode.ADMIN) await completeAdmins(sql, run);
    else if (readFull) await completeFull(sql, run);
    else if (run.mode === SyncMode.USER) await completeUser(sql, run);
    else {
      await completeDelta(sql, run);
      await markDirectorySynced(sql, run, false);
    }
  }

  async function applyInTx(sql: Sql, event: DirectoryEvent): Promise<ApplyOutcome> {
    // No JIT in apply transactions: their statements run in milliseconds, but right after an
    // import the statistics are stale and estimates pass jit_above_cost, so Postgres compiled
    // them for longer than they ran (~12 ms per alias lookup, every batch).
    const [{ fresh } = { fresh: '0' }] = await sql.rows<{ fresh: string }>(
      `with ins as (insert into applied_events (run_id, seq) values (?, ?)
                    on conflict do nothing returning 1)
       select (select count(*) from ins) as fresh, set_config('synchronous_commit', ?, true),
         set_config('jit', 'off', true)`,
      [event.runId, event.seq, isBatch(event) ? 'off' : 'on'],
    );
    if (fresh === '0') return { kind: 'duplicate' };
    const run = await lockRun(sql, event.runId);
    const body = event.body;
    if (run?.dryRun || (body.case === 'runStarted' && body.value.dryRun)) suppressLifecycle(sql);

    if (body.case === 'runStarted') {
      if (run) return { kind: 'ignored', reason: 'run already known' };
      await start(sql, event, body.value);
      return { kind: 'applied', outbox: true, changes: [] };
    }

    if (!run) {
      if (body.case === 'runCompleted' || body.case === 'runFailed') {
        // Tell sync now rather than let the run time out: without RunStarted nothing applied.
        const orphan = newRun({
          runId: event.runId,
          directoryId: event.directoryId,
          mode: SyncMode.UNSPECIFIED,
          username: null,
          dryRun: false,
          restoreWindowDays: DEFAULT_RESTORE_WINDOW_DAYS,
        });
        await insertRun(sql, orphan);
        await finish(
          sql,
          orphan,
          'FAILED',
          body.case === 'runFailed' && body.value.error
            ? { code: body.value.error.code, message: storable(body.value.error.message) }
            : {
                code: ErrorCode.EVENTS_INCOMPLETE,
                message: `run ${event.runId} ended but its RunStarted was never applied; nobody was removed`,
              },
        );
        return { kind: 'applied', outbox: true, changes: [] };
      }
      // Not recorded as applied: the gap makes the run's completion fail, as it must.
      throw new Rollback({ kind: 'ignored', reason: 'batch of an unknown run' });
    }
    if (run.status !== 'RUNNING') return { kind: 'ignored', reason: `run is ${run.status}` };
    if (run.directoryId !== event.directoryId) {
      throw new Rollback({ kind: 'ignored', reason: 'directory id differs from the run' });
    }

    if (isObservation(body.case) && body.case !== 'objectErrors') {
      // ADMIN runs observe administrators only, the other runs never do.
      if ((body.case === 'admins') !== (run.mode === SyncMode.ADMIN)) {
        logger.warn(
          { runId: run.runId, seq: event.seq, body: body.case, mode: SyncMode[run.mode] },
          'observation of the wrong kind for the run; ignored',
        );
        await progress(sql, run, []);
        return { kind: 'applied', outbox: true, changes: [] };
      }
    }

    if (isObservation(body.case)) {
      if (run.dryRun) {
        // A dry run applies nothing now: the event is kept and replayed at completion; its
        // observation counts (seen, groupsSeen) grow now, as a real run's do.
        await stageDryEvent(sql, run, event);
        await progress(sql, run, []);
      } else {
        await progress(sql, run, await observe(sql, run, event));
      }
      return { kind: 'applied', outbox: true, changes: run.changes };
    }

    switch (body.case) {
      case 'runCompleted':
        await complete(sql, run, body.value.lastSeq || event.seq, body.value);
        break;
      case 'runFailed':
        await finish(
          sql,
          run,
          'FAILED',
          body.value.error
            ? { code: body.value.error.code, message: storable(body.value.error.message) }
            : { code: ErrorCode.INTERNAL, message: 'the connector reported a failure' },
        );
        break;
      default:
        throw new Rollback({ kind: 'ignored', reason: 'event without a body' });
    }
    return { kind: 'applied', outbox: true, changes: run.changes };
  }

  async function giveUpInTx(
    sql: Sql,
    event: DirectoryEvent,
    err: unknown,
    attempts: number,
  ): Promise<ApplyOutcome> {
    await sql.exec(
      'insert into applied_events (run_id, seq) values (?, ?) on conflict do nothing',
      [event.runId, event.seq],
    );
    let run = await lockRun(sql, event.runId);
    if (run && run.status !== 'RUNNING') return { kind: 'ignored', reason: `run is ${run.status}` };
    if (!run) {
      const body = event.body;
      run = newRun({
        runId: event.runId,
        directoryId: event.directoryId,
        mode: body.case === 'runStarted' ? body.value.mode : SyncMode.UNSPECIFIED,
        // Nothing else from the event: it is the one Postgres refused.
        username: null,
        dryRun: false,
        restoreWindowDays: DEFAULT_RESTORE_WINDOW_DAYS,
      });
      await insertRun(sql, run);
    }
    await finish(sql, run, 'FAILED', {
      code: ErrorCode.INTERNAL,
      message:
        `event ${event.seq} (${event.body.case ?? 'no body'}) of run ${event.runId} could not ` +
        `be applied after ${attempts} attempts: ${errorClass(err)}; the run was stopped and ` +
        `nobody was removed`,
    });
    return { kind: 'applied', outbox: true, changes: [] };
  }

  return {
    async giveUp(event, err, attempts) {
      const outcome = await db.tx((sql) => giveUpInTx(sql, event, err, attempts));
      logger.error(
        {
          err,
          runId: event.runId,
          directoryId: event.directoryId,
          seq: event.seq,
          attempts,
          outcome: outcome.kind,
        },
        'poison event: its run was failed',
      );
      return outcome;
    },

    async apply(event) {
      const invalid = validate(event);
      if (invalid) return { kind: 'ignored', reason: invalid };
      try {
        const outcome = await db.tx((sql) => applyInTx(sql, event));
        if (outcome.kind === 'ignored') {
          logger.warn(
            {
              runId: event.runId,
              directoryId: event.directoryId,
              seq: event.seq,
              reason: outcome.reason,
            },
            'event ignored',
          );
        }
        return outcome;
      } catch (err) {
        if (err instanceof Rollback) {
          logger.warn(
            {
              runId: event.runId,
              directoryId: event.directoryId,
              seq: event.seq,
              reason: (err.outcome as { reason?: string }).reason,
            },
            'event ignored',
          );
          return err.outcome;
        }
        throw err;
      }
    },
  };
}

/**
 * Observation batches commit without waiting for the WAL flush. If Postgres crashes right after
 * such a commit the batch is lost together with its `applied_events` row, so the run's
 * completion sees the gap and fails with EVENTS_INCOMPLETE: nobody is removed on the strength of
 * a lost batch. Run boundaries and their RunUpdates are always flushed before the ack.
 */
function isBatch(event: DirectoryEvent): boolean {
  return isObservation(event.body.case);
}

function isObservation(body: DirectoryEvent['body']['case']): boolean {
  switch (body) {
    case 'admins':
    case 'users':
    case 'groups':
    case 'memberships':
    case 'objectErrors':
    case 'userRemovals':
    case 'groupRemovals':
    case 'membershipDeltas':
      return true;
    default:
      return false;
  }
}

/** Run and directory ids are UUIDs or short names; anything longer is not one of them. */
const MAX_ID_LENGTH = 256;

function validate(event: DirectoryEvent): string | undefined {
  if (!event.directoryId.trim()) return 'event without a directory id';
  // Neither could be stored (Postgres text has no U+0000, an index entry has a size limit),
  // nor name a real directory or run; giving up on such an event could not record it either.
  if (hasNul(event.directoryId)) return 'directory id contains U+0000';
  if (hasNul(event.runId)) return 'run id contains U+0000';
  if (event.directoryId.length > MAX_ID_LENGTH) return 'directory id too long';
  if (event.runId.length > MAX_ID_LENGTH) return 'run id too long';
  if (event.seq < 1) return 'event seq must be ≥ 1';
  try {
    // A run id must be usable as a subject token for its RunUpdates.
    subject(Subject.RUNS, { run_id: event.runId });
  } catch {
    return `run id "${event.runId}" is not usable as a subject token`;
  }
  if (!event.body.case) return 'event without a body';
  return undefined;
}
