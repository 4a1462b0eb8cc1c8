import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  connect,
  nanos,
  type ConsumerConfig,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type Msg,
  type NatsConnection,
  type StreamConfig,
} from 'nats';
import { Stream, streamName, type Namespace } from '@dirsync/proto';
import type { Logger } from './logger.js';

export type { JetStreamClient, JetStreamManager, JsMsg, NatsConnection };

/** Connect with reconnects forever: a broker restart must not kill a service. */
export async function connectNats(opts: {
  url: string;
  name: string;
  logger?: Logger;
}): Promise<NatsConnection> {
  const nc = await connect({
    servers: opts.url.split(',').map((s) => s.trim()),
    name: opts.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: false,
  });
  if (opts.logger) {
    const log = opts.logger;
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error') {
          log.warn({ natsStatus: s.type, data: String(s.data) }, 'nats connection status');
        }
      }
    })();
  }
  return nc;
}

const TWO_MINUTES_MS = 2 * 60 * 1000;

/** The stream configuration of each dirsync stream; retention choices are in DESIGN.md §4. */
export function streamConfigs(ns: Namespace): Partial<StreamConfig>[] {
  const events = streamName(Stream.EVENTS, ns);
  const jobs = streamName(Stream.JOBS, ns);
  const lifecycle = streamName(Stream.LIFECYCLE, ns);
  return [
    {
      name: events.name,
      subjects: events.subjects,
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      duplicate_window: nanos(TWO_MINUTES_MS),
      max_age: nanos(7 * 24 * 3600 * 1000),
    },
    {
      name: jobs.name,
      subjects: jobs.subjects,
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      duplicate_window: nanos(TWO_MINUTES_MS),
    },
    {
      name: lifecycle.name,
      subjects: lifecycle.subjects,
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      duplicate_window: nanos(TWO_MINUTES_MS),
      max_age: nanos(30 * 24 * 3600 * 1000),
    },
  ];
}

/** Create or update every dirsync stream. Safe to call from every service at start. */
export async function ensureStreams(jsm: JetStreamManager, ns: Namespace): Promise<void> {
  for (const cfg of streamConfigs(ns)) {
    const name = cfg.name as string;
    try {
      await jsm.streams.info(name);
      // Retention cannot change after creation; update what can.
      const { retention: _r, storage: _s, ...updatable } = cfg;
      await jsm.streams.update(name, updatable);
    } catch (err) {
      if (isNotFound(err)) {
        try {
          await jsm.streams.add(cfg);
        } catch (addErr) {
          // Another service created it concurrently.
          if (!String(addErr).includes('already in use')) throw addErr;
        }
      } else {
        throw err;
      }
    }
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as { code?: string; api_error?: { err_code?: number } };
  return e?.api_error?.err_code === 10059 || e?.code === '404' || String(err).includes('not found');
}

/** Create or update a durable pull consumer. */
export async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  config: Partial<ConsumerConfig> & { durable_name: string },
): Promise<void> {
  const full: Partial<ConsumerConfig> = {
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ...config,
  };
  try {
    await jsm.consumers.info(stream, config.durable_name);
    await jsm.consumers.update(stream, config.durable_name, full);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.consumers.add(stream, full);
  }
}

/** What a consumer handler does with a message after processing. */
export type ConsumerHandler = (msg: JsMsg) => Promise<void>;

/**
 * Called instead of another retry when the handler failed on the `maxDeliveries`-th delivery of
 * a message (or a later one). It should record that the message could not be processed; when it
 * returns, the message is acked and the loop goes on. When it throws, the message is retried as
 * usual (and handed to it again after the next failure): a give-up that cannot be recorded, say
 * because the database is down, must not lose the message.
 */
export type ConsumerGiveUp = (msg: JsMsg, err: unknown) => Promise<void>;

/**
 * A running pull-consumer loop: one message at a time, in stream order. The handler commits its
 * work and the loop acks only after the handler returned; a handler that throws leaves the
 * message unacked (nak with delay) so it is redelivered. `stop()` lets the message in hand
 * finish, then returns: that is the drain step of a graceful shutdown.
 */
export interface ConsumerLoop {
  stop(): Promise<void>;
  /** Resolves when the loop has ended (after stop, or on a fatal error). */
  readonly done: Promise<void>;
}

export interface ConsumerLoopOptions {
  js: JetStreamClient;
  stream: string;
  durable: string;
  handler: ConsumerHandler;
  logger: Logger;
  /**
   * Delay before a failed message is redelivered the first time (default 1000 ms). It doubles
   * with every further delivery, up to `maxRetryDelayMs`.
   */
  retryDelayMs?: number;
  /** Upper bound of the retry delay; defaults to `retryDelayMs` (a constant delay). */
  maxRetryDelayMs?: number;
  maxMessages?: number;
  /**
   * With `onGiveUp`: the delivery (1-based, `msg.info.redeliveryCount`) from which a failure is
   * handed to `onGiveUp` instead of being retried. Without both, a failing message is retried
   * for ever, which with `max_ack_pending: 1` stops the consumer at that message.
   */
  maxDeliveries?: number;
  onGiveUp?: ConsumerGiveUp;
}

/** The delay before delivery `delivery + 1` of a message whose delivery `delivery` failed. */
export function consumerRetryDelay(
  opts: Pick<ConsumerLoopOptions, 'retryDelayMs' | 'maxRetryDelayMs'>,
  delivery: number,
): number {
  const base = opts.retryDelayMs ?? 1000;
  const max = Math.max(base, opts.maxRetryDelayMs ?? base);
  return Math.min(max, base * 2 ** Math.min(30, Math.max(0, delivery - 1)));
}

