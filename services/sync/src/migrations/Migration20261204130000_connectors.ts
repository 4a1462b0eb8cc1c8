import { Migration } from '@mikro-orm/migrations';

/**
 * Connector presence (proto `liveness.proto`, ConnectorHeartbeat): every connector process that
 * reports in, one row per (kind, instance), so every replica sees which are running. A row is
 * stale after three of its heartbeat intervals without one, deleted when the process says it is
 * stopping, and forgotten an hour after its last heartbeat. `run_ids`: the active runs it holds
 * (reported and not yet published).
 */
export class Migration20261204130000_connectors extends Migration {
  override up(): void {
    const s = `"${this.config.get('schema') ?? 'sync'}"`;
    this.addSql(`
      create table ${s}.connectors (
        kind text not null,
        instance text not null,
        version text not null default '',
        started_at timestamptz,
        first_seen_at timestamptz not null,
        last_seen_at timestamptz not null,
        interval_ms integer not null,
        run_ids uuid[] not null default '{}',
        primary key (kind, instance)
      )`);
    this.addSql(`create index connectors_kind_seen on ${s}.connectors (kind, last_seen_at)`);
  }

  override down(): void {
    const s = `"${this.config.get('schema') ?? 'sync'}"`;
    this.addSql(`drop table if exists ${s}.connectors`);
  }
}
