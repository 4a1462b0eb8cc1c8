import { Migration } from '@mikro-orm/migrations';

/**
 * The identity schema. Tables are created unqualified: every connection's search_path starts
 * with the configured schema (DATABASE_SCHEMA), so one migration serves any schema name.
 *
 * Aliases, phones and memberships cascade with their user or group through statement-level
 * triggers rather than foreign keys: a foreign key checks every inserted row with its own query,
 * which at 100k users and 300k memberships costs more than the whole set-based apply. Only the
 * apply path writes these tables, and it takes every id from a row it just read or wrote in the
 * same transaction.
 */
export class Migration20251203000000 extends Migration {
  override up(): void {
    this.addSql(`
create table users (
  id uuid primary key default gen_random_uuid(),
  directory_id text not null,
  external_id text not null,
  username text not null,
  username_key text not null,
  display_name text,
  first_name text,
  last_name text,
  email text,
  status text not null default 'active'
    check (status in ('active', 'disabled', 'bypass', 'pending_deletion')),
  previous_status text check (previous_status in ('active', 'disabled', 'bypass')),
  custom_attributes jsonb not null default '{}'::jsonb,
  source_locator text,
  content_hash text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  synced_at timestamptz not null default now(),
  pending_deletion_at timestamptz,
  purge_after timestamptz,
  -- What the API's search matches: one lower-cased LIKE instead of five ILIKEs per row.
  search_text text generated always as (lower(
    username || E'\\n' || coalesce(email, '') || E'\\n' || coalesce(first_name, '') || E'\\n' ||
    coalesce(last_name, '') || E'\\n' || coalesce(display_name, ''))) stored,
  constraint users_directory_external_uq unique (directory_id, external_id),
  -- Deferred so that two users swapping usernames in one batch do not trip over each other.
  constraint users_directory_username_uq unique (directory_id, username_key)
    deferrable initially deferred
)`);
    this.addSql(`create index users_username_key_id_idx on users (username_key, id)`);

    this.addSql(`
create table user_aliases (
  user_id uuid not null,
  position smallint not null,
  alias text not null,
  alias_key text not null,
  primary key (user_id, position)
)`);

    this.addSql(`
create table user_phones (
  user_id uuid not null,
  position smallint not null,
  number text not null,
  kind text not null,
  primary key (user_id, position)
)`);

    this.addSql(`
create table groups (
  id uuid primary key default gen_random_uuid(),
  directory_id text not null,
  external_id text not null,
  name text not null,
  name_key text not null,
  description text,
  source_locator text,
  content_hash text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint groups_directory_external_uq unique (directory_id, external_id)
)`);
    this.addSql(`create index groups_name_key_id_idx on groups (name_key, id)`);
    this.addSql(
      `create index groups_directory_name_key_idx on groups (directory_id, name_key, id)`,
    );

    this.addSql(`
create table memberships (
  group_id uuid not null,
  user_id uuid not null,
  primary key (group_id, user_id)
)`);
    this.addSql(`create index memberships_user_idx on memberships (user_id, group_id)`);
    // "set search_path from current" pins the schema, whatever the deleting session's path is.
    this.addSql(`
create function users_cascade_delete() returns trigger language plpgsql
set search_path from current as $$
begin
  delete from user_aliases a using gone g where a.user_id = g.id;
  delete from user_phones p using gone g where p.user_id = g.id;
  delete from memberships m using gone g where m.user_id = g.id;
  return null;
end $$`);
    this.addSql(`
create trigger users_cascade_delete after delete on users
referencing old table as gone for each statement execute function users_cascade_delete()`);
    this.addSql(`
create function groups_cascade_delete() returns trigger language plpgsql
set search_path from current as $$
begin
  delete from memberships m using gone g where m.group_id = g.id;
  return null;
end $$`);
    this.addSql(`
create trigger groups_cascade_delete after delete on groups
referencing old table as gone for each statement execute function groups_cascade_delete()`);

    this.addSql(`
create table runs (
  run_id text primary key,
  directory_id text not null,
  mode text not null,
  username text,
  dry_run boolean not null default false,
  status text not null check (status in ('RUNNING', 'COMPLETED', 'FAILED')),
  counts jsonb not null default '{}'::jsonb,
  restore_window_days integer not null,
  update_seq integer not null default 0,
  last_seq integer,
  cursor text,
  error_code text,
  error_message text,
  user_outcome text,
  user_id uuid,
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  updated_at timestamptz not null default now()
)`);
    this.addSql(
      `create index runs_running_directory_idx on runs (directory_id) where status = 'RUNNING'`,
    );

    this.addSql(`
create table applied_events (
  run_id text not null,
  seq integer not null,
  applied_at timestamptz not null default now(),
  primary key (run_id, seq)
)`);

    // Staging of the runs in flight: append-only heaps without indexes (cheap to fill; read
    // with hash joins at completion, emptied when the run ends). Duplicates are harmless.
    this.addSql(`
create table run_seen_users (
  run_id text not null,
  external_id text not null
)`);
    this.addSql(`
create table run_seen_groups (
  run_id text not null,
  external_id text not null
)`);
    this.addSql(`
create table run_memberships (
  run_id text not null,
  group_external_id text not null,
  user_external_id text not null
)`);

    this.addSql(`
create table outbox (
  id bigserial primary key,
  subject text not null,
  msg_id text not null,
  payload bytea not null,
  created_at timestamptz not null default now(),
  published_at timestamptz
)`);
    this.addSql(`create index outbox_pending_idx on outbox (id) where published_at is null`);

    this.addSql(`
create table directory_state (
  directory_id text primary key,
  last_full_run_id text,
  last_full_sync_at timestamptz,
  last_sync_at timestamptz
)`);
  }

  override down(): void {
    this.addSql('drop function if exists users_cascade_delete() cascade');
    this.addSql('drop function if exists groups_cascade_delete() cascade');
    for (const table of [
      'directory_state',
      'outbox',
      'run_memberships',
      'run_seen_groups',
      'run_seen_users',
      'applied_events',
      'runs',
      'memberships',
      'groups',
      'user_phones',
      'user_aliases',
      'users',
    ]) {
      this.addSql(`drop table if exists ${table}`);
    }
  }
}
