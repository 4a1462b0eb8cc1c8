import type { EntityManager } from '@mikro-orm/postgresql';
import type { Database } from '../db/database.js';
import { toInt } from '../db/sql.js';
import { Admin } from '../entities/admin.entity.js';
import { Group } from '../entities/group.entity.js';
import { DirectoryState } from '../entities/run.entity.js';
import { UserAlias, UserPhone } from '../entities/user-detail.entity.js';
import { User } from '../entities/user.entity.js';
import { batchLoader, type BatchLoader } from './batch-loader.js';
import type { Position } from './pagination.js';
import { NameConflict, NameConflictCode } from './types.js';

/** Per-request loaders: a page of 500 users costs a handful of queries, not 1,000. */
export interface Loaders {
  userById: BatchLoader<string, User | null>;
  groupById: BatchLoader<string, Group | null>;
  adminById: BatchLoader<string, Admin | null>;
  aliases: BatchLoader<string, string[]>;
  /** The user's names another user holds (keys with U+0001: see the names migrations). */
  nameConflicts: BatchLoader<string, NameConflict[]>;
  phones: BatchLoader<string, UserPhone[]>;
  directoryState: BatchLoader<string, DirectoryState | null>;
  memberCount: BatchLoader<string, number>;
  groupCount: BatchLoader<string, number>;
  /** Groups of a user, one page; one loader per (first, after). */
  userGroups(first: number, after: Position | undefined): BatchLoader<string, Group[]>;
  /** Members of a group, one page; one loader per (first, after). */
  groupMembers(first: number, after: Position | undefined): BatchLoader<string, User[]>;
}

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = map.get(k);
    if (list) list.push(item);
    else map.set(k, [item]);
  }
  return map;
}

