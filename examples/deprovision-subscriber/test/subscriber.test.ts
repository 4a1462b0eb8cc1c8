// The example subscriber against the real thing: the identity service (real Postgres, real
// NATS JetStream) applies sync runs and publishes lifecycle events; the subscriber revokes,
// reinstates and forgets — once each, in order, and again in full when a new one replays.
import { randomUUID } from 'node:crypto';
import { createLogger } from '@dirsync/kit';
import { createIdentityService, type IdentityService } from '@dirsync/identity';
import {
  DirectoryEventSchema,
  LifecycleEntity,
  LifecycleEventSchema,
  LifecycleEventsSchema,
  Subject,
  SyncMode,
  Transition,
  UserSnapshotSchema,
  UserState,
  create,
  eventMsgId,
  lifecycleSubject,
  subject,
  toBinary,
  type DirectoryEvent,
} from '@dirsync/proto';
import {
  TEST_GATEWAY_KEYS,
  createTestDatabase,
  deleteNamespaceStreams,
  natsNamespace,
  natsUrl,
  waitFor,
  type TestDatabase,
} from '@dirsync/testkit';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  memoryVersionStore,
  startSubscriber,
  type Deprovisioner,
  type Subscriber,
} from '../src/index.js';

const ns = natsNamespace();
let nc: NatsConnection;
let database: TestDatabase;
let identity: IdentityService;

beforeAll(async () => {
  database = await createTestDatabase();
  identity = createIdentityService(
    {
      databaseUrl: database.url,
      databaseSchema: 'identity',
      databasePoolMax: 4,
      natsUrl: natsUrl(),
      natsNamespace: ns,
      port: 0,
      host: '127.0.0.1',
      logLevel: 'silent',
      outboxPollMs: 100,
      gatewayPublicKey: TEST_GATEWAY_KEYS.publicKey,
      purgeIntervalSeconds: 0,
    },
    { logger: createLogger('identity', 'silent') },
  );
  await identity.start();
  nc = await connect({ servers: natsUrl() });
});

afterAll(async () => {
  await identity?.stop();
  if (nc) {
    await deleteNamespaceStreams(nc, ns).catch(() => undefined);
    await nc.close();
  }
  await database?.drop();
});

interface Person {
  ext: string;
  username: string;
  disabled?: boolean;
}

/** A FULL sync run as a connector publishes it: who is in the directory now. */
async function syncRun(directoryId: string, people: Person[]): Promise<void> {
  const runId = randomUUID();
  const bodies: DirectoryEvent['body'][] = [
    {
      case: 'runStarted',
      value: { mode: SyncMode.FULL, policy: { restoreWindowDays: 7 } },
    } as DirectoryEvent['body'],
    {
      case: 'users',
      value: {
        users: people.map((p) => ({
          externalId: p.ext,
          username: p.username,
          email: `${p.username}@example.org`,
          disabled: p.disabled ?? false,
        })),
      },
    } as DirectoryEvent['body'],
    { case: 'runCompleted', value: { lastSeq: 3 } } as DirectoryEvent['body'],
  ];
  const js = nc.jetstream();
  let seq = 0;
  for (const body of bodies) {
    seq += 1;
    const event = create(DirectoryEventSchema, { runId, directoryId, seq, body });
    await js.publish(
      subject(Subject.EVENTS, { directory_id: directoryId }, ns),
      toBinary(DirectoryEventSchema, event),
      { msgID: eventMsgId(runId, seq) },
    );
  }
}

/** A deprovisioner that records what it was asked to do: "revoke alice". */
function recorder(fail?: { times: number }): Deprovisioner & { calls: string[] } {
  const calls: string[] = [];
  const act = (action: string) => async (user: { username: string }) => {
    if (fail && fail.times > 0) {
      fail.times -= 1;
      throw new Error('the SSO is down');
    }
    calls.push(`${action} ${user.username}`);
  };
  return { calls, revoke: act('revoke'), reinstate: act('reinstate'), forget: act('forget') };
}

const running: Subscriber[] = [];
afterAll(async () => {
  await Promise.all(running.map((s) => s.stop()));
});

