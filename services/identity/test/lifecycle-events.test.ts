// Lifecycle events end to end: the apply path writes them to the outbox in its transactions, the
// relay publishes them on DIRSYNC_LIFECYCLE of a private NATS server that this file stops and
// starts (never the shared one), and a subscriber reads them back from the stream.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectNats, createLogger, ensureStreams, type NatsConnection } from '@dirsync/kit';
import {
  AdminRole,
  ErrorCode,
  LifecycleEntity,
  LifecycleEventsSchema,
  RunDecision,
  Stream,
  SyncMode,
  Transition,
  UserState,
  entityToken,
  fromBinary,
  lifecycleSubject,
  streamName,
  transitionToken,
  type LifecycleEvent,
} from '@dirsync/proto';
import { createTestDatabase, freePort, waitFor, type TestDatabase } from '@dirsync/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purgeExpiredAdmins } from '../src/apply/admins.apply.js';
import { purgeExpiredUsers, restoreUser } from '../src/apply/restore-purge.js';
import { decideRun } from '../src/apply/safety.js';
import { createApplier, type Applier } from '../src/apply/applier.js';
import { openDatabase, type Database } from '../src/db/database.js';
import { MAX_EVENTS_PER_MESSAGE } from '../src/lifecycle/lifecycle.outbox.js';
import { startOutboxRelay, type OutboxRelay } from '../src/outbox/outbox.relay.js';
import { RunBuilder, admin, fullRun, group, user, type RunBuilder as Run } from './harness.js';
import { PrivateNats } from './private-nats.js';

let nats: PrivateNats;
let storeDir: string;
let database: TestDatabase;
let db: Database;
let nc: NatsConnection;
let relay: OutboxRelay;
let applier: Applier;
const ns = 'lcev';
const logger = createLogger('identity-lifecycle-test', 'silent');
const stream = streamName(Stream.LIFECYCLE, ns).name;

beforeAll(async () => {
  storeDir = await mkdtemp(join(tmpdir(), 'identity-lifecycle-nats-'));
  nats = new PrivateNats(await freePort(), storeDir);
  await nats.start();
  database = await createTestDatabase();
  db = await openDatabase({
    url: database.url,
    schema: 'identity',
    poolMax: 4,
    logger,
    namespace: ns,
  });
  nc = await connectNats({ url: nats.url, name: 'identity-lifecycle-test' });
  await ensureStreams(await nc.jetstreamManager(), ns);
  relay = startOutboxRelay({ db, js: nc.jetstream(), schema: 'identity', pollMs: 50, logger });
  db.onOutbox(() => relay.wake());
  applier = createApplier({ db, namespace: ns, logger });
});

afterAll(async () => {
  await relay?.stop();
  await nc?.close().catch(() => undefined);
  await nats?.stop();
  await db?.close();
  await database?.drop();
  if (storeDir) await rm(storeDir, { recursive: true, force: true });
});

interface StoredMessage {
  streamSeq: number;
  subject: string;
  msgId: string | undefined;
  events: LifecycleEvent[];
}

/** Every lifecycle message of the stream, in stream order (RunUpdates left out). */
async function stored(): Promise<StoredMessage[]> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info(stream);
  const out: StoredMessage[] = [];
  for (let s = info.state.first_seq; s > 0 && s <= info.state.last_seq; s++) {
    const m = await jsm.streams.getMessage(stream, { seq: s });
    if (!m.subject.startsWith(`${ns}.dirsync.lifecycle.`)) continue;
    out.push({
      streamSeq: s,
      subject: m.subject,
      msgId: m.header?.get('Nats-Msg-Id'),
      events: fromBinary(LifecycleEventsSchema, m.data).events,
    });
  }
  return out;
}

async function allEvents(): Promise<LifecycleEvent[]> {
  return (await stored()).flatMap((m) => m.events);
}

/** What a subscriber reads: "user created alice". */
function describeEvent(e: LifecycleEvent): string {
  const s = e.subject;
  const name =
    s.case === 'user'
      ? s.value.username
      : s.case === 'group'
        ? s.value.name
        : s.case === 'admin'
          ? s.value.email
          : s.case === 'run'
            ? 'run'
            : '?';
  return `${entityToken(e.entity)} ${transitionToken(e.transition)} ${name}`;
}

async function apply(run: Run): Promise<void> {
  for (const e of run.events) {
    const outcome = await applier.apply(e);
    expect(outcome.kind).toBe('applied');
    relay.wake();
  }
}

