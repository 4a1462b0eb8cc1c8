import {
  AdminRole,
  ConflictPolicy,
  DirectoryEventSchema,
  ErrorCode,
  FullReadReason,
  RemovalReason,
  RunDecision,
  RunDecisionReplySchema,
  RunDecisionRequestSchema,
  RunStatus,
  RunUpdateSchema,
  Stream,
  Subject,
  SyncMode,
  create,
  eventMsgId,
  fromBinary,
  streamName,
  subject,
  toBinary,
  type DirectoryEvent,
  type RunDecisionReply,
  type RunUpdate,
} from '@dirsync/proto';
import { createLogger } from '@dirsync/kit';
import type { Role } from '@dirsync/kit/auth';
import {
  createTestDatabase,
  deleteNamespaceStreams,
  natsNamespace,
  natsUrl,
  subgraphAuth,
  TEST_GATEWAY_KEYS,
  waitFor,
  type TestDatabase,
} from '@dirsync/testkit';
import { connect, type NatsConnection } from 'nats';
import { randomUUID } from 'node:crypto';
import { createIdentityService, type IdentityService } from '../src/index.js';
import type { IdentityConfig } from '../src/config.js';
import { openDatabase, type Database } from '../src/db/database.js';

/** An ObservedUser as tests write it. */
export interface UserInit {
  externalId: string;
  username: string;
  aliases?: string[];
  email?: string;
  firstName?: string;
  lastName?: string;
  displayName?: string;
  phones?: { number: string; kind: string }[];
  disabled?: boolean;
  customAttributes?: Record<string, string>;
  sourceLocator?: string;
}

/** An ObservedAdmin as tests write it. */
export interface AdminInit {
  externalId: string;
  email: string;
  role: AdminRole;
  roles?: AdminRole[];
  firstName?: string;
  lastName?: string;
  displayName?: string;
  disabled?: boolean;
  sourceLocator?: string;
}

/** An administrator as the connector kit would observe it. */
export function admin(
  externalId: string,
  email: string,
  role: AdminRole,
  extra: Partial<AdminInit> = {},
): AdminInit {
  return {
    externalId,
    email,
    role,
    displayName: email.split('@')[0],
    sourceLocator: `uid=${email.split('@')[0]},ou=people,dc=example,dc=org`,
    ...extra,
  };
}

export interface GroupInit {
  externalId: string;
  name: string;
  description?: string;
  sourceLocator?: string;
}
type EventInit = NonNullable<Parameters<typeof create<typeof DirectoryEventSchema>>[1]>;

/** A user as a connector would observe it: `user('u1', 'alice', { email: … })`. */
export function user(
  externalId: string,
  username: string,
  extra: Partial<UserInit> = {},
): UserInit {
  return {
    externalId,
    username,
    email: `${username}@example.org`,
    firstName: username,
    lastName: 'Test',
    displayName: `${username} Test`,
    sourceLocator: `uid=${username},ou=people,dc=example,dc=org`,
    ...extra,
  };
}

export function group(externalId: string, name: string, extra: Partial<GroupInit> = {}): GroupInit {
  return { externalId, name, sourceLocator: `cn=${name},ou=groups,dc=example,dc=org`, ...extra };
}

type Body = DirectoryEvent['body'];

/** Builds the events of one run with contiguous seqs, the way a connector emits them. */
export class RunBuilder {
  readonly events: DirectoryEvent[] = [];

  constructor(
    readonly directoryId: string,
    readonly runId: string = randomUUID(),
  ) {}

  private push(body: Body): this {
    this.events.push(
      create(DirectoryEventSchema, {
        runId: this.runId,
        directoryId: this.directoryId,
        seq: this.events.length + 1,
        emittedAtMs: BigInt(Date.now()),
        body,
      } as EventInit),
    );
    return this;
  }

  started(
    mode: SyncMode = SyncMode.FULL,
    opts: {
      username?: string;
      email?: string;
      dryRun?: boolean;
      restoreWindowDays?: number;
      /** The directory's deletion threshold; absent: none (no limit). */
      threshold?: { maxCount: number; maxPercent: number };
      conflictPolicy?: ConflictPolicy;
    } = {},
  ): this {
    return this.push({
      case: 'runStarted',
      value: {
        mode,
        username: opts.username ?? '',
        email: opts.email ?? '',
        dryRun: opts.dryRun ?? false,
        policy: {
          restoreWindowDays: opts.restoreWindowDays ?? 7,
          ...(opts.threshold ? { deletionThreshold: opts.threshold } : {}),
          conflictPolicy: opts.conflictPolicy ?? ConflictPolicy.UNSPECIFIED,
        },
      },
    } as Body);
  }

