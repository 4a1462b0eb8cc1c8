import {
  AttributeMappingSchema,
  ConfigReplySchema,
  ConfigRequestSchema,
  DirectoryEventSchema,
  ErrorCode,
  ErrorInfoSchema,
  FullReadReason,
  RunCompletedSchema,
  RunFailedSchema,
  RunStartedSchema,
  Stream,
  Subject,
  SyncJobSchema,
  SyncMode,
  create,
  errorCodeName,
  eventMsgId,
  fromBinary,
  streamName,
  subject,
  toBinary,
  type DirectoryConfig,
  type DirectoryEvent,
  type DirectoryPolicy,
  type SyncJob,
} from '@dirsync/proto';
import { AckPolicy, nanos, type ConsumerMessages, type JsMsg, type NatsConnection } from 'nats';
import { DirsyncError } from '../errors.js';
import type { Logger } from '../logger.js';
import { connectorMetrics, type ConnectorMetrics, type Metrics } from '../metrics.js';
import { BoundedPublisher, ensureConsumer, ensureStreams } from '../nats.js';
import { createConnectionTestResponder, parseDirectorySettings } from './check.js';
import { DEFAULT_HEARTBEAT_SECONDS, createHeartbeats, defaultInstanceId } from './heartbeat.js';
import { BatchingSink, type ObservationBody } from './sink.js';
import {
  isCursorRejected,
  type DirectoryContext,
  type RunContext,
  type RunResult,
  type SourceConnector,
  type SourceReporter,
} from './types.js';

/** The protocol's cap on records per observation message (docs/architecture.md §3). */
export const MAX_BATCH_SIZE = 500;

export interface ConnectorWorkerOptions<S> {
  connector: SourceConnector<S>;
  nc: NatsConnection;
  /** NATS namespace of the deployment or test file ("" in production). */
  namespace?: string;
  logger: Logger;
  /** Defaults to `connector.kind`; the jobs subject is `dirsync.jobs.<kind>`. */
  kind?: string;
  /** Records per observation message, 1‥500 (default 500). */
  batchSize?: number;
  /** Unacknowledged publishes allowed at once (default 64). */
  maxInFlight?: number;
  /** How long to wait for the sync service's config reply (default 10 s). */
  configTimeoutMs?: number;
  /** How long `stop()` lets a run in hand finish before aborting it (default 20 s). */
  stopGraceMs?: number;
  /** Called after each run's terminal event was published (or could not be). */
  onRunEnd?: (outcome: RunOutcome) => void;
  /** Where runs, records read and source errors are counted (the service's `/metrics`). */
  metrics?: Metrics;
  /** This process's name in heartbeats and CONNECTOR_LOST messages (default host:pid:random). */
  instanceId?: string;
  /** How often presence and the runs in hand are reported to the sync service (default 5 s; heartbeat.ts). */
  heartbeatIntervalMs?: number;
  /** The connector's version, reported with its presence (the `connectors` query). */
  version?: string;
}

/** How one run ended, as the worker saw it. */
export interface RunOutcome {
  runId: string;
  directoryId: string;
  status: 'completed' | 'failed';
  /** Seq of the terminal event (0 when not even RunStarted could be published). */
  lastSeq: number;
  usersObserved: number;
  groupsObserved: number;
  objectErrors: number;
  /** DELTA runs: removals handed over. */
  usersRemoved: number;
  groupsRemoved: number;
  /** How the run read (a DELTA job served with a full read says FULL); UNSPECIFIED before config. */
  readMode: SyncMode;
  fullReadReason: FullReadReason;
  /** Entries the connector reported reading from the source. */
  entriesRead: number;
  /** Set when failed: the code name (e.g. "INVALID_CREDENTIALS") and the published message. */
  error?: { code: string; message: string };
  durationMs: number;
}

/**
 * A connector process's job loop. One job at a time per worker; scale out by running more
 * workers (they share the durable consumer, so each job goes to one of them).
 */
