import type { RunMetrics } from '@dirsync/kit';
import type { RemovalPlan, RunCounts } from '@dirsync/proto';

/** A run that just ended, as the metrics see it. */
export interface EndedRun {
  directoryId: string;
  mode: string;
  status: string;
  errorCode?: string | null;
  queuedAt?: Date | string | null;
  /** The final counts, when the ending update carried them. */
  counts?: RunCounts;
  /** BLOCKED runs: what the deletion threshold held back. */
  removals?: RemovalPlan;
}

const OBJECT_OUTCOMES = [
  ['created', 'created'],
  ['updated', 'updated'],
  ['unchanged', 'unchanged'],
  ['disabled', 'disabled'],
  ['pendingDeletion', 'pending_deletion'],
  ['restored', 'restored'],
  ['errors', 'error'],
] as const;

/**
 * Count a run's end into `dirsync_runs_finished_total`, `dirsync_run_duration_seconds`,
 * `dirsync_run_objects_total` and, for a BLOCKED run, `dirsync_blocked_deletions_total` (the
 * users and administrators its RemovalPlan holds back; its counts are what it did, which removed nobody). A
 * decision on a blocked run later is not another end of it.
 */
export function recordRunEnded(metrics: RunMetrics | undefined, run: EndedRun, now: Date): void {
  if (!metrics) return;
  const status = run.status;
  metrics.finished.inc({
    directory_id: run.directoryId,
    mode: run.mode,
    status,
    error_code: status === 'FAILED' ? (run.errorCode ?? 'INTERNAL') : '',
  });
  if (run.queuedAt) {
    const seconds = (now.getTime() - new Date(run.queuedAt).getTime()) / 1000;
    if (seconds >= 0) metrics.duration.observe({ mode: run.mode, status }, seconds);
  }
  const held = run.removals ? run.removals.users + run.removals.admins : 0;
  if (status === 'BLOCKED' && held > 0) {
    metrics.blockedDeletions.inc({ directory_id: run.directoryId }, held);
  }
  const counts = run.counts;
  if (!counts) return;
  for (const [field, outcome] of OBJECT_OUTCOMES) {
    const n = counts[field];
    if (n > 0) metrics.objects.inc({ directory_id: run.directoryId, outcome }, n);
  }
}
