import { randomUUID } from 'node:crypto';
import {
  AdminRoleGroupsSchema,
  AttributeMappingSchema,
  ConfigReplySchema,
  ConfigRequestSchema,
  ConnectionTestReplySchema,
  ConnectionTestRequestSchema,
  DirectoryConfigSchema,
  DirectoryEventSchema,
  DirectoryPolicySchema,
  ErrorCode,
  ErrorInfoSchema,
  Stream,
  Subject,
  SyncJobSchema,
  SyncMode,
  create,
  fromBinary,
  streamName,
  subject,
  toBinary,
  type AdminRole,
  type AttributeMapping,
  type ConnectionTestReply,
  type DirectoryEvent,
  type ObjectError,
  type ObservedAdmin,
  type ObservedGroup,
  type ObservedUser,
  type RemovedGroup,
  type RemovedUser,
  type RunCompleted,
  type RunFailed,
  type RunStarted,
} from '@dirsync/proto';
import type { NatsConnection, Subscription } from 'nats';
import { createLogger, type Logger } from '../logger.js';
import { connectNats, ensureStreams } from '../nats.js';
import {
  createConnectorWorker,
  type ConnectorWorker,
  type RunOutcome,
} from '../connector/worker.js';
import type { SourceConnector } from '../connector/types.js';

/** What the in-test config responder answers for a directory. */
export interface HarnessConfig {
  /** Becomes `settings_json`; a string is sent as is (to test invalid JSON). */
  settings: unknown;
  secrets?: Record<string, string>;
  selectedGroups?: string[];
  mapping?: Partial<Omit<AttributeMapping, '$typeName'>>;
  defaultRegion?: string;
  cursor?: string;
  restoreWindowDays?: number;
  /** Admin sync: role → groups in the source's notation. */
  adminRoleGroups?: { role: AdminRole; groups: string[] }[];
  /** Defaults to the connector's kind. */
  kind?: string;
}

/** A config responder entry: a config, an error reply, or no answer at all. */
export type HarnessConfigReply =
  | HarnessConfig
  | { error: { code: ErrorCode; message: string } }
  | 'no-answer';

/** A job as a test describes it; everything but the directory has a default. */
export interface HarnessJob {
  directoryId: string;
  runId?: string;
  mode?: SyncMode;
  username?: string;
  /** ADMIN runs for one administrator. */
  email?: string;
  dryRun?: boolean;
}

/** Everything one run published, decoded and indexed for assertions. */
export interface CollectedRun {
  runId: string;
  directoryId: string;
  outcome: RunOutcome;
  /** In stream order. */
  events: DirectoryEvent[];
  /** The `Nats-Msg-Id` header of each event, same order. */
  msgIds: string[];
  /** The raw payloads, to search for leaked secrets. */
  payloads: Uint8Array[];
  started: RunStarted | undefined;
  completed: RunCompleted | undefined;
  failed: RunFailed | undefined;
  users: ObservedUser[];
  groups: ObservedGroup[];
  /** ADMIN runs: the administrators, in stream order. */
  admins: ObservedAdmin[];
  /** Group external id → user external ids (union of every chunk). */
  memberships: Map<string, Set<string>>;
  /** Group external id → number of GroupMembers chunks it came in. */
  membershipChunks: Map<string, number>;
  objectErrors: ObjectError[];
  /** DELTA runs: the removals, in stream order. */
  userRemovals: RemovedUser[];
  groupRemovals: RemovedGroup[];
  /**
   * DELTA runs: group external id → the net membership change of the run (the last statement
   * about a user wins, as identity applies it).
   */
  membershipDeltas: Map<string, { added: Set<string>; removed: Set<string> }>;
}

export interface HarnessOptions<S> {
  /**
   * The connector to run in a worker of the harness. Without one, no worker is started (test a
   * whole service instead) and `kind` names the jobs subject; feed the service's run outcomes to
   * `reportOutcome` so `run()`/`waitForRun()` can wait for them.
   */
  connector?: SourceConnector<S>;
  kind?: string;
  natsUrl?: string;
  /** A fresh random namespace by default, so nothing else sees this harness's streams. */
  namespace?: string;
  batchSize?: number;
  maxInFlight?: number;
  configTimeoutMs?: number;
  stopGraceMs?: number;
  /** The worker's heartbeat interval (default the kit's 5 s). */
  heartbeatIntervalMs?: number;
  instanceId?: string;
  /** The worker's version in its presence heartbeats. */
  version?: string;
  logger?: Logger;
}

