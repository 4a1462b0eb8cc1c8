import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import {
  ConnectorHeartbeatReplySchema,
  ConnectorHeartbeatSchema,
  RunHeartbeatSchema,
  RunPhase,
  Subject,
  create,
  fromBinary,
  subject,
  toBinary,
} from '@dirsync/proto';
import type { NatsConnection } from 'nats';
import type { Logger } from '../logger.js';

/** How often a connector reports the runs it works on, unless configured (CONNECTOR_HEARTBEAT_SECONDS). */
export const DEFAULT_HEARTBEAT_SECONDS = 5;

/** What the sync service said about a run: still active, ended, or nobody answered. */
export type RunLiveness = 'active' | 'ended' | 'unknown';

/** A PUBLISHED run nobody acknowledges (no sync replica) is given up after this long. */
const PUBLISHED_GIVE_UP_MS = 10 * 60_000;

export interface HeartbeatOptions {
  nc: NatsConnection;
  namespace: string;
  kind: string;
  /** Names this process in CONNECTOR_LOST messages. */
  instanceId: string;
  intervalMs: number;
  /** The connector's version, reported with its presence ("" = not said). */
  version?: string;
  logger: Logger;
  /**
   * A run still being read that the sync service says has ended (it failed the run while this
   * process was cut off, or the run timed out): the worker stops reading it.
   */
  onEnded?: (runId: string) => void;
}

/**
 * The connector side of liveness (proto `liveness.proto`): this process's presence and the runs
 * it works on, reported to the sync service when it starts, at pickup and then every interval
 * — also while idle, so the sync service knows a connector of the kind is running (NO_CONNECTOR
 * otherwise) — over core NATS request/reply, and once `stopping` when it stops. A failed request
 * is only logged: a heartbeat is worth nothing once the next one is due, and the sync service
 * waits several intervals of silence before it gives up on a run or an instance.
 */
export interface Heartbeats {
  /** Track a run just picked up and report it at once. */
  pickUp(runId: string, directoryId: string): Promise<RunLiveness>;
  /** Events of the run JetStream has acknowledged so far (sent with the next heartbeat). */
  progress(runId: string, publishedSeq: number): void;
  /** Report now and tell whether the run is still active (before its RunCompleted). */
  check(runId: string): Promise<RunLiveness>;
  /**
   * The run's terminal event was acknowledged: report it PUBLISHED — at once and, until a sync
   * replica has answered, with every later heartbeat — then stop reporting it.
   */
  published(runId: string, publishedSeq: number): void;
  /** Stop reporting a run without a terminal event (none could be published). */
  drop(runId: string): void;
  /**
   * Report presence at once (resolves once answered or given up on, at most one request
   * timeout) and then every interval.
   */
  start(): Promise<void>;
  /**
   * Stop the timer after one last report — what is left (PUBLISHED runs) and `stopping`, so the
   * sync service forgets this instance at once (best effort).
   */
  stop(): Promise<void>;
}

interface Tracked {
  directoryId: string;
  phase: RunPhase;
  publishedSeq: number;
  publishedAt?: number;
}

/** A process name unique enough to tell connector processes (and restarts of one) apart. */
export function defaultInstanceId(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .slice(0, 60) || 'connector';
  return `${host}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

export function createHeartbeats(opts: HeartbeatOptions): Heartbeats {
  const { nc, kind, instanceId, logger } = opts;
  const intervalMs = Math.max(100, opts.intervalMs);
  // A heartbeat answered later than the next one is due is of no use.
  const requestTimeoutMs = Math.min(2_000, intervalMs);
  const hbSubject = subject(Subject.HEARTBEATS, { connector_kind: kind }, opts.namespace);
  const runs = new Map<string, Tracked>();
  let timer: NodeJS.Timeout | undefined;
  let lastProblem: string | undefined;
  let startedAtMs = 0n;
  let stopping = false;

  /**
   * Report every tracked run; the ids the sync service says have ended, undefined without an
   * answer. `notify`: tell `onEnded` about ended runs (the timer's reports; a caller of
   * pickUp/check decides itself). Sent with no run too: that is the process's presence.
   */
  async function beat(notify: boolean): Promise<Set<string> | undefined> {
    const sent = [...runs.entries()];
    const message = create(ConnectorHeartbeatSchema, {
      connectorKind: kind,
      instanceId,
      sentAtMs: BigInt(Date.now()),
      startedAtMs,
      version: opts.version ?? '',
      intervalMs,
      stopping,
      runs: sent.map(([runId, r]) =>
        create(RunHeartbeatSchema, {
          runId,
          directoryId: r.directoryId,
          phase: r.phase,
          publishedSeq: r.publishedSeq,
        }),
      ),
    });
    let ended: Set<string>;
    try {
      const reply = await nc.request(hbSubject, toBinary(ConnectorHeartbeatSchema, message), {
        timeout: requestTimeoutMs,
      });
      ended = new Set(fromBinary(ConnectorHeartbeatReplySchema, reply.data).endedRunIds);
      lastProblem = undefined;
    } catch (err) {
      const problem =
        (err as { code?: string }).code === '503' ? 'no sync replica answers' : String(err);
      // Once per kind of trouble, not every interval.
      if (problem !== lastProblem)
        logger.warn({ subject: hbSubject, problem }, 'heartbeat not answered');
      lastProblem = problem;
      const now = Date.now();
      for (const [runId, r] of sent) {
        if (r.publishedAt !== undefined && now - r.publishedAt > PUBLISHED_GIVE_UP_MS)
          runs.delete(runId);
      }
      return undefined;
    }
    for (const [runId, r] of sent) {
      const current = runs.get(runId);
      if (!current) continue;
      // A PUBLISHED report that was answered is recorded: nothing more to say about the run.
      if (r.phase === RunPhase.PUBLISHED && current.phase === RunPhase.PUBLISHED) {
        runs.delete(runId);
      } else if (ended.has(runId)) {
        runs.delete(runId);
        // A run whose terminal event is out has nothing left to stop.
        if (notify && current.phase === RunPhase.READING) opts.onEnded?.(runId);
      }
    }
    return ended;
  }

  const liveness = (ended: Set<string> | undefined, runId: string): RunLiveness =>
    ended === undefined ? 'unknown' : ended.has(runId) ? 'ended' : 'active';

  return {
    async pickUp(runId, directoryId) {
      runs.set(runId, { directoryId, phase: RunPhase.READING, publishedSeq: 0 });
      const ended = await beat(false);
      return liveness(ended, runId);
    },
    progress(runId, publishedSeq) {
      const r = runs.get(runId);
      if (r && r.phase === RunPhase.READING) r.publishedSeq = publishedSeq;
    },
    async check(runId) {
      if (!runs.has(runId)) return 'unknown';
      return liveness(await beat(false), runId);
    },
    published(runId, publishedSeq) {
      const r = runs.get(runId);
      if (!r) return;
      r.phase = RunPhase.PUBLISHED;
      r.publishedSeq = publishedSeq;
      r.publishedAt = Date.now();
      void beat(true);
    },
    drop(runId) {
      runs.delete(runId);
    },
    async start() {
      if (timer) return;
      startedAtMs = BigInt(Date.now());
      stopping = false;
      timer = setInterval(() => void beat(true), intervalMs);
      timer.unref();
      await beat(true);
    },
    async stop() {
      const wasStarted = timer !== undefined;
      if (timer) clearInterval(timer);
      timer = undefined;
      stopping = true;
      if ((wasStarted || runs.size > 0) && !nc.isClosed()) await beat(false);
    },
  };
}
