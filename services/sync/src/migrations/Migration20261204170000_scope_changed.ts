import { Migration } from '@mikro-orm/migrations';

/**
 * When a directory's scope settings last changed — what a sync reads and whom it counts: server,
 * bases, filter, selected groups, mapping, role groups. A BLOCKED run's plan was made with the
 * settings of its time; approving it after they changed would apply a stale plan (approveRun
 * refuses it: RUN_SUPERSEDED). Null: unchanged since the directory was created.
 */
export class Migration20261204170000_scope_changed extends Migration {
  override up(): void {
    const s = `"${this.config.get('schema') ?? 'sync'}"`;
    this.addSql(`alter table ${s}.directories add column scope_changed_at timestamptz`);
  }

  override down(): void {
    const s = `"${this.config.get('schema') ?? 'sync'}"`;
    this.addSql(`alter table ${s}.directories drop column if exists scope_changed_at`);
  }
}
