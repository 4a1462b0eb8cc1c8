import { Migration } from '@mikro-orm/migrations';

/**
 * Connector liveness (proto `liveness.proto`): who works on a run and when it last said so.
 * `heartbeat_at` null means no connector has reported the run (it keeps the run timeout only);
 * `connector_published_at` is set once the connector's terminal event was on the stream (its
 * silence after that is no sign of trouble).
 */
export class Migration20261204100000_liveness extends Migration {
  override up(): void {
    const s = `"${this.config.get('schema') ?? 'sync'}"`;
    this.addSql(`
      alter table ${s}.runs
        add column connector_kind text,
        add column connector_instance text,
        add column heartbeat_at timestamptz,
        add column connector_published_at timestamptz`);
  }

  override down(): void {
    const s = `"${this.config.get('schema') ?? 'sync'}"`;
    this.addSql(`
      alter table ${s}.runs
        drop column if exists connector_kind, drop column if exists connector_instance,
        drop column if exists heartbeat_at, drop column if exists connector_published_at`);
  }
}
