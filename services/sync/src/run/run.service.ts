import { randomUUID } from 'node:crypto';
import type { JetStreamClient, Logger, NatsConnection, RunMetrics } from '@dirsync/kit';
import { ApiErrorCode, apiError } from '@dirsync/kit/graphql';
import {
  DirectoryEventSchema,
  ErrorCode,
  FullReadReason as ProtoFullReadReason,
  RunDecision as ProtoRunDecision,
  RunDecisionReplySchema,
  RunDecisionRequestSchema,
  RunStatus as ProtoRunStatus,
  SYNC_VERDICT_SEQ,
  SyncJobSchema,
  SyncMode,
  Subject,
  UserOutcome as ProtoUserOutcome,
  create,
  errorCodeName,
  eventMsgId,
  fromBinary,
  subject,
  toBinary,
  type RemovalPlan,
  type RunUpdate,
} from '@dirsync/proto';
import type { EntityManager, SyncOrm } from '../db/orm.js';
import { sql, type Tables } from '../db/sql.js';
import type { DirectoryKind } from '../directory/directory.entity.js';
import {
  ACTIVE_STATUSES,
  COUNT_FIELDS,
  Run,
  type FullReadReason,
  type RunDecisionName,
  type RunMode,
  type RunStatus,
  type RunTrigger,
  type StoredRemovals,
  type UserOutcome,
} from './run.entity.js';
import type { RunWaiters } from './run-waiters.js';
import { recordRunEnded, type EndedRun } from './run.metrics.js';
import { scheduleOf } from '../scheduler/schedules.js';

export interface RunServiceDeps {
  orm: SyncOrm;
  tables: Tables;
  js: JetStreamClient;
  /** Core NATS, for the RunDecision request/reply to identity. */
  nc: NatsConnection;
  natsNamespace: string;
  clock: () => Date;
  logger: Logger;
  waiters: RunWaiters;
  runTimeoutSeconds: number;
  /** The run timeout of a run whose connector has published its terminal event. */
  publishedRunTimeoutSeconds: number;
  metrics?: RunMetrics;
  /** This replica's name in the leases of the runs it starts. */
  replicaId: string;
  /** How long a lease lasts without renewal. */
  leaseSeconds: number;
  /** Silence of a run's connector (and of identity) that fails the run with CONNECTOR_LOST; 0 = off. */
  connectorLostSeconds: number;
  /**
   * A QUEUED run fails with NO_CONNECTOR once it has waited this long and no connector of its
   * kind has reported in for as long; 0 = off.
   */
  noConnectorSeconds: number;
}

/** What one connector process reported (proto ConnectorHeartbeat), as `recordHeartbeat` takes it. */
export interface HeartbeatReport {
  connectorKind: string;
  instanceId: string;
  runs: { runId: string; directoryId: string; published: boolean }[];
}

/** What to start. */
export interface RunRequest {
  directoryId: string;
  mode: RunMode;
  trigger: RunTrigger;
  /** USER runs only. */
  username?: string;
  /** ADMIN runs for one administrator only; absent = every administrator. */
  email?: string;
  /** Plan only: identity records the run's changes and applies none (FULL, DELTA, USER). */
  dryRun?: boolean;
}

/** A BLOCKED run is final for waiters and the scheduler; a decision still moves it on. */
export const FINAL_STATUSES: readonly RunStatus[] = ['COMPLETED', 'FAILED', 'BLOCKED', 'REJECTED'];

/** How long approveRun / rejectRun wait for identity's answer. */
export const DECISION_TIMEOUT_MS = 15_000;
export const isFinal = (s: RunStatus) => FINAL_STATUSES.includes(s);

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (v: string) => UUID_RE.test(v);

const ACTIVE_SQL = `(${ACTIVE_STATUSES.map((s) => `'${s}'`).join(', ')})`;
const INT32_MAX = 2_147_483_647;

const CONNECTOR_KIND: Record<DirectoryKind, string> = {
  LDAP: 'ldap',
  ENTRA: 'entra',
  GOOGLE: 'google',
  OKTA: 'okta',
  SCIM: 'scim',
};

const PROTO_MODE: Record<RunMode, SyncMode> = {
  FULL: SyncMode.FULL,
  DELTA: SyncMode.DELTA,
  USER: SyncMode.USER,
  ADMIN: SyncMode.ADMIN,
};

const READ_MODE: Partial<Record<SyncMode, RunMode>> = {
  [SyncMode.FULL]: 'FULL',
  [SyncMode.DELTA]: 'DELTA',
  [SyncMode.USER]: 'USER',
  [SyncMode.ADMIN]: 'ADMIN',
};

const FULL_READ_REASON: Partial<Record<ProtoFullReadReason, FullReadReason>> = {
  [ProtoFullReadReason.NO_CURSOR]: 'NO_CURSOR',
  [ProtoFullReadReason.CURSOR_REJECTED]: 'CURSOR_REJECTED',
  [ProtoFullReadReason.DELTA_UNSUPPORTED]: 'DELTA_UNSUPPORTED',
};

const USER_OUTCOME: Partial<Record<ProtoUserOutcome, UserOutcome>> = {
  [ProtoUserOutcome.CREATED]: 'CREATED',
  [ProtoUserOutcome.UPDATED]: 'UPDATED',
  [ProtoUserOutcome.UNCHANGED]: 'UNCHANGED',
  [ProtoUserOutcome.PENDING_DELETION]: 'PENDING_DELETION',
  [ProtoUserOutcome.NOT_FOUND]: 'NOT_FOUND',
  [ProtoUserOutcome.RESTORED]: 'RESTORED',
  [ProtoUserOutcome.ERROR]: 'FAILED',
  [ProtoUserOutcome.CONFLICT]: 'CONFLICT',
};

