import { ApolloServer } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import {
  connectNats,
  createHttpServer,
  createLogger,
  ensureStreams,
  applyMetrics,
  graphqlMetricsPlugin,
  Metrics,
  watchConsumers,
  watchOutbox,
  type ConsumerLoop,
  type HttpServer,
  type Logger,
  type NatsConnection,
  type Service,
} from '@dirsync/kit';
import { Stream, streamName } from '@dirsync/proto';
import { subgraphAuthenticator, type Principal } from '@dirsync/kit/auth';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { createApplier, type Applier } from './apply/applier.js';
import { purgeExpiredAdmins } from './apply/admins.apply.js';
import { purgeExpiredUsers } from './apply/restore-purge.js';
import { expireHistory } from './apply/history.js';

import {
  startRunDecisionsResponder,
  type RunDecisionsResponder,
} from './apply/run-decisions.responder.js';
import {
  LIFECYCLE_DURABLE,
  startDirectoryDeletedConsumer,
} from './apply/directory-deleted.consumer.js';
import { EVENTS_DURABLE, startEventsConsumer } from './apply/events.consumer.js';
import type { IdentityConfig } from './config.js';
import { openDatabase, type Database } from './db/database.js';
import type { IdentityContext } from './graphql/context.js';
import { createLoaders } from './graphql/loaders.js';
import { buildIdentitySchema } from './graphql/schema.js';
import { startOutboxRelay, type OutboxRelay } from './outbox/outbox.relay.js';

/** Rows the run-history retention deletes per statement. */
const HISTORY_SLICE = 50_000;

export type { IdentityConfig } from './config.js';
export { buildIdentitySchema } from './graphql/schema.js';
export { openDatabase, type Database } from './db/database.js';
export { EVENTS_DURABLE } from './apply/events.consumer.js';
export { LIFECYCLE_DURABLE } from './apply/directory-deleted.consumer.js';
export { DEFAULT_RESTORE_WINDOW_DAYS, type ApplyOutcome } from './apply/applier.js';
export { nameKey } from './apply/normalize.js';
export { UserStatus } from './entities/user.entity.js';
export { AdminStatus } from './entities/admin.entity.js';

/** The identity service as `main()` and tests run it. */
export interface IdentityService extends Service {
  /** GraphQL endpoint, e.g. `http://127.0.0.1:4101/graphql` (after start). */
  readonly url: string;
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  /** The service's database (after start); tests read rows through it. */
  readonly database: Database;
  /** The outbox relay (after start): `drain()` publishes now, `pending()` counts. */
  readonly outbox: OutboxRelay;
  /**
   * One pass of the purge job (also run every `purgeIntervalSeconds`): delete the users and
   * administrators whose restore window has ended by `at` (default now); how many it deleted.
   * Tests pass a time past the window instead of waiting for it.
   */
  purgeExpired(at?: Date): Promise<number>;
  /**
   * One pass of the run-history retention (also run by the purge job): delete the per-object
   * changes older than `runHistoryRetentionDays` before `at` (default now); how many.
   */
  expireRunHistory(at?: Date): Promise<number>;
}

export interface IdentityDeps {
  logger?: Logger;
  /** Served at `/metrics`; one per service instance (default: a new one). */
  metrics?: Metrics;
}

/**
 * Build the identity service: the apply path (DIRSYNC_EVENTS consumer, DirectoryDeleted
 * consumer), the outbox relay and the GraphQL subgraph. Nothing connects before `start()`.
 */
