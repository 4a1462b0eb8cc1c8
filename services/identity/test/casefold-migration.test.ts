import { RunStatus, errorCodeName } from '@dirsync/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nameKey } from '../src/apply/normalize.js';
import { fullRun, gql, runAndWait, startHarness, user, type Harness } from './harness.js';

/**
 * The migration to full case folding, on rows an older identity stored with NFC + lower-case
 * keys: names that were different and now are the same (Straße / STRASSE, ﬁona / FIONA, final
 * and non-final sigma) keep every user and alias; the holder keeps the name, the others are
 * shown as conflicts and reported by their next sync; nobody is removed.
 */
const BEFORE = 'Migration20261204091500_admin_history';
/** The key before the migration. */
const legacyKey = (v: string) => v.normalize('NFC').toLowerCase();

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.close());

interface UserRow {
  id: string;
  username: string;
  username_key: string;
  content_hash: string | null;
}

describe('casefold names migration', () => {
  const ids: Record<string, string> = {};

  it('recomputes every key and keeps both rows of a new collision, the older one holding the name', async () => {
    await h.db.orm.migrator.down({ to: BEFORE });
    const insert = async (
      label: string,
      dir: string | null,
      username: string,
      age: string,
      aliases: string[] = [],
    ) => {
      const [row] = await h.db.sql.rows<{ id: string }>(
        `insert into users (directory_id, external_id, username, username_key, content_hash,
           created_at)
         values (?, ?, ?, ?, ?, now() - ?::interval) returning id`,
        [dir, dir ? label : null, username, legacyKey(username), dir ? 'h' : null, age],
      );
      ids[label] = row!.id;
      for (const [i, a] of aliases.entries()) {
        await h.db.sql.exec(
          'insert into user_aliases (user_id, position, alias, alias_key) values (?, ?, ?, ?)',
          [row!.id, i, a, legacyKey(a)],
        );
      }
    };
    await insert('s1', 'dir-m1', 'Straße', '3 days');
    await insert('s2', 'dir-m2', 'STRASSE', '2 days');
    await insert('fiona', null, '\ufb01ona', '3 days'); // a manual user, ﬁ ligature
    await insert('f2', 'dir-m2', 'FIONA', '2 days');
    await insert('w1', 'dir-m1', 'weiss', '3 days');
    await insert('y2', 'dir-m2', 'yara', '2 days', ['Weiß', 'yara.m']);
    await insert('p1', 'dir-m1', 'sisyphus1', '3 days', ['ΣΙΣΥΦΟΣ']);
    await insert('p2', 'dir-m2', 'sisyphus2', '2 days', ['σισυφοσ']);
    await h.db.sql.exec(
      `insert into groups (directory_id, external_id, name, name_key, content_hash)
       values ('dir-m1', 'g1', 'Straße', ?, 'h')`,
      [legacyKey('Straße')],
    );
    // Different keys before (ß, ﬁ, ς survive lower case), so the old unique constraint held.
    expect(legacyKey('Straße')).not.toBe(legacyKey('STRASSE'));

    await h.db.orm.migrator.up();

    const users = await h.rows<UserRow>(
      'select id, username, username_key, content_hash from users',
    );
    expect(users).toHaveLength(8);
    const byId = new Map(users.map((u) => [u.id, u]));
    const key = (label: string) => byId.get(ids[label]!)!.username_key;
    expect(key('s1')).toBe('strasse');
    expect(key('s2')).toBe(`strasse\u0001${ids['s2']}`);
    expect(key('fiona')).toBe('fiona');
    expect(key('f2')).toBe(`fiona\u0001${ids['f2']}`);
    for (const label of ['w1', 'y2', 'p1', 'p2']) {
      expect(key(label)).toBe(nameKey(byId.get(ids[label]!)!.username));
    }

    const aliases = await h.rows<{ user_id: string; alias: string; alias_key: string }>(
      'select user_id, alias, alias_key from user_aliases order by user_id, position',
    );
    const aliasesOf = (label: string) =>
      aliases.filter((a) => a.user_id === ids[label]).map((a) => [a.alias, a.alias_key]);
    // Weiß is weiss's username now: the alias stays on yara, matching nothing.
    expect(aliasesOf('y2')).toEqual([
      ['Weiß', `weiss\u0001${ids['y2']}`],
      ['yara.m', 'yara.m'],
    ]);
    // ΣΙΣΥΦΟΣ and σισυφοσ: the older user's alias keeps the name.
    expect(aliasesOf('p1')).toEqual([['ΣΙΣΥΦΟΣ', 'σισυφοσ']]);
    expect(aliasesOf('p2')).toEqual([['σισυφοσ', `σισυφοσ\u0001${ids['p2']}`]]);
    // Its next sync must rewrite yara (and report the alias): the stored hash is cleared.
    expect(byId.get(ids['y2']!)!.content_hash).toBeNull();
    expect(byId.get(ids['w1']!)!.content_hash).toBe('h');

    const [g] = await h.rows<{ name_key: string }>('select name_key from groups');
    expect(g?.name_key).toBe('strasse');

    // The kept rows are shown: who holds each name, and a filter that lists them.
    const shown = await gql<{
      users: {
        totalCount: number;
        nodes: {
          id: string;
          nameConflicts: { code: string; name: string; holder: { id: string } | null }[];
        }[];
      };
    }>(
      h.service.url,
      `{ users(filter: { nameConflict: true }) { totalCount
           nodes { id nameConflicts { code name holder { id } } } } }`,
    );
    expect(shown.errors).toBeUndefined();
    expect(shown.data?.users.totalCount).toBe(4);
    const conflictsOf = new Map(shown.data!.users.nodes.map((n) => [n.id, n.nameConflicts]));
    expect(conflictsOf.get(ids['s2']!)).toEqual([
      { code: 'USERNAME_CONFLICT', name: 'STRASSE', holder: { id: ids['s1'] } },
    ]);
    expect(conflictsOf.get(ids['f2']!)).toEqual([
      { code: 'USERNAME_CONFLICT', name: 'FIONA', holder: { id: ids['fiona'] } },
    ]);
    expect(conflictsOf.get(ids['y2']!)).toEqual([
      { code: 'ALIAS_CONFLICT', name: 'Weiß', holder: { id: ids['w1'] } },
    ]);
    expect(conflictsOf.get(ids['p2']!)).toEqual([
      { code: 'ALIAS_CONFLICT', name: 'σισυφοσ', holder: { id: ids['p1'] } },
    ]);
    const clean = await gql<{ users: { totalCount: number } }>(
      h.service.url,
      `{ users(filter: { nameConflict: false }) { totalCount } }`,
    );
    expect(clean.data?.users.totalCount).toBe(4);

    // Lookups by any spelling find the holder.
    const found = await gql<{ userByUsername: { id: string } | null }>(
      h.service.url,
      `{ userByUsername(username: "STRASSE") { id } }`,
    );
    expect(found.data?.userByUsername?.id).toBe(ids['s1']);
  });

  it('the next sync reports the collisions (USERNAME_CONFLICT, ALIAS_CONFLICT) and removes nobody', async () => {
    const run = fullRun('dir-m2', [
      user('s2', 'STRASSE'),
      user('f2', 'FIONA'),
      user('y2', 'yara', { aliases: ['Weiß', 'yara.m'] }),
      user('p2', 'sisyphus2', { aliases: ['σισυφοσ'] }),
    ]);
    const final = await runAndWait(h, run);
    expect(final.status).toBe(RunStatus.COMPLETED);
    expect(final.counts).toMatchObject({ conflicts: 4, pendingDeletion: 0, errors: 0 });
    const errors = (await h.updates(run.runId)).flatMap((u) =>
      u.update.errors.map((e) => `${errorCodeName(e.code)} ${e.externalId}`),
    );
    expect(errors.sort()).toEqual([
      'ALIAS_CONFLICT p2',
      'ALIAS_CONFLICT y2',
      'USERNAME_CONFLICT f2',
      'USERNAME_CONFLICT s2',
    ]);
    const [n] = await h.rows<{ n: string }>(
      `select count(*) as n from users where status <> 'pending_deletion'`,
    );
    expect(Number(n?.n)).toBe(8);
    // The usernames stay conflicts; the synced users' aliases are now what their source gave
    // minus the conflicting one (reported by the run, as for any alias another user has).
    const shown = await gql<{ users: { nodes: { id: string; aliases: string[] }[] } }>(
      h.service.url,
      `{ users(filter: { nameConflict: true }) { nodes { id aliases } } }`,
    );
    expect(shown.data?.users.nodes.map((u) => u.id).sort()).toEqual([ids['s2'], ids['f2']].sort());
    const yara = await gql<{ user: { aliases: string[]; nameConflicts: unknown[] } }>(
      h.service.url,
      `query($id: ID!) { user(id: $id) { aliases nameConflicts { name } } }`,
      { id: ids['y2'] },
    );
    expect(yara.data?.user).toEqual({ aliases: ['yara.m'], nameConflicts: [] });
  });

  it('a kept name stays taken for manual writes after its holder moves away', async () => {
    const write = async (query: string, variables: Record<string, unknown>) =>
      gql<Record<string, { id: string }>>(h.service.url, query, variables);
    const CREATE = 'mutation($input: CreateUserInput!) { createUser(input: $input) { id } }';
    // The manual ﬁona holds the name FIONA is kept under; it takes another username.
    const moved = await write(
      'mutation($id: ID!) { updateUser(id: $id, input: { username: "fiona.moved" }) { id } }',
      { id: ids['fiona'] },
    );
    expect(moved.errors).toBeUndefined();
    const again = await write(CREATE, { input: { username: 'Fiona' } });
    expect(again.errors?.[0]?.extensions).toMatchObject({
      code: 'CONFLICT',
      field: 'username',
      userId: ids['f2'],
    });
    const renamed = await write(
      'mutation($id: ID!) { updateUser(id: $id, input: { username: "FIONA" }) { id } }',
      { id: ids['fiona'] },
    );
    expect(renamed.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', userId: ids['f2'] });

    // An alias kept behind a holder that is gone (the state the migration leaves).
    await h.db.sql.exec(
      `insert into user_aliases (user_id, position, alias, alias_key) values (?, 5, 'Kuß', ?)`,
      [ids['y2'], `kuss\u0001${ids['y2']}`],
    );
    for (const input of [{ username: 'KUSS' }, { username: 'kuss.other', aliases: ['Kuss'] }]) {
      const taken = await write(CREATE, { input });
      expect(taken.errors?.[0]?.extensions).toMatchObject({
        code: 'CONFLICT',
        userId: ids['y2'],
      });
    }
    const [n] = await h.rows<{ n: string }>(
      `select count(*) as n from users where split_part(username_key, chr(1), 1) in ('fiona', 'kuss')`,
    );
    expect(Number(n?.n)).toBe(1);
  });
});
