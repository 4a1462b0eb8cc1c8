import { apiError, ApiErrorCode } from '@dirsync/kit/graphql';
import { errorCodeName, type ErrorCode } from '@dirsync/proto';
import { GraphQLDateTimeISO, GraphQLJSON } from 'graphql-scalars';
import {
  Arg,
  Ctx,
  Directive,
  Field,
  FieldResolver,
  ID,
  InputType,
  Int,
  ObjectType,
  Resolver,
  Root,
  registerEnumType,
} from 'type-graphql';
import type { AdminRoleName } from '@dirsync/kit';
import type {
  AdminFieldValues,
  ChangeKind as StoredKind,
  UserFieldValues,
} from '../apply/changes.js';
import { Admin, AdminRoleEnum } from '../entities/admin.entity.js';
import { Group } from '../entities/group.entity.js';
import { RemovalReason, User, UserStatus } from '../entities/user.entity.js';
import type { IdentityContext } from './context.js';
import { PageInfo, checkFirst, requireUuid } from './pagination.js';

/**
 * Run history through GraphQL: `SyncRun.changes` (identity adds the field to the sync
 * subgraph's `SyncRun` entity) and `User.history`, both Relay connections over `run_changes`
 * (apply/history.ts). The enum values are the stored kinds of apply/changes.ts.
 */
export enum ChangeKind {
  CREATED = 'created',
  UPDATED = 'updated',
  RESTORED = 'restored',
  CLAIMED = 'claimed',
  DISABLED = 'disabled',
  ENABLED = 'enabled',
  PENDING_DELETION = 'pendingDeletion',
  CONFLICT = 'conflict',
  ERROR = 'error',
  MEMBERSHIP = 'membership',
  GROUP_CREATED = 'groupCreated',
  GROUP_UPDATED = 'groupUpdated',
  GROUP_DELETED = 'groupDeleted',
  ADMIN_CREATED = 'adminCreated',
  ADMIN_UPDATED = 'adminUpdated',
  ADMIN_RESTORED = 'adminRestored',
  ADMIN_ROLE_CHANGED = 'adminRoleChanged',
  ADMIN_CLAIMED = 'adminClaimed',
  ADMIN_DISABLED = 'adminDisabled',
  ADMIN_ENABLED = 'adminEnabled',
  ADMIN_PENDING_DELETION = 'adminPendingDeletion',
}

registerEnumType(ChangeKind, {
  name: 'ChangeKind',
  description: 'What a run did to one object (docs/lifecycle.md#run-history).',
  valuesConfig: {
    CREATED: { description: 'A user imported for the first time (fields: every imported value).' },
    UPDATED: { description: 'Synced fields of a user changed (fields: old → new).' },
    RESTORED: { description: 'A user in PENDING_DELETION observed again: back, same id.' },
    CLAIMED: { description: "A user the run took over (a manual user, or another directory's)." },
    DISABLED: { description: 'Disabled in the source.' },
    ENABLED: { description: 'Enabled again in the source: back to its status before.' },
    PENDING_DELETION: { description: 'Removed from the source or the scope; restorable.' },
    CONFLICT: { description: "Not imported: another directory's or a manual user has the name." },
    ERROR: { description: 'A record that could not be read or stored.' },
    MEMBERSHIP: { description: 'Groups a user joined (addedGroupIds) or left (removedGroupIds).' },
    GROUP_CREATED: { description: 'A group imported for the first time.' },
    GROUP_UPDATED: { description: 'A group whose name, description or locator changed.' },
    GROUP_DELETED: { description: 'A group gone from the source or the scope (with its members).' },
    ADMIN_CREATED: {
      description: 'An administrator synced for the first time (fields: every imported value).',
    },
    ADMIN_UPDATED: { description: 'Synced fields of an administrator changed (old → new).' },
    ADMIN_RESTORED: { description: 'An administrator in PENDING_DELETION observed again.' },
    ADMIN_ROLE_CHANGED: { description: 'The role changed (previousRole → role).' },
    ADMIN_CLAIMED: { description: 'A manual administrator the run took over (now synced).' },
    ADMIN_DISABLED: { description: 'An administrator disabled in the source.' },
    ADMIN_ENABLED: { description: 'An administrator enabled again in the source.' },
    ADMIN_PENDING_DELETION: {
      description: 'An administrator in no role group any more, or gone from the source.',
    },
  },
});