export async function startConsumerLoop(opts: ConsumerLoopOptions): Promise<ConsumerLoop> {
  const consumer = await opts.js.consumers.get(opts.stream, opts.durable);
  let stopping = false;
  const messages = await consumer.consume({ max_messages: opts.maxMessages ?? 64 });

  /** After a failed handler: ack when the failure was given up on, else nak for a retry. */
  async function failed(msg: JsMsg, err: unknown): Promise<boolean> {
    const delivery = msg.info.redeliveryCount;
    const where = { subject: msg.subject, seq: msg.seq, delivery };
    if (opts.onGiveUp && opts.maxDeliveries !== undefined && delivery >= opts.maxDeliveries) {
      try {
        await opts.onGiveUp(msg, err);
        opts.logger.error({ err, ...where }, 'message handler failed on every delivery; gave up');
        return true;
      } catch (giveUpErr) {
        opts.logger.error(
          { err, giveUpErr, ...where },
          'message handler failed and giving up failed too; will retry',
        );
      }
    } else {
      opts.logger.error({ err, ...where }, 'message handler failed; will retry');
    }
    msg.nak(consumerRetryDelay(opts, delivery));
    return false;
  }

  const done = (async () => {
    for await (const msg of messages) {
      if (stopping) {
        // Not processed: let it be redelivered to whoever runs next.
        msg.nak();
        continue;
      }
      try {
        await opts.handler(msg);
      } catch (err) {
        if (!(await failed(msg, err))) continue;
      }
      try {
        await msg.ackAck().catch(() => msg.ack());
      } catch (err) {
        // The work is committed; the message comes back after the ack wait and the handler
        // (idempotent, as every handler here must be) skips it.
        opts.logger.warn({ err, subject: msg.subject, seq: msg.seq }, 'ack failed');
      }
    }
  })();
  return {
    done,
    async stop() {
      stopping = true;
      messages.stop();
      await done.catch(() => undefined);
    },
  };
}

/**
 * Publishes to JetStream with at most `maxInFlight` unacknowledged publishes, so a slow broker
 * slows the producer instead of growing its memory. Every message carries a msg id, so a retry
 * after a timeout is deduplicated by the server. A publish that still fails after `retries`
 * makes the next `publish()`/`flush()` throw.
 */
export class BoundedPublisher {
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown = undefined;
  private published = 0;

  constructor(
    private readonly js: JetStreamClient,
    private readonly opts: { maxInFlight?: number; retries?: number; timeoutMs?: number } = {},
  ) {}

  /** Number of messages the server has acknowledged. */
  get acknowledged(): number {
    return this.published;
  }

  async publish(subject: string, data: Uint8Array, msgId: string): Promise<void> {
    if (this.failure) throw this.failure;
    const max = this.opts.maxInFlight ?? 256;
    while (this.inFlight.size >= max) {
      await Promise.race(this.inFlight);
      if (this.failure) throw this.failure;
    }
    const p: Promise<void> = this.publishWithRetry(subject, data, msgId)
      .then(() => {
        this.published++;
      })
      .catch((err: unknown) => {
        this.failure ??= err;
      })
      .finally(() => {
        this.inFlight.delete(p);
      });
    this.inFlight.add(p);
  }

  /** Wait for every publish so far to be acknowledged; throws the first failure. */
  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
  }

  private async publishWithRetry(subject: string, data: Uint8Array, msgId: string): Promise<void> {
    const retries = this.opts.retries ?? 5;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.js.publish(subject, data, {
          msgID: msgId,
          timeout: this.opts.timeoutMs ?? 10_000,
        });
        return;
      } catch (err) {
        if (attempt >= retries) throw err;
        const backoff = Math.min(5_000, 100 * 2 ** attempt) * (0.5 + Math.random() / 2);
        await new Promise((r) => setTimeout(r, backoff));
      }
    }
  }
}

/** A core request/reply service started by `serveRequests`. */
export interface Responder {
  /** Stop taking requests; the one in hand is answered first. */
  stop(): Promise<void>;
}

export interface ResponderOptions {
  nc: NatsConnection;
  /** Usually a wildcard subject: the last token names the directory or connector kind. */
  subject: string;
  /** Queue group: one member (one replica of the service) answers each request. */
  queue: string;
  logger: Logger;
  /** Names the requests in the log line of a failure ("config request failed"). */
  what: string;
  /** The reply's bytes, or undefined to answer nothing (the requester's timeout then tells it). */
  answer: (msg: Msg) => Promise<Uint8Array | undefined>;
  /**
   * The reply when `answer` throws, after the error is logged; undefined (or absent) answers
   * nothing — for requesters to whom silence is safer than a guess.
   */
  onError?: (err: unknown, msg: Msg) => Uint8Array | undefined;
}

/**
 * Answers core NATS requests one at a time, in arrival order, until stopped. Requests are never
 * stored (no stream): a replica that stops drains the ones already delivered to it; the rest go to
 * another member of the queue group, or time out at the requester.
 */
export function serveRequests(opts: ResponderOptions): Responder {
  const sub = opts.nc.subscribe(opts.subject, { queue: opts.queue });
  const loop = (async () => {
    for await (const msg of sub) {
      let reply: Uint8Array | undefined;
      try {
        reply = await opts.answer(msg);
      } catch (err) {
        opts.logger.error({ err, subject: msg.subject }, `${opts.what} failed`);
        reply = opts.onError?.(err, msg);
      }
      if (reply) msg.respond(reply);
    }
  })();
  return {
    async stop() {
      await sub.drain().catch(() => undefined);
      await loop;
    },
  };
}
