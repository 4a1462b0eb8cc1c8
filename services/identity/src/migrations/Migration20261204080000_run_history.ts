import { Migration } from '@mikro-orm/migrations';

/**
 * Run history: every run's per-object changes (apply/changes.ts), written in the transaction
 * that made them (apply/history.ts), kept for RUN_HISTORY_RETENTION_DAYS.
 *
 * - `id` orders the changes as they were made (a run's transactions commit in order: one run
 *   is applied by one consumer, its rows are locked per event).
 * - `user_id` / `group_id` are no foreign keys: history outlives a purged user or a deleted
 *   group (and a foreign key check per row would cost more than the set-based insert).
 * - `detail` is the rest of the change as JSON (fields old → new, reason, error code, …).
 * - `at` has a BRIN index: rows arrive in time order, so retention deletes a range of pages.
 */
export class Migration20261204080000_run_history extends Migration {
  override up(): void {
    this.addSql(`
create table run_changes (
  id bigserial primary key,
  run_id text not null,
  directory_id text not null,
  kind text not null,
  user_id uuid,
  group_id uuid,
  external_id text,
  name text,
  detail jsonb not null default '{}'::jsonb,
  at timestamptz not null default now()
)`);
    this.addSql(`create index run_changes_run_idx on run_changes (run_id, id)`);
    this.addSql(
      `create index run_changes_user_idx on run_changes (user_id, id) where user_id is not null`,
    );
    this.addSql(`create index run_changes_at_brin on run_changes using brin (at)`);
  }

  override down(): void {
    this.addSql('drop table if exists run_changes');
  }
}
