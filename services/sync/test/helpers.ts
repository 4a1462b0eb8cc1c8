import { randomBytes } from 'node:crypto';
import { MikroORM } from '@mikro-orm/postgresql';
import { connect, type NatsConnection } from 'nats';
import { createLogger } from '@dirsync/kit';
import {
  ConfigReplySchema,
  ConfigRequestSchema,
  ConnectorHeartbeatReplySchema,
  ConnectorHeartbeatSchema,
  DirectoryEventSchema,
  RunPhase,
  RunUpdateSchema,
  Stream,
  Subject,
  SyncJobSchema,
  create,
  fromBinary,
  runUpdateMsgId,
  streamName,
  subject,
  toBinary,
  type ConfigReply,
  type DirectoryEvent,
  type RunUpdate,
  type SyncJob,
} from '@dirsync/proto';
import {
  createTestDatabase,
  deleteNamespaceStreams,
  natsNamespace,
  natsUrl,
  subgraphAuth,
  TEST_GATEWAY_KEYS,
  type TestDatabase,
} from '@dirsync/testkit';
import type { Role } from '@dirsync/kit/auth';
import { createSyncService, type SyncConfig, type SyncService } from '../src/index.js';

/** What `create(RunUpdateSchema, …)` accepts: plain objects for nested messages. */
export type RunUpdateInit = Exclude<
  NonNullable<Parameters<typeof create<typeof RunUpdateSchema>>[1]>,
  RunUpdate
>;

export const SECRET_KEY = randomBytes(32).toString('base64');
export const BIND_PASSWORD = 'correct horse battery staple';

/** A settable clock for the service under test. */
export class FakeClock {
  constructor(private t = Date.parse('2030-01-01T00:00:00Z')) {}
  now = (): Date => new Date(this.t);
  advance(ms: number): void {
    this.t += ms;
  }
}

/** Everything one test file needs: its own database, NATS namespace and log capture. */
export class Harness {
  readonly ns = natsNamespace();
  readonly logLines: string[] = [];
  db!: TestDatabase;
  nc!: NatsConnection;
  private readonly services: SyncService[] = [];
  private raw: MikroORM | undefined;

  async setup(): Promise<void> {
    this.db = await createTestDatabase();
    this.nc = await connect({ servers: natsUrl() });
  }

  config(overrides: Partial<SyncConfig> = {}): SyncConfig {
    return {
      databaseUrl: this.db.url,
      databaseSchema: 'sync',
      natsUrl: natsUrl(),
      natsNamespace: this.ns,
      port: 0,
      host: '127.0.0.1',
      logLevel: process.env.TEST_LOG_LEVEL ?? 'info',
      secretKey: SECRET_KEY,
      gatewayPublicKey: TEST_GATEWAY_KEYS.publicKey,
      schedulerEnabled: false,
      schedulerTickSeconds: 15,
      runTimeoutSeconds: 600,
      syncUserTimeoutSeconds: 30,
      // Long, so replicas with different fake clocks in one file never expire each other's
      // leases; the lease tests set their own.
      leaseSeconds: 3600,
      // Tests here play connectors without presence heartbeats (a syncUser would fail
      // NO_CONNECTOR at once); presence.test.ts sets its own.
      noConnectorSeconds: 0,
      ...overrides,
    };
  }

  async start(overrides: Partial<SyncConfig> = {}, now?: () => Date): Promise<SyncService> {
    const logger = createLogger('sync', this.config().logLevel, {
      write: (line: string) => {
        this.logLines.push(line);
        if (process.env.TEST_LOG_LEVEL) process.stdout.write(line);
      },
    });
    const service = createSyncService(this.config(overrides), { logger, ...(now ? { now } : {}) });
    await service.start();
    this.services.push(service);
    return service;
  }

  async teardown(): Promise<void> {
    for (const s of this.services.splice(0)) await s.stop();
    await this.raw?.close(true);
    if (this.nc) {
      await deleteNamespaceStreams(this.nc, this.ns);
      await this.nc.close();
    }
    await this.db?.drop();
  }