export interface ConnectorWorker {
  /**
   * Ensure the streams and the durable consumer, then start taking jobs and answering
   * connection tests (`dirsync.control.test.<kind>`, see `check.ts`).
   */
  start(): Promise<void>;
  /**
   * Stop taking jobs; let the run in hand finish within the grace period, else abort it and
   * publish its `RunFailed`; then resolve. Does not close the NATS connection (the caller owns it).
   */
  stop(): Promise<void>;
  /** Problems that make the worker unable to take jobs; empty when ready. */
  problems(): string[];
  /** The run being executed, if any. */
  readonly activeRunId: string | undefined;
  /** This process's name in heartbeats. */
  readonly instanceId: string;
}

/** The run was aborted by `stop()` after its grace period. */
class RunAbortedError extends Error {
  constructor() {
    super('the connector was stopped before the run finished');
    this.name = 'RunAbortedError';
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });

/**
 * The sync service had already ended the run when the connector asked (it failed the run while
 * this process was cut off, or the run timed out): reading stops and the run ends with RunFailed
 * instead of a RunCompleted that identity would act on.
 */
class RunEndedError extends Error {
  constructor() {
    super(
      'the sync service had already ended this run (it failed it — e.g. timed out, or took the connector for lost while it was cut off — or it ended otherwise); the connector stopped without completing it',
    );
    this.name = 'RunEndedError';
  }
}

/** Replaces every secret value in a text, so no message leaving the process carries one. */
export function secretScrubber(secrets: Record<string, string>): (text: string) => string {
  const values = Object.values(secrets)
    .filter((v) => v.length > 0)
    .sort((a, b) => b.length - a.length);
  if (values.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const v of values) if (out.includes(v)) out = out.split(v).join('[redacted]');
    return out;
  };
}

/**
 * Create the worker that runs `connector` for every job of its kind (docs/architecture.md):
 *
 * - durable pull consumer `connector-<kind>` on DIRSYNC_JOBS, filter `dirsync.jobs.<kind>`; a
 *   job is acked when it is picked up (at-most-once: a crash is caught by connector liveness
 *   or the run timeout);
 * - heartbeats (`heartbeat.ts`, proto liveness.proto): the process's presence from start to
 *   stop (also while idle; the last one says `stopping`), and the run is reported at pickup — a job
 *   whose run the sync service says has ended is dropped before anything is published —, every
 *   `heartbeatIntervalMs` while it is read, and PUBLISHED once its terminal event is
 *   acknowledged; a run the sync service ends meanwhile is stopped with RunFailed, and a run is
 *   completed only if the sync service does not say it has ended (no answer: completed);
 * - `ConfigRequest` on `dirsync.config.<directory>`; an error reply fails the run with its code,
 *   no answer within `configTimeoutMs` fails it as INTERNAL;
 * - `RunStarted` is always seq 1 and awaited — also when the config request failed (then
 *   without policy), so every run on the stream starts the same way;
 * - observation messages of at most `batchSize` records (a MembershipBatch counts member ids)
 *   and at most ~512 KiB, through a BoundedPublisher (`maxInFlight` unacknowledged);
 * - DELTA jobs: read in full when the connector does not offer delta or there is no cursor,
 *   and again in full (same run, same sink) when the connector throws `CursorRejectedError`;
 * - after a flush, `RunCompleted { last_seq, users_observed, groups_observed, cursor,
 *   read_mode, full_read_reason, entries_read, users_removed, groups_removed }`; any error →
 *   flush what was read → `RunFailed { code, message }`, secrets scrubbed from it, no cursor;
 * - connection tests of its kind (`createConnectionTestResponder`), answered concurrently with
 *   the job in hand.
 */