/** Postgres text cannot hold NUL; per-object error text comes from sources and may. */
const clean = (s: string) => s.replaceAll('\0', '\uFFFD');

/**
 * Runs: starting them (row first, then the job), applying RunUpdates from identity, failing the
 * ones nobody reports on, and waiting for a run to finish.
 *
 * Leases. The replica that inserts a run holds a lease on it (`lease_owner`, `lease_expires_at`)
 * and renews it while the run is active (`maintainLeases`, every third of the lease). It is that
 * replica that publishes the job and answers the caller waiting for the run. A replica that is
 * killed (or cut off from Postgres) stops renewing: once its lease has expired another replica
 * fails the run with LEASE_EXPIRED, so the directory — which has one active run at a time — is
 * not left locked until the run timeout. A replica that stops gracefully releases its leases
 * instead, and a live replica adopts those runs: a rolling restart fails nothing.
 */
export class RunService {
  private closing = false;

  constructor(private readonly d: RunServiceDeps) {}

  /** Stop waiting for runs (shutdown): pending `waitForFinal` calls end with TIMEOUT at once. */
  close(): void {
    this.closing = true;
    this.d.waiters.notifyAll();
  }

  async get(runId: string, em: EntityManager = this.d.orm.em.fork()): Promise<Run | null> {
    if (!isUuid(runId)) return null;
    return em.findOne(Run, { id: runId });
  }

  /**
   * Insert a QUEUED run and publish its job. Throws NOT_FOUND, BAD_USER_INPUT (disabled) or
   * RUN_IN_PROGRESS (with `runId` of the active run). A job that cannot be published leaves the
   * run FAILED with PUBLISH_FAILED, which is returned, not thrown.
   */
  async startRun(req: RunRequest): Promise<Run> {
    if (!isUuid(req.directoryId)) {
      throw apiError(ApiErrorCode.NOT_FOUND, `directory ${req.directoryId} not found`);
    }
    const em = this.d.orm.em.fork();
    const t = this.d.tables;
    const inserted = await em.transactional(async (tem) => {
      const q = sql(tem);
      const [dir] = await q<{ enabled: boolean; kind: DirectoryKind }>(
        `select enabled, kind from ${t.directories} where id = ? for key share`,
        [req.directoryId],
      );
      if (!dir) throw apiError(ApiErrorCode.NOT_FOUND, `directory ${req.directoryId} not found`);
      if (!dir.enabled) {
        throw apiError(
          ApiErrorCode.BAD_USER_INPUT,
          `directory ${req.directoryId} is disabled; enable it to sync`,
          { field: 'directoryId' },
        );
      }
      // The active run may finish between the insert and the lookup: then insert again.
      for (let attempt = 0; ; attempt++) {
        const runId = await this.insertRun(tem, req);
        if (runId) return { runId, kind: dir.kind };
        const [active] = await q<{ id: string }>(
          `select id from ${t.runs} where directory_id = ? and status in ${ACTIVE_SQL}`,
          [req.directoryId],
        );
        if (active || attempt >= 2) {
          throw apiError(
            ApiErrorCode.RUN_IN_PROGRESS,
            `directory ${req.directoryId} already has an active run${active ? ` (${active.id})` : ''}`,
            { runId: active?.id ?? null, directoryId: req.directoryId },
          );
        }
      }
    });
    await this.publishJob(inserted.runId, inserted.kind, req);
    return this.d.orm.em.fork().findOneOrFail(Run, { id: inserted.runId });
  }

  /**
   * Insert a QUEUED run inside the caller's transaction; `undefined` when the directory already
   * has an active one (the partial unique index decides, so concurrent callers cannot both win).
   * A FULL run also moves the directory's next scheduled run one interval ahead.
   */
  async insertRun(tem: Parameters<typeof sql>[0], req: RunRequest): Promise<string | undefined> {
    const q = sql(tem);
    const t = this.d.tables;
    const now = this.d.clock();
    const id = randomUUID();
    const rows = await q<{ id: string }>(
      `insert into ${t.runs} (id, directory_id, mode, trigger, username, email, dry_run, status,
         queued_at, lease_owner, lease_expires_at)
       values (?, ?, ?, ?, ?, ?, ?, 'QUEUED', ?, ?, ?::timestamptz + ? * interval '1 second')
       on conflict (directory_id) where status in ${ACTIVE_SQL} do nothing
       returning id`,
      [
        id,
        req.directoryId,
        req.mode,
        req.trigger,
        req.username === undefined ? null : Buffer.from(req.username, 'utf8'),
        req.email ?? null,
        req.dryRun ?? false,
        now,
        this.d.replicaId,
        now,
        this.d.leaseSeconds,
      ],
    );
    if (rows.length === 0) return undefined;
    // A dry run is not the directory's last run and moves no schedule: it synced nothing.
    if (req.dryRun) return id;
    const schedule = scheduleOf(req);
    if (!schedule) {
      await q(`update ${t.directories} set last_run_id = ? where id = ?`, [id, req.directoryId]);
      return id;
    }
    // The run's schedule moves on. A scheduled run takes the next slot after now (due + n ×
    // interval), so the cadence does not drift with tick latency or a run that had to wait; a
    // manual one restarts the interval, so a scheduled run does not follow right after it.
    const next = schedule.nextColumn;
    const minutes = schedule.intervalColumn;
    await q(
      `update ${t.directories} d set last_run_id = ?,
         ${next} = case
           when not (d.enabled and d.${minutes} > 0 and ${schedule.appliesSql}) then d.${next}
           when ? and d.${next} is not null and d.${next} <= ?::timestamptz
             then d.${next} + make_interval(mins => d.${minutes} *
               (floor(extract(epoch from (?::timestamptz - d.${next})) / (d.${minutes} * 60))::int + 1))
           else ?::timestamptz + make_interval(mins => d.${minutes})
         end
       where d.id = ?`,
      [id, req.trigger === 'SCHEDULE', now, now, now, req.directoryId],
    );
    return id;
  }

