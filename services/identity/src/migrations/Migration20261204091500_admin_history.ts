import { Migration } from '@mikro-orm/migrations';

/**
 * Run history of administrators (apply/admins.apply.ts): an ADMIN run's changes name the
 * administrator in `admin_id` (no foreign key, like `user_id`: history outlives a purged
 * administrator), indexed for `Admin.history` and `SyncRun.changes(filter: { adminId })`.
 * Nullable without a default: adding it rewrites nothing.
 */
export class Migration20261204091500_admin_history extends Migration {
  override up(): void {
    this.addSql('alter table run_changes add column admin_id uuid');
    this.addSql(
      `create index run_changes_admin_idx on run_changes (admin_id, id) where admin_id is not null`,
    );
  }

  override down(): void {
    this.addSql('drop index if exists run_changes_admin_idx');
    this.addSql('alter table run_changes drop column if exists admin_id');
  }
}