/** The sync subgraph's run, as this subgraph extends it with `changes`. */
@ObjectType('SyncRun')
@Directive('@key(fields: "id")')
export class SyncRunRef {
  @Field(() => ID)
  id!: string;
}

@ObjectType('FieldChange', {
  description: 'One field of a user or administrator before and after a change.',
})
export class FieldChange {
  @Field(() => String, {
    description: 'The User (or Admin) field name: email, aliases, status, role, ….',
  })
  field!: string;

  @Field(() => GraphQLJSON, {
    nullable: true,
    description: 'The value before, as the User field shows it (null for CREATED).',
  })
  old!: unknown;

  @Field(() => GraphQLJSON, { nullable: true, description: 'The value after.' })
  new!: unknown;
}

/** A row of `run_changes`. */
interface ChangeRow {
  id: string;
  run_id: string;
  directory_id: string;
  kind: StoredKind;
  user_id: string | null;
  group_id: string | null;
  admin_id: string | null;
  external_id: string | null;
  name: string | null;
  detail: ChangeDetail;
  at: Date | string;
}

/** What `detail` may hold (the change minus its columns; see history.ts). */
interface ChangeDetail {
  values?: UserFieldValues | AdminFieldValues;
  role?: AdminRoleName;
  previousRole?: AdminRoleName;
  /** An ADMIN run's error about an administrator (its `name` is an e-mail). */
  admin?: boolean;
  fields?: { field: string; old: unknown; new: unknown }[] | string[];
  status?: string;
  previousStatus?: string | null;
  reason?: string;
  purgeAfter?: string;
  previousDirectoryId?: string;
  holderUserId?: string;
  code?: ErrorCode;
  message?: string;
  sourceLocator?: string;
  added?: string[];
  removed?: string[];
}

function statusOf(name: string | null | undefined): UserStatus | null {
  if (!name) return null;
  return (UserStatus as Record<string, UserStatus | undefined>)[name] ?? null;
}

@ObjectType('RunChange', {
  description:
    'One per-object change of a run: what happened to which user, group or administrator, with the values before and after. A dry run records its planned changes.',
})
export class RunChange {
  row!: ChangeRow;

  @Field(() => ID, { description: 'Unique; increases in the order the changes were made.' })
  id!: string;

  @Field(() => ChangeKind)
  kind!: ChangeKind;

  @Field(() => ID)
  runId!: string;

  @Field(() => ID)
  directoryId!: string;

  @Field(() => GraphQLDateTimeISO, { description: 'When the change was committed.' })
  at!: Date;

  @Field(() => ID, {
    nullable: true,
    description: 'The user (null for group and administrator changes, errors).',
  })
  userId!: string | null;

  @Field(() => ID, { nullable: true, description: 'GROUP_* changes: the group.' })
  groupId!: string | null;

  @Field(() => String, { nullable: true, description: "The record's id in the source." })
  externalId!: string | null;

  @Field(() => String, { nullable: true, description: 'The username after the change.' })
  username!: string | null;

  @Field(() => String, { nullable: true, description: 'GROUP_* changes: the group name.' })
  groupName!: string | null;

  @Field(() => ID, {
    nullable: true,
    description:
      "ADMIN_* changes: the administrator. An ADMIN run's ERROR ADMIN_CONFLICT: the administrator another directory syncs with that e-mail.",
  })
  adminId!: string | null;

  @Field(() => String, {
    nullable: true,
    description: "ADMIN_* changes and an ADMIN run's errors: the e-mail (after the change).",
  })
  email!: string | null;

