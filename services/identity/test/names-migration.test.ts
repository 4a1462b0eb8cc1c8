import { createLogger } from '@dirsync/kit';
import { createTestDatabase, type TestDatabase } from '@dirsync/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../src/db/database.js';

/**
 * The migration that makes usernames unique across dirsync, on rows an older identity stored:
 * the same username in two directories, and aliases that another user has. Nothing is lost
 * but the duplicate names; the oldest user keeps the username.
 */
const BEFORE = 'Migration20261204080000_run_history';

let database: TestDatabase;
let db: Database;

beforeAll(async () => {
  database = await createTestDatabase();
  db = await openDatabase({
    url: database.url,
    schema: 'identity',
    poolMax: 2,
    logger: createLogger('names-migration-test', 'silent'),
    namespace: 'names-migration',
  });
});

afterAll(async () => {
  await db?.close();
  await database?.drop();
});

describe('unique names migration', () => {
  it('keeps every user, gives the username to the oldest, and drops only duplicate aliases', async () => {
    await db.orm.migrator.down({ to: BEFORE });
    const insert = async (dir: string, ext: string, username: string, age: string) => {
      const [row] = await db.sql.rows<{ id: string }>(
        `insert into users (directory_id, external_id, username, username_key, content_hash,
           created_at)
         values (?, ?, ?, lower(?), 'h', now() - ?::interval) returning id`,
        [dir, ext, username, username, age],
      );
      return row!.id;
    };
    const oldest = await insert('dir-1', 'a', 'anna', '2 days');
    const later = await insert('dir-2', 'b', 'ANNA', '1 day');
    const kim = await insert('dir-1', 'k', 'kim', '2 days');
    const lee = await insert('dir-2', 'l', 'lee', '1 day');
    await db.sql.exec(
      `insert into user_aliases (user_id, position, alias, alias_key) values
         (?, 0, 'k.alias', 'k.alias'), (?, 0, 'K.Alias', 'k.alias'), (?, 1, 'Kim', 'kim'),
         (?, 2, 'lee.own', 'lee.own')`,
      [kim, lee, lee, lee],
    );

    await db.orm.migrator.up();

    const users = await db.sql.rows<{ id: string; username: string; username_key: string }>(
      'select id, username, username_key from users order by created_at, username',
    );
    expect(users).toHaveLength(4);
    const keyOf = new Map(users.map((u) => [u.id, u.username_key]));
    expect(keyOf.get(oldest)).toBe('anna');
    expect(keyOf.get(later)).not.toBe('anna');
    expect(keyOf.get(later)?.startsWith('anna\u0001')).toBe(true);
    const aliases = await db.sql.rows<{ user_id: string; alias: string }>(
      'select user_id, alias from user_aliases order by user_id, position',
    );
    // lee loses the alias kim had first and the one that is kim's username; kim keeps hers.
    expect(aliases.filter((a) => a.user_id === kim).map((a) => a.alias)).toEqual(['k.alias']);
    expect(aliases.filter((a) => a.user_id === lee).map((a) => a.alias)).toEqual(['lee.own']);

    // And from now on the constraint holds across directories.
    await expect(insert('dir-3', 'c', 'Anna', '0 days')).rejects.toThrow();
  });
});
