import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from 'nats';
import { createLogger } from '@dirsync/kit';
import {
  DirectoryEventSchema,
  RunCompletedSchema,
  RunStartedSchema,
  Stream,
  Subject,
  SyncJobSchema,
  SyncMode,
  UserBatchSchema,
  create,
  eventMsgId,
  fromBinary,
  streamName,
  subject,
  toBinary,
  type DirectoryEvent,
  type SyncJob,
} from '@dirsync/proto';
import {
  createTestDatabase,
  deleteNamespaceStreams,
  natsNamespace,
  natsUrl,
  waitFor,
  type TestDatabase,
} from '@dirsync/testkit';
import { generateGatewayKeyPair } from '@dirsync/kit/auth';
import type { AuthService } from '@dirsync/auth';
import { createIdentityService, type IdentityService } from '@dirsync/identity';
import { createSyncService, type SyncService } from '@dirsync/sync';
import { createGatewayService, type GatewayConfig, type GatewayService } from '../src/index.js';
import { startTestAuthService, testGatewayConfig } from './support/auth.js';

const ns = natsNamespace();
const logLevel = process.env.TEST_LOG_LEVEL ?? 'silent';
let db: TestDatabase;
let nc: NatsConnection;
let auth: AuthService;
let identity: IdentityService;
let sync: SyncService;
let gateway: GatewayService;
const keys = generateGatewayKeyPair();
let ownerKey = '';

/** A gateway configuration in front of this file's subgraphs. */
function gatewayConfig(overrides: Partial<GatewayConfig> = {}): GatewayConfig {
  return testGatewayConfig(
    {
      subgraphUrls: { identity: identity.url, sync: sync.url, auth: auth.url },
      privateKey: keys.privateKey,
      logLevel,
    },
    { maxBodyBytes: 64 * 1024, requestTimeoutMs: 30_000, ...overrides },
  );
}

async function post(url: string, query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ownerKey}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as {
    data?: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- test reads arbitrary shapes
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  };
}

beforeAll(async () => {
  db = await createTestDatabase();
  nc = await connect({ servers: natsUrl() });
  ({ auth, ownerKey } = await startTestAuthService({
    databaseUrl: db.url,
    gatewayPublicKey: keys.publicKey,
    logger: createLogger('auth', logLevel),
    logLevel,
  }));
  identity = createIdentityService(
    {
      databaseUrl: db.url,
      databaseSchema: 'identity',
      databasePoolMax: 5,
      natsUrl: natsUrl(),
      natsNamespace: ns,
      port: 0,
      host: '127.0.0.1',
      logLevel,
      outboxPollMs: 100,
      gatewayPublicKey: keys.publicKey,
    },
    { logger: createLogger('identity', logLevel) },
  );
  sync = createSyncService(
    {
      databaseUrl: db.url,
      databaseSchema: 'sync',
      natsUrl: natsUrl(),
      natsNamespace: ns,
      port: 0,
      host: '127.0.0.1',
      logLevel,
      secretKey: randomBytes(32).toString('base64'),
      gatewayPublicKey: keys.publicKey,
      schedulerEnabled: false,
      schedulerTickSeconds: 15,
      runTimeoutSeconds: 600,
      syncUserTimeoutSeconds: 30,
      // The test plays the connector by publishing its events, without presence heartbeats.
      noConnectorSeconds: 0,
    },
    { logger: createLogger('sync', logLevel) },
  );
  await identity.start();
  await sync.start();
  gateway = createGatewayService(gatewayConfig(), { logger: createLogger('gateway', logLevel) });
  await gateway.start();
});

afterAll(async () => {
  await gateway?.stop();
  await sync?.stop();
  await identity?.stop();
  await auth?.stop();
  if (nc) {
    await deleteNamespaceStreams(nc, ns);
    await nc.close();
  }
  await db?.drop();
});

/** Play connector-ldap: take the next job of the directory and publish its events. */
async function answerUserJob(
  directoryId: string,
  externalId: string,
  username: string,
): Promise<SyncJob> {
  const jsm = await nc.jetstreamManager();
  const stream = streamName(Stream.JOBS, ns).name;
  const msg = await waitFor(
    () =>
      jsm.streams.getMessage(stream, {
        last_by_subj: subject(Subject.JOBS, { connector_kind: 'ldap' }, ns),
      }),
    { message: 'job published' },
  );
  const job = fromBinary(SyncJobSchema, msg.data);
  expect(job.directoryId).toBe(directoryId);
  expect(job.mode).toBe(SyncMode.USER);
  const js = nc.jetstream();
  const events: DirectoryEvent['body'][] = [
    { case: 'runStarted', value: create(RunStartedSchema, { mode: SyncMode.USER, username }) },
    {
      case: 'users',
      value: create(UserBatchSchema, {
        users: [
          {
            externalId,
            username,
            email: `${username}@example.org`,
            firstName: 'Jane',
            lastName: 'Doe',
            displayName: 'Jane Doe',
            sourceLocator: `uid=${username},ou=people,dc=example,dc=org`,
          },
        ],
      }),
    },
    { case: 'runCompleted', value: create(RunCompletedSchema, { lastSeq: 3, usersObserved: 1 }) },
  ];
  let seq = 0;
  for (const body of events) {
    seq++;
    const event = create(DirectoryEventSchema, {
      runId: job.runId,
      directoryId,
      seq,
      emittedAtMs: BigInt(Date.now()),
      body,
    });
    await js.publish(
      subject(Subject.EVENTS, { directory_id: directoryId }, ns),
      toBinary(DirectoryEventSchema, event),
      {
        msgID: eventMsgId(job.runId, seq),
      },
    );
  }
  return job;
}

