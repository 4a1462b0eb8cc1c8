import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectNats, createLogger, ensureStreams, type NatsConnection } from '@dirsync/kit';
import { RunStatus, RunUpdateSchema, Stream, fromBinary, streamName } from '@dirsync/proto';
import { createTestDatabase, freePort, waitFor, type TestDatabase } from '@dirsync/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApplier, type Applier } from '../src/apply/applier.js';
import { openDatabase, type Database } from '../src/db/database.js';
import { startOutboxRelay, type OutboxRelay } from '../src/outbox/outbox.relay.js';
import { fullRun, user } from './harness.js';
import { PrivateNats } from './private-nats.js';

let nats: PrivateNats;
let storeDir: string;
let database: TestDatabase;
let db: Database;
let nc: NatsConnection;
let relay: OutboxRelay;
let applier: Applier;
const ns = 'outbox';
const logger = createLogger('identity-outbox-test', 'silent');

beforeAll(async () => {
  storeDir = await mkdtemp(join(tmpdir(), 'identity-nats-'));
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
  nc = await connectNats({ url: nats.url, name: 'identity-outbox-test' });
  await ensureStreams(await nc.jetstreamManager(), ns);
  relay = startOutboxRelay({ db, js: nc.jetstream(), schema: 'identity', pollMs: 50, logger });
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

async function storedUpdates(): Promise<{ seq: number; status: RunStatus; msgId?: string }[]> {
  const jsm = await nc.jetstreamManager();
  const stream = streamName(Stream.LIFECYCLE, ns).name;
  const info = await jsm.streams.info(stream);
  const out: { seq: number; status: RunStatus; msgId?: string }[] = [];
  for (let s = info.state.first_seq; s > 0 && s <= info.state.last_seq; s++) {
    const m = await jsm.streams.getMessage(stream, { seq: s });
    if (!m.subject.startsWith(`${ns}.dirsync.runs.`)) continue; // lifecycle events
    const u = fromBinary(RunUpdateSchema, m.data);
    out.push({ seq: u.seq, status: u.status, msgId: m.header?.get('Nats-Msg-Id') });
  }
  return out;
}

describe('outbox relay', () => {
  it('keeps RunUpdates while NATS is down and publishes each exactly once when it is back', async () => {
    await nats.stop();
    const run = fullRun('dir-outbox', [user('o1', 'olga'), user('o2', 'omar')]);
    for (const e of run.events) {
      expect((await applier.apply(e)).kind).toBe('applied');
      relay.wake();
    }
    // Committed, not published: the rows wait in the outbox (the RunUpdates, and the lifecycle
    // events: the two users' CREATED in one message, the run's COMPLETED).
    expect(await relay.pending()).toBe(run.events.length + 2);

    await nats.start();
    await waitFor(async () => (await relay.pending()) === 0, {
      timeoutMs: 30_000,
      message: 'outbox drained after NATS came back',
    });
    const stored = await storedUpdates();
    expect(stored.map((u) => u.seq)).toEqual(run.events.map((e) => e.seq));
    expect(stored.at(-1)?.status).toBe(RunStatus.COMPLETED);
    expect(new Set(stored.map((u) => u.msgId)).size).toBe(stored.length);
  });

  it('a row published again (a crash before it was marked) is dropped by its msg id', async () => {
    const before = await storedUpdates();
    await db.sql.exec('update outbox set published_at = null');
    expect(await relay.pending()).toBeGreaterThan(0);
    await relay.drain();
    expect(await relay.pending()).toBe(0);
    expect(await storedUpdates()).toEqual(before);
  });
});
