import type { JetStreamClient, Logger } from '@dirsync/kit';
import type { SyncOrm } from '../db/orm.js';
import { sql, type Tables } from '../db/sql.js';

/**
 * Publishes `sync.outbox` rows to JetStream (msg id from the row, so a re-publish after a crash
 * is dropped by the server) and deletes each once the server acknowledged it. Rows are claimed
 * with SKIP LOCKED, so replicas relay in parallel without publishing a row twice at once.
 */
export class OutboxRelay {
  private running: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly d: { orm: SyncOrm; tables: Tables; js: JetStreamClient; logger: Logger },
  ) {}

  /** Relay now (coalesces with a relay already in progress). */
  kick(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          while ((await this.relayBatch()) > 0) {
            /* keep going while there is work */
          }
        } while (this.again);
      } catch (err) {
        this.d.logger.warn({ err }, 'outbox relay failed; will retry');
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /** Waits for a relay in progress (shutdown). */
  async idle(): Promise<void> {
    await this.running;
  }

  private async relayBatch(): Promise<number> {
    const t = this.d.tables;
    return this.d.orm.em.fork().transactional(async (tem) => {
      const q = sql(tem);
      const rows = await q<{
        id: string;
        subject: string;
        msg_id: string;
        payload: string | Buffer;
      }>(
        `select id, subject, msg_id, payload from ${t.outbox}
          order by id limit 100 for update skip locked`,
      );
      let sent = 0;
      for (const row of rows) {
        try {
          await this.d.js.publish(row.subject, bytea(row.payload), {
            msgID: row.msg_id,
            timeout: 5_000,
          });
          await q(`delete from ${t.outbox} where id = ?`, [row.id]);
          sent++;
        } catch (err) {
          await q(`update ${t.outbox} set attempts = attempts + 1, last_error = ? where id = ?`, [
            String(err),
            row.id,
          ]);
          this.d.logger.warn({ err, msgId: row.msg_id }, 'outbox publish failed; will retry');
          return 0;
        }
      }
      return sent;
    });
  }
}

/** Raw queries return bytea as `\x…` hex text. */
function bytea(v: string | Buffer): Uint8Array {
  if (Buffer.isBuffer(v)) return v;
  return Buffer.from(v.startsWith('\\x') ? v.slice(2) : v, 'hex');
}