export function createIdentityService(
  config: IdentityConfig,
  deps: IdentityDeps = {},
): IdentityService {
  const logger = deps.logger ?? createLogger('identity', config.logLevel);
  const metrics = deps.metrics ?? new Metrics({ service: 'identity' });
  const apply = applyMetrics(metrics);
  let db: Database | undefined;
  let nc: NatsConnection | undefined;
  let relay: OutboxRelay | undefined;
  let consumers: ConsumerLoop[] = [];
  let decisions: RunDecisionsResponder | undefined;
  let apollo: ApolloServer<IdentityContext> | undefined;
  let http: HttpServer | undefined;
  let url = '';
  let port = 0;
  let natsUp = false;
  let purgeTimer: NodeJS.Timeout | undefined;
  let purging: Promise<number> | undefined;

  /** Delete what a restore window let go; one pass at a time. */
  function purgeExpired(at?: Date): Promise<number> {
    const database = db;
    if (!database) return Promise.reject(new Error('identity service is not started'));
    const when = at ?? new Date();
    purging ??= database
      .tx(async (sql) => ({
        users: await purgeExpiredUsers(sql, when),
        admins: await purgeExpiredAdmins(sql, when),
      }))
      .then(({ users, admins }) => {
        if (users + admins > 0) {
          logger.info(
            { users, admins },
            'purged users and administrators past their restore window',
          );
        }
        return users + admins;
      })
      .finally(() => {
        purging = undefined;
      });
    return purging;
  }

  /** Delete run history past its retention, in slices (each its own statement). */
  async function expireRunHistory(at?: Date): Promise<number> {
    const database = db;
    if (!database) throw new Error('identity service is not started');
    const days = config.runHistoryRetentionDays ?? 30;
    const before = new Date((at ?? new Date()).getTime() - days * 86_400_000);
    let total = 0;
    for (let n = HISTORY_SLICE; n === HISTORY_SLICE; total += n) {
      n = await expireHistory(database.sql, before, HISTORY_SLICE);
    }
    if (total > 0) logger.info({ changes: total, before }, 'expired run history');
    return total;
  }

  async function stopAll(): Promise<void> {
    clearInterval(purgeTimer);
    purgeTimer = undefined;
    await purging?.catch(() => undefined);
    // Drain first: the event in hand commits and is acked; the rest is redelivered elsewhere.
    await decisions?.stop();
    decisions = undefined;
    await Promise.all(consumers.map((c) => c.stop()));
    consumers = [];
    await relay?.stop();
    relay = undefined;
    await http?.close();
    http = undefined;
    await apollo?.stop();
    apollo = undefined;
    await db?.close();
    db = undefined;
    if (nc && !nc.isClosed()) await nc.close();
    nc = undefined;
  }

  return {
    name: 'identity',
    get url() {
      return url;
    },
    get port() {
      return port;
    },
    get database() {
      if (!db) throw new Error('identity service is not started');
      return db;
    },
    purgeExpired,
    expireRunHistory,
    get outbox() {
      if (!relay) throw new Error('identity service is not started');
      return relay;
    },

    async start() {
      try {
        const database = await openDatabase({
          url: config.databaseUrl,
          schema: config.databaseSchema,
          poolMax: config.databasePoolMax,
          logger,
          namespace: config.natsNamespace,
        });
        db = database;
        const conn = await connectNats({ url: config.natsUrl, name: 'identity', logger });
        nc = conn;
        natsUp = true;
        void (async () => {
          for await (const s of conn.status()) {
            if (s.type === 'disconnect') natsUp = false;
            if (s.type === 'reconnect') natsUp = true;
          }
        })();
        const jsm = await conn.jetstreamManager();
        const js = conn.jetstream();
        await ensureStreams(jsm, config.natsNamespace);

        const outbox = startOutboxRelay({
          db: database,
          js,
          schema: config.databaseSchema,
          pollMs: config.outboxPollMs,
          logger: logger.child({ component: 'outbox' }),
        });
        relay = outbox;
        database.onOutbox(() => outbox.wake());
        const applier: Applier = createApplier({
          db: database,
          namespace: config.natsNamespace,
          logger,
        });
        consumers.push(
          await startEventsConsumer({
            js,
            jsm,
            namespace: config.natsNamespace,
            applier,
            logger,
            onOutbox: () => outbox.wake(),
            maxDeliveries: config.eventMaxDeliveries,
            retryDelayMs: config.eventRetryDelayMs,
            metrics: apply,
          }),
          await startDirectoryDeletedConsumer({
            js,
            jsm,
            namespace: config.natsNamespace,
            db: database,
            logger,
            onOutbox: () => outbox.wake(),
          }),
        );

        decisions = startRunDecisionsResponder({
          nc: conn,
          namespace: config.natsNamespace,
          db: database,
          logger,
          onOutbox: () => outbox.wake(),
        });

        const server = new ApolloServer<IdentityContext>({
          schema: await buildIdentitySchema(),
          includeStacktraceInErrorResponses: false,
          // stop() owns shutdown; Apollo's own handler would re-raise the signal mid-drain.
          stopOnTerminationSignals: false,
          // Federated tracing is for Apollo's hosted studio, which dirsync does not use.
          plugins: [ApolloServerPluginInlineTraceDisabled(), graphqlMetricsPlugin(metrics)],
          formatError: (formatted, error) => formatError(formatted, error, logger),
        });
        apollo = server;
        await server.start();
        watchOutbox(metrics, 'identity', () => outbox.pending());
        watchConsumers(metrics, (stream, durable) => jsm.consumers.info(stream, durable), [
          { stream: streamName(Stream.EVENTS, config.natsNamespace).name, durable: EVENTS_DURABLE },
          {
            stream: streamName(Stream.LIFECYCLE, config.natsNamespace).name,
            durable: LIFECYCLE_DURABLE,
          },
        ]);
        http = createHttpServer<IdentityContext, Principal>({
          apollo: server,
          metrics,
          authenticate: subgraphAuthenticator(config.gatewayPublicKey),
          context: async (_req, principal) => {
            const em = database.em();
            return { em, db: database, loaders: createLoaders(em, database), principal };
          },
          health: {
            ready: async () => {
              const problems: string[] = [];
              if (!(await database.ping())) problems.push('database unreachable');
              if (!natsUp) problems.push('NATS disconnected');
              if (consumers.length === 0) problems.push('consumers not running');
              return problems;
            },
          },
        });
        url = await http.listen(config.port, config.host);
        port = Number(new URL(url).port);
        const purgeS = config.purgeIntervalSeconds ?? 60;
        if (purgeS > 0) {
          purgeTimer = setInterval(() => {
            purgeExpired().catch((err: unknown) => logger.error({ err }, 'purge job failed'));
            expireRunHistory().catch((err: unknown) =>
              logger.error({ err }, 'run history retention failed'),
            );
          }, purgeS * 1000);
          purgeTimer.unref();
        }
        logger.info({ url, namespace: config.natsNamespace }, 'identity started');
      } catch (err) {
        await stopAll().catch(() => undefined);
        throw err;
      }
    },

    async stop() {
      await stopAll();
      logger.info('identity stopped');
    },
  };
}

/** Codes from our resolvers pass through; anything unexpected is logged and hidden. */
function formatError(
  formatted: GraphQLFormattedError,
  error: unknown,
  logger: Logger,
): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  const code = formatted.extensions?.code;
  if (original instanceof GraphQLError || (code && code !== 'INTERNAL_SERVER_ERROR')) {
    return formatted;
  }
  logger.error({ err: original }, 'GraphQL resolver failed');
  return {
    message: 'internal error',
    locations: formatted.locations,
    path: formatted.path,
    extensions: { code: 'INTERNAL' },
  };
}