  @Field(() => AdminRoleEnum, {
    nullable: true,
    description: 'ADMIN_ROLE_CHANGED: the role after (ADMIN_CREATED: see fields).',
  })
  role!: AdminRoleName | null;

  @Field(() => AdminRoleEnum, { nullable: true, description: 'ADMIN_ROLE_CHANGED: before.' })
  previousRole!: AdminRoleName | null;

  @Field(() => [FieldChange], {
    description:
      'CREATED, ADMIN_CREATED: every imported field (old null); UPDATED, RESTORED, ADMIN_UPDATED, ADMIN_RESTORED: what changed.',
  })
  fields!: FieldChange[];

  @Field(() => [String], {
    description: 'The names of the changed fields (also for GROUP_UPDATED).',
  })
  changedFields!: string[];

  @Field(() => UserStatus, {
    nullable: true,
    description:
      'CREATED, RESTORED, ENABLED (and their ADMIN_*): the status after (administrators: the AdminStatus of the same name).',
  })
  status!: UserStatus | null;

  @Field(() => UserStatus, {
    nullable: true,
    description: 'DISABLED, PENDING_DELETION (and their ADMIN_*): before.',
  })
  previousStatus!: UserStatus | null;

  @Field(() => RemovalReason, {
    nullable: true,
    description: 'PENDING_DELETION: why (ADMIN_PENDING_DELETION: NOT_OBSERVED).',
  })
  removalReason!: RemovalReason | null;

  @Field(() => GraphQLDateTimeISO, { nullable: true, description: 'PENDING_DELETION: purge.' })
  purgeAfter!: Date | null;

  @Field(() => [ID], { description: 'MEMBERSHIP: groups the user joined.' })
  addedGroupIds!: string[];

  @Field(() => [ID], { description: 'MEMBERSHIP: groups the user left.' })
  removedGroupIds!: string[];

  @Field(() => String, { nullable: true, description: 'ERROR, CONFLICT: an ErrorCode name.' })
  errorCode!: string | null;

  @Field(() => String, { nullable: true })
  errorMessage!: string | null;

  @Field(() => String, { nullable: true, description: 'ERROR, CONFLICT: where, in the source.' })
  sourceLocator!: string | null;

  @Field(() => ID, { nullable: true, description: 'CONFLICT: the user holding the name.' })
  holderUserId!: string | null;

  @Field(() => ID, { nullable: true, description: 'CLAIMED: the directory it had ("" manual).' })
  previousDirectoryId!: string | null;
}

function toChange(r: ChangeRow): RunChange {
  const d = r.detail ?? {};
  const group = r.kind.startsWith('group');
  const admin = r.kind.startsWith('admin') || d.admin === true;
  let fields: FieldChange[] = [];
  let changed: string[] = [];
  if ((r.kind === 'created' || r.kind === 'adminCreated') && d.values) {
    fields = Object.entries(d.values).map(([field, value]) =>
      Object.assign(new FieldChange(), { field, old: null, new: value }),
    );
    changed = fields.map((f) => f.field);
  } else if (Array.isArray(d.fields)) {
    for (const f of d.fields) {
      if (typeof f === 'string') changed.push(f);
      else {
        fields.push(Object.assign(new FieldChange(), f));
        changed.push(f.field);
      }
    }
  }
  return Object.assign(new RunChange(), {
    row: r,
    id: String(r.id),
    kind: r.kind as ChangeKind,
    runId: r.run_id,
    directoryId: r.directory_id,
    // The SQL layer hands timestamptz over as Postgres text; DateTime needs a Date.
    at: new Date(r.at),
    userId: r.user_id,
    groupId: r.group_id,
    externalId: r.external_id,
    username: group || admin ? null : r.name,
    groupName: group ? r.name : null,
    adminId: r.admin_id,
    email: admin ? r.name : null,
    role: d.role ?? null,
    previousRole: d.previousRole ?? null,
    fields,
    changedFields: changed,
    status: statusOf(d.status),
    previousStatus: statusOf(d.previousStatus),
    removalReason: (d.reason as RemovalReason | undefined) ?? null,
    purgeAfter: d.purgeAfter ? new Date(d.purgeAfter) : null,
    addedGroupIds: d.added ?? [],
    removedGroupIds: d.removed ?? [],
    errorCode: d.code !== undefined ? errorCodeName(d.code) : null,
    errorMessage: d.message ?? null,
    sourceLocator: d.sourceLocator || null,
    holderUserId: d.holderUserId || null,
    previousDirectoryId: d.previousDirectoryId ?? null,
  });
}

