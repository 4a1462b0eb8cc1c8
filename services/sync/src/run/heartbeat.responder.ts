import { serveRequests, type Logger, type NatsConnection, type Responder } from '@dirsync/kit';
import {
  ConnectorHeartbeatReplySchema,
  ConnectorHeartbeatSchema,
  RunPhase,
  Subject,
  create,
  fromBinary,
  subject,
  toBinary,
} from '@dirsync/proto';
import { CONFIG_QUEUE } from '../config/config.responder.js';
import type { ConnectorPresence } from '../connector/presence.js';
import type { RunService } from './run.service.js';

/** Longest connector kind or instance id kept (they end up in run messages). */
const MAX_NAME = 100;
const name = (s: string) =>
  // eslint-disable-next-line no-control-regex -- control characters are what is removed
  s.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, MAX_NAME);

/**
 * Answers connectors' heartbeats (`dirsync.control.heartbeat.<kind>`, core request/reply, queue
 * group "sync" so one replica records each; proto `liveness.proto`): records them on the runs
 * and the process's presence (`ConnectorPresence`: also idle connectors heartbeat; a stopping
 * one is forgotten at once), and replies with the runs that are no longer active. A heartbeat that cannot be recorded gets
 * no answer — the connector then knows nothing, rather than something wrong.
 */
export class HeartbeatResponder {
  private responder: Responder | undefined;

  constructor(
    private readonly d: {
      nc: NatsConnection;
      natsNamespace: string;
      runs: RunService;
      presence: ConnectorPresence;
      logger: Logger;
    },
  ) {}

  start(): void {
    this.responder = serveRequests({
      nc: this.d.nc,
      subject: subject(Subject.HEARTBEATS, { connector_kind: '*' }, this.d.natsNamespace),
      queue: CONFIG_QUEUE,
      logger: this.d.logger,
      what: 'heartbeat recording',
      answer: (msg) => this.answer(msg.subject, msg.data),
    });
  }

  private async answer(msgSubject: string, data: Uint8Array): Promise<Uint8Array | undefined> {
    let heartbeat;
    try {
      heartbeat = fromBinary(ConnectorHeartbeatSchema, data);
    } catch {
      this.d.logger.warn({ subject: msgSubject }, 'not a ConnectorHeartbeat; ignored');
      return undefined;
    }
    // The subject's kind is the one the connector takes jobs for.
    const connectorKind = name(msgSubject.split('.').pop() ?? heartbeat.connectorKind);
    const instanceId = name(heartbeat.instanceId) || 'unnamed';
    const { ended, held } = await this.d.runs.recordRunHeartbeats({
      connectorKind,
      instanceId,
      runs: heartbeat.runs.map((r) => ({
        runId: r.runId,
        directoryId: r.directoryId,
        published: r.phase === RunPhase.PUBLISHED,
      })),
    });
    await this.d.presence.record(
      {
        connectorKind,
        instanceId,
        startedAtMs: Number(heartbeat.startedAtMs),
        version: name(heartbeat.version),
        intervalMs: heartbeat.intervalMs,
        stopping: heartbeat.stopping,
      },
      held,
    );
    return toBinary(
      ConnectorHeartbeatReplySchema,
      create(ConnectorHeartbeatReplySchema, { endedRunIds: ended }),
    );
  }

  /** Stop taking heartbeats; the one in hand is answered first. */
  async stop(): Promise<void> {
    await this.responder?.stop();
    this.responder = undefined;
  }
}
