import { Migration } from '@mikro-orm/migrations';

/**
 * Usernames unique across dirsync, and each run's conflict policy.
 *
 * - `users.username_key` (NFC + lower case) was unique per directory; it becomes unique across
 *   dirsync (deferred to commit, so two users of one batch can still swap usernames). Aliases
 *   share the namespace; the apply path and the API check them (`apply/names.ts`), under one
 *   advisory lock, against the `user_aliases_alias_key_idx` index.
 * - Rows that break the new rule — the same username in two directories, imported before the
 *   rule existed — keep their data: the oldest user keeps the key, the others get a key no
 *   lookup can produce (the key, U+0001 and the id). At their next sync such a record is a
 *   USERNAME_CONFLICT (or, with TAKE_OVER, still a conflict: two users are never merged), and
 *   once the other user is gone the record takes its username back. Aliases that another
 *   (older) user has as username or alias are removed; the next sync reports them as
 *   ALIAS_CONFLICT.
 * - `runs.conflict_policy`: what the run's directory does with a username another directory's
 *   user holds (`DirectoryPolicy.conflict_policy`: REPORT or TAKE_OVER).
 */
export class Migration20261204083000_unique_names extends Migration {
  override up(): void {
    this.addSql(`
update users u set username_key = u.username_key || chr(1) || u.id::text
where exists (select 1 from users o
              where o.username_key = u.username_key and (o.created_at, o.id) < (u.created_at, u.id))`);
    this.addSql(`alter table users drop constraint users_directory_username_uq`);
    this.addSql(`
alter table users add constraint users_username_key_uq unique (username_key)
  deferrable initially deferred`);
    this.addSql(`
delete from user_aliases a
using users u
where u.id = a.user_id
  and (exists (select 1 from users o where o.username_key = a.alias_key and o.id <> a.user_id)
       or exists (select 1 from user_aliases oa join users ou on ou.id = oa.user_id
                  where oa.alias_key = a.alias_key and oa.user_id <> a.user_id
                    and (ou.created_at, ou.id) < (u.created_at, u.id)))`);
    this.addSql(`
alter table runs add column conflict_policy text not null default 'REPORT'
  check (conflict_policy in ('REPORT', 'TAKE_OVER'))`);
  }

  override down(): void {
    this.addSql('alter table runs drop column if exists conflict_policy');
    this.addSql('alter table users drop constraint if exists users_username_key_uq');
    this.addSql(`
alter table users add constraint users_directory_username_uq unique (directory_id, username_key)
  deferrable initially deferred`);
  }
}