@ObjectType('RunChangeEdge')
export class RunChangeEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => RunChange)
  node!: RunChange;
}

@ObjectType('RunChangeConnection')
export class RunChangeConnection {
  @Field(() => [RunChangeEdge])
  edges!: RunChangeEdge[];

  @Field(() => [RunChange])
  nodes!: RunChange[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  count!: () => Promise<number>;

  @Field(() => Int, { description: 'All changes matching the arguments, on every page.' })
  totalCount(): Promise<number> {
    return this.count();
  }
}

@InputType('RunChangeFilter')
export class RunChangeFilter {
  @Field(() => [ChangeKind], { nullable: true, description: 'Only these kinds.' })
  kinds?: ChangeKind[] | null;

  @Field(() => ID, { nullable: true, description: 'Only changes of this user.' })
  userId?: string | null;

  @Field(() => ID, { nullable: true, description: 'Only changes of this administrator.' })
  adminId?: string | null;
}

/** Opaque cursor of a change: its id. */
function encode(id: string): string {
  return Buffer.from(`rc:${id}`, 'utf8').toString('base64url');
}

function decode(cursor: string | null | undefined): string | undefined {
  if (cursor === null || cursor === undefined || cursor === '') return undefined;
  const m = /^rc:(\d{1,19})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m?.[1]) {
    throw apiError(ApiErrorCode.BAD_USER_INPUT, `after "${cursor}" is not a cursor from this API`, {
      argumentName: 'after',
    });
  }
  return m[1];
}

async function page(
  ctx: IdentityContext,
  where: string[],
  params: unknown[],
  order: 'asc' | 'desc',
  first: number | null | undefined,
  after: string | null | undefined,
): Promise<RunChangeConnection> {
  const size = checkFirst(first);
  const position = decode(after);
  const cond = where.join(' and ');
  const keyset = position ? ` and id ${order === 'asc' ? '>' : '<'} ?::bigint` : '';
  const rows = await ctx.db.sql.rows<ChangeRow>(
    `select * from run_changes where ${cond}${keyset} order by id ${order} limit ?`,
    [...params, ...(position ? [position] : []), size + 1],
  );
  const nodes = rows.slice(0, size).map(toChange);
  const edges = nodes.map((node) =>
    Object.assign(new RunChangeEdge(), { cursor: encode(node.id), node }),
  );
  return Object.assign(new RunChangeConnection(), {
    edges,
    nodes,
    pageInfo: Object.assign(new PageInfo(), {
      hasNextPage: rows.length > size,
      endCursor: edges.at(-1)?.cursor ?? null,
    }),
    count: async () => {
      const [row] = await ctx.db.sql.rows<{ n: string }>(
        `select count(*) as n from run_changes where ${cond}`,
        params,
      );
      return Number(row?.n ?? 0);
    },
  });
}

