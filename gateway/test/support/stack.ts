import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from 'nats';
import { createLogger as createServiceLogger } from '@dirsync/kit';
import { generateGatewayKeyPair, type Role } from '@dirsync/kit/auth';
import type { AuthService } from '@dirsync/auth';
import { createIdentityService, type IdentityService } from '@dirsync/identity';
import { createSyncService, type SyncConfig, type SyncService } from '@dirsync/sync';
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
import { createGatewayService, type GatewayConfig, type GatewayService } from '../../src/index.js';
import { SecretScanner } from './secret-scan.js';
import { startTestAuthService, testGatewayConfig } from './auth.js';

/** A GraphQL client authenticated with one API key. */
export interface Client {
  /** The API key (`dsk_…`) it sends as `Authorization: Bearer`. */
  key: string;
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<T>;
  /** Like gql, but returns errors instead of throwing. */
  gqlRaw(query: string, variables?: Record<string, unknown>): Promise<GraphQLResult>;
}

/**
 * The whole of dirsync in process: auth, identity, sync, connector-ldap, connector-entra and
 * the gateway. `gql()`
 * and `gqlRaw()` are an owner's client (the first owner key the auth service created);
 * `client(role)` issues a key with another role (docs/security.md).
 */
export interface Stack extends Client {
  namespace: string;
  databaseUrl: string;
  gatewayUrl: string;
  nc: NatsConnection;
  auth: AuthService;
  identity: IdentityService;
  sync: SyncService;
  connector: LdapConnectorService;
  entra: EntraConnectorService;
  gateway: GatewayService;
  /** The gateway's configuration, to start another gateway in front of the same subgraphs. */
  gatewayConfig: GatewayConfig;
  /** Another gateway in front of the same subgraphs with some settings changed; stopped by `stop()`. */
  startGateway(overrides: Partial<GatewayConfig>): Promise<GatewayService>;
  /** A client with a new API key of `role` (created by the owner through `createApiKey`). */
  client(role: Role, opts?: { name?: string; expiresAt?: Date }): Promise<Client>;
  /** A client for any credential (a key, a revoked key, an OIDC token…) against any gateway URL. */
  clientFor(credential: string | undefined, url?: string): Client;
  /**
   * Collects the secrets the test uses and everything dirsync said; `stop()` fails the file when
   * a secret shows up in a log line, a response, a NATS message or a database row.
   */
  secretScanner: SecretScanner;
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
  /**
   * Every service's log lines also go here (at `logLevel`). Whatever is set, the stack keeps the
   * lines (default level info) for its secret scan at `stop()`.
   */
  logs?: { write(line: string): void };
  logLevel?: string;
  /** Gateway settings to override (limits, OIDC…). */
  gateway?: Partial<GatewayConfig>;
  /** Sync settings to override (e.g. `connectorLostSeconds`). */
  sync?: Partial<SyncConfig>;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const namespace = natsNamespace();
  const db = await createTestDatabase();
  const logLevel = opts.logLevel ?? (opts.logs ? 'debug' : 'info');
  // Every test that uses the stack is also a test that no secret leaks (see secret-scan.ts).
  const scanner = new SecretScanner();
  const sink = {
    write(line: string) {
      scanner.observe('logs', line);
      opts.logs?.write(line);
    },
  };
  const createLogger = (service: string, level: string) =>
    createServiceLogger(service, level, sink);
  const nats = natsUrl();
  const nc = await connect({ servers: nats });
  const keys = generateGatewayKeyPair();
  const secretKey = randomBytes(32).toString('base64');
  scanner.add('DIRSYNC_GATEWAY_PRIVATE_KEY', keys.privateKey);
  scanner.add('DIRSYNC_SECRET_KEY', secretKey);

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
    gatewayPublicKey: keys.publicKey,
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
      secretKey,
      gatewayPublicKey: keys.publicKey,
      schedulerEnabled: false,
      schedulerTickSeconds: 15,
      runTimeoutSeconds: opts.runTimeoutSeconds ?? 120,
      syncUserTimeoutSeconds: 30,
      ...opts.sync,
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
  const { auth, ownerKey } = await startTestAuthService({
    databaseUrl: db.url,
    gatewayPublicKey: keys.publicKey,
    logger: createLogger('auth', logLevel),
    logLevel,
  });
  await identity.start();
  await sync.start();
  await connector.start();
  await entra.start();
  const gatewayConfig = testGatewayConfig(
    {
      subgraphUrls: { identity: identity.url, sync: sync.url, auth: auth.url },
      privateKey: keys.privateKey,
      logLevel,
    },
    opts.gateway,
  );

