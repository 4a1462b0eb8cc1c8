import 'reflect-metadata';
import { chmod, writeFile } from 'node:fs/promises';
import { ApolloServer } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import {
  createHttpServer,
  authMetrics,
  createLogger,
  graphqlMetricsPlugin,
  Metrics,
  type HttpServer,
  type Logger,
  type Service,
} from '@dirsync/kit';
import { subgraphAuthenticator, type Principal } from '@dirsync/kit/auth';
import type { AuthConfig } from './env.js';
import { openDatabase, tables, type Database } from './db/database.js';
import { KeyService } from './keys/key.service.js';
import { AuditService } from './audit/audit.service.js';
import { buildAuthSchema } from './graphql/schema.js';
import { internalRoutes } from './internal/routes.js';
import type { AuthContext } from './services.js';

export type { AuthConfig } from './env.js';
export { parseAuthEnv, loadAuthEnv, authEnvSchema } from './env.js';
export { printAuthSchema, SCHEMA_FILE } from './print-schema.js';
export { INTERNAL_ROUTES } from './internal/routes.js';
export { API_KEY_PREFIX, looksLikeApiKey } from './keys/api-key.js';
export type { KeyRefusal } from './keys/key.service.js';

export interface AuthDeps {
  logger?: Logger;
  /** Served at `/metrics`; default a new registry with process metrics. */
  metrics?: Metrics;
  now?: () => Date;
  /**
   * Receives the first owner key when the service creates it (first start). Default: written to
   * `config.bootstrapKeyFile`, or else printed once on stdout (never through the logger).
   */
  onBootstrapKey?: (key: string) => void | Promise<void>;
}

/** The running auth service. */
export interface AuthService extends Service {
  readonly url: string;
  /** Issue an owner key directly (break-glass CLI, tests); after start. */
  issueOwnerKey(name: string): Promise<string>;
}

const PRUNE_EVERY_MS = 6 * 3600 * 1000;

async function deliverBootstrapKey(key: string, config: AuthConfig, logger: Logger): Promise<void> {
  if (config.bootstrapKeyFile) {
    await writeFile(config.bootstrapKeyFile, `${key}\n`, { mode: 0o600 });
    await chmod(config.bootstrapKeyFile, 0o600);
    logger.warn(
      { file: config.bootstrapKeyFile },
      'first owner API key created and written to the bootstrap key file (shown once; the file stays, mode 0600, for the tools that read it — delete it once the key is stored elsewhere)',
    );
    return;
  }
  // Deliberately not through the logger: log pipelines keep lines, this must be seen once.
  process.stdout.write(
    `\n  dirsync: first owner API key (shown once; send it as "Authorization: Bearer <key>"):\n\n    ${key}\n\n`,
  );
  logger.warn('first owner API key created and printed on stdout (shown once)');
}

/**
 * The auth service: API keys (issued, listed, revoked; checked for the gateway), the audit log
 * the gateway writes around every mutation, and the auth subgraph. Only Postgres; no NATS.
 */
export function createAuthService(config: AuthConfig, deps: AuthDeps = {}): AuthService {
  const logger = deps.logger ?? createLogger('auth', config.logLevel);
  const metrics = deps.metrics ?? new Metrics({ service: 'auth' });
  const clock = deps.now ?? (() => new Date());
  const t = tables(config.databaseSchema);
  let db: Database | undefined;
  let keys: KeyService | undefined;
  let apollo: ApolloServer<AuthContext> | undefined;
  let http: HttpServer | undefined;
  let timer: NodeJS.Timeout | undefined;
  let url = '';

  const formatError = (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const code = formatted.extensions?.code;
    if (original instanceof GraphQLError || (code && code !== 'INTERNAL_SERVER_ERROR')) {
      return formatted;
    }
    logger.error({ err: original, path: formatted.path }, 'unexpected error in a resolver');
    return { message: 'internal error', path: formatted.path, extensions: { code: 'INTERNAL' } };
  };

  async function stopAll(): Promise<void> {
    if (timer) clearInterval(timer);
    timer = undefined;
    await http?.close();
    await apollo?.stop();
    await db?.close();
    http = undefined;
    apollo = undefined;
    db = undefined;
  }

  return {
    name: 'auth',
    get url() {
      return url;
    },

    async start() {
      try {
        const database = await openDatabase({
          databaseUrl: config.databaseUrl,
          schema: config.databaseSchema,
          logger,
        });
        db = database;
        const keyService = new KeyService({ db: database, tables: t, clock, logger });
        keys = keyService;
        const audit = new AuditService({ db: database, tables: t, clock });
        const first = await keyService.bootstrap();
        if (first) {
          if (deps.onBootstrapKey) await deps.onBootstrapKey(first.key);
          else await deliverBootstrapKey(first.key, config, logger);
        } else {
          // Not a first start: never a second "first" key. Say how to get one instead.
          logger.info(
            'API keys exist: no first owner key created (create one with `dirsync keys create` or the createApiKey mutation; every owner key lost: `dirsync-auth issue-owner-key <name>`)',
          );
        }
        const server = new ApolloServer<AuthContext>({
          schema: await buildAuthSchema({ keys: keyService, audit, clock, logger }),
          formatError,
          includeStacktraceInErrorResponses: false,
          stopOnTerminationSignals: false,
          plugins: [ApolloServerPluginInlineTraceDisabled(), graphqlMetricsPlugin(metrics)],
        });
        apollo = server;
        await server.start();
        http = createHttpServer<AuthContext, Principal>({
          apollo: server,
          authenticate: subgraphAuthenticator(config.gatewayPublicKey),
          context: async (_req, principal) => ({ principal }),
          routes: internalRoutes({ keys: keyService, audit, metrics: authMetrics(metrics) }),
          metrics,
          logger,
          health: {
            ready: async () => ((await database.ping()) ? [] : ['postgres: not reachable']),
          },
        });
        url = await http.listen(config.port, config.host);
        const prune = () =>
          audit
            .prune(config.auditRetentionDays)
            .then((n) => n > 0 && logger.info({ deleted: n }, 'old audit entries deleted'))
            .catch((err: unknown) => logger.error({ err }, 'audit pruning failed'));
        void prune();
        timer = setInterval(prune, PRUNE_EVERY_MS);
        timer.unref();
        logger.info({ url }, 'auth service started');
      } catch (err) {
        await stopAll().catch(() => undefined);
        throw err;
      }
    },

    async stop() {
      await stopAll();
      logger.info('auth service stopped');
    },

    async issueOwnerKey(name) {
      if (!keys) throw new Error('auth service is not started');
      return (await keys.issueOwnerKey(name)).key;
    },
  };
}
