import type { Knex } from '@mikro-orm/postgresql';
import { Migration } from '@mikro-orm/migrations';
import { nameKey } from '../apply/normalize.js';
import { sqlOn, type Sql } from '../db/sql.js';

/**
 * Name keys with full Unicode case folding (`nameKey()`: canonical caseless matching) instead of
 * NFC + lower case: every user's `username_key`, alias's `alias_key` and group's `name_key` is
 * recomputed — in TypeScript, by the same function the apply path and the API use, so SQL
 * never has a second implementation of the key.
 *
 * Names that were different and now are the same (`Straße` and `STRASSE`, `ﬁona` and `fiona`,
 * final and non-final sigma) never fail the migration and lose nobody; the rule of
 * Migration20261204083000_unique_names applies:
 *
 * - a username key goes to the user that held its key (a live key, not an earlier conflict's),
 *   then to the oldest (created_at, id); the others keep every row but get a key that no name
 *   produces (key, U+0001, own id): `userByUsername` does not find them, `User.nameConflicts`
 *   shows USERNAME_CONFLICT with the holder, and their next sync reports a USERNAME_CONFLICT
 *   (two users are never merged) until the holder is gone, when the record takes the username
 *   back;
 * - an alias whose key is another user's username, or an older user's alias (live ones first),
 *   stays on the user with a key of the same kind (key, U+0001, own id): shown as
 *   ALIAS_CONFLICT in `User.nameConflicts`, and a synced user's content hash is cleared so that
 *   its next sync rewrites it and reports the ALIAS_CONFLICT, as for any alias another user has.
 *
 * `down()` recomputes the keys the same way with the key before this migration.
 */
export class Migration20261204093000_casefold_names extends Migration {
  override async up(): Promise<void> {
    await recomputeNameKeys(this.sql(), nameKey);
  }

  override async down(): Promise<void> {
    await recomputeNameKeys(this.sql(), (v) => v.normalize('NFC').toLowerCase());
  }

  private sql(): Sql {
    // Statements go through the migration's transaction; `execute()` would inline the
    // parameters into the text, and arrays are bound here as Postgres arrays.
    return sqlOn((this.ctx as Knex.Transaction | undefined) ?? this.getKnex());
  }
}

/** Rows read and written per statement while keys are computed. */
const PAGE = 10_000;

/**
 * Compute every key with `key` into temporary tables (paged, so a large identity store is not
 * read into memory at once), then settle collisions and write the keys set-based.
 */
export async function recomputeNameKeys(sql: Sql, key: (name: string) => string): Promise<void> {
  await sql.exec(`create temp table casefold_user_keys (id uuid primary key, key text not null)
    on commit drop`);
  await sql.exec(`create temp table casefold_alias_keys (user_id uuid, position smallint,
    key text not null, primary key (user_id, position)) on commit drop`);
  await sql.exec(`create temp table casefold_group_keys (id uuid primary key, key text not null)
    on commit drop`);

  const FIRST = '00000000-0000-0000-0000-000000000000';
  for (let after = FIRST; ; ) {
    const rows = await sql.rows<{ id: string; name: string }>(
      `select id, username as name from users where id > ?::uuid order by id limit ${PAGE}`,
      [after],
    );
    if (rows.length === 0) break;
    await sql.exec(`insert into casefold_user_keys select * from unnest(?::uuid[], ?::text[])`, [
      rows.map((r) => r.id),
      rows.map((r) => key(r.name)),
    ]);
    after = rows[rows.length - 1]!.id;
  }
  for (let after = { id: FIRST, position: -1 }; ; ) {
    const rows = await sql.rows<{ user_id: string; position: number; name: string }>(
      `select user_id, position, alias as name from user_aliases
       where (user_id, position) > (?::uuid, ?::smallint) order by user_id, position
       limit ${PAGE}`,
      [after.id, after.position],
    );
    if (rows.length === 0) break;
    await sql.exec(
      `insert into casefold_alias_keys select * from unnest(?::uuid[], ?::smallint[], ?::text[])`,
      [rows.map((r) => r.user_id), rows.map((r) => r.position), rows.map((r) => key(r.name))],
    );
    const last = rows[rows.length - 1]!;
    after = { id: last.user_id, position: last.position };
  }
  for (let after = FIRST; ; ) {
    const rows = await sql.rows<{ id: string; name: string }>(
      `select id, name from groups where id > ?::uuid order by id limit ${PAGE}`,
      [after],
    );
    if (rows.length === 0) break;
    await sql.exec(`insert into casefold_group_keys select * from unnest(?::uuid[], ?::text[])`, [
      rows.map((r) => r.id),
      rows.map((r) => key(r.name)),
    ]);
    after = rows[rows.length - 1]!.id;
  }

  // Usernames: one holder per key — the one that holds it now (a key without U+0001), else
  // the oldest; the others get a key no name produces. The unique constraint is deferred.
  await sql.exec(`
with ranked as (
  select k.id, case when row_number() over (
           partition by k.key order by strpos(u.username_key, chr(1)) > 0, u.created_at, u.id) = 1
         then k.key else k.key || chr(1) || k.id::text end as key
  from casefold_user_keys k join users u on u.id = k.id)
update users u set username_key = r.key
from ranked r
where u.id = r.id and u.username_key is distinct from r.key`);

  // Aliases, against the usernames just written: another user's username wins, then among
  // aliases the one that was live, then the oldest user's. A user's own aliases never clash.
  await sql.exec(`
with k as (
  select k.user_id, k.position, k.key, strpos(a.alias_key, chr(1)) > 0 as was_held,
    u.created_at, u.directory_id,
    exists (select 1 from users o where o.username_key = k.key and o.id <> k.user_id) as by_name
  from casefold_alias_keys k
  join user_aliases a on a.user_id = k.user_id and a.position = k.position
  join users u on u.id = k.user_id),
ranked as (
  select k.*, first_value(k.user_id) over (
           partition by k.key, k.by_name order by k.was_held, k.created_at, k.user_id) as winner
  from k),
decided as (
  select r.*, (r.by_name or r.winner <> r.user_id) as held from ranked r),
written as (
  update user_aliases a
  set alias_key = case when d.held then d.key || chr(1) || d.user_id::text else d.key end
  from decided d
  where a.user_id = d.user_id and a.position = d.position
    and a.alias_key is distinct from
        (case when d.held then d.key || chr(1) || d.user_id::text else d.key end)
  returning d.user_id, d.held, d.was_held, d.directory_id)
update users u set content_hash = null
from (select distinct user_id from written
      where held and not was_held and directory_id is not null) w
where u.id = w.user_id`);

  await sql.exec(`
update groups g set name_key = k.key
from casefold_group_keys k
where g.id = k.id and g.name_key is distinct from k.key`);
}
