import { Migration } from '@mikro-orm/migrations';

/** How a run read (a DELTA run served with a full read says FULL, and why), and its cost. */
export class Migration20251215000000_delta extends Migration {
  override up(): void {
    const s = `"${this.config.get('schema') ?? 'sync'}"`;
    this.addSql(`
      alter table ${s}.runs
        add column entries_read integer not null default 0,
        add column read_mode text check (read_mode in ('FULL', 'DELTA', 'USER')),
        add column full_read_reason text
          check (full_read_reason in ('NO_CURSOR', 'CURSOR_REJECTED', 'DELTA_UNSUPPORTED'))`);
  }

  override down(): void {
    const s = `"${this.config.get('schema') ?? 'sync'}"`;
    this.addSql(`
      alter table ${s}.runs drop column if exists entries_read,
        drop column if exists read_mode, drop column if exists full_read_reason`);
  }
}
