import type { FilterQuery } from '@mikro-orm/core';
import { Permission } from '@dirsync/kit/auth';
import { apiError, ApiErrorCode, Guard } from '@dirsync/kit/graphql';
import { GraphQLDateTimeISO } from 'graphql-scalars';
import { Arg, Ctx, FieldResolver, ID, Int, Query, Resolver, Root } from 'type-graphql';
import { hasNul, nameKey, storable } from '../apply/normalize.js';
import { CustomAttribute, UserPhone } from '../entities/user-detail.entity.js';
import { User } from '../entities/user.entity.js';
import type { IdentityContext } from './context.js';
import {
  checkFirst,
  decodeCursor,
  isUuid,
  likePattern,
  optionalUuid,
  requireUuid,
} from './pagination.js';
import {
  Directory,
  GroupConnection,
  NameConflict,
  UserConnection,
  UserFilter,
  groupConnection,
  userConnection,
} from './types.js';

@Resolver(() => User)
export class UserResolver {
  @Guard(Permission.READ)
  @Query(() => UserConnection, {
    description: 'Users in username order (case-insensitive), a page at a time.',
  })
  async users(
    @Arg('first', () => Int, { nullable: true, defaultValue: 50, description: 'At most 500.' })
    first: number | null | undefined,
    @Arg('after', () => String, { nullable: true }) after: string | null | undefined,
    @Arg('filter', () => UserFilter, { nullable: true }) filter: UserFilter | null | undefined,
    @Ctx() ctx: IdentityContext,
  ): Promise<UserConnection> {
    const size = checkFirst(first);
    const position = decodeCursor(after);
    // Malformed ids are BAD_USER_INPUT before anything is read (an empty page would hide a typo).
    const directoryId = optionalUuid(filter?.directoryId, 'filter.directoryId');
    const groupId = optionalUuid(filter?.groupId, 'filter.groupId');
    const heldByRunId = optionalUuid(filter?.heldByRunId, 'filter.heldByRunId');
    const where: FilterQuery<User> = {};
    if (directoryId) where.directoryId = directoryId;
    if (filter?.status && filter.status.length > 0) where.status = { $in: filter.status };
    const qb = ctx.em.createQueryBuilder(User, 'u').select('*').where(where);
    if (filter?.search) {
      // search_text is the lower-cased username, e-mail and names (see the migration).
      // Stored text has U+FFFD where a source had NUL (Postgres text cannot hold U+0000).
      qb.andWhere('u.search_text like lower(?)', [
        likePattern(storable(filter.search).normalize('NFC')),
      ]);
    }
    if (groupId) {
      qb.andWhere(
        'exists (select 1 from memberships m where m.user_id = u.id and m.group_id = ?::uuid)',
        [groupId],
      );
    }
    if (heldByRunId) {
      // Exactly whom approving would remove (safety.ts's 'held' plan): still in the run's
      // directory (not taken over by another since) and not already pending deletion.
      qb.andWhere(
        `exists (select 1 from run_held_users h join runs r on r.run_id = h.run_id
                  where h.user_id = u.id and h.run_id = ? and u.directory_id = r.directory_id
                    and u.status <> 'pending_deletion')`,
        [heldByRunId],
      );
    }
    if (filter?.nameConflict !== undefined && filter.nameConflict !== null) {
      // A key with U+0001 is a name another user holds (User.nameConflicts).
      qb.andWhere(
        `${filter.nameConflict ? '' : 'not '}(strpos(u.username_key, chr(1)) > 0 or exists (
           select 1 from user_aliases a where a.user_id = u.id and strpos(a.alias_key, chr(1)) > 0))`,
      );
    }
    const counter = qb.clone();
    if (position) {
      qb.andWhere('(u.username_key, u.id) > (?::text, ?::uuid)', [position.key, position.id]);
    }
    const rows = await qb
      .orderBy({ usernameKey: 'asc', id: 'asc' })
      .limit(size + 1)
      .getResultList();
    return userConnection(rows, size, () => counter.getCount());
  }

  @Guard(Permission.READ)
  @Query(() => User, { nullable: true, description: 'A user by id; null when unknown.' })
  user(@Arg('id', () => ID) id: string, @Ctx() ctx: IdentityContext): Promise<User | null> {
    return ctx.loaders.userById.load(requireUuid(id, 'id'));
  }

