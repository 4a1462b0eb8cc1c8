import type { Sql } from '../db/sql.js';

/**
 * Usernames and aliases share one namespace across dirsync: compared by their key (`nameKey()`:
 * canonical caseless matching, full Unicode case folding — `Straße` is `STRASSE`), no two users
 * may have the same key as username or alias. The apply path and the API's user mutations
 * check and write names under one transaction-scoped advisory lock, so a manual user created
 * while a batch applies cannot take a name the batch is giving away (or the other way round).
 */
export async function lockNames(sql: Sql): Promise<void> {
  await sql.exec(`select pg_advisory_xact_lock(hashtext(current_schema() || '.user_names'))`);
}

/** Who holds a name key. */
export interface NameHolder {
  userId: string;
  username: string;
  directoryId: string | null;
  kind: 'username' | 'alias';
}

/**
 * The holders of these keys among users other than `self` (username first when a key is both,
 * which cannot happen between two users but can within one). A name the case-folding migration
 * kept for the loser of a collision (key `key + U+0001 + id`) holds the name too: letting a manual
 * write take it would make two users with one folded name. The split_part is not indexed; only
 * the API's manual writes ask, never the apply path.
 */
export async function takenNames(
  sql: Sql,
  keys: readonly string[],
  self: string | null,
): Promise<Map<string, NameHolder>> {
  if (keys.length === 0) return new Map();
  const rows = await sql.rows<{
    key: string;
    user_id: string;
    username: string;
    directory_id: string | null;
    kind: 'username' | 'alias';
  }>(
    `select x.key, u.id as user_id, u.username, u.directory_id, 'username' as kind
     from unnest(?::text[]) as x(key)
     cross join lateral (
       select * from users u
       where split_part(u.username_key, chr(1), 1) = x.key and u.id is distinct from ?::uuid
       order by (u.username_key = x.key) desc limit 1) u
     union all
     select x.key, u.id, u.username, u.directory_id, 'alias'
     from unnest(?::text[]) as x(key)
     join user_aliases a on split_part(a.alias_key, chr(1), 1) = x.key
     join users u on u.id = a.user_id
     where a.user_id is distinct from ?::uuid`,
    [keys, self, keys, self],
  );
  const out = new Map<string, NameHolder>();
  for (const r of rows) {
    if (out.get(r.key)?.kind === 'username') continue;
    out.set(r.key, {
      userId: r.user_id,
      username: r.username,
      directoryId: r.directory_id,
      kind: r.kind,
    });
  }
  return out;
}