  admins(admins: AdminInit[]): this {
    return this.push({
      case: 'admins',
      value: { admins: admins.map((a) => ({ ...a, roles: a.roles ?? [a.role] })) },
    } as Body);
  }

  users(users: UserInit[]): this {
    return this.push({ case: 'users', value: { users } } as Body);
  }

  groups(groups: GroupInit[]): this {
    return this.push({ case: 'groups', value: { groups } } as Body);
  }

  members(byGroup: Record<string, string[]>): this {
    return this.push({
      case: 'memberships',
      value: {
        groups: Object.entries(byGroup).map(([groupExternalId, userExternalIds]) => ({
          groupExternalId,
          userExternalIds,
        })),
      },
    } as Body);
  }

  objectErrors(errors: { externalId: string; code: ErrorCode; message: string }[]): this {
    return this.push({ case: 'objectErrors', value: { errors } } as Body);
  }

  /** DELTA: users removed (`reason` defaults to DELETED). */
  removeUsers(ids: string[], reason: RemovalReason = RemovalReason.DELETED): this {
    return this.push({
      case: 'userRemovals',
      value: { users: ids.map((externalId) => ({ externalId, reason })) },
    } as Body);
  }

  /** DELTA: groups removed. */
  removeGroups(ids: string[], reason: RemovalReason = RemovalReason.DELETED): this {
    return this.push({
      case: 'groupRemovals',
      value: { groups: ids.map((externalId) => ({ externalId, reason })) },
    } as Body);
  }

  /** DELTA: membership changes per group. */
  deltas(byGroup: Record<string, { added?: string[]; removed?: string[] }>): this {
    return this.push({
      case: 'membershipDeltas',
      value: {
        groups: Object.entries(byGroup).map(([groupExternalId, d]) => ({
          groupExternalId,
          addedUserExternalIds: d.added ?? [],
          removedUserExternalIds: d.removed ?? [],
        })),
      },
    } as Body);
  }

  completed(
    cursor = '',
    opts: { readMode?: SyncMode; fullReadReason?: FullReadReason; entriesRead?: number } = {},
  ): this {
    return this.push({
      case: 'runCompleted',
      value: { lastSeq: this.events.length + 1, cursor, ...opts },
    } as Body);
  }

  failed(code: ErrorCode, message: string): this {
    return this.push({ case: 'runFailed', value: { error: { code, message } } } as Body);
  }
}

/** A convenient full run: started → users → groups → members → completed. */
export function fullRun(
  directoryId: string,
  users: UserInit[],
  groups: GroupInit[] = [],
  members: Record<string, string[]> = {},
): RunBuilder {
  const run = new RunBuilder(directoryId).started(SyncMode.FULL);
  if (users.length) run.users(users);
  if (groups.length) run.groups(groups);
  if (Object.keys(members).length) run.members(members);
  return run.completed(`cursor-${run.runId}`);
}

export interface StoredUpdate {
  update: RunUpdate;
  msgId: string | undefined;
}