export function createConnectorWorker<S>(opts: ConnectorWorkerOptions<S>): ConnectorWorker {
  const { connector, nc, logger } = opts;
  const ns = opts.namespace ?? '';
  const kind = opts.kind ?? connector.kind;
  const batchSize = Math.max(1, Math.min(MAX_BATCH_SIZE, opts.batchSize ?? MAX_BATCH_SIZE));
  const maxInFlight = Math.max(1, opts.maxInFlight ?? 64);
  const configTimeoutMs = opts.configTimeoutMs ?? 10_000;
  const stopGraceMs = opts.stopGraceMs ?? 20_000;
  const jobsStream = streamName(Stream.JOBS, ns).name;
  const durable = `connector-${kind}`;
  const js = nc.jetstream();
  const log = logger.child({ connector: kind });
  const metrics: ConnectorMetrics | undefined = opts.metrics && connectorMetrics(opts.metrics);
  const instanceId = opts.instanceId ?? defaultInstanceId();

  let started = false;
  let stopping = false;
  const stopController = new AbortController();
  let currentFetch: ConsumerMessages | undefined;
  let loopDone: Promise<void> | undefined;
  let active:
    | { runId: string; abort: AbortController; done: Promise<void>; ended: boolean }
    | undefined;
  /** Set when stop()'s grace period is over: any run still going (or starting) is aborted. */
  let graceOver = false;
  let lastLoopError: string | undefined;
  // Connection tests are answered by the same process that takes the kind's jobs.
  const tests = createConnectionTestResponder({
    connector,
    nc,
    namespace: ns,
    kind,
    logger,
    scrubber: secretScrubber,
  });
  // Liveness: the sync service fails a run whose connector goes silent (CONNECTOR_LOST).
  const heartbeats = createHeartbeats({
    nc,
    namespace: ns,
    kind,
    instanceId,
    intervalMs: opts.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_SECONDS * 1000,
    version: opts.version,
    logger: log,
    onEnded: (runId) => {
      if (active?.runId !== runId) return;
      log.warn({ runId }, 'the sync service ended the run; stopping it');
      active.ended = true;
      active.abort.abort();
    },
  });

  async function loop(): Promise<void> {
    while (!stopping) {
      try {
        const consumer = await js.consumers.get(jobsStream, durable);
        while (!stopping) {
          const messages = await consumer.fetch({ max_messages: 1, expires: 5_000 });
          currentFetch = messages;
          try {
            for await (const msg of messages) {
              if (stopping) {
                msg.nak();
                continue;
              }
              await handleJob(msg);
            }
          } finally {
            currentFetch = undefined;
          }
          lastLoopError = undefined;
        }
      } catch (err) {
        if (stopping) break;
        lastLoopError = String(err);
        log.warn({ err }, 'taking jobs failed; retrying');
        await sleep(1_000, stopController.signal);
      }
    }
  }

  async function handleJob(msg: JsMsg): Promise<void> {
    let job: SyncJob;
    try {
      job = fromBinary(SyncJobSchema, msg.data);
    } catch (err) {
      log.error({ err, seq: msg.seq }, 'undecodable job; dropped');
      msg.term();
      return;
    }
    // Acked at pickup: a connector crash is caught by the run timeout, never retried into a
    // half-published run (architecture §2).
    try {
      await msg.ackAck();
    } catch {
      msg.ack();
    }
    if (!job.runId || !job.directoryId) {
      log.error(
        { runId: job.runId, directoryId: job.directoryId },
        'job without run or directory id; dropped',
      );
      return;
    }
    // Reported at once, before anything is read: the sync service learns the run is RUNNING,
    // and a job whose run has already ended (e.g. RUN_TIMEOUT while it waited in the queue) is
    // dropped before it publishes a RunStarted that identity would take for a new run.
    if ((await heartbeats.pickUp(job.runId, job.directoryId)) === 'ended') {
      log.warn(
        { runId: job.runId, directoryId: job.directoryId },
        'the run of this job has already ended (timed out or failed in the sync service); job dropped',
      );
      return;
    }
    const abort = new AbortController();
    if (graceOver) abort.abort();
    const state = { runId: job.runId, abort, done: Promise.resolve(), ended: false };
    active = state;
    state.done = runJob(job, abort.signal, () => state.ended);
    try {
      await state.done;
    } finally {
      active = undefined;
    }
  }

  async function fetchConfig(job: SyncJob): Promise<DirectoryConfig> {
    const configSubject = subject(Subject.CONFIG, { directory_id: job.directoryId }, ns);
    const request = create(ConfigRequestSchema, { directoryId: job.directoryId, runId: job.runId });
    let data: Uint8Array;
    try {
      const reply = await nc.request(configSubject, toBinary(ConfigRequestSchema, request), {
        timeout: configTimeoutMs,
      });
      data = reply.data;
    } catch (err) {
      const code = (err as { code?: string }).code;
      const why =
        code === '503'
          ? `nothing answers config requests on ${configSubject} (is the sync service running?)`
          : `no answer to the config request on ${configSubject} within ${configTimeoutMs} ms`;
      throw new DirsyncError(ErrorCode.INTERNAL, why, { cause: err });
    }
    let reply;
    try {
      reply = fromBinary(ConfigReplySchema, data);
    } catch (err) {
      throw new DirsyncError(ErrorCode.INTERNAL, 'the config reply could not be decoded', {
        cause: err,
      });
    }
    if (reply.result.case === 'error') {
      const e = reply.result.value;
      throw new DirsyncError(
        e.code === ErrorCode.UNSPECIFIED ? ErrorCode.INTERNAL : e.code,
        e.message || 'the sync service refused the config request',
      );
    }
    if (reply.result.case !== 'config') {
      throw new DirsyncError(ErrorCode.INTERNAL, 'the config reply is empty');
    }
    return reply.result.value;
  }

  function validate(job: SyncJob, config: DirectoryConfig): S {
    const invalid = (message: string) => new DirsyncError(ErrorCode.CONFIG_INVALID, message);
    if (config.kind && config.kind !== kind) {
      throw invalid(`directory ${job.directoryId} is of kind "${config.kind}", not "${kind}"`);
    }
    // DELTA is always accepted: without delta support it is served with a full read.
    const mode = job.mode === SyncMode.DELTA ? SyncMode.FULL : job.mode;
    if (connector.modes && !connector.modes.includes(mode)) {
      throw invalid(`the ${kind} connector does not support ${SyncMode[job.mode]} runs`);
    }
    if (job.mode === SyncMode.USER && !job.username.trim()) {
      throw invalid('a USER run needs a username');
    }
    return parseDirectorySettings(connector, kind, config);
  }

  async function runJob(
    job: SyncJob,
    signal: AbortSignal,
    endedElsewhere: () => boolean,
  ): Promise<void> {
    const startedAt = Date.now();
    const runLog = log.child({ runId: job.runId, directoryId: job.directoryId });
    let eventsSubject: string;
    try {
      eventsSubject = subject(Subject.EVENTS, { directory_id: job.directoryId }, ns);
    } catch (err) {
      runLog.error({ err }, 'directory id is not a valid subject token; job dropped');
      heartbeats.drop(job.runId);
      return;
    }
    const maxPayload = nc.info?.max_payload ?? 1024 * 1024;
    let publisher = new BoundedPublisher(js, { maxInFlight });
    let seq = 0;
    let scrub = (text: string) => text;
    let runStarted = false;
    let sink: BatchingSink | undefined;
    let readMode = SyncMode.UNSPECIFIED;
    let fullReadReason = FullReadReason.UNSPECIFIED;
    let entriesRead = 0;
    const countEntriesRead = (n: number) => {
      if (Number.isFinite(n) && n > 0) entriesRead += Math.floor(n);
    };

    const publishFailed = (err: unknown) =>
      new DirsyncError(
        ErrorCode.PUBLISH_FAILED,
        `events could not be published to JetStream (${err instanceof Error ? err.message : String(err)})`,
        { cause: err },
      );
    const emit = async (body: DirectoryEvent['body']): Promise<void> => {
      if (metrics) countRead(metrics, kind, job.directoryId, body);
      seq++;
      const event = create(DirectoryEventSchema, {
        runId: job.runId,
        directoryId: job.directoryId,
        seq,
        emittedAtMs: BigInt(Date.now()),
        body,
      });
      try {
        await publisher.publish(
          eventsSubject,
          toBinary(DirectoryEventSchema, event),
          eventMsgId(job.runId, seq),
        );
      } catch (err) {
        throw publishFailed(err);
      }
    };
    const flush = async () => {
      try {
        await publisher.flush();
      } catch (err) {
        throw publishFailed(err);
      }
      heartbeats.progress(job.runId, seq);
    };
    const sendRunStarted = async (policy: DirectoryPolicy | undefined) => {
      await emit({
        case: 'runStarted',
        value: create(RunStartedSchema, {
          mode: job.mode,
          username: job.username,
          email: job.email,
          dryRun: job.dryRun,
          policy,
        }),
      });
      await flush();
      runStarted = true;
    };
    const finish = (
      outcome: Omit<
        RunOutcome,
        | 'runId'
        | 'directoryId'
        | 'durationMs'
        | 'readMode'
        | 'fullReadReason'
        | 'entriesRead'
        | 'usersObserved'
        | 'groupsObserved'
        | 'objectErrors'
        | 'usersRemoved'
        | 'groupsRemoved'
      >,
    ) => {
      const code = outcome.error?.code ?? '';
      metrics?.runs.inc({
        connector: kind,
        directory_id: job.directoryId,
        status: outcome.status,
        error_code: code,
      });
      if (code && SOURCE_ERROR_CODES.has(code)) {
        metrics?.sourceErrors.inc({ connector: kind, directory_id: job.directoryId, code });
      }
      try {
        opts.onRunEnd?.({
          runId: job.runId,
          directoryId: job.directoryId,
          durationMs: Date.now() - startedAt,
          readMode,
          fullReadReason,
          entriesRead,
          usersObserved: sink?.usersObserved ?? 0,
          groupsObserved: sink?.groupsObserved ?? 0,
          objectErrors: sink?.objectErrors ?? 0,
          usersRemoved: sink?.usersRemoved ?? 0,
          groupsRemoved: sink?.groupsRemoved ?? 0,
          ...outcome,
        });
      } catch (err) {
        runLog.warn({ err }, 'onRunEnd threw');
      }
    };

    try {
      const config = await fetchConfig(job);
      scrub = secretScrubber(config.secrets);
      await sendRunStarted(config.policy);
      runLog.info({ mode: SyncMode[job.mode], dryRun: job.dryRun }, 'run started');
      const settings = validate(job, config);
      readMode = job.mode;
      if (job.mode === SyncMode.DELTA) {
        if (!offersDelta(connector, settings)) fullReadReason = FullReadReason.DELTA_UNSUPPORTED;
        else if (!config.cursor.trim()) fullReadReason = FullReadReason.NO_CURSOR;
        if (fullReadReason !== FullReadReason.UNSPECIFIED) readMode = SyncMode.FULL;
      }
      const directory = (mode: SyncMode): DirectoryContext => ({
        directoryId: job.directoryId,
        selectedGroups: config.selectedGroups,
        mapping: config.mapping ?? create(AttributeMappingSchema),
        defaultRegion: config.defaultRegion,
        cursor: mode === SyncMode.DELTA ? config.cursor : '',
        storedCursor: config.cursor,
        policy: config.policy,
        adminRoleGroups: config.adminRoleGroups.map((r) => ({ role: r.role, groups: r.groups })),
      });
      const activeSink = new BatchingSink({
        emit: (body: ObservationBody) => emit(body),
        batchSize,
        maxMessageBytes: Math.min(512 * 1024, Math.floor(maxPayload / 2)),
        defaultRegion: config.defaultRegion,
        onlyUsername: job.mode === SyncMode.USER ? job.username : undefined,
        onlyEmail: job.mode === SyncMode.ADMIN && job.email ? job.email : undefined,
        mode: readMode,
        scrub,
        logger: runLog,
      });
      sink = activeSink;
      const read = (mode: SyncMode): Promise<RunResult> => {
        const ctx: RunContext<S> = {
          job,
          mode,
          directory: directory(mode),
          settings,
          secrets: config.secrets,
          sink: activeSink,
          logger: runLog,
          signal,
          countEntriesRead,
          report: sourceReporter(metrics, kind, job.directoryId),
        };
        const running = connector.run(ctx);
        running.catch(() => undefined);
        return Promise.race([
          running,
          new Promise<never>((_resolve, reject) => {
            if (signal.aborted) reject(new RunAbortedError());
            signal.addEventListener('abort', () => reject(new RunAbortedError()), { once: true });
          }),
        ]);
      };
      if (fullReadReason !== FullReadReason.UNSPECIFIED) {
        runLog.info({ reason: FullReadReason[fullReadReason] }, 'DELTA run reads in full');
      }
      let result: RunResult;
      try {
        result = await read(readMode);
      } catch (err) {
        if (readMode !== SyncMode.DELTA || !isCursorRejected(err)) throw err;
        // The source cannot say what changed since the cursor: read everything instead, in
        // this same run (what was handed over so far stays valid).
        runLog.warn({ reason: scrub(err.reason) }, 'delta cursor rejected; reading in full');
        readMode = SyncMode.FULL;
        fullReadReason = FullReadReason.CURSOR_REJECTED;
        activeSink.mode = SyncMode.FULL;
        result = await read(SyncMode.FULL);
      }
      await activeSink.flush();
      activeSink.close(new Error('the run is over'));
      await flush();
      // Completing a run the sync service has already failed would let identity sweep for a
      // run everyone else sees as FAILED: ask first (no answer: complete as before).
      // (A heartbeat may have said so already, after the reading was over.)
      if (endedElsewhere() || (await heartbeats.check(job.runId)) === 'ended') {
        throw new RunEndedError();
      }
      const lastSeq = seq + 1;
      await emit({
        case: 'runCompleted',
        value: create(RunCompletedSchema, {
          lastSeq,
          usersObserved: activeSink.usersObserved,
          groupsObserved: activeSink.groupsObserved,
          cursor: result?.cursor ?? '',
          readMode,
          fullReadReason,
          entriesRead,
          usersRemoved: activeSink.usersRemoved,
          groupsRemoved: activeSink.groupsRemoved,
        }),
      });
      await flush();
      runLog.info(
        {
          lastSeq,
          mode: SyncMode[readMode],
          users: activeSink.usersObserved,
          groups: activeSink.groupsObserved,
          usersRemoved: activeSink.usersRemoved,
          groupsRemoved: activeSink.groupsRemoved,
          objectErrors: activeSink.objectErrors,
          entriesRead,
          ms: Date.now() - startedAt,
        },
        'run completed',
      );
      heartbeats.published(job.runId, lastSeq);
      finish({ status: 'completed', lastSeq });
    } catch (err) {
      const failure = describeFailure(
        err instanceof RunAbortedError && endedElsewhere() ? new RunEndedError() : err,
        kind,
      );
      const message = scrub(failure.message);
      runLog.error(
        {
          code: errorCodeName(failure.code),
          error: message,
          cause: err instanceof DirsyncError ? undefined : scrub(String(err)),
        },
        'run failed',
      );
      sink?.close(new RunAbortedError());
      // Flush what can be flushed: observations already read are valid, and RunFailed must
      // come after them.
      try {
        await sink?.flush();
        await flush();
      } catch (flushErr) {
        runLog.warn(
          { error: scrub(String(flushErr)) },
          'could not flush observations of a failed run',
        );
        publisher = new BoundedPublisher(js, { maxInFlight: 1 });
      }
      let lastSeq = 0;
      try {
        if (!runStarted) await sendRunStarted(undefined);
        lastSeq = seq + 1;
        await emit({
          case: 'runFailed',
          value: create(RunFailedSchema, {
            error: create(ErrorInfoSchema, { code: failure.code, message }),
          }),
        });
        await flush();
      } catch (pubErr) {
        lastSeq = 0;
        runLog.error({ error: scrub(String(pubErr)) }, 'could not publish RunFailed');
      }
      // Without a terminal event on the stream the run is not done: falling silent lets the
      // sync service fail it (CONNECTOR_LOST) instead of waiting for the run timeout.
      if (lastSeq > 0) heartbeats.published(job.runId, lastSeq);
      else heartbeats.drop(job.runId);
      finish({
        status: 'failed',
        lastSeq,
        error: { code: errorCodeName(failure.code), message },
      });
    }
  }

  return {
    get activeRunId() {
      return active?.runId;
    },
    instanceId,
    async start() {
      if (started) return;
      const jsm = await nc.jetstreamManager();
      await ensureStreams(jsm, ns);
      await ensureConsumer(jsm, jobsStream, {
        durable_name: durable,
        filter_subject: subject(Subject.JOBS, { connector_kind: kind }, ns),
        ack_policy: AckPolicy.Explicit,
        ack_wait: nanos(30_000),
      });
      started = true;
      // Presence first: a sync replica knows a connector of the kind runs before start() resolves.
      await heartbeats.start();
      loopDone = loop();
      tests.start();
      log.info({ durable, stream: jobsStream }, 'taking jobs and connection tests');
    },
    async stop() {
      if (!started || stopping) {
        await loopDone;
        return;
      }
      stopping = true;
      stopController.abort();
      currentFetch?.stop();
      const testsStopped = tests.stop();
      // The loop ends once the job in hand (if any, even one picked up this very moment) is
      // over; past the grace period that job is aborted and ends with RunFailed.
      const timer = setTimeout(() => {
        graceOver = true;
        if (active) {
          log.warn({ runId: active.runId }, 'grace period over; aborting the run');
          active.abort.abort();
        }
      }, stopGraceMs);
      try {
        await loopDone;
        await testsStopped;
      } finally {
        clearTimeout(timer);
      }
      // The last run's PUBLISHED report, if no replica has answered it yet.
      await heartbeats.stop();
      log.info('stopped taking jobs');
    },
    problems() {
      const problems: string[] = [];
      if (!started) problems.push('the connector worker has not started');
      if (stopping) problems.push('the connector worker is stopping');
      if (nc.isClosed()) problems.push('the NATS connection is closed');
      if (lastLoopError) problems.push(`taking jobs failed: ${lastLoopError}`);
      return problems;
    },
  };
}

