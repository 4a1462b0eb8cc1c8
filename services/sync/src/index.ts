import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { ApolloServer } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import {
  connectNats,
  createHttpServer,
  createLogger,
  ensureStreams,
  isDirsyncError,
  collectSafely,
  graphqlMetricsPlugin,
  Metrics,
  runMetrics,
  watchConsumers,
  watchOutbox,
  type ConsumerLoop,
  type HttpServer,
  type Logger,
  type NatsConnection,
  type Service,
} from '@dirsync/kit';
import { subgraphAuthenticator, type Principal } from '@dirsync/kit/auth';
import { toGraphQLError } from '@dirsync/kit/graphql';
import {
  DEFAULT_CONNECTOR_LOST_SECONDS,
  DEFAULT_LEASE_SECONDS,
  DEFAULT_PUBLISHED_RUN_TIMEOUT_SECONDS,
  DEFAULT_NO_CONNECTOR_SECONDS,
  type SyncConfig,
} from './env.js';
import { ConnectorPresence } from './connector/presence.js';
import { openOrm, type SyncOrm } from './db/orm.js';
import { tables } from './db/sql.js';
import { SecretBox } from './crypto/secret-box.js';
import { reencryptSecrets } from './crypto/rotate.js';
import { DirectoryService } from './directory/directory.service.js';
import { RunService } from './run/run.service.js';
import { RunWaiters } from './run/run-waiters.js';
import { startRunUpdatesConsumer } from './run/run-updates.consumer.js';
import { HeartbeatResponder } from './run/heartbeat.responder.js';
import { Scheduler } from './scheduler/scheduler.js';
import { ConfigResponder } from './config/config.responder.js';
import { OutboxRelay } from './outbox/outbox.relay.js';
import { buildSyncSchema } from './graphql/schema.js';
import { ConnectionTester, DEFAULT_CONNECTION_TEST_SECONDS } from './directory/connection-test.js';
import type { SyncContext } from './services.js';
import { Stream, streamName } from '@dirsync/proto';
import { sql } from './db/sql.js';
import { RUN_UPDATES_DURABLE } from './run/run-updates.consumer.js';

export type { SyncConfig } from './env.js';
export { parseSyncEnv, loadSyncEnv, syncEnvSchema } from './env.js';
export { SecretBox, SecretDecryptError, keyId } from './crypto/secret-box.js';
export { printSyncSchema, SCHEMA_FILE } from './print-schema.js';
export { RUN_UPDATES_DURABLE } from './run/run-updates.consumer.js';
export { CONFIG_QUEUE } from './config/config.responder.js';
export { directoryDeletedMsgId } from './directory/directory.service.js';
export { createDirectoryInputFromFile, type DirectoryFile } from './directory/directory.input.js';

/** Optional collaborators; tests inject a clock and a logger. */
export interface SyncDeps {
  /** The service's notion of "now" (run timestamps, schedule, timeouts). Default: wall clock. */
  now?: () => Date;
  logger?: Logger;
  /** Served at `/metrics`; one per service instance (default: a new one). */
  metrics?: Metrics;
}

/** The running sync service. The extra methods run one pass of a periodic job (tests, operators). */
export interface SyncService extends Service {
  /** GraphQL URL once started. */
  readonly url: string;
  readonly logger: Logger;
  /** One scheduler pass; ids of the runs it started. */
  schedulerTick(): Promise<string[]>;
  /** Scheduler passes finished since start (timer-driven and `schedulerTick()`). */
  readonly schedulerPasses: number;
  /** One run-timeout pass; ids of the runs it failed. */
  sweepTimeouts(): Promise<string[]>;
  /** One liveness pass (runs whose connector went silent → CONNECTOR_LOST); ids it failed. */
  sweepLostConnectors(): Promise<string[]>;
  /**
   * One presence pass: QUEUED runs no live connector of their kind can take → NO_CONNECTOR (ids
   * it failed), and instances not heard from for an hour forgotten.
   */
  sweepNoConnector(): Promise<string[]>;
  /** One lease pass (renew, adopt released, fail expired); ids of the runs it failed. */
  maintainLeases(): Promise<string[]>;
  /** This replica's name in run leases. */
  readonly replicaId: string;
}

