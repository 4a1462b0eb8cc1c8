import { Migration } from '@mikro-orm/migrations';

/**
 * Administrators (admin sync): synced from a directory's role groups, or created through the
 * API (manual: no directory, no external id). An administrator is its e-mail: `email_key`
 * (NFC, lower case) is unique across dirsync. `run_seen_admins` stages the e-mails a run
 * observed, like `run_seen_users`.
 */
export class Migration20251217000000_admins extends Migration {
  override up(): void {
    const roles = `'OWNER', 'ADMINISTRATOR', 'APPLICATION_MANAGER', 'USER_MANAGER', 'HELP_DESK',
      'BILLING', 'PHISHING_MANAGER', 'READ_ONLY'`;
    this.addSql(`
create table admins (
  id uuid primary key default gen_random_uuid(),
  email text not null,
  email_key text not null,
  role text not null check (role in (${roles})),
  -- Every role the person's role groups give, most privileged first (role is the first).
  roles text[] not null,
  first_name text,
  last_name text,
  display_name text,
  status text not null default 'active'
    check (status in ('active', 'disabled', 'pending_deletion')),
  previous_status text check (previous_status in ('active', 'disabled')),
  directory_id text,
  external_id text,
  source_locator text,
  content_hash text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  synced_at timestamptz,
  pending_deletion_at timestamptz,
  purge_after timestamptz,
  search_text text generated always as (lower(
    email || E'\\n' || coalesce(first_name, '') || E'\\n' || coalesce(last_name, '') || E'\\n' ||
    coalesce(display_name, ''))) stored,
  constraint admins_email_key_uq unique (email_key),
  constraint admins_manual_ck check ((directory_id is null) = (external_id is null))
)`);
    this.addSql(`create index admins_directory_idx on admins (directory_id, email_key)`);
    this.addSql(
      `create index admins_purge_idx on admins (purge_after) where status = 'pending_deletion'`,
    );
    this.addSql(`
create table run_seen_admins (
  run_id text not null,
  email_key text not null
)`);
  }

  override down(): void {
    this.addSql('drop table if exists run_seen_admins');
    this.addSql('drop table if exists admins');
  }
}
