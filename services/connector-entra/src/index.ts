import {
  connectorServiceConfig,
  createConnectorService,
  type ConnectorService,
  type ConnectorServiceConfig,
  type ConnectorServiceDeps,
} from '@dirsync/kit';
import { createRequire } from 'node:module';
import { createEntraConnector, type EntraConnectorOptions } from './connector.js';
import type { Env } from './env.js';

/** This package's version (from src/ and dist/ alike), reported in the connector's presence. */
const PACKAGE_VERSION = (createRequire(import.meta.url)('../package.json') as { version: string })
  .version;

export { createEntraConnector, type EntraConnectorOptions } from './connector.js';
export { translateGraphError, isResyncRequired } from './errors.js';
export { DEFAULT_RETRY, backoffMs, retryAfterMs, type RetryPolicy } from './graph.js';
export { ENTRA_DEFAULT_MAPPING } from './mapping.js';

/** Configuration of the connector-entra service (what `env.ts` parses). */
export interface EntraConnectorServiceConfig extends ConnectorServiceConfig {
  /** Overrides every directory's page size. */
  pageSize?: number;
  /** Retry policy of Graph requests (tests shorten it). */
  retry?: EntraConnectorOptions['retry'];
}

export type EntraConnectorService = ConnectorService;

export function configFromEnv(env: Env): EntraConnectorServiceConfig {
  return {
    ...connectorServiceConfig(env),
    pageSize: env.GRAPH_PAGE_SIZE,
    retry: { maxAttempts: env.GRAPH_MAX_ATTEMPTS },
  };
}

/**
 * connector-entra: takes `dirsync.jobs.entra` jobs, reads the tenant through Microsoft Graph,
 * publishes its events. No inbound API besides `/healthz` and `/readyz`.
 */
export function createEntraConnectorService(
  config: EntraConnectorServiceConfig,
  deps: ConnectorServiceDeps = {},
): EntraConnectorService {
  return createConnectorService(
    'connector-entra',
    createEntraConnector({ pageSize: config.pageSize, retry: config.retry }),
    { version: PACKAGE_VERSION, ...config },
    deps,
  );
}