/** A replica name unique enough to tell replicas (and restarts of one) apart in leases. */
function defaultReplicaId(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .slice(0, 60) || 'sync';
  return `${host}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

/** How often the timeout sweep and the outbox retry run, from the configured timeout. */
function sweepIntervalMs(runTimeoutSeconds: number): number {
  return Math.min(30_000, Math.max(1_000, (runTimeoutSeconds * 1000) / 10));
}

/**
 * Create the sync service: directories, runs, the scheduler, config replies and RunUpdate
 * consumption, with its GraphQL subgraph on `config.port`. Nothing connects before `start()`.
 */
export function createSyncService(config: SyncConfig, deps: SyncDeps = {}): SyncService {
  const logger = deps.logger ?? createLogger('sync', config.logLevel);
  const clock = deps.now ?? (() => new Date());
  const box = new SecretBox(config.secretKey, config.previousSecretKeys);
  const t = tables(config.databaseSchema);
  const waiters = new RunWaiters();
  const metrics = deps.metrics ?? new Metrics({ service: 'sync' });
  const replicaId = config.replicaId ?? defaultReplicaId();
  const leaseSeconds = config.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
  const connectorLostSeconds = config.connectorLostSeconds ?? DEFAULT_CONNECTOR_LOST_SECONDS;
  const noConnectorSeconds = config.noConnectorSeconds ?? DEFAULT_NO_CONNECTOR_SECONDS;

  let orm: SyncOrm | undefined;
  let nc: NatsConnection | undefined;
  let http: HttpServer | undefined;
  let apollo: ApolloServer<SyncContext> | undefined;
  let consumer: ConsumerLoop | undefined;
  let responder: ConfigResponder | undefined;
  let heartbeats: HeartbeatResponder | undefined;
  let runs: RunService | undefined;
  let presence: ConnectorPresence | undefined;
  let scheduler: Scheduler | undefined;
  let outbox: OutboxRelay | undefined;
  const timers: NodeJS.Timeout[] = [];
  let url = '';
  let stopping = false;
  let natsUp = false;

  const every = (ms: number, what: string, fn: () => Promise<unknown>) => {
    let busy = false;
    const timer = setInterval(() => {
      if (busy || stopping) return;
      busy = true;
      fn()
        .catch((err: unknown) => logger.error({ err }, `${what} failed`))
        .finally(() => {
          busy = false;
        });
    }, ms);
    timers.push(timer);
  };

  const formatError = (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    if (original instanceof GraphQLError || isDirsyncError(original)) {
      const e = toGraphQLError(original);
      return {
        ...formatted,
        message: e.message,
        extensions: { ...formatted.extensions, ...e.extensions },
      };
    }
    if (formatted.extensions?.code && formatted.extensions.code !== 'INTERNAL_SERVER_ERROR') {
      return formatted; // GraphQL validation and argument coercion errors keep their codes
    }
    logger.error({ err: original, path: formatted.path }, 'unexpected error in a resolver');
    const internal = toGraphQLError(original);
    return { message: internal.message, path: formatted.path, extensions: internal.extensions };
  };

  async function startAll(): Promise<void> {
    orm = await openOrm({ databaseUrl: config.databaseUrl, schema: config.databaseSchema, logger });
    await reencryptSecrets({ orm, tables: t, box, logger });
    nc = await connectNats({ url: config.natsUrl, name: 'dirsync-sync', logger });
    const conn = nc;
    natsUp = true;
    void (async () => {
      for await (const st of conn.status()) {
        if (st.type === 'disconnect') natsUp = false;
        if (st.type === 'reconnect') natsUp = true;
      }
    })();
    const jsm = await nc.jetstreamManager();
    await ensureStreams(jsm, config.natsNamespace);
    const js = nc.jetstream();

    outbox = new OutboxRelay({ orm, tables: t, js, logger });
    runs = new RunService({
      orm,
      tables: t,
      js,
      nc: conn,
      natsNamespace: config.natsNamespace,
      clock,
      logger,
      waiters,
      runTimeoutSeconds: config.runTimeoutSeconds,
      publishedRunTimeoutSeconds:
        config.publishedRunTimeoutSeconds ?? DEFAULT_PUBLISHED_RUN_TIMEOUT_SECONDS,
      metrics: runMetrics(metrics),
      replicaId,
      leaseSeconds,
      connectorLostSeconds,
      noConnectorSeconds,
    });
    presence = new ConnectorPresence({ orm, tables: t, clock, logger });
    const directories = new DirectoryService({
      orm,
      tables: t,
      box,
      clock,
      natsNamespace: config.natsNamespace,
      outbox,
      logger,
    });
    scheduler = new Scheduler({ orm, tables: t, runs, clock, logger });

    responder = new ConfigResponder({
      nc,
      natsNamespace: config.natsNamespace,
      orm,
      box,
      runs,
      logger,
    });
    responder.start();
    heartbeats = new HeartbeatResponder({
      nc,
      natsNamespace: config.natsNamespace,
      runs,
      presence,
      logger,
    });
    heartbeats.start();
    consumer = await startRunUpdatesConsumer({
      js,
      jsm,
      natsNamespace: config.natsNamespace,
      runs,
      logger,
    });

    const connectionTests = new ConnectionTester({
      nc,
      natsNamespace: config.natsNamespace,
      box,
      directories,
      logger,
      timeoutSeconds: config.connectionTestTimeoutSeconds ?? DEFAULT_CONNECTION_TEST_SECONDS,
      clock,
    });
    const schema = await buildSyncSchema({
      config,
      orm,
      directories,
      connectionTests,
      runs,
      presence,
      logger,
    });
    apollo = new ApolloServer<SyncContext>({
      schema,
      formatError,
      introspection: true,
      includeStacktraceInErrorResponses: false,
      // stopOnSignals owns SIGTERM/SIGINT; Apollo's own handler would re-raise the signal.
      stopOnTerminationSignals: false,
      // Traces go to Apollo's cloud via the gateway, which we do not use.
      plugins: [ApolloServerPluginInlineTraceDisabled(), graphqlMetricsPlugin(metrics)],
    });
    await apollo.start();
    const o = orm;
    const n = nc;
    watchScrapeGauges(metrics, o, t, jsm, config.natsNamespace);
    http = createHttpServer<SyncContext, Principal>({
      apollo,
      metrics,
      authenticate: subgraphAuthenticator(config.gatewayPublicKey),
      context: async (_req, principal) => ({ em: o.em.fork(), principal }),
      health: {
        ready: async () => {
          const problems: string[] = [];
          if (!natsUp || n.isClosed() || stopping) problems.push('nats: not connected');
          try {
            await o.em.getConnection().execute('select 1');
          } catch {
            problems.push('postgres: not reachable');
          }
          return problems;
        },
      },
    });
    url = await http.listen(config.port, config.host);

    const sweepMs = sweepIntervalMs(config.runTimeoutSeconds);
    const r = runs;
    const s = scheduler;
    const ob = outbox;
    every(sweepMs, 'run timeout sweep', () => r.sweepTimeouts());
    every(Math.max(1_000, (leaseSeconds * 1000) / 3), 'run leases', () => r.maintainLeases());
    if (connectorLostSeconds > 0) {
      // A fifth of the silence: a lost connector's run fails within 1.2 × SYNC_CONNECTOR_LOST_SECONDS.
      every(Math.max(500, (connectorLostSeconds * 1000) / 5), 'connector liveness', () =>
        r.sweepLostConnectors(),
      );
    }
    const p = presence;
    // A fifth of the grace (1–10 s): a run nobody can take fails within 1.2 × the grace.
    every(
      Math.min(10_000, Math.max(1_000, (Math.max(noConnectorSeconds, 5) * 1000) / 5)),
      'connector presence',
      async () => {
        await r.sweepNoConnector();
        await p.forget();
      },
    );
    every(sweepMs, 'outbox relay', () => ob.kick());
    if (config.schedulerEnabled) {
      every(config.schedulerTickSeconds * 1000, 'scheduler tick', () => s.tick());
    }
    void ob.kick();
    logger.info({ url, namespace: config.natsNamespace, replicaId }, 'sync service started');
  }

  /** Drain consumers, then close HTTP, the ORM and NATS; safe on a half-started service. */
  async function stopAll(): Promise<void> {
    stopping = true;
    for (const timer of timers) clearInterval(timer);
    timers.length = 0;
    await consumer?.stop();
    await responder?.stop();
    await heartbeats?.stop();
    await outbox?.idle();
    // Hand the active runs this replica leads to the others (they adopt them) instead of
    // leaving leases to expire, which would fail the runs.
    const r = runs;
    runs = undefined;
    await r?.releaseLeases().catch((err: unknown) => {
      logger.warn({ err }, 'could not release run leases; they will expire');
    });
    r?.close();
    waiters.notifyAll();
    await http?.close();
    await apollo?.stop();
    await orm?.close(true);
    if (nc && !nc.isClosed()) await nc.drain().catch(() => nc?.close());
    consumer = undefined;
    responder = undefined;
    heartbeats = undefined;
    http = undefined;
    apollo = undefined;
    orm = undefined;
    nc = undefined;
  }

  const service: SyncService = {
    name: 'sync',
    logger,
    replicaId,
    get url() {
      return url;
    },
    get schedulerPasses() {
      return scheduler?.passes ?? 0;
    },

    async start() {
      try {
        await startAll();
      } catch (err) {
        await stopAll().catch(() => undefined);
        throw err;
      }
    },

    async stop() {
      await stopAll();
      logger.info('sync service stopped');
    },

    async schedulerTick() {
      if (!scheduler) throw new Error('sync service is not started');
      return scheduler.tick();
    },

    async sweepTimeouts() {
      if (!runs) throw new Error('sync service is not started');
      return runs.sweepTimeouts();
    },

    async sweepLostConnectors() {
      if (!runs) throw new Error('sync service is not started');
      return runs.sweepLostConnectors();
    },

    async sweepNoConnector() {
      if (!runs || !presence) throw new Error('sync service is not started');
      const failed = await runs.sweepNoConnector();
      await presence.forget();
      return failed;
    },

    async maintainLeases() {
      if (!runs) throw new Error('sync service is not started');
      return runs.maintainLeases();
    },
  };
  return service;
}

/** Gauges read at scrape time: the outbox, the RunUpdates consumer, runs awaiting approval. */
function watchScrapeGauges(
  metrics: Metrics,
  orm: SyncOrm,
  t: ReturnType<typeof tables>,
  jsm: Awaited<ReturnType<NatsConnection['jetstreamManager']>>,
  namespace: string,
): void {
  const count = async (query: string) => {
    const [row] = await sql(orm.em.fork())<{ n: string }>(query);
    return Number(row?.n ?? 0);
  };
  watchOutbox(metrics, 'sync', () => count(`select count(*) as n from ${t.outbox}`));
  watchConsumers(metrics, (stream, durable) => jsm.consumers.info(stream, durable), [
    { stream: streamName(Stream.LIFECYCLE, namespace).name, durable: RUN_UPDATES_DURABLE },
  ]);
  metrics.gauge(
    'dirsync_runs_blocked',
    'Runs that a deletion threshold stopped and that wait for approve or reject.',
    [],
    async (g) => {
      await collectSafely(metrics, 'blocked runs', async () => {
        g.set(await count(`select count(*) as n from ${t.runs} where status = 'BLOCKED'`));
      });
    },
  );
}
