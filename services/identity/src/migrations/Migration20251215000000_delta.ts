import { Migration } from '@mikro-orm/migrations';

/**
 * The delta protocol: staging for what a DELTA run removes and how it changes memberships
 * (applied when the run completes, never before), why a user was removed, and how a run read.
 */
export class Migration20251215000000_delta extends Migration {
  override up(): void {
    this.addSql(`
alter table users add column removal_reason text
  check (removal_reason in ('deleted', 'out_of_scope', 'not_observed', 'directory_deleted'))`);

    // Same shape as the other staging tables: append-only heaps, no indexes, emptied when the
    // run ends. `seq`/`ord` order the statements of a DELTA run (the last one per pair wins).
    this.addSql(`
create table run_removed_users (
  run_id text not null,
  external_id text not null,
  reason text not null,
  source_locator text
)`);
    this.addSql(`
create table run_removed_groups (
  run_id text not null,
  external_id text not null,
  reason text not null
)`);
    this.addSql(`
create table run_membership_deltas (
  run_id text not null,
  seq integer not null,
  ord integer not null,
  group_external_id text not null,
  user_external_id text not null,
  added boolean not null
)`);
    this.addSql(`
alter table run_memberships
  add column seq integer not null default 0,
  add column ord integer not null default 0`);

    this.addSql(`alter table runs add column read_mode text, add column full_read_reason text`);
  }

  override down(): void {
    this.addSql('alter table runs drop column if exists read_mode');
    this.addSql('alter table runs drop column if exists full_read_reason');
    this.addSql('alter table run_memberships drop column if exists seq');
    this.addSql('alter table run_memberships drop column if exists ord');
    this.addSql('drop table if exists run_membership_deltas');
    this.addSql('drop table if exists run_removed_groups');
    this.addSql('drop table if exists run_removed_users');
    this.addSql('alter table users drop column if exists removal_reason');
  }
}
