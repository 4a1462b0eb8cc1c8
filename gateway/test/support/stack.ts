import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from 'nats';
import { createLogger as createServiceLogger } from '@dirsync/kit';
import { createIdentityService, type IdentityService } from '@dirsync/identity';
import { createSyncService, type SyncService } from '@dirsync/sync';
import { createLdapConnectorService, type LdapConnectorService } from '@dirsync/connector-ldap';
import { createEntraConnectorService, type EntraConnectorService } from '@dirsync/connector-entra';
import {
  createTestDatabase,
  loadDemo,
  deleteNamespaceStreams,
  natsNamespace,
  natsUrl,
  waitFor,
} from '@dirsync/testkit';
import { createGatewayService, type GatewayService } from '../../src/index.js';

/** The whole of dirsync in process: identity, sync, connector-ldap, connector-entra and the gateway. */
export interface Stack {
  namespace: string;
  databaseUrl: string;
  gatewayUrl: string;
  nc: NatsConnection;
  identity: IdentityService;
  sync: SyncService;
  connector: LdapConnectorService;
  entra: EntraConnectorService;
  gateway: GatewayService;
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<T>;
  /** Like gql, but returns errors instead of throwing. */
  gqlRaw(query: string, variables?: Record<string, unknown>): Promise<GraphQLResult>;
  /** Stop and start a fresh identity service on the same database and namespace. */
  restartIdentity(): Promise<void>;
  stopIdentity(): Promise<void>;
  startIdentity(): Promise<void>;
  stop(): Promise<void>;
}

export interface GraphQLResult {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: { code?: string } & Record<string, unknown> }[];
}

export interface StackOptions {
  runTimeoutSeconds?: number;
  /** Every service's log lines go here (at `logLevel`, default debug); else logs are off. */
  logs?: { write(line: string): void };
  logLevel?: string;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const namespace = natsNamespace();
  const db = await createTestDatabase();
  const logLevel = opts.logs ? (opts.logLevel ?? 'debug') : 'silent';
  const createLogger = (service: string, level: string) =>
    createServiceLogger(service, level, opts.logs);
  const nats = natsUrl();
  const nc = await connect({ servers: nats });

  const identityConfig = {
    databaseUrl: db.url,
    databaseSchema: 'identity',
    databasePoolMax: 5,
    natsUrl: nats,
    natsNamespace: namespace,
    port: 0,
    host: '127.0.0.1',
    logLevel,
    outboxPollMs: 200,
  };
  let identity = createIdentityService(identityConfig, {
    logger: createLogger('identity', logLevel),
  });
  const sync = createSyncService(
    {
      databaseUrl: db.url,
      databaseSchema: 'sync',
      natsUrl: nats,
      natsNamespace: namespace,
      port: 0,
      host: '127.0.0.1',
      logLevel,
      secretKey: randomBytes(32).toString('base64'),
      schedulerEnabled: false,
      schedulerTickSeconds: 15,
      runTimeoutSeconds: opts.runTimeoutSeconds ?? 120,
      syncUserTimeoutSeconds: 30,
    },
    { logger: createLogger('sync', logLevel) },
  );
  const connector = createLdapConnectorService(
    { natsUrl: nats, natsNamespace: namespace, port: 0, host: '127.0.0.1', logLevel },
    { logger: createLogger('connector-ldap', logLevel) },
  );
  // Short Graph back-off: the fake's throttling tests should not wait for production delays.
  const entra = createEntraConnectorService(
    {
      natsUrl: nats,
      natsNamespace: namespace,
      port: 0,
      host: '127.0.0.1',
      logLevel,
      retry: { baseDelayMs: 5, maxDelayMs: 50 },
    },
    { logger: createLogger('connector-entra', logLevel) },
  );
  await identity.start();
  await sync.start();
  await connector.start();
  await entra.start();
  const gateway = createGatewayService(
    {
      port: 0,
      host: '127.0.0.1',
      logLevel,
      subgraphUrls: { identity: identity.url, sync: sync.url },
      devIntrospect: false,
      maxBodyBytes: 262_144,
    },
    { logger: createLogger('gateway', logLevel) },
  );
  await gateway.start();

