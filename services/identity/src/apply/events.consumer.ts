import {
  DirectoryEventSchema,
  Stream,
  Subject,
  fromBinary,
  streamName,
  subject,
  type DirectoryEvent,
} from '@dirsync/proto';
import {
  ensureConsumer,
  startConsumerLoop,
  type ApplyMetrics,
  type ConsumerLoop,
  type JetStreamClient,
  type JetStreamManager,
  type Logger,
} from '@dirsync/kit';
import { isTransientDatabaseError } from '../db/errors.js';
import type { Applier } from './applier.js';

/** Durable name of identity's consumer on DIRSYNC_EVENTS. */
export const EVENTS_DURABLE = 'identity';

/** The retry delay of a failing event stops doubling here. */
const MAX_RETRY_DELAY_MS = 30_000;

/**
 * Consume `DirectoryEvent`s one at a time, in stream order, acking after the transaction
 * committed. `max_ack_pending: 1` keeps that order across redeliveries and replicas: the server
 * hands out the next event only when the previous one is acked.
 */
export async function startEventsConsumer(deps: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  namespace: string;
  applier: Applier;
  logger: Logger;
  /** Called after a commit that wrote RunUpdates to the outbox. */
  onOutbox: () => void;
  /** Deliveries of a failing event before its run is failed (default 5). */
  maxDeliveries?: number;
  /** Delay before the first retry of a failing event; doubles per delivery (default 1000). */
  retryDelayMs?: number;
  metrics?: ApplyMetrics;
}): Promise<ConsumerLoop> {
  const stream = streamName(Stream.EVENTS, deps.namespace).name;
  await ensureConsumer(deps.jsm, stream, {
    durable_name: EVENTS_DURABLE,
    filter_subject: subject(Subject.EVENTS, { directory_id: '>' }, deps.namespace),
    max_ack_pending: 1,
  });
  const log = deps.logger.child({ consumer: EVENTS_DURABLE });
  return startConsumerLoop({
    js: deps.js,
    stream,
    durable: EVENTS_DURABLE,
    logger: log,
    retryDelayMs: deps.retryDelayMs ?? 1000,
    maxRetryDelayMs: MAX_RETRY_DELAY_MS,
    maxDeliveries: deps.maxDeliveries ?? 5,
    // A poison event (its apply fails every time) must not stop every directory's sync: after
    // the last attempt its run is failed and the event acked. A database that is away is not
    // poison: that failure is retried (with the backoff capped) for as long as it lasts.
    onGiveUp: async (msg, err) => {
      if (isTransientDatabaseError(err)) throw err;
      const event = fromBinary(DirectoryEventSchema, msg.data);
      const outcome = await deps.applier.giveUp(event, err, msg.info.redeliveryCount);
      if (outcome.kind === 'applied' && outcome.outbox) deps.onOutbox();
    },
    handler: async (msg) => {
      let event;
      try {
        event = fromBinary(DirectoryEventSchema, msg.data);
      } catch (err) {
        // Redelivering bytes that do not decode cannot help; drop them loudly.
        log.error({ err, subject: msg.subject, streamSeq: msg.seq }, 'undecodable event dropped');
        return;
      }
      // A FULL completion of a big directory can outlast the ack wait; tell the server we are
      // still on it rather than have it redelivered meanwhile.
      const keepAlive = setInterval(() => msg.working(), 10_000);
      const type = event.body.case ?? 'none';
      const stopTimer = deps.metrics?.seconds.startTimer({ type });
      let outcome;
      try {
        outcome = await deps.applier.apply(event);
      } catch (err) {
        deps.metrics?.events.inc({ type, outcome: 'failed' });
        throw err;
      } finally {
        clearInterval(keepAlive);
        stopTimer?.();
      }
      deps.metrics?.events.inc({ type, outcome: outcome.kind });
      if (outcome.kind === 'applied' && deps.metrics) countObjects(deps.metrics, event);
      log.debug(
        {
          runId: event.runId,
          directoryId: event.directoryId,
          seq: event.seq,
          outcome: outcome.kind,
        },
        'event handled',
      );
      if (outcome.kind === 'applied' && outcome.outbox) deps.onOutbox();
    },
  });
}

/** Records of an applied observation batch, for `dirsync_objects_applied_total`. */
function countObjects(metrics: ApplyMetrics, event: DirectoryEvent): void {
  const body = event.body;
  const count = (type: string, n: number) => {
    if (n > 0) metrics.objects.inc({ directory_id: event.directoryId, type }, n);
  };
  if (body.case === 'users') count('user', body.value.users.length);
  else if (body.case === 'groups') count('group', body.value.groups.length);
  else if (body.case === 'memberships') {
    count(
      'membership',
      body.value.groups.reduce((n, g) => n + g.userExternalIds.length, 0),
    );
  } else if (body.case === 'objectErrors') count('error', body.value.errors.length);
}