async function subscribe(
  durable: string,
  deprovisioner: Deprovisioner,
  store = memoryVersionStore(),
): Promise<Subscriber> {
  const s = await startSubscriber({
    nc,
    namespace: ns,
    durable,
    deprovisioner,
    store,
    retryDelayMs: 50,
  });
  running.push(s);
  return s;
}

describe('the deprovisioning subscriber', () => {
  const store = memoryVersionStore();
  const first = recorder();

  it('revokes access when the directory disables or removes someone, and gives it back', async () => {
    await subscribe('revoker', first, store);
    await syncRun('corp', [
      { ext: 'e1', username: 'alice' },
      { ext: 'e2', username: 'bob' },
    ]);
    // alice leaves the directory, bob is disabled.
    await syncRun('corp', [{ ext: 'e2', username: 'bob', disabled: true }]);
    await waitFor(async () => first.calls.length >= 2, { message: 'two revocations' });
    // bob's disable is applied with the run's users, alice's removal when the run completes.
    expect(first.calls).toEqual(['revoke bob', 'revoke alice']);

    // Both come back.
    await syncRun('corp', [
      { ext: 'e1', username: 'alice' },
      { ext: 'e2', username: 'bob' },
    ]);
    await waitFor(async () => first.calls.length >= 4, { message: 'two reinstatements' });
    expect(first.calls.slice(2).sort()).toEqual(['reinstate alice', 'reinstate bob']);
  });

  it('resumes where it stopped: a restarted subscriber repeats nothing', async () => {
    await running.pop()!.stop();
    const again = recorder();
    await subscribe('revoker', again, store);
    await syncRun('corp', [{ ext: 'e1', username: 'alice' }]);
    await waitFor(async () => again.calls.length >= 1, { message: 'bob revoked' });
    expect(again.calls).toEqual(['revoke bob']);
  });

  it('a new subscriber replays the stream from the start and makes the same calls', async () => {
    const replay = recorder();
    await subscribe('newcomer', replay);
    await waitFor(async () => replay.calls.length >= 5, { message: 'replayed' });
    expect(replay.calls).toEqual([...first.calls, 'revoke bob']);
  });

  it('retries a failed action before anything else, and ignores a duplicate', async () => {
    const flaky = recorder({ times: 2 });
    await subscribe('flaky', flaky);
    await waitFor(async () => flaky.calls.length >= 5, { message: 'caught up despite failures' });
    expect(flaky.calls).toEqual([...first.calls, 'revoke bob']);

    // The same event published again under another msg id (a duplicate the server's window
    // missed): the version store skips it, then a real purge is acted on.
    const user = create(UserSnapshotSchema, {
      id: 'u-dup',
      username: 'dora',
      state: UserState.PENDING_DELETION,
      version: 4,
    });
    const event = (transition: Transition, version: number) =>
      create(LifecycleEventsSchema, {
        entity: LifecycleEntity.USER,
        transition,
        events: [
          create(LifecycleEventSchema, {
            eventId: `user:u-dup:${version}:${transition}`,
            entity: LifecycleEntity.USER,
            transition,
            subject: { case: 'user', value: { ...user, version } },
          }),
        ],
      });
    const js = nc.jetstream();
    const pending = lifecycleSubject(LifecycleEntity.USER, Transition.PENDING_DELETION, ns);
    const data = toBinary(LifecycleEventsSchema, event(Transition.PENDING_DELETION, 4));
    await js.publish(pending, data, { msgID: 'dup-1' });
    await js.publish(pending, data, { msgID: 'dup-2' });
    await js.publish(
      lifecycleSubject(LifecycleEntity.USER, Transition.PURGED, ns),
      toBinary(LifecycleEventsSchema, event(Transition.PURGED, 5)),
      { msgID: 'dup-3' },
    );
    await waitFor(async () => flaky.calls.includes('forget dora'), { message: 'dora forgotten' });
    expect(flaky.calls.slice(-2)).toEqual(['revoke dora', 'forget dora']);
  });
});