/**
 * A real connector worker against a real NATS namespace, with a tiny config responder in place
 * of the sync service, and helpers to run a job and collect what it published. Used by the
 * conformance suite and by connectors' own integration tests.
 */
export interface ConnectorHarness {
  readonly nc: NatsConnection;
  readonly namespace: string;
  /** The harness's own worker; undefined when started without a connector. */
  readonly worker: ConnectorWorker | undefined;
  /** Where an external worker (a whole service under test) reports its run outcomes. */
  reportOutcome(outcome: RunOutcome): void;
  /** What the config responder answers for `directoryId` from now on. */
  setConfig(directoryId: string, reply: HarnessConfigReply): void;
  /** Publish a job and wait for the worker to finish it; returns what the run published. */
  run(job: HarnessJob, opts?: { timeoutMs?: number; jobMsgId?: string }): Promise<CollectedRun>;
  /** Publish a job without waiting. Resolves with the run id. */
  publishJob(job: HarnessJob, jobMsgId?: string): Promise<string>;
  /** Wait for the worker to finish a run published with `publishJob`. */
  waitForRun(runId: string, timeoutMs?: number): Promise<RunOutcome>;
  /** Every event the stream holds for a directory's subject, decoded, in order. */
  readEvents(
    directoryId: string,
  ): Promise<{ event: DirectoryEvent; msgId: string; data: Uint8Array }[]>;
  /**
   * Send a connection test for this configuration (as sync does for `testDirectory`) and
   * return the connector's reply. `directoryId` "" tests settings not saved yet.
   */
  testConnection(
    config: HarnessConfig,
    opts?: { directoryId?: string; timeoutMs?: number },
  ): Promise<ConnectionTestReply>;
  /** Stop the worker, delete this namespace's streams, close NATS. */
  close(): Promise<void>;
}

