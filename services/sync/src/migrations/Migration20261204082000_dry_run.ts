import { Migration } from '@mikro-orm/migrations';

/**
 * Dry runs (`syncAll(dryRun: true)`, `syncUser(…, dryRun: true)`): the run is marked; its
 * COMPLETED update stores no cursor and, when a real run would have been BLOCKED, keeps the
 * RemovalPlan in `removals` like a blocked run does.
 */
export class Migration20261204082000_dry_run extends Migration {
  override up(): void {
    const s = `"${this.config.get('schema') ?? 'sync'}"`;
    this.addSql(`alter table ${s}.runs add column dry_run boolean not null default false`);
  }

  override down(): void {
    const s = `"${this.config.get('schema') ?? 'sync'}"`;
    this.addSql(`alter table ${s}.runs drop column if exists dry_run`);
  }
}