  @Guard(Permission.READ)
  @Query(() => User, {
    nullable: true,
    description:
      'A user by username (compared after normalisation and full case folding: Straße = ' +
      'STRASSE; usernames are unique across ' +
      'dirsync). With directoryId, only a user synced from that directory.',
  })
  async userByUsername(
    @Arg('username', () => String) username: string,
    @Arg('directoryId', () => ID, { nullable: true }) directoryId: string | null | undefined,
    @Ctx() ctx: IdentityContext,
  ): Promise<User | null> {
    const key = nameKey(username.trim());
    if (!key) throw apiError(ApiErrorCode.BAD_USER_INPUT, 'username must not be empty');
    // No stored username has a NUL (such records are refused), and Postgres cannot compare one.
    if (hasNul(key)) return null;
    const users = await ctx.em.find(
      User,
      directoryId ? { usernameKey: key, directoryId } : { usernameKey: key },
      { limit: 2, orderBy: { directoryId: 'asc' } },
    );
    if (users.length > 1) {
      throw apiError(
        ApiErrorCode.BAD_USER_INPUT,
        `username "${username}" exists in several directories; pass directoryId`,
        { argumentName: 'directoryId' },
      );
    }
    return users[0] ?? null;
  }

  @FieldResolver(() => Directory, {
    nullable: true,
    description:
      'The source directory; null for manual users and once the directory has been deleted.',
  })
  directory(@Root() user: User): Directory | null {
    return user.directoryId ? Object.assign(new Directory(), { id: user.directoryId }) : null;
  }

  @FieldResolver(() => Boolean, {
    description:
      'Synced from a directory (its synced fields are read-only through the API); false for manual users.',
  })
  synced(@Root() user: User): boolean {
    return user.directoryId !== null;
  }

  @FieldResolver(() => [String], { description: 'Alias usernames, in source order.' })
  aliases(@Root() user: User, @Ctx() ctx: IdentityContext): Promise<string[]> {
    return ctx.loaders.aliases.load(user.id);
  }

  @FieldResolver(() => [NameConflict], {
    description:
      "The user's username and aliases that another user holds (stored, but nobody finds the user by them): rows kept by the migrations to names unique across dirsync and to full case folding. Empty for almost every user.",
  })
  async nameConflicts(@Root() user: User, @Ctx() ctx: IdentityContext): Promise<NameConflict[]> {
    const conflicts = await ctx.loaders.nameConflicts.load(user.id);
    return Promise.all(
      conflicts.map(async (c) =>
        Object.assign(new NameConflict(), c, {
          holder: c.holderId ? await ctx.loaders.userById.load(c.holderId) : null,
        }),
      ),
    );
  }

  @FieldResolver(() => [UserPhone])
  phones(@Root() user: User, @Ctx() ctx: IdentityContext): Promise<UserPhone[]> {
    return ctx.loaders.phones.load(user.id);
  }

  @FieldResolver(() => [CustomAttribute], { description: 'Mapped per directory; sorted by name.' })
  customAttributes(@Root() user: User): CustomAttribute[] {
    return Object.keys(user.customAttributes ?? {})
      .sort()
      .map((name) =>
        Object.assign(new CustomAttribute(), { name, value: user.customAttributes[name] ?? '' }),
      );
  }

  @FieldResolver(() => GroupConnection, { description: 'Groups the user is a member of.' })
  async groups(
    @Root() user: User,
    @Arg('first', () => Int, { nullable: true, defaultValue: 50, description: 'At most 500.' })
    first: number | null | undefined,
    @Arg('after', () => String, { nullable: true }) after: string | null | undefined,
    @Ctx() ctx: IdentityContext,
  ): Promise<GroupConnection> {
    const size = checkFirst(first);
    const rows = await ctx.loaders.userGroups(size, decodeCursor(after)).load(user.id);
    return groupConnection(rows, size, () => ctx.loaders.groupCount.load(user.id));
  }

  @FieldResolver(() => GraphQLDateTimeISO, {
    nullable: true,
    description:
      'When a directory sync last covered this user: the later of the last completed full sync ' +
      'of its directory (while the user is in it) and the last sync that changed the user — ' +
      'including the run (or the approval of a blocked run) that moved it to pending deletion. ' +
      'Null for manual users.',
  })
  async lastDirectorySync(@Root() user: User, @Ctx() ctx: IdentityContext): Promise<Date | null> {
    if (user.directoryId === null) return null;
    const state = await ctx.loaders.directoryState.load(user.directoryId);
    const full = user.status === 'pending_deletion' ? null : (state?.lastFullSyncAt ?? null);
    const own = user.syncedAt ?? null;
    if (!full) return own;
    if (!own) return full;
    return full > own ? full : own;
  }
}

/** `__resolveReference` for User: another subgraph hands us `{ id }`. */
export function resolveUserReference(
  ref: { id: string },
  ctx: IdentityContext,
): Promise<User | null> | null {
  return isUuid(ref.id) ? ctx.loaders.userById.load(ref.id.toLowerCase()) : null;
}
