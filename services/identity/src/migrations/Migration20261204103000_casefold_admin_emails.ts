import type { Knex } from '@mikro-orm/postgresql';
import { Migration } from '@mikro-orm/migrations';
import { emailKey } from '@dirsync/kit';
import { sqlOn, type Sql } from '../db/sql.js';

/**
 * Administrators' e-mail keys with full Unicode case folding (`emailKey()`: the trimmed
 * address's `nameKey()`) instead of NFC + lower case, recomputed in TypeScript by the function
 * the apply path and the API use, as Migration20261204093000_casefold_names did for names.
 *
 * Two administrators whose e-mails were different and now are the same (`STRASSE@example.org`
 * and `straße@example.org`) never fail the migration and both are kept with every field: the
 * key goes to a synced administrator before a manual one, then to the oldest (created_at, id);
 * the others get a key no address produces (key, U+0001, own id). `adminByEmail` finds the
 * holder under any spelling, `Admin.emailConflict` / `Admin.emailHolder` show the kept one, and
 * a sync that observes the address does not move it to pending deletion while an administrator
 * of another directory holds the key (see admins.apply.ts); once nobody holds the key, its
 * directory's next sync of the address gives it back.
 *
 * `down()` recomputes the keys with the key before this migration (every key that was unique
 * under full folding is unique under NFC + lower case).
 */
export class Migration20261204103000_casefold_admin_emails extends Migration {
  override async up(): Promise<void> {
    await recomputeEmailKeys(this.sql(), emailKey);
    // Kept administrators by the key they would hold: the apply path looks them up to give the
    // key back once it is free.
    await this.sql().exec(`create index admins_held_email_idx on admins
      (split_part(email_key, chr(1), 1)) where strpos(email_key, chr(1)) > 0`);
  }

  override async down(): Promise<void> {
    await this.sql().exec('drop index if exists admins_held_email_idx');
    await recomputeEmailKeys(this.sql(), (v) => v.trim().normalize('NFC').toLowerCase());
  }

  private sql(): Sql {
    return sqlOn((this.ctx as Knex.Transaction | undefined) ?? this.getKnex());
  }
}

const PAGE = 10_000;

/** Compute every admin's key with `key` (paged), settle collisions, write set-based. */
export async function recomputeEmailKeys(sql: Sql, key: (email: string) => string): Promise<void> {
  await sql.exec(`create temp table casefold_admin_keys (id uuid primary key, key text not null)
    on commit drop`);
  for (let after = '00000000-0000-0000-0000-000000000000'; ; ) {
    const rows = await sql.rows<{ id: string; email: string }>(
      `select id, email from admins where id > ?::uuid order by id limit ${PAGE}`,
      [after],
    );
    if (rows.length === 0) break;
    await sql.exec(`insert into casefold_admin_keys select * from unnest(?::uuid[], ?::text[])`, [
      rows.map((r) => r.id),
      rows.map((r) => key(r.email)),
    ]);
    after = rows[rows.length - 1]!.id;
  }
  // The unique constraint is not deferrable: dropped while keys move, then built again.
  await sql.exec('alter table admins drop constraint admins_email_key_uq');
  await sql.exec(`
with ranked as (
  select k.id, case when row_number() over (
           partition by k.key
           order by strpos(a.email_key, chr(1)) > 0, a.directory_id is null, a.created_at, a.id) = 1
         then k.key else k.key || chr(1) || k.id::text end as key
  from casefold_admin_keys k join admins a on a.id = k.id)
update admins a set email_key = r.key
from ranked r
where a.id = r.id and a.email_key is distinct from r.key`);
  await sql.exec('alter table admins add constraint admins_email_key_uq unique (email_key)');
}
