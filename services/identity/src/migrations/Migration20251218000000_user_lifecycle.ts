import { Migration } from '@mikro-orm/migrations';

/**
 * User lifecycle: an operator's bypass as its own flag, and manual users.
 *
 * - `bypass` is what an operator set (`setUserBypass`), kept apart from the status so that no
 *   source change can lose it: the status a sync writes is `disabled` when the source disables
 *   the user, else `bypass` when the flag is set, else `active`. So a bypass user disabled in the
 *   source is `disabled`, and re-enabled it is `bypass` again (its status before), also across a
 *   pending deletion and its restore. Existing bypass users (and pending ones that were bypass)
 *   get the flag.
 * - Manual users (created through the API) have no directory and no external id; a later sync
 *   that brings the same username claims them (same id, then synced). Their `content_hash` is
 *   null until a sync writes one.
 * - Aliases get an index on their key: usernames and aliases are unique across dirsync.
 */
export class Migration20251218000000_user_lifecycle extends Migration {
  override up(): void {
    this.addSql(`alter table users add column bypass boolean not null default false`);
    this.addSql(`
update users set bypass = true
where status = 'bypass' or (status = 'pending_deletion' and previous_status = 'bypass')`);
    this.addSql(`
alter table users
  alter column directory_id drop not null,
  alter column external_id drop not null,
  alter column content_hash drop not null,
  add constraint users_manual_ck check ((directory_id is null) = (external_id is null))`);
    // Aliases are looked up by key across dirsync (names.ts), not only per user.
    this.addSql(`create index user_aliases_alias_key_idx on user_aliases (alias_key)`);
  }

  override down(): void {
    this.addSql('drop index if exists user_aliases_alias_key_idx');
    this.addSql('delete from users where directory_id is null');
    this.addSql(`
alter table users
  drop constraint if exists users_manual_ck,
  alter column directory_id set not null,
  alter column external_id set not null,
  alter column content_hash set not null,
  drop column if exists bypass`);
  }
}