@Resolver(() => SyncRunRef)
export class SyncRunHistoryResolver {
  @FieldResolver(() => RunChangeConnection, {
    description:
      'The per-object changes of the run, in the order they were made (dry runs: the planned ones). Kept for RUN_HISTORY_RETENTION_DAYS (identity, default 30).',
  })
  changes(
    @Root() run: SyncRunRef,
    @Arg('first', () => Int, { nullable: true, defaultValue: 50, description: 'At most 500.' })
    first: number | null | undefined,
    @Arg('after', () => String, { nullable: true }) after: string | null | undefined,
    @Arg('filter', () => RunChangeFilter, { nullable: true })
    filter: RunChangeFilter | null | undefined,
    @Ctx() ctx: IdentityContext,
  ): Promise<RunChangeConnection> {
    const where = ['run_id = ?'];
    const params: unknown[] = [run.id];
    if (filter?.kinds && filter.kinds.length > 0) {
      where.push('kind = any(?::text[])');
      params.push(filter.kinds);
    }
    if (filter?.userId != null) {
      where.push('user_id = ?::uuid');
      params.push(requireUuid(filter.userId, 'filter.userId'));
    }
    if (filter?.adminId) {
      where.push('admin_id = ?::uuid');
      params.push(requireUuid(filter.adminId, 'filter.adminId'));
    }
    return page(ctx, where, params, 'asc', first, after);
  }
}

@Resolver(() => RunChange)
export class RunChangeResolver {
  @FieldResolver(() => SyncRunRef, { description: 'The run (resolved by the sync subgraph).' })
  run(@Root() change: RunChange): SyncRunRef {
    return Object.assign(new SyncRunRef(), { id: change.runId });
  }

  @FieldResolver(() => User, { nullable: true, description: 'The user; null once purged.' })
  user(@Root() change: RunChange, @Ctx() ctx: IdentityContext): Promise<User | null> | null {
    return change.userId ? ctx.loaders.userById.load(change.userId) : null;
  }

  @FieldResolver(() => Group, { nullable: true, description: 'The group; null once deleted.' })
  group(@Root() change: RunChange, @Ctx() ctx: IdentityContext): Promise<Group | null> | null {
    return change.groupId ? ctx.loaders.groupById.load(change.groupId) : null;
  }

  @FieldResolver(() => Admin, {
    nullable: true,
    description: 'The administrator; null once purged or deleted.',
  })
  admin(@Root() change: RunChange, @Ctx() ctx: IdentityContext): Promise<Admin | null> | null {
    return change.adminId ? ctx.loaders.adminById.load(change.adminId) : null;
  }
}

@Resolver(() => User)
export class UserHistoryResolver {
  @FieldResolver(() => RunChangeConnection, {
    description:
      "What runs did to this user, newest first (dry runs' planned changes included; see SyncRun.dryRun). Kept for RUN_HISTORY_RETENTION_DAYS.",
  })
  history(
    @Root() user: User,
    @Arg('first', () => Int, { nullable: true, defaultValue: 50, description: 'At most 500.' })
    first: number | null | undefined,
    @Arg('after', () => String, { nullable: true }) after: string | null | undefined,
    @Ctx() ctx: IdentityContext,
  ): Promise<RunChangeConnection> {
    return page(ctx, ['user_id = ?::uuid'], [user.id], 'desc', first, after);
  }
}

@Resolver(() => Admin)
export class AdminHistoryResolver {
  @FieldResolver(() => RunChangeConnection, {
    description:
      'What admin runs did to this administrator, newest first (ADMIN_* changes; ERROR ADMIN_CONFLICT when another directory has the e-mail in a role group). Kept for RUN_HISTORY_RETENTION_DAYS.',
  })
  history(
    @Root() admin: Admin,
    @Arg('first', () => Int, { nullable: true, defaultValue: 50, description: 'At most 500.' })
    first: number | null | undefined,
    @Arg('after', () => String, { nullable: true }) after: string | null | undefined,
    @Ctx() ctx: IdentityContext,
  ): Promise<RunChangeConnection> {
    return page(ctx, ['admin_id = ?::uuid'], [admin.id], 'desc', first, after);
  }
}

/** `__resolveReference` for SyncRun: the gateway hands us `{ id }` for `changes`. */
export function resolveSyncRunReference(ref: { id: string }): SyncRunRef {
  return Object.assign(new SyncRunRef(), { id: ref.id });
}
