import { BoundedPublisher, type JetStreamClient, type Logger } from '@dirsync/kit';
import type { Database } from '../db/database.js';

/**
 * Publishes the outbox in id order and marks rows published only after JetStream acknowledged
 * them. While NATS is down rows simply wait; the msg id on every row lets the server drop a
 * publish that is retried after an unacknowledged success.
 */
export interface OutboxRelay {
  /** Look for rows now (called after a local commit that wrote some). */
  wake(): void;
  /** Publish everything pending once; resolves with the number of rows published. */
  drain(): Promise<number>;
  /** Rows not yet published (for /readyz and tests). */
  pending(): Promise<number>;
  stop(): Promise<void>;
}

interface OutboxRow {
  id: string;
  subject: string;
  msg_id: string;
  payload: Buffer;
}

const BATCH = 500;
const MAX_BACKOFF_MS = 5_000;
const CLEANUP_EVERY_MS = 10 * 60 * 1000;
const WAKE_DELAY_MS = 20;

export function startOutboxRelay(deps: {
  db: Database;
  js: JetStreamClient;
  schema: string;
  pollMs: number;
  logger: Logger;
  /** Kept a day by default, for operators; RunUpdates live on in DIRSYNC_LIFECYCLE. */
  keepPublishedHours?: number;
}): OutboxRelay {
  const { db, js, logger } = deps;
  const lockKey = `dirsync:${deps.schema}:outbox`;
  let stopped = false;
  let woken = false;
  let lastCleanup = 0;
  let draining: Promise<number> | undefined;

  async function drainOnce(): Promise<number> {
    return db.tx(async (sql) => {
      // One relay at a time across replicas, so rows go out in id order. Marking rows published
      // need not wait for the WAL flush: a mark lost in a crash means a re-publish that the
      // server drops by msg id.
      const [lock] = await sql.rows<{ locked: boolean }>(
        `select pg_try_advisory_xact_lock(hashtext(?)) as locked,
           set_config('synchronous_commit', 'off', true)`,
        [lockKey],
      );
      if (!lock?.locked) return 0;
      const rows = await sql.rows<OutboxRow>(
        `select id, subject, msg_id, payload from outbox where published_at is null
         order by id limit ?`,
        [BATCH],
      );
      if (rows.length === 0) return 0;
      // One publish in flight: after an outage a retried row could otherwise land behind a
      // later one. RunUpdates come a few per second, so strict order costs nothing that matters.
      const publisher = new BoundedPublisher(js, {
        maxInFlight: 1,
        retries: 2,
        timeoutMs: 5_000,
      });
      for (const row of rows) {
        await publisher.publish(row.subject, new Uint8Array(row.payload), row.msg_id);
      }
      await publisher.flush();
      await sql.exec('update outbox set published_at = now() where id = any(?::bigint[])', [
        rows.map((r) => r.id),
      ]);
      return rows.length;
    });
  }

  async function cleanup(): Promise<void> {
    if (Date.now() - lastCleanup < CLEANUP_EVERY_MS) return;
    lastCleanup = Date.now();
    await db.sql.exec(`delete from outbox where published_at < now() - make_interval(hours => ?)`, [
      deps.keepPublishedHours ?? 24,
    ]);
  }

  function drain(): Promise<number> {
    // Serialise local drains; concurrent ones would only wait on the advisory lock.
    const next = (draining ?? Promise.resolve(0))
      .catch(() => 0)
      .then(async () => {
        let total = 0;
        for (;;) {
          const n = await drainOnce();
          total += n;
          if (n < BATCH) return total;
        }
      });
    draining = next;
    return next;
  }

  let cancelSleep: (() => void) | undefined;
  let sleepIsWakeable = false;

  function sleep(ms: number, wakeable: boolean): Promise<void> {
    if (wakeable && woken) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        cancelSleep = undefined;
        resolve();
      }
      cancelSleep = done;
      sleepIsWakeable = wakeable;
    });
  }

  const loop = (async () => {
    let backoff = 0;
    while (!stopped) {
      woken = false;
      try {
        const n = await drain();
        if (n > 0) logger.debug({ published: n }, 'outbox published');
        backoff = 0;
        await cleanup();
      } catch (err) {
        backoff = Math.min(MAX_BACKOFF_MS, Math.max(200, backoff * 2));
        logger.warn({ err, retryInMs: backoff }, 'outbox relay could not publish; rows wait');
      }
      if (stopped) break;
      // While failing, back off even when woken: a down broker must not turn into a busy loop.
      await sleep(backoff || deps.pollMs, backoff === 0);
    }
  })();

  return {
    wake() {
      if (woken) return;
      woken = true;
      // A short delay gathers the updates of a burst of batches into one publish round.
      setTimeout(() => {
        if (sleepIsWakeable) cancelSleep?.();
      }, WAKE_DELAY_MS).unref();
    },
    drain,
    async pending() {
      const [row] = await db.sql.rows<{ n: string }>(
        'select count(*) as n from outbox where published_at is null',
      );
      return Number(row?.n ?? 0);
    },
    async stop() {
      stopped = true;
      cancelSleep?.();
      await loop;
    },
  };
}
