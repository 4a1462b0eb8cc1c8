import { Migration } from '@mikro-orm/migrations';

/**
 * Admin sync and run leases: a directory's admin role groups and admin schedule; ADMIN runs
 * (`email`, admin outcome and counts); the lease an active run's replica holds on it.
 */
export class Migration20251216000000_admins_leases extends Migration {
  override up(): void {
    const s = `"${this.config.get('schema') ?? 'sync'}"`;
    this.addSql(`
      alter table ${s}.directories
        add column admin_role_groups jsonb not null default '[]'::jsonb,
        add column admin_schedule_interval_minutes integer not null default 30
          check (admin_schedule_interval_minutes >= 0),
        add column next_admin_run_at timestamptz`);
    this.addSql(`
      create index directories_admin_due_idx on ${s}.directories (next_admin_run_at)
        where enabled and admin_schedule_interval_minutes > 0`);
    this.addSql(`
      alter table ${s}.runs
        drop constraint runs_mode_check,
        add constraint runs_mode_check check (mode in ('FULL', 'DELTA', 'USER', 'ADMIN')),
        drop constraint runs_read_mode_check,
        add constraint runs_read_mode_check
          check (read_mode in ('FULL', 'DELTA', 'USER', 'ADMIN')),
        add column email text,
        add column admin_outcome text,
        add column admin_id text,
        add column admins_seen integer not null default 0,
        add column admins_created integer not null default 0,
        add column admins_updated integer not null default 0,
        add column admins_unchanged integer not null default 0,
        add column admins_disabled integer not null default 0,
        add column admins_pending_deletion integer not null default 0,
        add column admins_restored integer not null default 0,
        add column lease_owner text,
        add column lease_expires_at timestamptz`);
  }

  override down(): void {
    const s = `"${this.config.get('schema') ?? 'sync'}"`;
    this.addSql(`delete from ${s}.runs where mode = 'ADMIN'`);
    this.addSql(`
      alter table ${s}.runs
        drop constraint runs_mode_check,
        add constraint runs_mode_check check (mode in ('FULL', 'DELTA', 'USER')),
        drop constraint runs_read_mode_check,
        add constraint runs_read_mode_check check (read_mode in ('FULL', 'DELTA', 'USER')),
        drop column email, drop column admin_outcome, drop column admin_id,
        drop column admins_seen, drop column admins_created, drop column admins_updated,
        drop column admins_unchanged, drop column admins_disabled,
        drop column admins_pending_deletion, drop column admins_restored,
        drop column lease_owner, drop column lease_expires_at`);
    this.addSql(`drop index if exists ${s}.directories_admin_due_idx`);
    this.addSql(`
      alter table ${s}.directories
        drop column admin_role_groups, drop column admin_schedule_interval_minutes,
        drop column next_admin_run_at`);
  }
}
