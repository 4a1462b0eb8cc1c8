import { Migration } from '@mikro-orm/migrations';

/**
 * Deletion safety (docs/lifecycle.md). A FULL run whose planned removals exceed the directory's
 * deletion threshold removes nothing and ends BLOCKED; its plan — the exact users, groups and
 * memberships it would have removed — is kept in `run_held_*` until an operator approves
 * (exactly those are removed, minus what a later run observed again) or rejects it, or a later
 * FULL run supersedes it. Unlike the per-run staging tables these rows outlive the run, so they
 * are indexed by run.
 */
export class Migration20261204070000_safety extends Migration {
  override up(): void {
    this.addSql(`alter table runs drop constraint if exists runs_status_check`);
    this.addSql(`
alter table runs
  add constraint runs_status_check
    check (status in ('RUNNING', 'COMPLETED', 'FAILED', 'BLOCKED', 'REJECTED')),
  -- The directory's threshold when the run started (null: no limit, e.g. no policy sent).
  add column deletion_max_count integer,
  add column deletion_max_percent integer,
  -- BLOCKED runs: the RemovalPlan summary (users, memberships, groups, base_users, ...).
  add column removals jsonb,
  add column decision text check (decision in ('APPROVE', 'REJECT')),
  add column decided_by text,
  add column decided_at timestamptz,
  add column superseded_by text`);
    this.addSql(
      `create index runs_blocked_directory_idx on runs (directory_id) where status = 'BLOCKED'`,
    );
    this.addSql(`
create table run_held_users (
  run_id text not null,
  user_id uuid not null,
  reason text not null,
  primary key (run_id, user_id)
)`);
    this.addSql(`
create table run_held_groups (
  run_id text not null,
  group_id uuid not null,
  primary key (run_id, group_id)
)`);
    this.addSql(`
create table run_held_memberships (
  run_id text not null,
  group_id uuid not null,
  user_id uuid not null,
  primary key (run_id, group_id, user_id)
)`);
    // The purge job's scan: pending users whose restore window has passed.
    this.addSql(
      `create index users_purge_idx on users (purge_after) where status = 'pending_deletion'`,
    );
  }

  override down(): void {
    this.addSql('drop index if exists users_purge_idx');
    this.addSql('drop table if exists run_held_memberships');
    this.addSql('drop table if exists run_held_groups');
    this.addSql('drop table if exists run_held_users');
    this.addSql('drop index if exists runs_blocked_directory_idx');
    this.addSql(`
alter table runs drop column if exists deletion_max_count,
  drop column if exists deletion_max_percent, drop column if exists removals,
  drop column if exists decision, drop column if exists decided_by,
  drop column if exists decided_at, drop column if exists superseded_by`);
    this.addSql(`alter table runs drop constraint if exists runs_status_check`);
    this.addSql(`
alter table runs add constraint runs_status_check
  check (status in ('RUNNING', 'COMPLETED', 'FAILED'))`);
  }
}
