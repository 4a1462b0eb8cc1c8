import {
  ensureConsumer,
  startConsumerLoop,
  type ConsumerLoop,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type Logger,
} from '@dirsync/kit';
import { RunUpdateSchema, Stream, Subject, fromBinary, streamName, subject } from '@dirsync/proto';
import type { RunService } from './run.service.js';

/** Durable pull consumer of RunUpdates; shared by all replicas. */
export const RUN_UPDATES_DURABLE = 'sync-runs';

/**
 * Consume `dirsync.runs.*` from DIRSYNC_LIFECYCLE and apply each update in one transaction, acking
 * after commit. A message that is not a RunUpdate is logged and acked (it would never apply).
 */
export async function startRunUpdatesConsumer(d: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  natsNamespace: string;
  runs: RunService;
  logger: Logger;
}): Promise<ConsumerLoop> {
  const stream = streamName(Stream.LIFECYCLE, d.natsNamespace).name;
  await ensureConsumer(d.jsm, stream, {
    durable_name: RUN_UPDATES_DURABLE,
    filter_subject: subject(Subject.RUNS, { run_id: '*' }, d.natsNamespace),
    max_ack_pending: 256,
  });
  return startConsumerLoop({
    js: d.js,
    stream,
    durable: RUN_UPDATES_DURABLE,
    logger: d.logger,
    handler: async (msg: JsMsg) => {
      let update;
      try {
        update = fromBinary(RunUpdateSchema, msg.data);
      } catch (err) {
        d.logger.warn({ err, subject: msg.subject, seq: msg.seq }, 'not a RunUpdate; dropped');
        return;
      }
      const result = await d.runs.applyUpdate(update);
      d.logger.debug(
        { runId: update.runId, directoryId: update.directoryId, seq: update.seq, result },
        'run update',
      );
    },
  });
}
