import {
  DirectoryEventSchema,
  fromBinary,
  toBinary,
  type DirectoryEvent,
  type ObjectError,
} from '@dirsync/proto';
import type { Sql } from '../db/sql.js';
import { markLifecycle, rollbackLifecycle } from '../lifecycle/lifecycle.outbox.js';
import { countSeenGroups } from './groups.apply.js';
import { emptyCounts, type RunState } from './run.repository.js';
import { countSeenUsers } from './users.apply.js';

/**
 * Dry runs (`SyncJob.dry_run`, `syncAll(dryRun: true)`, `syncUser(…, dryRun: true)`).
 *
 * The connector reads as usual. Identity keeps each observation event of the run
 * (`run_dry_events`) instead of applying it, and at `RunCompleted` computes the plan by running
 * the real apply path — the same batch functions, the same completion (sweep, deletion
 * threshold, memberships) — inside a savepoint, takes the changes and counts it produced, and
 * rolls the savepoint back. Then it records the plan as the run's changes (run history), sends
 * it in the final RunUpdate (planned counts; `removals` when a real run would be BLOCKED; no
 * cursor) and commits.
 *
 * Progress: while the run reads, each staged batch adds what it observed to `seen` /
 * `groupsSeen` (stageDryEvent), so its RunUpdates move like a real run's; the planned counts
 * (created, updated, …, errors) stay 0 until the plan, whose counts replace them all.
 *
 * Why replay-and-roll-back rather than computing the plan without writing: the plan is then the
 * real run's behaviour by construction (claims, username conflicts, bypass, restore, thresholds,
 * membership diffs are one code path, not two that drift), at the price of doing the real run's
 * work once in a transaction that is thrown away. Why at completion rather than per batch: a
 * batch's effect depends on the batches before it (renames, claims, staging the sweep reads),
 * so the whole run is replayed in order in one transaction.
 *
 * What a dry run writes: its `runs` row and RunUpdates (outbox), `applied_events`, the staging
 * rows above (deleted when it ends) and its changes in `run_changes`. Never a user, alias,
 * phone, group, membership or administrator row, a user/group lifecycle event (the ones the
 * replay emitted are dropped with the savepoint), the directory's last sync, or the cursor.
 * Administrators have no dry run (refused by sync and identity).
 */

/**
 * Keep an observation event of a dry run for its replay, and count what it observed so that the
 * run's progress moves while it reads: a `UserBatch` adds to `seen`, a `GroupBatch` to
 * `groupsSeen`, exactly what applying it adds (`countSeenUsers` / `countSeenGroups`, the
 * functions the apply path counts with). Every other count is the plan's and stays 0 until the
 * run completes. An event staged before (a redelivery; `applied_events` already drops those)
 * counts nothing; the caller stages only observations of the run's kind.
 */
export async function stageDryEvent(sql: Sql, run: RunState, event: DirectoryEvent): Promise<void> {
  const kept = await sql.exec(
    'insert into run_dry_events (run_id, seq, payload) values (?, ?, ?) on conflict do nothing',
    [event.runId, event.seq, Buffer.from(toBinary(DirectoryEventSchema, event))],
  );
  if (kept === 0) return;
  const body = event.body;
  if (body.case === 'users') run.counts.seen += countSeenUsers(body.value.users);
  else if (body.case === 'groups') run.counts.groupsSeen += countSeenGroups(body.value.groups);
}

/**
 * Compute a dry run's plan in its completing transaction: replay its events and its completion
 * in a savepoint, keep what they said (changes, counts, outcome, a would-be block), roll back.
 * On return `run` holds the plan and is COMPLETED with no cursor; the per-object errors of the
 * replayed events are returned for the final RunUpdate.
 */
export async function planDryRun(
  sql: Sql,
  run: RunState,
  steps: {
    replay: (event: DirectoryEvent) => Promise<ObjectError[]>;
    complete: () => Promise<void>;
  },
): Promise<ObjectError[]> {
  // The replay counts from nothing, as the run would have: what staging counted while the run
  // read (seen, groupsSeen) is counted again by the replayed batches, so the plan's counts
  // replace it (and equal the plan's changes). entriesRead is the connector's (RunCompleted).
  Object.assign(run.counts, { ...emptyCounts(), entriesRead: run.counts.entriesRead });
  const events = markLifecycle(sql);
  await sql.exec('savepoint dry_run');
  const errors: ObjectError[] = [];
  try {
    const staged = await sql.rows<{ payload: Buffer }>(
      'select payload from run_dry_events where run_id = ? order by seq',
      [run.runId],
    );
    for (const row of staged) {
      errors.push(...(await steps.replay(fromBinary(DirectoryEventSchema, row.payload))));
    }
    await steps.complete();
  } finally {
    // Whatever happened, nothing of the replay stays: rows, held plans, lifecycle events.
    await sql.exec('rollback to savepoint dry_run');
    rollbackLifecycle(sql, events);
  }
  // The users and groups the plan creates were rolled back: their ids name nothing. The changes
  // keep the source's external ids; the ids become "" (null in GraphQL).
  const createdUsers = new Set<string>();
  for (const c of run.changes) {
    if (c.kind === 'created') createdUsers.add(c.userId);
    if (c.kind === 'groupCreated') c.groupId = '';
  }
  if (createdUsers.size > 0) {
    for (const c of run.changes) {
      if ('userId' in c && createdUsers.has(c.userId)) c.userId = '';
    }
    if (run.userId && createdUsers.has(run.userId)) run.userId = null;
  }
  // A real run would have been BLOCKED: the dry run completes and says so (RunUpdate.removals).
  if (run.status !== 'BLOCKED') run.removals = null;
  run.status = 'COMPLETED';
  // A dry run never moves the delta cursor (sync stores none for it either).
  run.cursor = null;
  return errors;
}
