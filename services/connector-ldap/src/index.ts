import {
  connectNats,
  createConnectorWorker,
  createHttpServer,
  createLogger,
  Metrics,
  type ConnectorWorker,
  type HttpServer,
  type Logger,
  type NatsConnection,
  type RunOutcome,
  type Service,
} from '@dirsync/kit';
import { createLdapConnector } from './connector.js';
import type { Env } from './env.js';

export { createLdapConnector, type LdapConnectorOptions } from './connector.js';
export { normalizeDn, parseDn, dnEquals, escapeDnValue, DnSyntaxError } from './dn.js';
export { escapeFilterValue } from './filter.js';
export { translateLdapError } from './errors.js';
export { openLdapProfile, type LdapProfile } from './profiles/index.js';

/** Configuration of the connector-ldap service (what `env.ts` parses). */
export interface LdapConnectorServiceConfig {
  natsUrl: string;
  /** "" in production; a per-test-file prefix in tests. */
  natsNamespace: string;
  /** Port of `/healthz` and `/readyz`; 0 picks a free one. */
  port: number;
  host: string;
  logLevel?: string;
  /** Overrides every directory's page size. */
  pageSize?: number;
  maxInFlight?: number;
  batchSize?: number;
  configTimeoutMs?: number;
  stopGraceMs?: number;
}

export interface LdapConnectorServiceDeps {
  logger?: Logger;
  /** An existing connection (tests); the service then does not close it. */
  nc?: NatsConnection;
  onRunEnd?: (outcome: RunOutcome) => void;
  /** Served at `/metrics`; one per service instance (default: a new one). */
  metrics?: Metrics;
}

/** The running service; `healthUrl` is known after `start()`. */
export interface LdapConnectorService extends Service {
  readonly healthUrl: string | undefined;
  readonly worker: ConnectorWorker | undefined;
}

export function configFromEnv(env: Env): LdapConnectorServiceConfig {
  return {
    natsUrl: env.NATS_URL,
    natsNamespace: env.NATS_NAMESPACE,
    port: env.PORT,
    host: env.HOST,
    logLevel: env.LOG_LEVEL,
    pageSize: env.LDAP_PAGE_SIZE,
    maxInFlight: env.CONNECTOR_MAX_IN_FLIGHT,
    batchSize: env.CONNECTOR_BATCH_SIZE,
    configTimeoutMs: env.CONFIG_TIMEOUT_MS,
    stopGraceMs: env.CONNECTOR_STOP_GRACE_MS,
  };
}

/**
 * connector-ldap: takes `dirsync.jobs.ldap` jobs, reads the directory, publishes its events.
 * It has no inbound API besides `/healthz` (alive) and `/readyz` (NATS connected, taking jobs).
 */
export function createLdapConnectorService(
  config: LdapConnectorServiceConfig,
  deps: LdapConnectorServiceDeps = {},
): LdapConnectorService {
  const logger = deps.logger ?? createLogger('connector-ldap', config.logLevel ?? 'info');
  const metrics = deps.metrics ?? new Metrics({ service: 'connector-ldap' });
  let nc: NatsConnection | undefined;
  let worker: ConnectorWorker | undefined;
  let http: HttpServer | undefined;
  let healthUrl: string | undefined;

  return {
    name: 'connector-ldap',
    get healthUrl() {
      return healthUrl;
    },
    get worker() {
      return worker;
    },
    async start() {
      nc = deps.nc ?? (await connectNats({ url: config.natsUrl, name: 'connector-ldap', logger }));
      const conn = nc;
      worker = createConnectorWorker({
        connector: createLdapConnector({ pageSize: config.pageSize }),
        nc: conn,
        namespace: config.natsNamespace,
        logger,
        batchSize: config.batchSize,
        maxInFlight: config.maxInFlight,
        configTimeoutMs: config.configTimeoutMs,
        stopGraceMs: config.stopGraceMs,
        onRunEnd: deps.onRunEnd,
        metrics,
      });
      await worker.start();
      const w = worker;
      http = createHttpServer({
        metrics,
        health: {
          ready: async () => {
            const problems = w.problems();
            if (conn.isClosed()) problems.push('NATS connection closed');
            return problems;
          },
        },
      });
      const url = await http.listen(config.port, config.host);
      healthUrl = url.replace(/\/graphql$/, '');
      logger.info({ health: healthUrl, namespace: config.natsNamespace }, 'connector-ldap started');
    },
    async stop() {
      await worker?.stop();
      await http?.close();
      if (nc && !deps.nc) await nc.drain().catch(() => undefined);
      nc = undefined;
    },
  };
}
