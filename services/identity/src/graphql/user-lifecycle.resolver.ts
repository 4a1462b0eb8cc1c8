import { Permission } from '@dirsync/kit/auth';
import { apiError, ApiErrorCode, Guard } from '@dirsync/kit/graphql';
import { Arg, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import { purgeUser, restoreUser, type PendingCheck } from '../apply/restore-purge.js';
import { User } from '../entities/user.entity.js';
import type { IdentityContext } from './context.js';
import { requireUuid } from './pagination.js';

/** NOT_FOUND or NOT_PENDING_DELETION for a restore/purge that was refused. */
function refused(check: Exclude<PendingCheck, { ok: true }>, id: string, what: string): never {
  if (check.reason === 'not_found') throw apiError(ApiErrorCode.NOT_FOUND, `user ${id} not found`);
  const status = check.status.toUpperCase();
  throw apiError(
    ApiErrorCode.NOT_PENDING_DELETION,
    `user ${id} is ${status}, not PENDING_DELETION; only a removed user can be ${what}`,
    { status },
  );
}

/** The operator's end of a removal: restore or purge a user in pending deletion. */
@Resolver(() => User)
export class UserLifecycleResolver {
  @Guard(Permission.USER_RESTORE)
  @Mutation(() => User, {
    description:
      'Restore a user in PENDING_DELETION: it gets its previous status back (same id). Its groups return with the next sync that observes it; a user the source still lacks is removed again by the next full sync. A user of a deleted directory (removalReason DIRECTORY_DELETED, directory null) comes back as a manual user. NOT_PENDING_DELETION otherwise.',
  })
  async restoreUser(@Arg('id', () => ID) id: string, @Ctx() ctx: IdentityContext): Promise<User> {
    const userId = requireUuid(id, 'id');
    const check = await ctx.db.tx((sql) => restoreUser(sql, userId, ctx.principal?.id ?? ''));
    if (!check.ok) refused(check, id, 'restored');
    return ctx.em.findOneOrFail(User, { id: userId }, { refresh: true });
  }

  @Guard(Permission.USER_PURGE)
  @Mutation(() => ID, {
    description:
      'Delete a user in PENDING_DELETION now, with its aliases, phones and memberships (the purge job does this when the restore window ends); returns its id. NOT_PENDING_DELETION otherwise.',
  })
  async purgeUser(@Arg('id', () => ID) id: string, @Ctx() ctx: IdentityContext): Promise<string> {
    const userId = requireUuid(id, 'id');
    const check = await ctx.db.tx((sql) => purgeUser(sql, userId, ctx.principal?.id ?? ''));
    if (!check.ok) refused(check, id, 'purged');
    return userId;
  }
}
