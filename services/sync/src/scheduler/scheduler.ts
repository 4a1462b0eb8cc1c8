import type { Logger } from '@dirsync/kit';
import type { SyncOrm } from '../db/orm.js';
import { sql, type Tables } from '../db/sql.js';
import type { DirectoryKind } from '../directory/directory.entity.js';
import { ACTIVE_STATUSES } from '../run/run.entity.js';
import type { RunRequest, RunService } from '../run/run.service.js';

/** How many due directories one tick starts at most; the rest wait for the next tick. */
const BATCH = 50;

/**
 * Starts scheduled FULL runs. Each tick locks the due directories with `FOR UPDATE SKIP LOCKED`
 * (replicas never pick the same one), inserts a run (the one-active-run index is the final
 * guard), moves `next_run_at` one interval ahead in the same transaction, then publishes the jobs.
 */
export class Scheduler {
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
    const t = this.d.tables;
    const now = this.d.clock();
    const active = ACTIVE_STATUSES.map((s) => `'${s}'`).join(', ');
    const started = await this.d.orm.em.fork().transactional(async (tem) => {
      const due = await sql(tem)<{ id: string; kind: DirectoryKind }>(
        `select d.id, d.kind from ${t.directories} d
          where d.enabled and d.schedule_interval_minutes > 0 and d.next_run_at <= ?
            and not exists (select 1 from ${t.runs} r
                             where r.directory_id = d.id and r.status in (${active}))
          order by d.next_run_at
          limit ${BATCH}
          for update of d skip locked`,
        [now],
      );
      const out: { runId: string; kind: DirectoryKind; req: RunRequest }[] = [];
      for (const dir of due) {
        const req: RunRequest = { directoryId: dir.id, mode: 'FULL', trigger: 'SCHEDULE' };
        const runId = await this.d.runs.insertRun(tem, req);
        if (runId) out.push({ runId, kind: dir.kind, req });
      }
      return out;
    });
    for (const s of started) await this.d.runs.publishJob(s.runId, s.kind, s.req);
    if (started.length > 0) {
      this.d.logger.info({ runs: started.map((s) => s.runId) }, 'scheduled runs started');
    }
    return started.map((s) => s.runId);
  }
}