export function createLoaders(em: EntityManager, db: Database): Loaders {
  const pages = new Map<string, BatchLoader<string, unknown[]>>();

  function counts(sql: string): BatchLoader<string, number> {
    return batchLoader(
      async (ids) => {
        const rows = await db.sql.rows<{ id: string; n: string }>(sql, [ids]);
        return new Map(rows.map((r) => [r.id, toInt(r.n)]));
      },
      () => 0,
    );
  }

  return {
    userById: batchLoader(
      async (ids) => {
        const users = await em.find(User, { id: { $in: ids } });
        return new Map(users.map((u) => [u.id, u]));
      },
      () => null,
    ),

    adminById: batchLoader(
      async (ids) => {
        const admins = await em.find(Admin, { id: { $in: ids } });
        return new Map(admins.map((a) => [a.id, a]));
      },
      () => null,
    ),

    groupById: batchLoader(
      async (ids) => {
        const groups = await em.find(Group, { id: { $in: ids } });
        return new Map(groups.map((g) => [g.id, g]));
      },
      () => null,
    ),

    aliases: batchLoader(
      async (ids) => {
        const rows = await em.find(
          UserAlias,
          { userId: { $in: ids } },
          { orderBy: { userId: 'asc', position: 'asc' } },
        );
        const byUser = groupBy(rows, (r) => r.userId);
        return new Map([...byUser].map(([id, list]) => [id, list.map((a) => a.alias)]));
      },
      () => [],
    ),

    nameConflicts: batchLoader(
      async (ids) => {
        // A name nobody can match is stored as its key, U+0001 and the user's id; who holds it
        // is whoever has the key itself, as username first, else as alias.
        const rows = await db.sql.rows<{
          user_id: string;
          code: NameConflictCode;
          name: string;
          holder_id: string | null;
        }>(
          `with held as (
             select u.id as user_id, 'USERNAME_CONFLICT' as code, u.username as name,
               split_part(u.username_key, chr(1), 1) as key, -1 as position
             from users u where u.id = any(?::uuid[]) and strpos(u.username_key, chr(1)) > 0
             union all
             select a.user_id, 'ALIAS_CONFLICT', a.alias, split_part(a.alias_key, chr(1), 1),
               a.position
             from user_aliases a
             where a.user_id = any(?::uuid[]) and strpos(a.alias_key, chr(1)) > 0)
           select h.user_id, h.code, h.name, coalesce(
               (select o.id from users o where o.username_key = h.key and o.id <> h.user_id
                limit 1),
               (select oa.user_id from user_aliases oa
                where oa.alias_key = h.key and oa.user_id <> h.user_id limit 1)) as holder_id
           from held h order by h.user_id, h.position`,
          [ids, ids],
        );
        return groupBy(
          rows.map((r) =>
            Object.assign(new NameConflict(), {
              userId: r.user_id,
              code: r.code,
              name: r.name,
              holderId: r.holder_id,
            }),
          ),
          (c) => c.userId,
        );
      },
      () => [],
    ),

    phones: batchLoader(
      async (ids) => {
        const rows = await em.find(
          UserPhone,
          { userId: { $in: ids } },
          { orderBy: { userId: 'asc', position: 'asc' } },
        );
        return groupBy(rows, (r) => r.userId);
      },
      () => [],
    ),

    directoryState: batchLoader(
      async (ids) => {
        const rows = await em.find(DirectoryState, { directoryId: { $in: ids } });
        return new Map(rows.map((r) => [r.directoryId, r]));
      },
      () => null,
    ),

    memberCount: counts(
      `select group_id as id, count(*) as n from memberships
       where group_id = any(?::uuid[]) group by group_id`,
    ),

    groupCount: counts(
      `select user_id as id, count(*) as n from memberships
       where user_id = any(?::uuid[]) group by user_id`,
    ),

    userGroups(first, after) {
      const cacheKey = `ug:${first}:${after?.key ?? ''}:${after?.id ?? ''}`;
      let loader = pages.get(cacheKey) as BatchLoader<string, Group[]> | undefined;
      if (!loader) {
        loader = batchLoader(
          async (userIds) => {
            // One lateral query for every user of the page: each gets its own first + 1 groups.
            const rows = await db.sql.rows<Record<string, unknown> & { for_id: string }>(
              `select p.id as for_id, g.*
             from unnest(?::uuid[]) as p(id)
             cross join lateral (
               -- "offset 0" keeps the user's few memberships the starting point; otherwise the
               -- planner may walk every group in name order and probe each one.
               select g.* from (select m.group_id from memberships m where m.user_id = p.id offset 0) m
               join groups g on g.id = m.group_id
               where true
                 and (?::text is null or (g.name_key, g.id) > (?::text, ?::uuid))
               order by g.name_key, g.id
               limit ?
             ) g`,
              [userIds, after?.key ?? null, after?.key ?? null, after?.id ?? null, first + 1],
            );
            const byUser = groupBy(rows, (r) => r.for_id);
            return new Map(
              [...byUser].map(([id, list]) => [
                id,
                list.map(({ for_id: _f, ...row }) => em.map(Group, row)),
              ]),
            );
          },
          () => [],
        );
        pages.set(cacheKey, loader as BatchLoader<string, unknown[]>);
      }
      return loader;
    },

    groupMembers(first, after) {
      const cacheKey = `gm:${first}:${after?.key ?? ''}:${after?.id ?? ''}`;
      let loader = pages.get(cacheKey) as BatchLoader<string, User[]> | undefined;
      if (!loader) {
        loader = batchLoader(
          async (groupIds) => {
            const rows = await db.sql.rows<Record<string, unknown> & { for_id: string }>(
              `select p.id as for_id, u.*
             from unnest(?::uuid[]) as p(id)
             cross join lateral (
               select u.* from memberships m join users u on u.id = m.user_id
               where m.group_id = p.id
                 and (?::text is null or (u.username_key, u.id) > (?::text, ?::uuid))
               order by u.username_key, u.id
               limit ?
             ) u`,
              [groupIds, after?.key ?? null, after?.key ?? null, after?.id ?? null, first + 1],
            );
            const byGroup = groupBy(rows, (r) => r.for_id);
            return new Map(
              [...byGroup].map(([id, list]) => [
                id,
                list.map(({ for_id: _f, ...row }) => em.map(User, row)),
              ]),
            );
          },
          () => [],
        );
        pages.set(cacheKey, loader as BatchLoader<string, unknown[]>);
      }
      return loader;
    },
  };
}