  /** Publish the job of a committed run (msg id = run id); on failure mark it PUBLISH_FAILED. */
  async publishJob(runId: string, kind: DirectoryKind, req: RunRequest): Promise<boolean> {
    const job = create(SyncJobSchema, {
      runId,
      directoryId: req.directoryId,
      mode: PROTO_MODE[req.mode],
      username: req.username ?? '',
      email: req.email ?? '',
      dryRun: req.dryRun ?? false,
      requestedAtMs: BigInt(this.d.clock().getTime()),
    });
    const subj = subject(
      Subject.JOBS,
      { connector_kind: CONNECTOR_KIND[kind] },
      this.d.natsNamespace,
    );
    let lastErr: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.d.js.publish(subj, toBinary(SyncJobSchema, job), {
          msgID: runId,
          timeout: 5_000,
        });
        this.d.logger.info({ runId, directoryId: req.directoryId, mode: req.mode }, 'run queued');
        this.d.metrics?.started.inc({
          directory_id: req.directoryId,
          mode: req.mode,
          trigger: req.trigger,
        });
        return true;
      } catch (err) {
        lastErr = err;
      }
    }
    this.d.logger.error(
      { err: lastErr, runId, directoryId: req.directoryId },
      'job publish failed; run marked FAILED',
    );
    await this.fail(
      runId,
      ErrorCode.PUBLISH_FAILED,
      `the job could not be published: ${String(lastErr)}`,
    );
    return false;
  }

  private async fail(runId: string, code: ErrorCode, message: string): Promise<void> {
    const now = this.d.clock();
    const failed = await sql(this.d.orm.em.fork())<EndedRunRow>(
      `update ${this.d.tables.runs}
         set status = 'FAILED', error_code = ?, error_message = ?, finished_at = ?, last_update_at = ?
       where id = ? and status in ${ACTIVE_SQL}
       returning ${ENDED_RUN_COLUMNS}`,
      [errorCodeName(code), message, now, now, runId],
    );
    for (const row of failed) recordRunEnded(this.d.metrics, endedRun(row), now);
    this.d.waiters.notify(runId);
  }

  /**
   * Apply one RunUpdate. Idempotent: per-object errors are keyed by (run, update seq, index) and
   * inserted even from an old update; counts and status only move forward (highest seq wins) and
   * a finished run stays finished. The cursor is stored only from a COMPLETED FULL/DELTA update.
   */
  async applyUpdate(update: RunUpdate): Promise<'applied' | 'stale' | 'finished' | 'unknown'> {
    if (!isUuid(update.runId)) return 'unknown';
    const t = this.d.tables;
    const now = this.d.clock();
    let ended: EndedRun | undefined;
    let overruled = false;
    const result = await this.d.orm.em.fork().transactional(async (tem) => {
      const q = sql(tem);
      const [run] = await q<{
        directory_id: string;
        mode: RunMode;
        status: RunStatus;
        update_seq: string;
        queued_at: Date;
        dry_run: boolean;
        error_code: string | null;
      }>(
        `select directory_id, mode, status, update_seq, queued_at, dry_run, error_code from ${t.runs}
         where id = ? for update`,
        [update.runId],
      );
      if (!run) return 'unknown' as const;
      if (update.directoryId && update.directoryId !== run.directory_id) {
        this.d.logger.warn(
          { runId: update.runId, directoryId: update.directoryId },
          'RunUpdate names another directory than its run; ignored',
        );
        return 'unknown' as const;
      }
      if (update.errors.length > 0) {
        const rows = update.errors.map((e, idx) => ({
          idx,
          external_id: clean(e.externalId),
          source_locator: clean(e.sourceLocator),
          code: errorCodeName(e.code),
          message: clean(e.message),
        }));
        await q(
          `insert into ${t.runErrors} (run_id, update_seq, idx, external_id, source_locator, code, message)
           select ?, ?, x.idx, x.external_id, x.source_locator, x.code, x.message
             from jsonb_to_recordset(?::jsonb)
               as x(idx int, external_id text, source_locator text, code text, message text)
           on conflict (run_id, update_seq, idx) do nothing`,
          [update.runId, update.seq, JSON.stringify(rows)],
        );
      }
      const status = statusOf(update.status);
      // Sync failed the run itself, but identity ended it otherwise — the connector's RunCompleted
      // reached the stream before sync's verdict: identity's outcome (removals committed, a plan
      // held) is what happened, so it is recorded over the verdict. Counted once in the metrics,
      // as the failure.
      const overrule =
        run.status === 'FAILED' &&
        SYNC_VERDICTS.has(run.error_code ?? '') &&
        (status === 'COMPLETED' || status === 'BLOCKED');
      if (overrule) {
        overruled = true;
        this.d.logger.warn(
          { runId: update.runId, directoryId: run.directory_id, verdict: run.error_code, status },
          'identity ended a run that sync had failed; its outcome is recorded',
        );
        // (Straight to identity's final status below: another run may be active by now.)
        await q(`update ${t.runs} set error_code = null, error_message = null where id = ?`, [
          update.runId,
        ]);
      } else if (isFinal(run.status)) {
        // A BLOCKED run moves once more: approved (COMPLETED), rejected or superseded (REJECTED).
        const decided =
          run.status === 'BLOCKED' &&
          update.seq > Number(run.update_seq) &&
          (status === 'COMPLETED' || status === 'REJECTED');
        if (!decided) return 'finished' as const;
        await this.applyDecision(q, update, status);
        return 'applied' as const;
      }
      if (update.seq <= Number(run.update_seq) && !overrule) return 'stale' as const;

      const final = isFinal(status);
      const sets: string[] = [
        'update_seq = ?',
        'status = ?',
        'last_update_at = ?',
        'started_at = coalesce(started_at, ?)',
      ];
      const params: unknown[] = [update.seq, status, now, now];
      if (update.counts) {
        for (const f of COUNT_FIELDS) {
          sets.push(`${snake(f)} = ?`);
          params.push(Math.min(update.counts[f], INT32_MAX));
        }
      }
      if (final) {
        sets.push('finished_at = ?');
        params.push(now);
        ended = {
          directoryId: run.directory_id,
          mode: run.mode,
          status,
          errorCode:
            status === 'FAILED' ? errorCodeName(update.error?.code ?? ErrorCode.INTERNAL) : null,
          queuedAt: run.queued_at,
          counts: update.counts,
          removals: status === 'BLOCKED' ? update.removals : undefined,
        };
      }
      if (status === 'BLOCKED' || (status === 'COMPLETED' && run.dry_run && update.removals)) {
        // The cursor is not stored: the run's removals, part of what it read, are not applied.
        // A dry run keeps the plan of the block a real run would have hit.
        sets.push('removals = ?::jsonb');
        params.push(JSON.stringify(storedRemovals(update.removals)));
      }
      if (status === 'FAILED') {
        sets.push('error_code = ?', 'error_message = ?');
        params.push(
          errorCodeName(update.error?.code ?? ErrorCode.INTERNAL),
          clean(update.error?.message ?? 'the run failed'),
        );
      }
      if (status === 'COMPLETED' || status === 'BLOCKED') {
        // A blocked run read to its end like a completed one: how it read is part of its plan.
        sets.push('read_mode = ?', 'full_read_reason = ?');
        params.push(
          READ_MODE[update.readMode] ?? run.mode,
          FULL_READ_REASON[update.fullReadReason] ?? null,
        );
      }
      if (status === 'COMPLETED' && run.mode === 'USER') {
        sets.push('user_outcome = ?', 'user_id = ?');
        params.push(USER_OUTCOME[update.userOutcome] ?? null, update.userId || null);
      }
      if (status === 'COMPLETED' && run.mode === 'ADMIN') {
        sets.push('admin_outcome = ?', 'admin_id = ?');
        params.push(USER_OUTCOME[update.adminOutcome] ?? null, update.adminId || null);
      }
      await q(`update ${t.runs} set ${sets.join(', ')} where id = ?`, [...params, update.runId]);
      // A dry run never moves the cursor (identity sends none for it either). An overruled run's
      // cursor is stored unless a later run of the directory has completed since (identity
      // applies a directory's runs in order, so that is a safeguard, not the rule).
      if (status === 'COMPLETED' && !run.dry_run && (run.mode === 'FULL' || run.mode === 'DELTA')) {
        await q(
          `update ${t.directories} set cursor = ? where id = ?
             and not (?::boolean and exists (
               select 1 from ${t.runs} later
                where later.directory_id = ? and later.queued_at > ?
                  and later.status = 'COMPLETED' and later.mode in ('FULL', 'DELTA')
                  and not later.dry_run))`,
          [clean(update.cursor), run.directory_id, overrule, run.directory_id, run.queued_at],
        );
      }
      return 'applied' as const;
    });
    if (result === 'applied' && ended && !overruled) recordRunEnded(this.d.metrics, ended, now);
    if (result === 'applied' || result === 'finished') this.d.waiters.notify(update.runId);
    return result;
  }

  /**
   * The decision on a BLOCKED run, from its final RunUpdate (identity's reply to
   * approveRun/rejectRun, or the same update from the stream, or a supersession): status, counts
   * (an approval adds the removals it applied), who decided and when. The cursor stays where it
   * is: later runs may have moved it on since the run was blocked.
   */
  private async applyDecision(
    q: ReturnType<typeof sql>,
    update: RunUpdate,
    status: 'COMPLETED' | 'REJECTED',
  ): Promise<void> {
    const now = this.d.clock();
    const sets = ['update_seq = ?', 'status = ?', 'last_update_at = ?'];
    const params: unknown[] = [update.seq, status, now];
    if (update.counts) {
      for (const f of COUNT_FIELDS) {
        sets.push(`${snake(f)} = ?`);
        params.push(Math.min(update.counts[f], INT32_MAX));
      }
    }
    const decision = DECISION[update.decision] ?? null;
    sets.push('decision = ?', 'decided_by = ?', 'decided_at = ?', 'superseded_by = ?');
    params.push(
      decision,
      decision ? clean(update.decidedBy) || null : null,
      decision ? now : null,
      isUuid(update.supersededBy) ? update.supersededBy : null,
    );
    await q(`update ${this.d.tables.runs} set ${sets.join(', ')} where id = ?`, [
      ...params,
      update.runId,
    ]);
    this.d.logger.info(
      { runId: update.runId, directoryId: update.directoryId, status, decision },
      decision ? 'blocked run decided' : 'blocked run superseded',
    );
  }

  /**
   * Approve or reject a BLOCKED run: identity applies it (RunDecision request/reply) and answers
   * with the run's final RunUpdate, which is recorded here at once (the same update also arrives
   * through the stream and is then stale). Throws NOT_FOUND, RUN_NOT_BLOCKED, RUN_SUPERSEDED, or
   * TIMEOUT when identity does not answer (the decision may still be applied: follow run(id)).
   */
  async decide(runId: string, decision: RunDecisionName, actor: string): Promise<Run> {
    const run = await this.get(runId);
    if (!run) throw apiError(ApiErrorCode.NOT_FOUND, `run ${runId} not found`);
    if (run.supersededBy) {
      throw apiError(
        errorCodeName(ErrorCode.RUN_SUPERSEDED),
        `run ${runId} was superseded by run ${run.supersededBy}, a later sync that read the source again; nothing was removed`,
        { runId, supersededBy: run.supersededBy },
      );
    }
    if (run.status !== 'BLOCKED') {
      throw apiError(
        errorCodeName(ErrorCode.RUN_NOT_BLOCKED),
        `run ${runId} is ${run.status}${run.decision ? ` (${run.decision})` : ''}, not BLOCKED; only a blocked run can be approved or rejected`,
        { runId, status: run.status },
      );
    }
    if (decision === 'APPROVE') {
      // The plan was made with the settings of its time: a filter, base or group list fixed
      // since would have it remove people the source still has. Rejecting stays possible.
      const [dir] = await sql(this.d.orm.em.fork())<{ scope_changed_at: Date | null }>(
        `select scope_changed_at from ${this.d.tables.directories} where id = ?`,
        [run.directoryId],
      );
      if (dir?.scope_changed_at && new Date(dir.scope_changed_at) > run.queuedAt) {
        throw apiError(
          errorCodeName(ErrorCode.RUN_SUPERSEDED),
          `run ${runId} was planned before the directory's settings changed (server, bases, filter, selected groups, mapping or role groups, at ${new Date(dir.scope_changed_at).toISOString()}): its plan is stale and cannot be approved. Reject it, and run a new sync with the current settings`,
          { runId, scopeChangedAt: new Date(dir.scope_changed_at).toISOString() },
        );
      }
    }
    const request = create(RunDecisionRequestSchema, {
      runId,
      directoryId: run.directoryId,
      decision: decision === 'APPROVE' ? ProtoRunDecision.APPROVE : ProtoRunDecision.REJECT,
      actor,
    });
    let reply;
    try {
      const msg = await this.d.nc.request(
        subject(Subject.RUN_DECISIONS, { directory_id: run.directoryId }, this.d.natsNamespace),
        toBinary(RunDecisionRequestSchema, request),
        { timeout: DECISION_TIMEOUT_MS },
      );
      reply = fromBinary(RunDecisionReplySchema, msg.data);
    } catch (err) {
      this.d.logger.warn({ err, runId }, 'identity did not answer a run decision');
      throw apiError(
        ApiErrorCode.TIMEOUT,
        `the identity service did not answer within ${DECISION_TIMEOUT_MS / 1000} s; the decision may still be applied: follow run(id)`,
        { runId },
      );
    }
    if (reply.result.case === 'error') {
      const e = reply.result.value;
      const code =
        e.code === ErrorCode.DIRECTORY_NOT_FOUND ? ApiErrorCode.NOT_FOUND : errorCodeName(e.code);
      throw apiError(code, clean(e.message), { runId });
    }
    if (reply.result.case !== 'update') {
      throw apiError(ApiErrorCode.INTERNAL, 'the identity service gave no answer', { runId });
    }
    await this.applyUpdate(reply.result.value);
    return this.d.orm.em.fork().findOneOrFail(Run, { id: runId });
  }

  /**
   * Fail active runs without an update for the run timeout: QUEUED and never picked up means no
   * connector took the job; otherwise the connector (or identity) stopped reporting. A run whose
   * connector has reported its terminal event PUBLISHED has the longer published-run timeout: its
   * events are in JetStream and identity applies them however late (an outage, a backlog), so it
   * waits for identity — but not forever, as they can be lost (a purge, the stream's age limit).
   * A picked-up run failed here is failed in identity too (`publishVerdict`): identity ends it as
   * FAILED unless the connector's RunCompleted is ahead of the verdict in the stream, and then
   * identity's outcome is recorded over this one when it comes (`applyUpdate`).
   */
  async sweepTimeouts(): Promise<string[]> {
    const now = this.d.clock();
    const secs = this.d.runTimeoutSeconds;
    const published = this.d.publishedRunTimeoutSeconds;
    const rows = await sql(this.d.orm.em.fork())<
      EndedRunRow & { id: string; picked_up: boolean; error_message: string }
    >(
      `update ${this.d.tables.runs}
          set status = 'FAILED', error_code = ?, finished_at = ?,
              error_message = case
                when connector_published_at is not null then ?
                when started_at is null and update_seq = 0 then ?
                else ? end
        where status in ${ACTIVE_SQL}
          and case when connector_published_at is null
                then coalesce(last_update_at, queued_at) < ?::timestamptz - ? * interval '1 second'
                else greatest(connector_published_at, coalesce(last_update_at, queued_at))
                       < ?::timestamptz - ? * interval '1 second' end
        returning id, (started_at is not null or heartbeat_at is not null) as picked_up,
          error_message, ${ENDED_RUN_COLUMNS}`,
      [
        errorCodeName(ErrorCode.RUN_TIMEOUT),
        now,
        `the connector published the whole run, but identity has not applied it for ${published} s ` +
          "(identity down or stalled, or the run's events lost); should identity apply it later, " +
          'what it does is recorded then',
        `no connector picked the job up within ${secs} s`,
        `the connector stopped reporting: no update for ${secs} s`,
        now,
        secs,
        now,
        published,
      ],
    );
    for (const row of rows) {
      const id = row.id;
      this.d.logger.warn({ runId: id, directoryId: row.directory_id }, 'run timed out');
      recordRunEnded(this.d.metrics, endedRun(row), now);
      this.d.waiters.notify(id);
      if (row.picked_up) {
        await this.publishVerdict(id, row.directory_id, ErrorCode.RUN_TIMEOUT, row.error_message);
      }
    }
    return rows.map((r) => r.id);
  }

  /**
   * Keep this replica's leases: renew the leases of its active runs, adopt active runs whose
   * replica released them (graceful stop), and fail active runs whose lease has expired (their
   * replica was killed or cut off) with LEASE_EXPIRED. Returns the ids of the runs it failed.
   */
  async maintainLeases(): Promise<string[]> {
    const now = this.d.clock();
    const t = this.d.tables;
    const q = sql(this.d.orm.em.fork());
    const me = this.d.replicaId;
    const secs = this.d.leaseSeconds;
    await q(
      `update ${t.runs} set lease_owner = ?, lease_expires_at = ?::timestamptz + ? * interval '1 second'
        where status in ${ACTIVE_SQL} and (lease_owner = ? or lease_owner is null)`,
      [me, now, secs, me],
    );
    // A run whose connector has published its terminal event is identity's to end (it will
    // apply it): its expired lease is adopted, not failed.
    const adopted = await q<{ id: string; directory_id: string; lease_owner: string }>(
      `update ${t.runs} r set lease_owner = ?, lease_expires_at = ?::timestamptz + ? * interval '1 second'
         from (select id, lease_owner from ${t.runs}
                where status in ${ACTIVE_SQL} and lease_owner <> ? and lease_expires_at < ?
                  and connector_published_at is not null for update) old
        where r.id = old.id
        returning r.id, r.directory_id, old.lease_owner`,
      [me, now, secs, me, now],
    );
    for (const row of adopted) {
      this.d.logger.warn(
        { runId: row.id, directoryId: row.directory_id, leaseOwner: row.lease_owner },
        'run lease expired after its connector published everything; adopted, identity ends it',
      );
    }
    // A renewal that commits first is seen here (the row is re-checked after its lock).
    const failed = await q<
      EndedRunRow & { id: string; lease_owner: string; picked_up: boolean; error_message: string }
    >(
      `update ${t.runs}
          set status = 'FAILED', error_code = ?, finished_at = ?, last_update_at = ?,
              error_message = 'the sync replica "' || lease_owner || '" responsible for the run ' ||
                'stopped renewing its lease (killed, or cut off from the database); the run was ' ||
                'failed so that the directory is not left locked. Nobody was removed'
        where status in ${ACTIVE_SQL} and lease_owner <> ? and lease_expires_at < ?
          and connector_published_at is null
        returning id, lease_owner, (started_at is not null or heartbeat_at is not null) as picked_up,
          error_message, ${ENDED_RUN_COLUMNS}`,
      [errorCodeName(ErrorCode.LEASE_EXPIRED), now, now, me, now],
    );
    for (const row of failed) {
      this.d.logger.warn(
        { runId: row.id, directoryId: row.directory_id, leaseOwner: row.lease_owner },
        'run lease expired; run failed',
      );
      recordRunEnded(this.d.metrics, endedRun(row), now);
      this.d.waiters.notify(row.id);
      if (row.picked_up) {
        await this.publishVerdict(
          row.id,
          row.directory_id,
          ErrorCode.LEASE_EXPIRED,
          row.error_message,
        );
      }
    }
    return failed.map((r) => r.id);
  }

  /**
   * Record a connector's heartbeat: each named run that is still active (and of that directory)
   * gets `heartbeat_at` = now and the connector's kind and instance; a run reported PUBLISHED
   * keeps `connector_published_at` (its connector's part is done). The first heartbeat of a run
   * is its pickup, like a config request: the run is RUNNING and its timeout restarts. Returns
   * the named runs that are not active (finished, unknown, or of another directory).
   */
  async recordHeartbeat(report: HeartbeatReport): Promise<string[]> {
    return (await this.recordRunHeartbeats(report)).ended;
  }

  /**
   * `recordHeartbeat`, also returning the runs the connector holds: active and not reported
   * PUBLISHED (what its presence lists).
   */
  async recordRunHeartbeats(report: HeartbeatReport): Promise<{ ended: string[]; held: string[] }> {
    const named = report.runs.filter((r) => isUuid(r.runId) && isUuid(r.directoryId));
    const notUuid = report.runs.filter((r) => !named.includes(r)).map((r) => r.runId);
    if (named.length === 0) return { ended: notUuid, held: [] };
    const now = this.d.clock();
    const rows = await sql(this.d.orm.em.fork())<{ id: string; published: boolean }>(
      `update ${this.d.tables.runs} r
          set heartbeat_at = ?, connector_kind = ?, connector_instance = ?,
              connector_published_at = case when x.published
                then coalesce(r.connector_published_at, ?) else r.connector_published_at end,
              last_update_at = case when r.heartbeat_at is null then ? else r.last_update_at end,
              status = 'RUNNING', started_at = coalesce(r.started_at, ?)
         from jsonb_to_recordset(?::jsonb) as x(id uuid, directory_id uuid, published boolean)
        where r.id = x.id and r.directory_id = x.directory_id and r.status in ${ACTIVE_SQL}
        returning r.id, x.published`,
      [
        now,
        clean(report.connectorKind),
        clean(report.instanceId),
        now,
        now,
        now,
        JSON.stringify(
          named.map((r) => ({ id: r.runId, directory_id: r.directoryId, published: r.published })),
        ),
      ],
    );
    const active = new Set(rows.map((r) => r.id));
    return {
      ended: [...notUuid, ...named.filter((r) => !active.has(r.runId)).map((r) => r.runId)],
      held: rows.filter((r) => !r.published).map((r) => r.id),
    };
  }

  /**
   * Fail QUEUED runs nobody can take: never picked up (no heartbeat, no config request), queued
   * for at least `noConnectorSeconds`, and no connector process of the directory's kind has
   * reported in (presence, `connectors` table) for as long — so none is running. A connector of
   * the kind that is alive but busy keeps the run waiting (jobs queue behind each other; the run
   * timeout covers that). NO_CONNECTOR, with a message naming the kind and what to start;
   * nobody is removed (nothing was read), and a connector that takes the job later is told at
   * pickup that the run has ended and drops it. `runId`: that run only, however long it has
   * waited (syncUser / syncAdmin, which wait for their run, answer at once). Returns the ids.
   */
  async sweepNoConnector(runId?: string): Promise<string[]> {
    const secs = this.d.noConnectorSeconds;
    if (secs <= 0) return [];
    if (runId !== undefined && !isUuid(runId)) return [];
    const now = this.d.clock();
    const t = this.d.tables;
    const rows = await sql(this.d.orm.em.fork())<EndedRunRow & { id: string; kind: string }>(
      `update ${t.runs} r
          set status = 'FAILED', error_code = ?, finished_at = ?, last_update_at = ?,
              error_message = 'no connector-' || lower(d.kind) || ' process has reported in the ' ||
                'last ' || ?::int || ' s, so nothing can take the job: start services/connector-' ||
                lower(d.kind) || ' (npm start -w @dirsync/connector-' || lower(d.kind) || ') with ' ||
                'the same NATS_URL and NATS_NAMESPACE as the sync service, then sync again. ' ||
                'Nothing was read and nobody was removed'
         from ${t.directories} d
        where d.id = r.directory_id and r.status = 'QUEUED'
          and r.heartbeat_at is null and r.started_at is null
          and (?::uuid is null or r.id = ?::uuid)
          and (?::uuid is not null or r.queued_at <= ?::timestamptz - ? * interval '1 second')
          and not exists (
            select 1 from ${t.connectors} c
             where c.kind = lower(d.kind)
               and c.last_seen_at > ?::timestamptz - ? * interval '1 second')
        returning r.id, lower(d.kind) as kind, ${ENDED_RUN_COLUMNS.split(', ')
          .map((c) => `r.${c}`)
          .join(', ')}`,
      [
        errorCodeName(ErrorCode.NO_CONNECTOR),
        now,
        now,
        secs,
        runId ?? null,
        runId ?? null,
        runId ?? null,
        now,
        secs,
        now,
        secs,
      ],
    );
    for (const row of rows) {
      this.d.logger.warn(
        { runId: row.id, directoryId: row.directory_id, connector: row.kind },
        'no connector of the kind is running; run failed',
      );
      recordRunEnded(this.d.metrics, endedRun(row), now);
      this.d.waiters.notify(row.id);
    }
    return rows.map((r) => r.id);
  }

  /**
   * Fail active runs whose connector went silent: it reported the run (so it heartbeats), has
   * not reported it PUBLISHED, and neither it nor identity (a RunUpdate, which counts as
   * liveness too) has said anything for `connectorLostSeconds`. CONNECTOR_LOST, with the
   * connector's kind and instance in the message; nobody is removed (identity never got a
   * terminal event). Identity is told with a RunFailed of its own on the directory's events
   * subject (`publishVerdict`), so it ends the run too and ignores its late events. Returns the ids.
   */
  async sweepLostConnectors(): Promise<string[]> {
    const secs = this.d.connectorLostSeconds;
    if (secs <= 0) return [];
    const now = this.d.clock();
    const rows = await sql(this.d.orm.em.fork())<
      EndedRunRow & {
        id: string;
        connector_kind: string;
        connector_instance: string;
        error_message: string;
      }
    >(
      `update ${this.d.tables.runs}
          set status = 'FAILED', error_code = ?, finished_at = ?, last_update_at = ?,
              error_message = 'the ' || coalesce(connector_kind, 'unknown') || ' connector "' ||
                coalesce(connector_instance, 'unknown') || '" working on the run stopped sending ' ||
                'heartbeats (none for ' || ?::int || ' s, and no progress from identity): it was ' ||
                'killed, crashed or lost its NATS connection. Nobody was removed; the directory ' ||
                'can sync again'
        where status in ${ACTIVE_SQL} and heartbeat_at is not null
          and connector_published_at is null
          and greatest(heartbeat_at, coalesce(last_update_at, heartbeat_at))
                < ?::timestamptz - ? * interval '1 second'
        returning id, connector_kind, connector_instance, error_message, ${ENDED_RUN_COLUMNS}`,
      [errorCodeName(ErrorCode.CONNECTOR_LOST), now, now, secs, now, secs],
    );
    for (const row of rows) {
      this.d.logger.warn(
        {
          runId: row.id,
          directoryId: row.directory_id,
          connector: row.connector_kind,
          instanceId: row.connector_instance,
        },
        'connector lost; run failed',
      );
      this.d.metrics?.connectorsLost.inc({ connector: row.connector_kind ?? '' });
      recordRunEnded(this.d.metrics, endedRun(row), now);
      this.d.waiters.notify(row.id);
      await this.publishVerdict(
        row.id,
        row.directory_id,
        ErrorCode.CONNECTOR_LOST,
        row.error_message,
      );
    }
    return rows.map((r) => r.id);
  }

  /**
   * Tell identity that this service failed a run (CONNECTOR_LOST, RUN_TIMEOUT, LEASE_EXPIRED): a
   * RunFailed with seq SYNC_VERDICT_SEQ on the directory's events subject, applied in order after
   * whatever the connector published. Identity then fails the run (nobody removed) and ignores its
   * later events — a connector that was only cut off cannot complete it there. Should the
   * connector's RunCompleted have reached the stream first (it published just before the
   * verdict), identity completes the run, and its final update is recorded over sync's verdict
   * (`applyUpdate`): what identity committed is what happened. Best effort: without it, identity
   * still ends the run when the directory's next run starts.
   */
  private async publishVerdict(
    runId: string,
    directoryId: string,
    code: ErrorCode,
    message: string,
  ): Promise<void> {
    const event = create(DirectoryEventSchema, {
      runId,
      directoryId,
      seq: SYNC_VERDICT_SEQ,
      emittedAtMs: BigInt(this.d.clock().getTime()),
      body: { case: 'runFailed', value: { error: { code, message } } },
    });
    try {
      await this.d.js.publish(
        subject(Subject.EVENTS, { directory_id: directoryId }, this.d.natsNamespace),
        toBinary(DirectoryEventSchema, event),
        { msgID: eventMsgId(runId, SYNC_VERDICT_SEQ), timeout: 5_000 },
      );
    } catch (err) {
      this.d.logger.warn(
        { err, runId, directoryId },
        'could not tell identity that the run failed; it ends the run when the next one starts',
      );
    }
  }

  /** Give up this replica's leases (graceful stop): a live replica adopts the runs. */
  async releaseLeases(): Promise<void> {
    await sql(this.d.orm.em.fork())(
      `update ${this.d.tables.runs} set lease_owner = null, lease_expires_at = null
        where lease_owner = ? and status in ${ACTIVE_SQL}`,
      [this.d.replicaId],
    );
  }

  /**
   * Record that a connector picked the run up (it asked for the config): the run is RUNNING and
   * its timeout restarts. Only an active run of that directory moves. Returns the run's error
   * when it has already ended (e.g. NO_CONNECTOR, RUN_TIMEOUT): the config request is refused,
   * so a job taken after its run ended is never read.
   */
  async markPickedUp(
    runId: string,
    directoryId: string,
  ): Promise<{ status: string; errorCode: string | null } | undefined> {
    if (!isUuid(runId)) return undefined;
    const now = this.d.clock();
    const q = sql(this.d.orm.em.fork());
    const moved = await q(
      `update ${this.d.tables.runs}
          set status = 'RUNNING', started_at = coalesce(started_at, ?), last_update_at = ?
        where id = ? and directory_id = ? and status in ${ACTIVE_SQL}
        returning id`,
      [now, now, runId, directoryId],
    );
    if (moved.length > 0) return undefined;
    const [ended] = await q<{ status: string; error_code: string | null }>(
      `select status, error_code from ${this.d.tables.runs} where id = ? and directory_id = ?`,
      [runId, directoryId],
    );
    return ended && { status: ended.status, errorCode: ended.error_code };
  }

  /** The run once it is final, or `undefined` after `timeoutMs`. Works across replicas (polls). */
  async waitForFinal(runId: string, timeoutMs: number, pollMs = 500): Promise<Run | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.closing) return undefined;
      const run = await this.get(runId);
      if (run && isFinal(run.status)) return run;
      const left = deadline - Date.now();
      if (left <= 0 || this.closing) return undefined;
      await this.d.waiters.wait(runId, Math.min(pollMs, left));
    }
  }
}

