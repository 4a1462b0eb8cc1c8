import {
  LifecycleEntity,
  LifecycleEventsSchema,
  Stream,
  Transition,
  fromBinary,
  lifecycleSubject,
  streamName,
  transitionToken,
  type LifecycleEvent,
  type UserSnapshot,
} from '@dirsync/proto';
import { AckPolicy, DeliverPolicy, type JsMsg, type NatsConnection } from 'nats';

/**
 * A deprovisioning subscriber: it reads dirsync's user lifecycle events from DIRSYNC_LIFECYCLE
 * with a durable consumer of its own and takes access away the moment the directory says so.
 * The rules every subscriber should follow (docs/events.md):
 *
 * - a durable consumer with `deliver_policy: all`, so a new subscriber replays the stream and a
 *   restarted one resumes where it stopped;
 * - one message in flight (`max_ack_pending: 1`), so the actions happen in stream order;
 * - idempotent handling: an event at or below the highest version already handled for that
 *   user is skipped, so a redelivery or a duplicate publish changes nothing;
 * - ack only after the work is done: a crash in between redelivers, and the previous rule makes
 *   that harmless. A failed action is retried, and nothing behind it goes first.
 */

/** What the service does about a user. Each method may throw: the message is then retried. */
export interface Deprovisioner {
  /** `disabled` or `pending_deletion`: take every access away (sessions, tokens, licences). */
  revoke(user: UserSnapshot, event: LifecycleEvent): Promise<void>;
  /** `enabled` or `restored`: the user is back; give access back if it was taken. */
  reinstate(user: UserSnapshot, event: LifecycleEvent): Promise<void>;
  /** `purged`: the user is gone for good; delete what is kept about them. */
  forget(user: UserSnapshot, event: LifecycleEvent): Promise<void>;
}

/**
 * Remembers the highest version handled per user. Must be durable in production (the example's
 * `main.ts` keeps it in a file), and ideally written in the same transaction as the action.
 */
export interface VersionStore {
  get(userId: string): Promise<number>;
  set(userId: string, version: number): Promise<void>;
}

export function memoryVersionStore(): VersionStore & { readonly versions: Map<string, number> } {
  const versions = new Map<string, number>();
  return {
    versions,
    async get(id) {
      return versions.get(id) ?? 0;
    },
    async set(id, version) {
      versions.set(id, version);
    },
  };
}

export interface SubscriberOptions {
  nc: NatsConnection;
  /** The dirsync deployment's NATS namespace ("" for none). */
  namespace?: string;
  /** The durable consumer's name: one per subscribing service. */
  durable: string;
  deprovisioner: Deprovisioner;
  store?: VersionStore;
  /** Delay before a failed message is redelivered. */
  retryDelayMs?: number;
  log?: (line: Record<string, unknown>) => void;
}

export interface Subscriber {
  /** Stop after the message in hand. */
  stop(): Promise<void>;
  /** Resolves when the subscriber stopped. */
  readonly done: Promise<void>;
}

/** What a transition asks of us; undefined: nothing (created, updated). */
export function actionOf(transition: Transition): keyof Deprovisioner | undefined {
  switch (transition) {
    case Transition.DISABLED:
    case Transition.PENDING_DELETION:
      return 'revoke';
    case Transition.ENABLED:
    case Transition.RESTORED:
      return 'reinstate';
    case Transition.PURGED:
      return 'forget';
    default:
      return undefined;
  }
}

/** Handle one message's events; resolves when all are done (then the caller acks). */
export async function handleMessage(
  data: Uint8Array,
  deprovisioner: Deprovisioner,
  store: VersionStore,
  log: (line: Record<string, unknown>) => void = () => undefined,
): Promise<void> {
  const batch = fromBinary(LifecycleEventsSchema, data);
  for (const event of batch.events) {
    if (event.subject.case !== 'user') continue;
    const user = event.subject.value;
    if (user.version <= (await store.get(user.id))) {
      log({ msg: 'already handled', eventId: event.eventId });
      continue;
    }
    const action = actionOf(event.transition);
    if (action) {
      await deprovisioner[action](user, event);
      log({
        msg: action,
        eventId: event.eventId,
        userId: user.id,
        username: user.username,
        transition: transitionToken(event.transition),
      });
    }
    await store.set(user.id, user.version);
  }
}

/** Create (or update) the durable consumer and handle messages until `stop()`. */
export async function startSubscriber(opts: SubscriberOptions): Promise<Subscriber> {
  const ns = opts.namespace ?? '';
  const stream = streamName(Stream.LIFECYCLE, ns).name;
  const store = opts.store ?? memoryVersionStore();
  const log = opts.log ?? (() => undefined);
  const jsm = await opts.nc.jetstreamManager();
  const config = {
    durable_name: opts.durable,
    filter_subject: lifecycleSubject(LifecycleEntity.USER, '>', ns),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    max_ack_pending: 1,
    ack_wait: 30_000_000_000, // 30 s in nanoseconds: longer than any one action may take
  };
  try {
    await jsm.consumers.info(stream, opts.durable);
    await jsm.consumers.update(stream, opts.durable, config);
  } catch {
    await jsm.consumers.add(stream, config);
  }
  const consumer = await opts.nc.jetstream().consumers.get(stream, opts.durable);
  const messages = await consumer.consume({ max_messages: 1 });
  let stopping = false;
  const done = (async () => {
    for await (const msg of messages) {
      await handle(msg);
      if (stopping) break;
    }
  })();

  // A failed action is retried here, with the message held (`working()` extends its ack wait),
  // rather than nak'ed: the next message must not overtake it. On stop it is nak'ed and comes
  // back to whoever consumes next.
  async function handle(msg: JsMsg): Promise<void> {
    for (;;) {
      try {
        await handleMessage(msg.data, opts.deprovisioner, store, log);
        msg.ack();
        return;
      } catch (err) {
        log({ msg: 'failed; will retry', streamSeq: msg.seq, err: String(err) });
        if (stopping) {
          msg.nak();
          return;
        }
        msg.working();
        await new Promise((r) => setTimeout(r, opts.retryDelayMs ?? 1_000));
      }
    }
  }

  return {
    done,
    async stop() {
      stopping = true;
      messages.stop();
      await done.catch(() => undefined);
    },
  };
}