export async function startConnectorHarness<S>(opts: HarnessOptions<S>): Promise<ConnectorHarness> {
  const namespace = opts.namespace ?? `cf${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const maybeKind = opts.connector?.kind ?? opts.kind;
  if (!maybeKind) throw new Error('startConnectorHarness needs a connector or a kind');
  const kind: string = maybeKind;
  const logger = opts.logger ?? createLogger(`connector-${kind}`, 'silent');
  const nc = await connectNats({ url: opts.natsUrl ?? 'nats://127.0.0.1:4222', name: 'harness' });
  const configs = new Map<string, HarnessConfigReply>();
  const outcomes = new Map<string, RunOutcome[]>();
  const waiters = new Map<string, ((o: RunOutcome) => void)[]>();

  const responder: Subscription = nc.subscribe(
    subject(Subject.CONFIG, { directory_id: '*' }, namespace),
    {
      callback: (err, msg) => {
        if (err) return;
        const request = fromBinary(ConfigRequestSchema, msg.data);
        const reply = configs.get(request.directoryId);
        if (reply === 'no-answer') return;
        if (reply === undefined) {
          msg.respond(
            toBinary(
              ConfigReplySchema,
              create(ConfigReplySchema, {
                result: {
                  case: 'error',
                  value: create(ErrorInfoSchema, {
                    code: ErrorCode.DIRECTORY_NOT_FOUND,
                    message: `directory ${request.directoryId} does not exist`,
                  }),
                },
              }),
            ),
          );
          return;
        }
        msg.respond(toBinary(ConfigReplySchema, configReply(request.directoryId, reply, kind)));
      },
    },
  );

  const reportOutcome = (o: RunOutcome) => {
    const queue = waiters.get(o.runId);
    const next = queue?.shift();
    if (next) next(o);
    else outcomes.set(o.runId, [...(outcomes.get(o.runId) ?? []), o]);
  };
  const worker = opts.connector
    ? createConnectorWorker({
        connector: opts.connector,
        nc,
        namespace,
        logger,
        batchSize: opts.batchSize,
        maxInFlight: opts.maxInFlight,
        configTimeoutMs: opts.configTimeoutMs ?? 2_000,
        stopGraceMs: opts.stopGraceMs,
        heartbeatIntervalMs: opts.heartbeatIntervalMs,
        instanceId: opts.instanceId,
        version: opts.version,
        onRunEnd: reportOutcome,
      })
    : undefined;
  if (worker) await worker.start();
  else {
    // The service under test creates them too; doing it here lets jobs be published first.
    await ensureStreams(await nc.jetstreamManager(), namespace);
  }
  const js = nc.jetstream();
  const jsm = await nc.jetstreamManager();
  const eventsStream = streamName(Stream.EVENTS, namespace).name;

  async function publishJob(job: HarnessJob, jobMsgId?: string): Promise<string> {
    const runId = job.runId ?? randomUUID();
    const payload = create(SyncJobSchema, {
      runId,
      directoryId: job.directoryId,
      mode: job.mode ?? SyncMode.FULL,
      username: job.username ?? '',
      email: job.email ?? '',
      dryRun: job.dryRun ?? false,
      requestedAtMs: BigInt(Date.now()),
    });
    await js.publish(
      subject(Subject.JOBS, { connector_kind: kind }, namespace),
      toBinary(SyncJobSchema, payload),
      { msgID: jobMsgId ?? runId },
    );
    return runId;
  }

  function waitForRun(runId: string, timeoutMs = 60_000): Promise<RunOutcome> {
    const done = outcomes.get(runId)?.shift();
    if (done) return Promise.resolve(done);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const queue = waiters.get(runId) ?? [];
        waiters.set(
          runId,
          queue.filter((w) => w !== onDone),
        );
        reject(new Error(`run ${runId} did not finish within ${timeoutMs} ms`));
      }, timeoutMs);
      const onDone = (o: RunOutcome) => {
        clearTimeout(timer);
        resolve(o);
      };
      waiters.set(runId, [...(waiters.get(runId) ?? []), onDone]);
    });
  }

  async function readEvents(directoryId: string) {
    const filter = subject(Subject.EVENTS, { directory_id: directoryId }, namespace);
    const info = await jsm.streams.info(eventsStream, { subjects_filter: filter });
    const total = info.state.subjects?.[filter] ?? 0;
    const out: { event: DirectoryEvent; msgId: string; data: Uint8Array }[] = [];
    if (total === 0) return out;
    const consumer = await js.consumers.get(eventsStream, { filterSubjects: filter });
    while (out.length < total) {
      const batch = await consumer.fetch({ max_messages: total - out.length, expires: 2_000 });
      let got = 0;
      for await (const m of batch) {
        got++;
        out.push({
          event: fromBinary(DirectoryEventSchema, m.data),
          msgId: m.headers?.get('Nats-Msg-Id') ?? '',
          data: m.data,
        });
      }
      if (got === 0) throw new Error(`expected ${total} events on ${filter}, read ${out.length}`);
    }
    return out;
  }

  async function run(
    job: HarnessJob,
    runOpts: { timeoutMs?: number; jobMsgId?: string } = {},
  ): Promise<CollectedRun> {
    const runId = await publishJob(job, runOpts.jobMsgId);
    const outcome = await waitForRun(runId, runOpts.timeoutMs);
    const all = (await readEvents(job.directoryId)).filter((e) => e.event.runId === runId);
    return collect(runId, job.directoryId, outcome, all);
  }

  return {
    nc,
    namespace,
    worker,
    reportOutcome,
    setConfig(directoryId, reply) {
      configs.set(directoryId, reply);
    },
    run,
    publishJob,
    waitForRun,
    readEvents,
    async testConnection(config, testOpts = {}) {
      const dirId = testOpts.directoryId ?? '';
      const full = configReply(dirId, config, kind);
      const request = create(ConnectionTestRequestSchema, {
        config: full.result.case === 'config' ? full.result.value : undefined,
        timeoutMs: testOpts.timeoutMs ?? 0,
      });
      const reply = await nc.request(
        subject(Subject.CONNECTION_TESTS, { connector_kind: kind }, namespace),
        toBinary(ConnectionTestRequestSchema, request),
        { timeout: (testOpts.timeoutMs || 30_000) + 5_000 },
      );
      return fromBinary(ConnectionTestReplySchema, reply.data);
    },
    async close() {
      await worker?.stop();
      responder.unsubscribe();
      for (const s of [Stream.EVENTS, Stream.JOBS, Stream.LIFECYCLE]) {
        await jsm.streams.delete(streamName(s, namespace).name).catch(() => false);
      }
      await nc.drain();
    },
  };
}

function configReply(directoryId: string, reply: HarnessConfigReply, kind: string) {
  if (reply === 'no-answer') throw new Error('unreachable');
  if ('error' in reply) {
    return create(ConfigReplySchema, {
      result: { case: 'error', value: create(ErrorInfoSchema, reply.error) },
    });
  }
  return create(ConfigReplySchema, {
    result: {
      case: 'config',
      value: create(DirectoryConfigSchema, {
        directoryId,
        kind: reply.kind ?? kind,
        settingsJson:
          typeof reply.settings === 'string' ? reply.settings : JSON.stringify(reply.settings),
        secrets: reply.secrets ?? {},
        selectedGroups: reply.selectedGroups ?? [],
        mapping: create(AttributeMappingSchema, reply.mapping ?? {}),
        defaultRegion: reply.defaultRegion ?? '',
        cursor: reply.cursor ?? '',
        policy: create(DirectoryPolicySchema, { restoreWindowDays: reply.restoreWindowDays ?? 7 }),
        adminRoleGroups: (reply.adminRoleGroups ?? []).map((r) => create(AdminRoleGroupsSchema, r)),
      }),
    },
  });
}

function collect(
  runId: string,
  directoryId: string,
  outcome: RunOutcome,
  all: { event: DirectoryEvent; msgId: string; data: Uint8Array }[],
): CollectedRun {
  const run: CollectedRun = {
    runId,
    directoryId,
    outcome,
    events: all.map((e) => e.event),
    msgIds: all.map((e) => e.msgId),
    payloads: all.map((e) => e.data),
    started: undefined,
    completed: undefined,
    failed: undefined,
    users: [],
    groups: [],
    admins: [],
    memberships: new Map(),
    membershipChunks: new Map(),
    objectErrors: [],
    userRemovals: [],
    groupRemovals: [],
    membershipDeltas: new Map(),
  };
  for (const { event } of all) {
    const body = event.body;
    switch (body.case) {
      case 'runStarted':
        run.started = body.value;
        break;
      case 'runCompleted':
        run.completed = body.value;
        break;
      case 'runFailed':
        run.failed = body.value;
        break;
      case 'users':
        run.users.push(...body.value.users);
        break;
      case 'admins':
        run.admins.push(...body.value.admins);
        break;
      case 'groups':
        run.groups.push(...body.value.groups);
        break;
      case 'memberships':
        for (const chunk of body.value.groups) {
          const set = run.memberships.get(chunk.groupExternalId) ?? new Set<string>();
          for (const id of chunk.userExternalIds) set.add(id);
          run.memberships.set(chunk.groupExternalId, set);
          run.membershipChunks.set(
            chunk.groupExternalId,
            (run.membershipChunks.get(chunk.groupExternalId) ?? 0) + 1,
          );
        }
        break;
      case 'objectErrors':
        run.objectErrors.push(...body.value.errors);
        break;
      case 'userRemovals':
        run.userRemovals.push(...body.value.users);
        break;
      case 'groupRemovals':
        run.groupRemovals.push(...body.value.groups);
        break;
      case 'membershipDeltas':
        for (const chunk of body.value.groups) {
          const d = run.membershipDeltas.get(chunk.groupExternalId) ?? {
            added: new Set<string>(),
            removed: new Set<string>(),
          };
          for (const id of chunk.addedUserExternalIds) {
            d.added.add(id);
            d.removed.delete(id);
          }
          for (const id of chunk.removedUserExternalIds) {
            d.removed.add(id);
            d.added.delete(id);
          }
          run.membershipDeltas.set(chunk.groupExternalId, d);
        }
        break;
      default:
        break;
    }
  }
  return run;
}

/** Usernames of a collected run's users, sorted. */
export function observedUsernames(run: CollectedRun): string[] {
  return run.users.map((u) => u.username).sort();
}

/** A group's transitive members as usernames (sorted), looked up by group name. */
export function memberUsernames(run: CollectedRun, groupName: string): string[] {
  const group = run.groups.find((g) => g.name === groupName);
  if (!group) throw new Error(`group "${groupName}" was not observed`);
  const byId = new Map(run.users.map((u) => [u.externalId, u.username]));
  return [...(run.memberships.get(group.externalId) ?? [])]
    .map((id) => byId.get(id) ?? `<unobserved ${id}>`)
    .sort();
}
