import { Migration } from '@mikro-orm/migrations';

/**
 * User lifecycle: the runs' lifecycle counts (users enabled again, username conflicts, users
 * claimed) and each directory's conflict policy (what a record whose username another
 * directory's user holds does: REPORT it, or TAKE_OVER that user).
 */
export class Migration20251218000000_user_lifecycle extends Migration {
  override up(): void {
    const s = `"${this.config.get('schema') ?? 'sync'}"`;
    this.addSql(`
      alter table ${s}.runs
        add column enabled integer not null default 0,
        add column conflicts integer not null default 0,
        add column claimed integer not null default 0`);
    this.addSql(`
      alter table ${s}.directories
        add column conflict_policy text not null default 'REPORT'
          check (conflict_policy in ('REPORT', 'TAKE_OVER'))`);
  }

  override down(): void {
    const s = `"${this.config.get('schema') ?? 'sync'}"`;
    this.addSql(`alter table ${s}.directories drop column conflict_policy`);
    this.addSql(
      `alter table ${s}.runs drop column enabled, drop column conflicts, drop column claimed`,
    );
  }
}