export interface Harness {
  readonly ns: string;
  readonly nc: NatsConnection;
  readonly db: Database;
  readonly config: IdentityConfig;
  readonly database: TestDatabase;
  service: IdentityService;
  /** Start a new instance (after `service.stop()`). */
  restart(): Promise<IdentityService>;
  publish(events: readonly DirectoryEvent[], opts?: { msgIdSuffix?: string }): Promise<void>;
  /** Every RunUpdate stored in the lifecycle stream, in stream order. */
  updates(runId?: string): Promise<StoredUpdate[]>;
  /** Wait for the run's final (COMPLETED/FAILED/BLOCKED/REJECTED) RunUpdate. */
  finalUpdate(runId: string, timeoutMs?: number): Promise<RunUpdate>;
  rows<T>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

const FINAL: readonly RunStatus[] = [
  RunStatus.COMPLETED,
  RunStatus.FAILED,
  RunStatus.BLOCKED,
  RunStatus.REJECTED,
];

export async function startHarness(overrides: Partial<IdentityConfig> = {}): Promise<Harness> {
  const database = await createTestDatabase();
  const ns = natsNamespace();
  const config: IdentityConfig = {
    databaseUrl: database.url,
    databaseSchema: 'identity',
    databasePoolMax: 10,
    natsUrl: natsUrl(),
    natsNamespace: ns,
    port: 0,
    host: '127.0.0.1',
    logLevel: process.env.IDENTITY_TEST_LOG_LEVEL ?? 'silent',
    outboxPollMs: 100,
    gatewayPublicKey: TEST_GATEWAY_KEYS.publicKey,
    ...overrides,
  };
  const logger = createLogger('identity-test', config.logLevel);
  const nc = await connect({ servers: config.natsUrl });
  const js = nc.jetstream();
  const jsm = await nc.jetstreamManager();
  let service = createIdentityService(config, { logger });
  await service.start();
  const db = await openDatabase({
    url: database.url,
    schema: config.databaseSchema,
    poolMax: 4,
    logger,
    namespace: ns,
  });
  const lifecycle = streamName(Stream.LIFECYCLE, ns).name;

  async function updates(runId?: string): Promise<StoredUpdate[]> {
    const info = await jsm.streams.info(lifecycle);
    const out: StoredUpdate[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && seq > 0; seq++) {
      const sm = await jsm.streams.getMessage(lifecycle, { seq }).catch(() => undefined);
      if (!sm || !sm.subject.startsWith(`${ns}.dirsync.runs.`)) continue;
      const update = fromBinary(RunUpdateSchema, sm.data);
      if (runId && update.runId !== runId) continue;
      out.push({ update, msgId: sm.header?.get('Nats-Msg-Id') });
    }
    return out;
  }

  return {
    ns,
    nc,
    db,
    config,
    database,
    get service() {
      return service;
    },
    set service(s) {
      service = s;
    },
    async restart() {
      service = createIdentityService(config, { logger });
      await service.start();
      return service;
    },
    async publish(events, opts = {}) {
      for (const e of events) {
        await js.publish(
          subject(Subject.EVENTS, { directory_id: e.directoryId }, ns),
          toBinary(DirectoryEventSchema, e),
          { msgID: eventMsgId(e.runId, e.seq) + (opts.msgIdSuffix ?? '') },
        );
      }
    },
    updates,
    async finalUpdate(runId, timeoutMs = 20_000) {
      const found = await waitFor(
        async () => (await updates(runId)).find((u) => FINAL.includes(u.update.status)),
        { timeoutMs, message: `final RunUpdate of run ${runId}` },
      );
      return found.update;
    },
    rows: (sql, params = []) => db.sql.rows(sql, params),
    async close() {
      await service.stop().catch(() => undefined);
      await db.close().catch(() => undefined);
      await deleteNamespaceStreams(nc, ns).catch(() => undefined);
      await nc.close();
      await database.drop();
    },
  };
}

/** Run a full set of events and wait for its final update. */
export async function runAndWait(h: Harness, run: RunBuilder): Promise<RunUpdate> {
  await h.publish(run.events);
  return h.finalUpdate(run.runId);
}

/** POST a GraphQL query to the service as the gateway does, for an owner. */
export async function gql<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  role: Role = 'OWNER',
): Promise<{ data?: T; errors?: { message: string; extensions?: { code?: string } }[] }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: await subgraphAuth(role) },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as {
    data?: T;
    errors?: { message: string; extensions?: { code?: string } }[];
  };
}

/** Approve or reject a BLOCKED run the way sync does (RunDecision request/reply). */
export async function decide(
  h: Harness,
  runId: string,
  directoryId: string,
  decision: RunDecision,
  actor = 'owner-key:test',
): Promise<RunDecisionReply> {
  const msg = await h.nc.request(
    subject(Subject.RUN_DECISIONS, { directory_id: directoryId }, h.ns),
    toBinary(
      RunDecisionRequestSchema,
      create(RunDecisionRequestSchema, { runId, directoryId, decision, actor }),
    ),
    { timeout: 10_000 },
  );
  return fromBinary(RunDecisionReplySchema, msg.data);
}

/** The run's final update a decision answered with; throws on an error reply. */
export function updateOf(reply: RunDecisionReply): RunUpdate {
  if (reply.result.case !== 'update') {
    throw new Error(`expected an update, got ${JSON.stringify(reply.result.value)}`);
  }
  return reply.result.value;
}

/** The code a decision was refused with; throws on an update. */
export function errorOf(reply: RunDecisionReply): ErrorCode {
  if (reply.result.case !== 'error') throw new Error('expected an error');
  return reply.result.value.code;
}

/** The REJECTED update a later run gave a BLOCKED one it superseded. */
export async function superseded(h: Harness, runId: string): Promise<RunUpdate | undefined> {
  return waitFor(
    async () =>
      (await h.updates(runId)).map((u) => u.update).find((u) => u.status === RunStatus.REJECTED),
    { message: `the superseded update of ${runId}` },
  );
}
