import {
  connectorServiceConfig,
  createConnectorService,
  type ConnectorService,
  type ConnectorServiceConfig,
  type ConnectorServiceDeps,
} from '@dirsync/kit';
import { createRequire } from 'node:module';
import { createLdapConnector } from './connector.js';
import type { Env } from './env.js';

/** This package's version (from src/ and dist/ alike), reported in the connector's presence. */
const PACKAGE_VERSION = (createRequire(import.meta.url)('../package.json') as { version: string })
  .version;

export { createLdapConnector, type LdapConnectorOptions } from './connector.js';
export {
  normalizeDn,
  parseDn,
  dnEquals,
  escapeDnValue,
  DnSyntaxError,
  escapeFilterValue,
} from '@dirsync/kit/ldap';
export { translateLdapError } from './errors.js';
export { openLdapProfile, type LdapProfile } from './profiles/index.js';

/** Configuration of the connector-ldap service (what `env.ts` parses). */
export interface LdapConnectorServiceConfig extends ConnectorServiceConfig {
  /** Overrides every directory's page size. */
  pageSize?: number;
}

export type LdapConnectorServiceDeps = ConnectorServiceDeps;

/** The running service; `healthUrl` is known after `start()`. */
export type LdapConnectorService = ConnectorService;

export function configFromEnv(env: Env): LdapConnectorServiceConfig {
  return { ...connectorServiceConfig(env), pageSize: env.LDAP_PAGE_SIZE };
}

/**
 * connector-ldap: takes `dirsync.jobs.ldap` jobs, reads the directory, publishes its events.
 * It has no inbound API besides `/healthz` (alive), `/readyz` (NATS connected, taking jobs) and
 * `/metrics`: the kit's connector service around the LDAP connector.
 */
export function createLdapConnectorService(
  config: LdapConnectorServiceConfig,
  deps: LdapConnectorServiceDeps = {},
): LdapConnectorService {
  return createConnectorService(
    'connector-ldap',
    createLdapConnector({ pageSize: config.pageSize }),
    { version: PACKAGE_VERSION, ...config },
    deps,
  );
}