/** What `recordRunEnded` needs from a row a statement just ended (`returning …`). */
/** Failures sync decides on its own (identity may not have seen them when it ended the run). */
const SYNC_VERDICTS = new Set(
  [ErrorCode.RUN_TIMEOUT, ErrorCode.LEASE_EXPIRED, ErrorCode.CONNECTOR_LOST].map(errorCodeName),
);

const ENDED_RUN_COLUMNS = 'directory_id, mode, status, error_code, queued_at';
type EndedRunRow = {
  directory_id: string;
  mode: string;
  status: string;
  error_code: string | null;
  queued_at: Date;
};
const endedRun = (row: EndedRunRow): EndedRun => ({
  directoryId: row.directory_id,
  mode: row.mode,
  status: row.status,
  errorCode: row.error_code,
  queuedAt: row.queued_at,
});

function statusOf(s: ProtoRunStatus): RunStatus {
  switch (s) {
    case ProtoRunStatus.COMPLETED:
      return 'COMPLETED';
    case ProtoRunStatus.FAILED:
      return 'FAILED';
    case ProtoRunStatus.BLOCKED:
      return 'BLOCKED';
    case ProtoRunStatus.REJECTED:
      return 'REJECTED';
    default:
      return 'RUNNING';
  }
}

const DECISION: Partial<Record<ProtoRunDecision, RunDecisionName>> = {
  [ProtoRunDecision.APPROVE]: 'APPROVE',
  [ProtoRunDecision.REJECT]: 'REJECT',
};

/** A RemovalPlan as `runs.removals` stores it. */
function storedRemovals(plan: RemovalPlan | undefined): StoredRemovals {
  return {
    users: plan?.users ?? 0,
    memberships: plan?.memberships ?? 0,
    groups: plan?.groups ?? 0,
    baseUsers: plan?.baseUsers ?? 0,
    baseMemberships: plan?.baseMemberships ?? 0,
    admins: plan?.admins ?? 0,
    baseAdmins: plan?.baseAdmins ?? 0,
    reason: clean(plan?.reason ?? ''),
    maxCount: plan?.threshold?.maxCount ?? 0,
    maxPercent: plan?.threshold?.maxPercent ?? 0,
  };
}

function snake(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
