import type { FilterQuery } from '@mikro-orm/core';
import { Permission } from '@dirsync/kit/auth';
import { Guard } from '@dirsync/kit/graphql';
import { Arg, Ctx, FieldResolver, ID, Int, Query, Resolver, Root } from 'type-graphql';
import { storable } from '../apply/normalize.js';
import { Group } from '../entities/group.entity.js';
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
  GroupFilter,
  UserConnection,
  groupConnection,
  userConnection,
} from './types.js';

@Resolver(() => Group)
export class GroupResolver {
  @Guard(Permission.READ)
  @Query(() => GroupConnection, {
    description: 'Groups in name order (case-insensitive), a page at a time.',
  })
  async groups(
    @Arg('first', () => Int, { nullable: true, defaultValue: 50, description: 'At most 500.' })
    first: number | null | undefined,
    @Arg('after', () => String, { nullable: true }) after: string | null | undefined,
    @Arg('filter', () => GroupFilter, { nullable: true }) filter: GroupFilter | null | undefined,
    @Ctx() ctx: IdentityContext,
  ): Promise<GroupConnection> {
    const size = checkFirst(first);
    const position = decodeCursor(after);
    const directoryId = optionalUuid(filter?.directoryId, 'filter.directoryId');
    const where: FilterQuery<Group> = {};
    if (directoryId) where.directoryId = directoryId;
    if (filter?.search) {
      const p = likePattern(storable(filter.search).normalize('NFC'));
      where.$or = [{ name: { $ilike: p } }, { description: { $ilike: p } }];
    }
    const qb = ctx.em.createQueryBuilder(Group, 'g').select('*').where(where);
    const counter = qb.clone();
    if (position) {
      qb.andWhere('(g.name_key, g.id) > (?::text, ?::uuid)', [position.key, position.id]);
    }
    const rows = await qb
      .orderBy({ nameKey: 'asc', id: 'asc' })
      .limit(size + 1)
      .getResultList();
    return groupConnection(rows, size, () => counter.getCount());
  }

  @Guard(Permission.READ)
  @Query(() => Group, { nullable: true, description: 'A group by id; null when unknown.' })
  group(@Arg('id', () => ID) id: string, @Ctx() ctx: IdentityContext): Promise<Group | null> {
    return ctx.loaders.groupById.load(requireUuid(id, 'id'));
  }

  @FieldResolver(() => Directory, {
    nullable: true,
    description: 'The source directory; null once the directory has been deleted.',
  })
  directory(@Root() group: Group): Directory {
    return Object.assign(new Directory(), { id: group.directoryId });
  }

  @FieldResolver(() => Int)
  memberCount(@Root() group: Group, @Ctx() ctx: IdentityContext): Promise<number> {
    return ctx.loaders.memberCount.load(group.id);
  }

  @FieldResolver(() => UserConnection, { description: 'Members in username order.' })
  async members(
    @Root() group: Group,
    @Arg('first', () => Int, { nullable: true, defaultValue: 50, description: 'At most 500.' })
    first: number | null | undefined,
    @Arg('after', () => String, { nullable: true }) after: string | null | undefined,
    @Ctx() ctx: IdentityContext,
  ): Promise<UserConnection> {
    const size = checkFirst(first);
    const rows = await ctx.loaders.groupMembers(size, decodeCursor(after)).load(group.id);
    return userConnection(rows, size, () => ctx.loaders.memberCount.load(group.id));
  }
}

/** `__resolveReference` for Group. */
export function resolveGroupReference(
  ref: { id: string },
  ctx: IdentityContext,
): Promise<Group | null> | null {
  return isUuid(ref.id) ? ctx.loaders.groupById.load(ref.id.toLowerCase()) : null;
}
