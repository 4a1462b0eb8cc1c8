import {
  ErrorCode,
  ErrorInfoSchema,
  RunDecisionReplySchema,
  RunDecisionRequestSchema,
  Subject,
  create,
  fromBinary,
  subject,
  toBinary,
  type RunDecisionReply,
} from '@dirsync/proto';
import { serveRequests, type Logger, type NatsConnection, type Responder } from '@dirsync/kit';
import type { Database } from '../db/database.js';
import { decideRun } from './safety.js';

/** Queue group of the decision responders: one identity replica answers each request. */
export const DECISIONS_QUEUE = 'identity';

/** Stops with `stop()`: the request in hand is answered first. */
export type RunDecisionsResponder = Responder;

const internalError = () =>
  toBinary(
    RunDecisionReplySchema,
    create(RunDecisionReplySchema, {
      result: {
        case: 'error',
        value: create(ErrorInfoSchema, {
          code: ErrorCode.INTERNAL,
          message: 'identity could not apply the decision; nothing changed',
        }),
      },
    }),
  );

/**
 * Answers sync's `RunDecisionRequest`s (core request/reply on `dirsync.control.runs.<directory>`,
 * never stored): approve or reject a BLOCKED run in one transaction (`decideRun`), reply with
 * the run's final RunUpdate (also in the outbox, so sync's consumer sees it either way) or an
 * error. A request that cannot be read, or a failure here, answers INTERNAL: nothing changed.
 */
export function startRunDecisionsResponder(d: {
  nc: NatsConnection;
  namespace: string;
  db: Database;
  logger: Logger;
  onOutbox: () => void;
}): RunDecisionsResponder {
  return serveRequests({
    nc: d.nc,
    subject: subject(Subject.RUN_DECISIONS, { directory_id: '*' }, d.namespace),
    queue: DECISIONS_QUEUE,
    logger: d.logger,
    what: 'run decision',
    onError: internalError,
    answer: async (msg) => {
      const req = fromBinary(RunDecisionRequestSchema, msg.data);
      const result = await d.db.tx((sql) => decideRun(sql, d.namespace, req));
      let reply: RunDecisionReply;
      if ('update' in result) {
        d.logger.info(
          {
            runId: req.runId,
            directoryId: req.directoryId,
            decision: req.decision,
            actor: req.actor,
          },
          'blocked run decided',
        );
        d.onOutbox();
        reply = create(RunDecisionReplySchema, {
          result: { case: 'update', value: result.update },
        });
      } else {
        reply = create(RunDecisionReplySchema, {
          result: { case: 'error', value: result.error },
        });
      }
      return toBinary(RunDecisionReplySchema, reply);
    },
  });
}
