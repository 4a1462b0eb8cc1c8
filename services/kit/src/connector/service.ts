import type { NatsConnection } from 'nats';
import type { z } from 'zod';
import type { connectorEnvShape } from '../env.js';
import { createHttpServer, type HttpServer } from '../http.js';
import type { Service } from '../lifecycle.js';
import { createLogger, type Logger } from '../logger.js';
import { Metrics } from '../metrics.js';
import { connectNats } from '../nats.js';
import type { SourceConnector } from './types.js';
import { createConnectorWorker, type ConnectorWorker, type RunOutcome } from './worker.js';

/** What a connector process is configured with (its `env.ts` parses these). */
export interface ConnectorServiceConfig {
  natsUrl: string;
  /** "" in production; a per-test-file prefix in tests. */
  natsNamespace: string;
  /** Port of `/healthz` and `/readyz`; 0 picks a free one. */
  port: number;
  host: string;
  logLevel?: string;
  maxInFlight?: number;
  batchSize?: number;
  configTimeoutMs?: number;
  stopGraceMs?: number;
  /** Seconds between heartbeats of the runs in hand (default 5). */
  heartbeatSeconds?: number;
  /** This process's name in heartbeats (default host:pid:random). */
  instanceId?: string;
  /** The connector's version in its presence heartbeats (each connector passes its package's). */
  version?: string;
}

/** The variables every connector's `env.ts` parses (`connectorEnvShape`). */
export type ConnectorEnv = z.infer<z.ZodObject<ReturnType<typeof connectorEnvShape>>>;

/** The kit's part of a connector process's configuration, from its parsed environment. */
export function connectorServiceConfig(env: ConnectorEnv): ConnectorServiceConfig {
  return {
    natsUrl: env.NATS_URL,
    natsNamespace: env.NATS_NAMESPACE,
    port: env.PORT,
    host: env.HOST,
    logLevel: env.LOG_LEVEL,
    maxInFlight: env.CONNECTOR_MAX_IN_FLIGHT,
    batchSize: env.CONNECTOR_BATCH_SIZE,
    configTimeoutMs: env.CONFIG_TIMEOUT_MS,
    stopGraceMs: env.CONNECTOR_STOP_GRACE_MS,
    heartbeatSeconds: env.CONNECTOR_HEARTBEAT_SECONDS,
    ...(env.CONNECTOR_INSTANCE_ID ? { instanceId: env.CONNECTOR_INSTANCE_ID } : {}),
  };
}

export interface ConnectorServiceDeps {
  logger?: Logger;
  /** An existing connection (tests); the service then does not close it. */
  nc?: NatsConnection;
  onRunEnd?: (outcome: RunOutcome) => void;
  /** Served at `/metrics`; one per service instance (default: a new one). */
  metrics?: Metrics;
}

/** A running connector process; `healthUrl` is known after `start()`. */
export interface ConnectorService extends Service {
  readonly healthUrl: string | undefined;
  readonly worker: ConnectorWorker | undefined;
}

/**
 * A connector process: the kit's worker taking `dirsync.jobs.<kind>` jobs for `connector`, and
 * no inbound API besides `/healthz` (alive), `/readyz` (NATS connected, taking jobs) and `/metrics`.
 */
export function createConnectorService<S>(
  name: string,
  connector: SourceConnector<S>,
  config: ConnectorServiceConfig,
  deps: ConnectorServiceDeps = {},
): ConnectorService {
  const logger = deps.logger ?? createLogger(name, config.logLevel ?? 'info');
  const metrics = deps.metrics ?? new Metrics({ service: name });
  let nc: NatsConnection | undefined;
  let worker: ConnectorWorker | undefined;
  let http: HttpServer | undefined;
  let healthUrl: string | undefined;

  return {
    name,
    get healthUrl() {
      return healthUrl;
    },
    get worker() {
      return worker;
    },
    async start() {
      nc = deps.nc ?? (await connectNats({ url: config.natsUrl, name, logger }));
      const conn = nc;
      const w = createConnectorWorker({
        connector,
        nc: conn,
        namespace: config.natsNamespace,
        logger,
        batchSize: config.batchSize,
        maxInFlight: config.maxInFlight,
        configTimeoutMs: config.configTimeoutMs,
        stopGraceMs: config.stopGraceMs,
        instanceId: config.instanceId,
        version: config.version,
        heartbeatIntervalMs:
          config.heartbeatSeconds === undefined ? undefined : config.heartbeatSeconds * 1000,
        onRunEnd: deps.onRunEnd,
        metrics,
      });
      worker = w;
      await w.start();
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
      logger.info(
        { health: healthUrl, namespace: config.natsNamespace, instanceId: w.instanceId },
        `${name} started`,
      );
    },
    async stop() {
      await worker?.stop();
      await http?.close();
      if (nc && !deps.nc) await nc.drain().catch(() => undefined);
      nc = undefined;
    },
  };
}