/** Run failures that are the source's doing (counted as source errors too). */
const SOURCE_ERROR_CODES = new Set(
  [
    ErrorCode.INVALID_CREDENTIALS,
    ErrorCode.SOURCE_UNREACHABLE,
    ErrorCode.SOURCE_UNAVAILABLE,
    ErrorCode.SOURCE_ERROR,
    ErrorCode.TLS_ERROR,
    ErrorCode.BASE_DN_NOT_FOUND,
    ErrorCode.GROUP_NOT_FOUND,
    ErrorCode.SIZE_LIMIT_EXCEEDED,
    ErrorCode.INSUFFICIENT_ACCESS,
  ].map(errorCodeName),
);

function sourceReporter(
  metrics: ConnectorMetrics | undefined,
  connector: string,
  directoryId: string,
): SourceReporter {
  const labels = { connector, directory_id: directoryId };
  return {
    throttled(waitMs) {
      metrics?.throttled.inc(labels);
      if (waitMs > 0) metrics?.throttleWait.inc(labels, waitMs / 1000);
    },
    requestFailed(code) {
      metrics?.sourceErrors.inc({ ...labels, code: code || 'UNKNOWN' });
    },
  };
}

/** Records in an observation message, for `dirsync_objects_read_total`. */
function countRead(
  metrics: ConnectorMetrics,
  connector: string,
  directoryId: string,
  body: DirectoryEvent['body'],
): void {
  const count = (type: string, n: number) => {
    if (n > 0) metrics.objects.inc({ connector, directory_id: directoryId, type }, n);
  };
  if (body.case === 'users') count('user', body.value.users.length);
  else if (body.case === 'groups') count('group', body.value.groups.length);
  else if (body.case === 'memberships') {
    count(
      'membership',
      body.value.groups.reduce((n, g) => n + g.userExternalIds.length, 0),
    );
  } else if (body.case === 'objectErrors') count('error', body.value.errors.length);
}

/** Whether the connector reads deltas for a directory with these settings. */
export function offersDelta<S>(connector: SourceConnector<S>, settings: S): boolean {
  const o = connector.offersDelta;
  return typeof o === 'function' ? o(settings) : o === true;
}

/** The code and message a failed run is reported with. */
function describeFailure(err: unknown, kind: string): { code: ErrorCode; message: string } {
  if (err instanceof DirsyncError) return { code: err.code, message: err.message };
  if (err instanceof RunAbortedError || err instanceof RunEndedError) {
    return { code: ErrorCode.INTERNAL, message: err.message };
  }
  return {
    code: ErrorCode.INTERNAL,
    message: `unexpected error in the ${kind} connector (see its log)`,
  };
}