describe('gateway', () => {
  it('reports ready when both subgraphs answer', async () => {
    const res = await fetch(gateway.url.replace('/graphql', '/readyz'));
    expect(res.status).toBe(200);
  });

  it('runs a mutation across subgraphs: syncUser → identity user → sync directory', async () => {
    const created = await post(
      gateway.url,
      `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { id name hasBindPassword } }`,
      {
        input: {
          name: 'Federated LDAP',
          ldap: {
            url: 'ldap://127.0.0.1:3890',
            bindDn: 'cn=admin,dc=example,dc=org',
            baseDn: 'dc=example,dc=org',
          },
          bindPassword: 'secret',
          selectedGroups: ['cn=staff,ou=groups,dc=example,dc=org'],
        },
      },
    );
    expect(created.errors).toBeUndefined();
    const dir = created.data!.createDirectory as { id: string; name: string };

    const externalId = randomUUID();
    const pending = post(
      gateway.url,
      `mutation($id: ID!) { syncUser(directoryId: $id, username: "jdoe") {
          outcome
          run { status mode username directory { name } }
          user { id username email status directory { id name } }
        } }`,
      { id: dir.id },
    );
    await answerUserJob(dir.id, externalId, 'jdoe');
    const result = await pending;
    expect(result.errors).toBeUndefined();
    expect(result.data!.syncUser).toMatchObject({
      outcome: 'CREATED',
      run: {
        status: 'COMPLETED',
        mode: 'USER',
        username: 'jdoe',
        directory: { name: 'Federated LDAP' },
      },
      user: {
        username: 'jdoe',
        email: 'jdoe@example.org',
        status: 'ACTIVE',
        directory: { id: dir.id, name: 'Federated LDAP' },
      },
    });

    // The other direction: identity's user list, each user's directory resolved by sync.
    const users = await post(
      gateway.url,
      `{ users(first: 10) { edges { node { username directory { name scheduleIntervalMinutes lastRun { status } } } } } }`,
    );
    expect(users.errors).toBeUndefined();
    expect(users.data!.users.edges).toEqual([
      {
        node: {
          username: 'jdoe',
          directory: {
            name: 'Federated LDAP',
            scheduleIntervalMinutes: 30,
            lastRun: { status: 'COMPLETED' },
          },
        },
      },
    ]);
  });

  it('passes subgraph error codes through', async () => {
    const r = await post(
      gateway.url,
      `mutation { syncAll(directoryId: "${randomUUID()}") { id } }`,
    );
    expect(r.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('refuses request bodies over the cap', async () => {
    const res = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ __typename }`, variables: { pad: 'x'.repeat(70 * 1024) } }),
    });
    expect(res.status).toBe(413);
  });

  it('is not ready when a subgraph does not answer', async () => {
    const dead = createGatewayService(
      gatewayConfig({
        subgraphUrls: {
          identity: identity.url,
          sync: 'http://127.0.0.1:9/graphql',
          auth: auth.url,
        },
      }),
      { logger: createLogger('gateway', logLevel) },
    );
    await dead.start();
    try {
      const res = await fetch(dead.url.replace('/graphql', '/readyz'));
      expect(res.status).toBe(503);
      const body = (await res.json()) as { problems: string[] };
      expect(body.problems).toEqual([expect.stringMatching(/^sync: /)]);
      const health = await fetch(dead.url.replace('/graphql', '/healthz'));
      expect(health.status).toBe(200);
    } finally {
      await dead.stop();
    }
  });

  it('composes from the running subgraphs with devIntrospect', async () => {
    const dev = createGatewayService(gatewayConfig({ devIntrospect: true }), {
      logger: createLogger('gateway', logLevel),
    });
    await dev.start();
    try {
      const r = await post(dev.url, `{ directories { totalCount } users { totalCount } }`);
      expect(r.errors).toBeUndefined();
      expect(r.data).toEqual({ directories: { totalCount: 1 }, users: { totalCount: 1 } });
    } finally {
      await dev.stop();
    }
  });
});
