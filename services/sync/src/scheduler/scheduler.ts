import type { Logger } from '@dirsync/kit';
import type { SyncOrm } from '../db/orm.js';
import { sql, type Tables } from '../db/sql.js';
import type { DirectoryKind } from '../directory/directory.entity.js';
import { ACTIVE_STATUSES } from '../run/run.entity.js';
import type { RunRequest, RunService } from '../run/run.service.js';
import { SCHEDULES } from './schedules.js';

/** How many due schedules one tick starts at most; the rest wait for the next tick. */
const BATCH = 50;

/**
 * Starts scheduled runs: every schedule kind of `SCHEDULES` (FULL, ADMIN, …) the same way. Any
 * number of replicas tick; each due schedule starts exactly one run per interval:
 *
 * - a tick locks the due directories `FOR UPDATE SKIP LOCKED` (a replica never waits for, or
 *   picks, a directory another replica is starting), inserts the run and moves the schedule's
 *   due time to its next slot in the same transaction — so a second tick in the same interval,
 *   on any replica, finds nothing due;
 * - the one-active-run index on runs is the final guard (a directory with an active run is
 *   skipped and starts once that run has ended);
 * - the run carries the lease of the replica that started it (`RunService`): a replica killed
 *   mid-run leaves a lease that expires, and another replica fails the run, so the directory is
 *   not locked for longer than the lease.
 */
export class Scheduler {
  /** Scheduling passes finished (successfully or not) since start. */
  passes = 0;

  constructor(
    private readonly d: {
      orm: SyncOrm;
      tables: Tables;
      runs: RunService;
      clock: () => Date;
      logger: Logger;
    },
  ) {}

  /** One scheduling pass; returns the ids of the runs it started. */
  async tick(): Promise<string[]> {
    try {
      return await this.pass();
    } finally {
      this.passes++;
    }
  }

  private async pass(): Promise<string[]> {
    const t = this.d.tables;
    const now = this.d.clock();
    const active = ACTIVE_STATUSES.map((s) => `'${s}'`).join(', ');
    const started = await this.d.orm.em.fork().transactional(async (tem) => {
      const out: { runId: string; kind: DirectoryKind; req: RunRequest }[] = [];
      for (const schedule of SCHEDULES) {
        if (out.length >= BATCH) break;
        // A directory started by an earlier kind in this pass has an active run now, so the
        // not-exists below skips it (same transaction).
        const due = await sql(tem)<{ id: string; kind: DirectoryKind }>(
          `select d.id, d.kind from ${t.directories} d
            where d.enabled and d.${schedule.intervalColumn} > 0 and d.${schedule.nextColumn} <= ?
              and ${schedule.appliesSql}
              and not exists (select 1 from ${t.runs} r
                               where r.directory_id = d.id and r.status in (${active}))
            order by d.${schedule.nextColumn}
            limit ${BATCH - out.length}
            for update of d skip locked`,
          [now],
        );
        for (const dir of due) {
          const req: RunRequest = { directoryId: dir.id, mode: schedule.mode, trigger: 'SCHEDULE' };
          const runId = await this.d.runs.insertRun(tem, req);
          if (runId) out.push({ runId, kind: dir.kind, req });
        }
      }
      return out;
    });
    for (const s of started) await this.d.runs.publishJob(s.runId, s.kind, s.req);
    if (started.length > 0) {
      this.d.logger.info(
        { runs: started.map((s) => ({ runId: s.runId, mode: s.req.mode })) },
        'scheduled runs started',
      );
    }
    return started.map((s) => s.runId);
  }
}