  const gateway = createGatewayService(gatewayConfig, {
    logger: createLogger('gateway', logLevel),
  });
  await gateway.start();
  scanner.add('the first owner key', ownerKey);

  const clientFor = (credential: string | undefined, url?: string): Client => {
    async function gqlRaw(
      query: string,
      variables: Record<string, unknown> = {},
    ): Promise<GraphQLResult> {
      scanner.addVariables(variables);
      const res = await fetch(url ?? gateway.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(credential ? { authorization: `Bearer ${credential}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
      });
      const text = await res.text();
      const body = JSON.parse(text) as GraphQLResult;
      const issued = (body.data?.createApiKey as { key?: string } | undefined)?.key;
      if (issued) scanner.add('an API key created in the test', issued);
      // The answer that issues a key is the one place it may appear.
      else scanner.observe(`the answer to ${query.replace(/\s+/g, ' ').slice(0, 80)}`, text);
      return body;
    }
    return {
      key: credential ?? '',
      gqlRaw,
      async gql<T>(query: string, variables: Record<string, unknown> = {}) {
        const body = await gqlRaw(query, variables);
        if (body.errors?.length) {
          const e = body.errors[0]!;
          throw new Error(`${e.extensions?.code ?? 'ERROR'}: ${e.message}`);
        }
        return body.data as T;
      },
    };
  };
  const owner = clientFor(ownerKey);
  const extraGateways: GatewayService[] = [];

  const stack: Stack = {
    namespace,
    databaseUrl: db.url,
    get gatewayUrl() {
      return gateway.url;
    },
    nc,
    auth,
    get identity() {
      return identity;
    },
    sync,
    connector,
    entra,
    gateway,
    gatewayConfig,
    async startGateway(overrides) {
      const g = createGatewayService(
        { ...gatewayConfig, ...overrides },
        { logger: createLogger('gateway', logLevel) },
      );
      await g.start();
      extraGateways.push(g);
      return g;
    },
    key: ownerKey,
    gqlRaw: owner.gqlRaw,
    gql: owner.gql,
    clientFor,
    async client(role, { name, expiresAt } = {}) {
      const { createApiKey } = await owner.gql<{ createApiKey: { key: string } }>(
        `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key } }`,
        { input: { name: name ?? `test ${role}`, role, expiresAt: expiresAt?.toISOString() } },
      );
      return clientFor(createApiKey.key);
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
    secretScanner: scanner,
    async stop() {
      const leaks = await scanner
        .findings({ nc, namespace, databaseUrl: db.url })
        .catch((err: unknown) => [`the secret scan failed: ${String(err)}`]);
      for (const g of extraGateways) await g.stop().catch(() => undefined);
      await gateway.stop().catch(() => undefined);
      await connector.stop().catch(() => undefined);
      await entra.stop().catch(() => undefined);
      await sync.stop().catch(() => undefined);
      await identity.stop().catch(() => undefined);
      await auth.stop().catch(() => undefined);
      await deleteNamespaceStreams(nc, namespace).catch(() => undefined);
      await nc.close();
      await db.drop();
      if (leaks.length > 0) throw new Error(`secrets leaked:\n  - ${leaks.join('\n  - ')}`);
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

/**
 * Create an OpenLDAP directory over a test slapd (rootdn bind, `ou=people` / `ou=groups`), no
 * schedules, selecting `groups` (cn=… under the groups OU); `extra` adds or overrides input fields.
 * Returns its id.
 */
export async function createSlapdDirectory(
  stack: Pick<Stack, 'gql'>,
  slapd: {
    url: string;
    rootDn: string;
    rootPassword: string;
    suffix: string;
    peopleDn: string;
    groupsDn: string;
  },
  name: string,
  groups: string[],
  extra: Record<string, unknown> = {},
): Promise<string> {
  const { createDirectory } = await stack.gql<{ createDirectory: { id: string } }>(
    `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { id } }`,
    {
      input: {
        name,
        ldap: {
          url: slapd.url,
          bindDn: slapd.rootDn,
          baseDn: slapd.suffix,
          userBaseDn: slapd.peopleDn,
          groupBaseDn: slapd.groupsDn,
        },
        bindPassword: slapd.rootPassword,
        selectedGroups: groups.map((cn) => `cn=${cn},${slapd.groupsDn}`),
        scheduleIntervalMinutes: 0,
        deltaIntervalMinutes: 0,
        ...extra,
      },
    },
  );
  return createDirectory.id;
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
