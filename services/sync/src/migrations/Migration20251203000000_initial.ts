import { Migration } from '@mikro-orm/migrations';

/** directories, runs, run_errors, outbox. */
export class Migration20251203000000_initial extends Migration {
  override up(): void {
    const s = `"${this.config.get('schema') ?? 'sync'}"`;
    this.addSql(`
      create table ${s}.directories (
        id uuid primary key,
        name text not null check (length(name) between 1 and 200),
        kind text not null check (kind in ('LDAP', 'ENTRA', 'GOOGLE', 'OKTA', 'SCIM')),
        settings jsonb not null,
        bind_password_enc text,
        selected_groups text[] not null,
        mapping jsonb not null,
        default_region text not null default 'US' check (default_region ~ '^[A-Z]{2}$'),
        schedule_interval_minutes integer not null default 30 check (schedule_interval_minutes >= 0),
        enabled boolean not null default true,
        restore_window_days integer not null default 7 check (restore_window_days >= 0),
        cursor text,
        created_at timestamptz not null,
        updated_at timestamptz not null,
        last_run_id uuid,
        next_run_at timestamptz
      )`);
    this.addSql(`create unique index directories_name_key on ${s}.directories (lower(name))`);
    this.addSql(`
      create index directories_due_idx on ${s}.directories (next_run_at)
        where enabled and schedule_interval_minutes > 0`);
    this.addSql(`
      create table ${s}.runs (
        id uuid primary key,
        directory_id uuid not null references ${s}.directories (id) on delete cascade,
        mode text not null check (mode in ('FULL', 'DELTA', 'USER')),
        trigger text not null check (trigger in ('MANUAL', 'SCHEDULE')),
        username bytea,
        status text not null check (status in ('QUEUED', 'RUNNING', 'COMPLETED', 'FAILED', 'BLOCKED')),
        seen integer not null default 0,
        created integer not null default 0,
        updated integer not null default 0,
        unchanged integer not null default 0,
        disabled integer not null default 0,
        pending_deletion integer not null default 0,
        restored integer not null default 0,
        errors integer not null default 0,
        groups_seen integer not null default 0,
        groups_created integer not null default 0,
        groups_updated integer not null default 0,
        groups_removed integer not null default 0,
        memberships_added integer not null default 0,
        memberships_removed integer not null default 0,
        update_seq bigint not null default 0,
        error_code text,
        error_message text,
        user_outcome text,
        user_id text,
        queued_at timestamptz not null,
        started_at timestamptz,
        finished_at timestamptz,
        last_update_at timestamptz
      )`);
    // The guard behind RUN_IN_PROGRESS and the scheduler: one active run per directory.
    this.addSql(`
      create unique index runs_one_active on ${s}.runs (directory_id)
        where status in ('QUEUED', 'RUNNING')`);
    this.addSql(
      `create index runs_directory_idx on ${s}.runs (directory_id, queued_at desc, id desc)`,
    );
    this.addSql(`create index runs_queued_idx on ${s}.runs (queued_at desc, id desc)`);
    this.addSql(`
      create table ${s}.run_errors (
        run_id uuid not null references ${s}.runs (id) on delete cascade,
        update_seq bigint not null,
        idx integer not null,
        external_id text not null,
        source_locator text not null,
        code text not null,
        message text not null,
        primary key (run_id, update_seq, idx)
      )`);
    this.addSql(`
      create table ${s}.outbox (
        id bigserial primary key,
        subject text not null,
        msg_id text not null,
        payload bytea not null,
        created_at timestamptz not null,
        attempts integer not null default 0,
        last_error text
      )`);
  }

  override down(): void {
    const s = `"${this.config.get('schema') ?? 'sync'}"`;
    this.addSql(`drop table if exists ${s}.outbox`);
    this.addSql(`drop table if exists ${s}.run_errors`);
    this.addSql(`drop table if exists ${s}.runs`);
    this.addSql(`drop table if exists ${s}.directories`);
  }
}