  /** Raw SQL on the test database (to look behind the API). */
  async sql<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
    this.raw ??= await MikroORM.init({
      clientUrl: this.db.url,
      entities: [],
      discovery: { warnWhenNoEntities: false },
      allowGlobalContext: true,
    });
    return this.raw.em.getConnection().execute<T[]>(text, params, 'all');
  }

  jobsStream(): string {
    return streamName(Stream.JOBS, this.ns).name;
  }

  /** Every SyncJob currently in the namespace's DIRSYNC_JOBS stream, with its msg id. */
  async jobs(): Promise<{ job: SyncJob; msgId: string | undefined; subject: string }[]> {
    const jsm = await this.nc.jetstreamManager();
    const info = await jsm.streams.info(this.jobsStream());
    const out: { job: SyncJob; msgId: string | undefined; subject: string }[] = [];
    for (
      let seq = info.state.first_seq;
      seq <= info.state.last_seq && info.state.messages > 0;
      seq++
    ) {
      try {
        const m = await jsm.streams.getMessage(this.jobsStream(), { seq });
        out.push({
          job: fromBinary(SyncJobSchema, m.data),
          msgId: m.header?.get('Nats-Msg-Id') || undefined,
          subject: m.subject,
        });
      } catch {
        // deleted (consumed) message: not a job any more
      }
    }
    return out;
  }

  /** Play identity: publish a RunUpdate the way its outbox relay does. */
  async publishUpdate(
    fields: RunUpdateInit & { runId: string; seq: number },
    msgId = runUpdateMsgId(fields.runId, fields.seq),
  ): Promise<void> {
    const js = this.nc.jetstream();
    const update = create(RunUpdateSchema, fields);
    await js.publish(
      subject(Subject.RUNS, { run_id: fields.runId }, this.ns),
      toBinary(RunUpdateSchema, update),
      { msgID: msgId },
    );
  }

  /**
   * Play a connector: report the runs it works on (proto ConnectorHeartbeat) and return the ids
   * the sync service answers are no longer active.
   */
  async heartbeat(
    runs: { runId: string; directoryId: string; published?: boolean }[],
    opts: { kind?: string; instanceId?: string } = {},
  ): Promise<string[]> {
    const kind = opts.kind ?? 'ldap';
    const message = create(ConnectorHeartbeatSchema, {
      connectorKind: kind,
      instanceId: opts.instanceId ?? 'test-connector',
      sentAtMs: BigInt(Date.now()),
      runs: runs.map((r) => ({
        runId: r.runId,
        directoryId: r.directoryId,
        phase: r.published ? RunPhase.PUBLISHED : RunPhase.READING,
      })),
    });
    const reply = await this.nc.request(
      subject(Subject.HEARTBEATS, { connector_kind: kind }, this.ns),
      toBinary(ConnectorHeartbeatSchema, message),
      { timeout: 5_000 },
    );
    return fromBinary(ConnectorHeartbeatReplySchema, reply.data).endedRunIds;
  }

  /** Play a connector: ask for a directory's configuration. */
  async requestConfig(directoryId: string, runId = ''): Promise<ConfigReply> {
    const reply = await this.nc.request(
      subject(Subject.CONFIG, { directory_id: directoryId }, this.ns),
      toBinary(ConfigRequestSchema, create(ConfigRequestSchema, { directoryId, runId })),
      { timeout: 5_000 },
    );
    return fromBinary(ConfigReplySchema, reply.data);
  }

  /**
   * The last event on a directory's events subject — what identity applies last (a verdict sync
   * published, say); throws when the subject has none.
   */
  async lastEvent(directoryId: string): Promise<DirectoryEvent> {
    const jsm = await this.nc.jetstreamManager();
    const last = await jsm.streams.getMessage(streamName(Stream.EVENTS, this.ns).name, {
      last_by_subj: subject(Subject.EVENTS, { directory_id: directoryId }, this.ns),
    });
    return fromBinary(DirectoryEventSchema, last.data);
  }
}

export interface GqlResult<T> {
  data?: T;
  errors?: { message: string; path?: string[]; extensions?: Record<string, unknown> }[];
}

/** POST a GraphQL operation as the gateway does, for a caller with `role` (default OWNER). */
export async function gql<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  role: Role = 'OWNER',
): Promise<GqlResult<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: await subgraphAuth(role) },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as GqlResult<T>;
}

/** The data of an operation that must succeed. */
export async function gqlOk<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<T> {
  const r = await gql<T>(url, query, variables);
  if (r.errors?.length || !r.data) throw new Error(`GraphQL errors: ${JSON.stringify(r.errors)}`);
  return r.data;
}

/** The error codes of an operation that must fail. */
export async function gqlErr(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<{ code: unknown; message: string; extensions: Record<string, unknown> }> {
  const r = await gql(url, query, variables);
  const e = r.errors?.[0];
  if (!e) throw new Error(`expected an error, got ${JSON.stringify(r.data)}`);
  return { code: e.extensions?.code, message: e.message, extensions: e.extensions ?? {} };
}

let counter = 0;
/** A valid CreateDirectoryInput. */
export function directoryInput(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  counter++;
  return {
    name: `Example LDAP ${counter}`,
    ldap: {
      url: 'ldap://127.0.0.1:3890',
      bindDn: 'cn=admin,dc=example,dc=org',
      baseDn: 'dc=example,dc=org',
      userBaseDn: 'ou=people,dc=example,dc=org',
    },
    bindPassword: BIND_PASSWORD,
    selectedGroups: ['cn=staff,ou=groups,dc=example,dc=org'],
    ...overrides,
  };
}

export const DIRECTORY_FIELDS = `
  id name kind enabled hasBindPassword selectedGroups defaultRegion scheduleIntervalMinutes
  restoreWindowDays nextRunAt createdAt updatedAt
  adminRoles { role groups } adminScheduleIntervalMinutes nextAdminRunAt
  deltaIntervalMinutes nextDeltaRunAt
  ldap { url profile bindDn baseDn userBaseDn groupBaseDn userFilter startTls tlsCaPem tlsRejectUnauthorized pageSize timeoutMs }
  mapping { username aliases email firstName lastName displayName phones custom { name attribute } }
  lastRun { id status }
`;

export const RUN_FIELDS = `
  id mode readMode fullReadReason trigger status username email errorCode errorMessage queuedAt startedAt finishedAt durationMs
  counts { seen created updated unchanged disabled pendingDeletion restored errors groupsSeen groupsCreated groupsUpdated groupsRemoved membershipsAdded membershipsRemoved entriesRead adminsSeen adminsCreated adminsUpdated adminsUnchanged adminsDisabled adminsPendingDeletion adminsRestored }
  directory { id name }
`;

export async function createDirectory(
  url: string,
  overrides: Record<string, unknown> = {},
): Promise<{ id: string; name: string } & Record<string, unknown>> {
  const data = await gqlOk<{ createDirectory: { id: string; name: string } }>(
    url,
    `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { ${DIRECTORY_FIELDS} } }`,
    // No delta schedule unless a test asks for one: the scheduler tests count FULL and ADMIN
    // runs on a fake clock that DELTA runs every 5 minutes would join.
    { input: directoryInput({ deltaIntervalMinutes: 0, ...overrides }) },
  );
  return data.createDirectory;
}