  async function gqlRaw(
    query: string,
    variables: Record<string, unknown> = {},
  ): Promise<GraphQLResult> {
    const res = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    return (await res.json()) as GraphQLResult;
  }

  const stack: Stack = {
    namespace,
    databaseUrl: db.url,
    get gatewayUrl() {
      return gateway.url;
    },
    nc,
    get identity() {
      return identity;
    },
    sync,
    connector,
    entra,
    gateway,
    gqlRaw,
    async gql<T>(query: string, variables: Record<string, unknown> = {}) {
      const body = await gqlRaw(query, variables);
      if (body.errors?.length) {
        const e = body.errors[0]!;
        throw new Error(`${e.extensions?.code ?? 'ERROR'}: ${e.message}`);
      }
      return body.data as T;
    },
    async stopIdentity() {
      await identity.stop();
    },
    async startIdentity() {
      identity = createIdentityService(
        {
          ...identityConfig,
          port: new URL(identity.url).port ? Number(new URL(identity.url).port) : 0,
        },
        { logger: createLogger('identity', logLevel) },
      );
      await identity.start();
    },
    async restartIdentity() {
      await stack.stopIdentity();
      await stack.startIdentity();
    },
    async stop() {
      await gateway.stop().catch(() => undefined);
      await connector.stop().catch(() => undefined);
      await entra.stop().catch(() => undefined);
      await sync.stop().catch(() => undefined);
      await identity.stop().catch(() => undefined);
      await deleteNamespaceStreams(nc, namespace).catch(() => undefined);
      await nc.close();
      await db.drop();
    },
  };
  return stack;
}

export const RUN_FIELDS = `id status mode errorCode errorMessage
  counts { seen created updated unchanged disabled pendingDeletion restored errors
           groupsSeen groupsCreated groupsUpdated groupsRemoved membershipsAdded membershipsRemoved }`;

export interface RunView {
  id: string;
  status: string;
  mode: string;
  errorCode: string | null;
  errorMessage: string | null;
  counts: RunCounts;
}

export interface RunCounts {
  seen: number;
  created: number;
  updated: number;
  unchanged: number;
  disabled: number;
  pendingDeletion: number;
  restored: number;
  errors: number;
  groupsSeen: number;
  groupsCreated: number;
  groupsUpdated: number;
  groupsRemoved: number;
  membershipsAdded: number;
  membershipsRemoved: number;
}

/** Start a full sync through the gateway and wait until it ends. */
export async function syncAllAndWait(
  stack: Stack,
  directoryId: string,
  timeoutMs = 60_000,
): Promise<RunView> {
  const { syncAll } = await stack.gql<{ syncAll: RunView }>(
    `mutation($id: ID!) { syncAll(directoryId: $id) { ${RUN_FIELDS} } }`,
    { id: directoryId },
  );
  return waitForRun(stack, syncAll.id, timeoutMs);
}

export async function waitForRun(
  stack: Stack,
  runId: string,
  timeoutMs = 60_000,
): Promise<RunView> {
  return waitFor(
    async () => {
      const { run } = await stack.gql<{ run: RunView }>(
        `query($id: ID!) { run(id: $id) { ${RUN_FIELDS} } }`,
        { id: runId },
      );
      return ['COMPLETED', 'FAILED', 'BLOCKED'].includes(run.status) ? run : undefined;
    },
    { timeoutMs, intervalMs: 100, message: `run ${runId} did not finish` },
  );
}

/** A `CreateDirectoryInput` for the demo directory served by `slapdUrl` (no schedule). */
export function demoDirectoryInput(
  slapd: { url: string; rootPassword: string },
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const demo = loadDemo();
  const { custom, ...mapping } = demo.directory.mapping;
  return {
    name: `demo ${Math.random().toString(16).slice(2, 8)}`,
    ldap: { ...demo.directory.ldap, url: slapd.url },
    bindPassword: slapd.rootPassword,
    selectedGroups: demo.directory.selectedGroups,
    mapping: {
      ...mapping,
      custom: Object.entries(custom).map(([name, attribute]) => ({ name, attribute })),
    },
    defaultRegion: demo.directory.defaultRegion,
    scheduleIntervalMinutes: 0,
    ...overrides,
  };
}