async function drained(): Promise<void> {
  await waitFor(async () => (await relay.pending()) === 0, {
    timeoutMs: 30_000,
    message: 'outbox drained',
  });
}

describe('lifecycle events', () => {
  it('are kept while NATS is down and arrive once each, in order, when it is back', async () => {
    await nats.stop();
    const dir = 'dir-outage';
    const first = fullRun(
      dir,
      [user('a', 'alice'), user('b', 'bob'), user('c', 'carol')],
      [group('g1', 'staff')],
      { g1: ['a', 'b', 'c'] },
    );
    await apply(first);
    const second = fullRun(
      dir,
      [user('a', 'alice', { disabled: true }), user('b', 'bob', { email: 'bobby@example.org' })],
      [group('g2', 'ops')],
    );
    await apply(second);
    // Committed while NATS was down: everything waits in the outbox.
    expect(await relay.pending()).toBeGreaterThan(0);

    await nats.start();
    await drained();
    const events = await allEvents();
    expect(events.map(describeEvent)).toEqual([
      'user created alice',
      'user created bob',
      'user created carol',
      'group created staff',
      'run completed run',
      'user disabled alice',
      'user updated bob',
      'group created ops',
      'user pending_deletion carol',
      'group deleted staff',
      'run completed run',
    ]);
    // None twice: every event id once, and each is the deterministic one.
    const ids = events.map((e) => e.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    const alice = events.filter(
      (e) => e.subject.case === 'user' && e.subject.value.username === 'alice',
    );
    expect(alice.map((e) => e.eventId)).toEqual([
      `user:${userId(alice[0]!)}:1:created`,
      `user:${userId(alice[0]!)}:2:disabled`,
    ]);
    // What changed, per GraphQL field (from the apply path's per-object changes).
    const bobby = events.find((e) => describeEvent(e) === 'user updated bob')!;
    expect(bobby.changedFields).toEqual(['email']);
    expect(events.find((e) => describeEvent(e) === 'user disabled alice')!.changedFields).toEqual([
      'status',
    ]);
    const carolGone = events.find((e) => e.transition === Transition.PENDING_DELETION)!;
    expect(carolGone.runId).toBe(second.runId);
    expect(carolGone.directoryId).toBe(dir);
    const snap = carolGone.subject.case === 'user' ? carolGone.subject.value : undefined;
    expect(snap?.state).toBe(UserState.PENDING_DELETION);
    expect(snap?.previousState).toBe(UserState.ACTIVE);
    expect(Number(snap?.purgeAfterMs)).toBeGreaterThan(Date.now() + 6 * 24 * 3600_000);
    // The runs' ends carry their final RunUpdate.
    const runs = events.filter((e) => e.entity === LifecycleEntity.RUN);
    expect(runs.map((e) => e.eventId)).toEqual([
      `run:${first.runId}:completed`,
      `run:${second.runId}:completed`,
    ]);
    expect(runs[1]!.subject.case === 'run' && runs[1]!.subject.value.counts?.pendingDeletion).toBe(
      1,
    );
    // One message per entity and transition of a transaction; its msg id is its first event's.
    const messages = await stored();
    expect(messages[0]!.subject).toBe(
      lifecycleSubject(LifecycleEntity.USER, Transition.CREATED, ns),
    );
    expect(messages[0]!.events).toHaveLength(3);
    for (const m of messages) expect(m.msgId).toBe(m.events[0]!.eventId);
  });

  it('a row published again (crash before it was marked) is dropped by its msg id', async () => {
    const before = await stored();
    const jsm = await nc.jetstreamManager();
    const lastSeq = (await jsm.streams.info(stream)).state.last_seq;
    await db.sql.exec('update outbox set published_at = null');
    await relay.drain();
    expect(await relay.pending()).toBe(0);
    expect((await jsm.streams.info(stream)).state.last_seq).toBe(lastSeq);
    expect(await stored()).toEqual(before);
  });

  it('replaying the stream from the start gives the same events every time', async () => {
    const read = async () => {
      const js = nc.jetstream();
      // An ordered consumer from the first message: what a subscriber that replays does.
      const consumer = await js.consumers.get(stream, {
        filterSubjects: lifecycleSubject('*', '>', ns),
      });
      const out: string[] = [];
      const expected = (await stored()).length;
      for (let read = 0; read < expected; ) {
        const batch = await consumer.fetch({ max_messages: 100, expires: 2_000 });
        for await (const m of batch) {
          read += 1;
          for (const e of fromBinary(LifecycleEventsSchema, m.data).events) out.push(e.eventId);
        }
      }
      return out;
    };
    const once = await read();
    expect(once).toEqual((await allEvents()).map((e) => e.eventId));
    expect(await read()).toEqual(once);
  });

  it('a user disabled, re-enabled, removed, restored and purged emits exactly those events, in order', async () => {
    const dir = 'dir-story';
    await apply(fullRun(dir, [user('s1', 'sam'), user('s2', 'sue')]));
    await apply(fullRun(dir, [user('s1', 'sam', { disabled: true }), user('s2', 'sue')]));
    await apply(fullRun(dir, [user('s1', 'sam'), user('s2', 'sue')]));
    await apply(fullRun(dir, [user('s2', 'sue')]));
    // Restored by an operator (restoreUser), then removed by the source again, then purged by
    // the purge job once the window has passed.
    const [sam] = await db.sql.rows<{ id: string }>(
      `select id from users where directory_id = ? and external_id = 's1'`,
      [dir],
    );
    expect((await db.tx((sql) => restoreUser(sql, sam!.id, 'key:ops'))).ok).toBe(true);
    await apply(fullRun(dir, [user('s2', 'sue')]));
    await db.tx((sql) => purgeExpiredUsers(sql, new Date(Date.now() + 8 * 24 * 3600_000)));
    await drained();
    const events = (await allEvents()).filter(
      (e) => e.subject.case === 'user' && e.subject.value.username === 'sam',
    );
    expect(events.map((e) => transitionToken(e.transition))).toEqual([
      'created',
      'disabled',
      'enabled',
      'pending_deletion',
      'restored',
      'pending_deletion',
      'purged',
    ]);
    expect(events.map((e) => (e.subject.case === 'user' ? e.subject.value.version : 0))).toEqual([
      1, 2, 3, 4, 5, 6, 7,
    ]);
    expect(events.map((e) => (e.subject.case === 'user' ? e.subject.value.state : 0))).toEqual([
      UserState.ACTIVE,
      UserState.DISABLED,
      UserState.ACTIVE,
      UserState.PENDING_DELETION,
      UserState.ACTIVE,
      UserState.PENDING_DELETION,
      UserState.PURGED,
    ]);
    // Who caused each: runs for the syncs, the operator for the restore, nobody for the job.
    expect(events[4]!.actor).toBe('key:ops');
    expect(events[4]!.runId).toBe('');
    expect(events[6]!.runId).toBe('');
    expect(events.slice(0, 4).every((e) => e.runId !== '')).toBe(true);
    // An unchanged re-sync is no transition: sue was created and nothing else.
    const sue = (await allEvents()).filter(
      (e) => e.subject.case === 'user' && e.subject.value.username === 'sue',
    );
    expect(sue.map(describeEvent)).toEqual(['user created sue']);
  });

  it('a blocked run: blocked, then completed with the held removals when approved; rejected ones', async () => {
    const dir = 'dir-blocked';
    const threshold = { maxCount: 1, maxPercent: 0 };
    const everyone = [user('b1', 'bea'), user('b2', 'ben'), user('b3', 'bill')];
    await apply(fullRun(dir, everyone));
    const empty = () => new RunBuilder(dir).started(SyncMode.FULL, { threshold }).completed('');
    const blocked = empty();
    await apply(blocked);
    await drained();
    const mine = async () => (await allEvents()).filter((e) => e.directoryId === dir);
    // 3 users created, the first run completed; then the blocked run's end, and no removal.
    expect((await mine()).map(describeEvent).slice(4)).toEqual(['run blocked run']);
    expect((await mine()).at(-1)!.eventId).toBe(`run:${blocked.runId}:blocked`);

    const approved = await db.tx((sql) =>
      decideRun(sql, ns, {
        runId: blocked.runId,
        directoryId: dir,
        decision: RunDecision.APPROVE,
        actor: 'key:ops',
      }),
    );
    expect('update' in approved).toBe(true);
    await drained();
    const after = (await mine()).slice(5);
    expect(after.map(describeEvent).sort()).toEqual(
      [
        'run completed run',
        'user pending_deletion bea',
        'user pending_deletion ben',
        'user pending_deletion bill',
      ].sort(),
    );
    expect(after.at(-1)!.eventId).toBe(`run:${blocked.runId}:completed`);
    expect(after.at(-1)!.actor).toBe('key:ops');
    expect(after.every((e) => e.runId === blocked.runId)).toBe(true);

    await apply(fullRun(dir, everyone));
    const again = empty();
    await apply(again);
    await db.tx((sql) =>
      decideRun(sql, ns, {
        runId: again.runId,
        directoryId: dir,
        decision: RunDecision.REJECT,
        actor: 'key:ops',
      }),
    );
    await drained();
    const ends = (await mine())
      .filter((e) => e.entity === LifecycleEntity.RUN && e.runId === again.runId)
      .map((e) => e.eventId);
    expect(ends).toEqual([`run:${again.runId}:blocked`, `run:${again.runId}:rejected`]);
  });

  it('a dry run publishes no lifecycle event, whatever it would change or however it ends', async () => {
    const dir = 'dir-dry';
    await apply(fullRun(dir, [user('d1', 'dora'), user('d2', 'dan')]));
    await drained();
    const before = (await allEvents()).length;
    const dry = new RunBuilder(dir)
      .started(SyncMode.FULL, { dryRun: true })
      .users([user('d1', 'dora', { disabled: true }), user('d3', 'dev')])
      .completed();
    // (Until dry runs are applied, identity fails them at RunStarted and ignores the rest.)
    for (const e of dry.events)
      expect(['applied', 'ignored']).toContain((await applier.apply(e)).kind);
    relay.wake();
    await drained();
    expect((await allEvents()).slice(before)).toEqual([]);
    // Its RunUpdates are there for sync.
    const [row] = await db.sql.rows<{ n: string }>(
      `select count(*) as n from outbox where subject = ?`,
      [`${ns}.dirsync.runs.${dry.runId}`],
    );
    expect(Number(row?.n)).toBeGreaterThan(0);
  });

  it(`batches a big import: at most ${MAX_EVENTS_PER_MESSAGE} events a message`, async () => {
    const before = (await stored()).length;
    const many = Array.from({ length: 600 }, (_, i) => user(`m${i}`, `many${i}`));
    const run = new RunBuilder('dir-many').started(SyncMode.FULL).users(many).completed();
    await apply(run);
    await drained();
    const messages = (await stored()).slice(before);
    expect(
      messages.map((m) => [m.subject.split('.').slice(-2).join('.'), m.events.length]),
    ).toEqual([
      ['user.created', MAX_EVENTS_PER_MESSAGE],
      ['user.created', MAX_EVENTS_PER_MESSAGE],
      ['user.created', 600 - 2 * MAX_EVENTS_PER_MESSAGE],
      ['run.completed', 1],
    ]);
  });

  it('administrators: created, pending deletion, purged; a failed run is a run event', async () => {
    const dir = 'dir-admins';
    const boss = admin('x1', 'boss@example.org', AdminRole.OWNER);
    await apply(new RunBuilder(dir).started(SyncMode.ADMIN).admins([boss]).completed());
    await apply(new RunBuilder(dir).started(SyncMode.ADMIN).completed());
    await db.sql.exec(`update admins set purge_after = now() - interval '1 second'`);
    expect(await db.tx((sql) => purgeExpiredAdmins(sql))).toBe(1);
    const failed = new RunBuilder(dir)
      .started(SyncMode.FULL)
      .failed(ErrorCode.SOURCE_UNREACHABLE, 'ldap://127.0.0.1:1 refused the connection');
    await apply(failed);
    await drained();
    const events = (await allEvents()).filter((e) => e.directoryId === dir);
    expect(events.filter((e) => e.entity !== LifecycleEntity.RUN).map(describeEvent)).toEqual([
      'admin created boss@example.org',
      'admin pending_deletion boss@example.org',
      'admin purged boss@example.org',
    ]);
    const purged = events.find((e) => e.transition === Transition.PURGED)!;
    expect(purged.runId).toBe('');
    expect(purged.subject.case === 'admin' && purged.subject.value.state).toBe(UserState.PURGED);
    expect(purged.subject.case === 'admin' && purged.subject.value.role).toBe(AdminRole.OWNER);
    expect(purged.eventId).toMatch(/^admin:[0-9a-f-]+:3:purged$/);
    const ends = events.filter((e) => e.entity === LifecycleEntity.RUN);
    expect(ends.map((e) => transitionToken(e.transition))).toEqual([
      'completed',
      'completed',
      'failed',
    ]);
    expect(ends[2]!.eventId).toBe(`run:${failed.runId}:failed`);
  });
});

function userId(e: LifecycleEvent): string {
  return e.subject.case === 'user' ? e.subject.value.id : '';
}
