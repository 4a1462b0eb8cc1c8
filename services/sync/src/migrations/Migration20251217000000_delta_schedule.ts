import { Migration } from '@mikro-orm/migrations';

/** The delta schedule: DELTA runs every few minutes (default 5), on top of the FULL schedule. */
export class Migration20251217000000_delta_schedule extends Migration {
  override up(): void {
    const s = `"${this.config.get('schema') ?? 'sync'}"`;
    this.addSql(`
      alter table ${s}.directories
        add column delta_interval_minutes integer not null default 5
          check (delta_interval_minutes >= 0),
        add column next_delta_run_at timestamptz`);
    // Existing directories start their delta schedule now (SCIM sources push; they have none).
    this.addSql(`
      update ${s}.directories set next_delta_run_at = now() + interval '5 minutes'
        where enabled and kind <> 'SCIM'`);
    this.addSql(`
      create index directories_delta_due_idx on ${s}.directories (next_delta_run_at)
        where enabled and delta_interval_minutes > 0`);
  }

  override down(): void {
    const s = `"${this.config.get('schema') ?? 'sync'}"`;
    this.addSql(`drop index if exists ${s}.directories_delta_due_idx`);
    this.addSql(`
      alter table ${s}.directories drop column if exists delta_interval_minutes,
        drop column if exists next_delta_run_at`);
  }
}
