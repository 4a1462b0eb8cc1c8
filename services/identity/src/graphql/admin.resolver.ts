import { emailKey, emailProblem, isAdminRoleName, type AdminRoleName } from '@dirsync/kit';
import { Permission } from '@dirsync/kit/auth';
import { apiError, ApiErrorCode, Guard } from '@dirsync/kit/graphql';
import { Transition } from '@dirsync/proto';
import {
  Arg,
  Ctx,
  Field,
  FieldResolver,
  ID,
  InputType,
  Int,
  Mutation,
  ObjectType,
  Query,
  Resolver,
  Root,
} from 'type-graphql';
import { Admin, AdminRoleEnum, AdminStatus } from '../entities/admin.entity.js';
import type { Sql } from '../db/sql.js';
import {
  ADMIN_RETURNING,
  emitAdminWrites,
  emitAdminsGone,
  type Written as AdminRow,
} from '../apply/admins.apply.js';
import type { IdentityContext } from './context.js';
import {
  PageInfo,
  checkFirst,
  decodeCursor,
  encodeCursor,
  isUuid,
  likePattern,
  optionalUuid,
  requireUuid,
} from './pagination.js';
import { Directory } from './types.js';
import { badInput, checkText, refuseSynced, type Problems } from './manual-records.js';

@ObjectType('AdminEdge')
export class AdminEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => Admin)
  node!: Admin;
}

/** A page of administrators. `totalCount` is counted only when asked for. */
@ObjectType('AdminConnection')
export class AdminConnection {
  @Field(() => [AdminEdge])
  edges!: AdminEdge[];

  @Field(() => [Admin])
  nodes!: Admin[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  count!: () => Promise<number>;

  @Field(() => Int, { description: 'All administrators matching the arguments, on every page.' })
  totalCount(): Promise<number> {
    return this.count();
  }
}

@InputType('AdminFilter')
export class AdminFilter {
  @Field(() => [AdminRoleEnum], { nullable: true, description: 'Any of these roles.' })
  role?: AdminRoleName[] | null;

  @Field(() => [AdminStatus], { nullable: true, description: 'Any of these statuses.' })
  status?: AdminStatus[] | null;

  @Field(() => ID, { nullable: true, description: 'Synced from this directory.' })
  directoryId?: string | null;

  @Field(() => Boolean, {
    nullable: true,
    description: 'true: synced administrators only; false: manual ones only.',
  })
  synced?: boolean | null;

  @Field(() => Boolean, {
    nullable: true,
    description:
      'true: only administrators whose e-mail another administrator holds (Admin.emailConflict); false: only the others.',
  })
  emailConflict?: boolean | null;

  @Field(() => String, {
    nullable: true,
    description: 'Case-insensitive substring of the e-mail or a name; % and _ are literal.',
  })
  search?: string | null;

  @Field(() => ID, {
    nullable: true,
    description:
      'The administrators a BLOCKED ADMIN run holds back for removal (its planned removals: who approveRun would move to pending deletion). Empty once the run is decided or superseded.',
  })
  heldByRunId?: string | null;
}

@InputType('CreateAdminInput')
export class CreateAdminInput {
  @Field(() => String)
  email!: string;

  @Field(() => AdminRoleEnum)
  role!: AdminRoleName;

  @Field(() => String, { nullable: true })
  firstName?: string | null;

  @Field(() => String, { nullable: true })
  lastName?: string | null;

  @Field(() => String, { nullable: true })
  displayName?: string | null;
}

@InputType('UpdateAdminInput', {
  description:
    'Fields of a manual administrator to change; absent fields keep their value, null clears a name.',
})
export class UpdateAdminInput {
  @Field(() => String, { nullable: true })
  email?: string | null;

  @Field(() => AdminRoleEnum, { nullable: true })
  role?: AdminRoleName | null;

  @Field(() => String, { nullable: true })
  firstName?: string | null;

  @Field(() => String, { nullable: true })
  lastName?: string | null;

  @Field(() => String, { nullable: true })
  displayName?: string | null;

  @Field(() => Boolean, { nullable: true, description: 'true: DISABLED; false: ACTIVE.' })
  disabled?: boolean | null;
}

function checkEmail(v: string, problems: Problems): string | undefined {
  const problem = emailProblem(v);
  if (problem) {
    problems.push({ field: 'email', message: `"${v}" ${problem}` });
    return undefined;
  }
  return v.trim().normalize('NFC');
}

/** READ_ONLY for a synced administrator: its fields come from the source. */
function refuseSyncedAdmin(
  admin: { id: string; email: string; directory_id: string | null },
  what: string,
): void {
  refuseSynced(admin.directory_id, (directoryId) => ({
    message: `administrator ${admin.email} is synced from directory ${directoryId} and cannot be ${what} through the API; change its role groups in the source`,
    extensions: { adminId: admin.id },
  }));
}

/**
 * CONFLICT when another administrator has the e-mail (e-mails are unique across dirsync). One the
 * case-folding migration kept under `key + U+0001 + id` has it too: creating another would make two
 * administrators with one folded e-mail.
 */
async function checkEmailFree(sql: Sql, key: string, self: string | null): Promise<void> {
  const [other] = await sql.rows<{ id: string; email: string }>(
    `select id, email from admins
     where split_part(email_key, chr(1), 1) = ? and id is distinct from ?::uuid
     order by (email_key = ?) desc limit 1`,
    [key, self, key],
  );
  if (other) {
    throw apiError(
      ApiErrorCode.CONFLICT,
      // The other administrator's id is in extensions.adminId, not in the sentence people read.
      `an administrator with the e-mail ${other.email} already exists`,
      { adminId: other.id, field: 'email' },
    );
  }
}

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string }).code === '23505';
}

@Resolver(() => Admin)
export class AdminResolver {
  @Guard(Permission.READ)
  @Query(() => AdminConnection, {
    description: 'Administrators in e-mail order (case-insensitive), a page at a time.',
  })
  async admins(
    @Arg('first', () => Int, { nullable: true, defaultValue: 50, description: 'At most 500.' })
    first: number | null | undefined,
    @Arg('after', () => String, { nullable: true }) after: string | null | undefined,
    @Arg('filter', () => AdminFilter, { nullable: true }) filter: AdminFilter | null | undefined,
    @Ctx() ctx: IdentityContext,
  ): Promise<AdminConnection> {
    const size = checkFirst(first);
    const position = decodeCursor(after);
    // Malformed ids are BAD_USER_INPUT before anything is read (an empty page would hide a typo);
    // run ids are stored lower-case, so an upper-case one is lowered like users(heldByRunId).
    const directoryId = optionalUuid(filter?.directoryId, 'filter.directoryId');
    const heldByRunId = optionalUuid(filter?.heldByRunId, 'filter.heldByRunId');
    const qb = ctx.em.createQueryBuilder(Admin, 'a').select('*');
    if (filter?.role?.length) qb.andWhere({ role: { $in: filter.role } });
    if (filter?.status?.length) qb.andWhere({ status: { $in: filter.status } });
    if (directoryId) qb.andWhere({ directoryId });
    if (filter?.synced === true) qb.andWhere({ directoryId: { $ne: null } });
    if (filter?.synced === false) qb.andWhere({ directoryId: null });
    if (filter?.emailConflict !== undefined && filter.emailConflict !== null) {
      // A key with U+0001 is an e-mail another administrator holds (Admin.emailConflict).
      qb.andWhere(`${filter.emailConflict ? '' : 'not '}strpos(a.email_key, chr(1)) > 0`);
    }
    if (filter?.search) {
      qb.andWhere('a.search_text like lower(?)', [likePattern(filter.search.normalize('NFC'))]);
    }
    if (heldByRunId) {
      // Exactly whom approving would remove (admins.apply.ts's 'held' plan).
      qb.andWhere(
        `exists (select 1 from run_held_admins h join runs r on r.run_id = h.run_id
                  where h.admin_id = a.id and h.run_id = ? and a.directory_id = r.directory_id
                    and a.status <> 'pending_deletion')`,
        [heldByRunId],
      );
    }
    const counter = qb.clone();
    if (position) {
      qb.andWhere('(a.email_key, a.id) > (?::text, ?::uuid)', [position.key, position.id]);
    }
    const rows = await qb
      .orderBy({ emailKey: 'asc', id: 'asc' })
      .limit(size + 1)
      .getResultList();
    const nodes = rows.slice(0, size);
    const edges = nodes.map((node) =>
      Object.assign(new AdminEdge(), {
        node,
        cursor: encodeCursor({ key: node.emailKey, id: node.id }),
      }),
    );
    return Object.assign(new AdminConnection(), {
      edges,
      nodes,
      pageInfo: Object.assign(new PageInfo(), {
        hasNextPage: rows.length > size,
        endCursor: edges.at(-1)?.cursor ?? null,
      }),
      count: () => counter.getCount(),
    });
  }

  @Guard(Permission.READ)
  @Query(() => Admin, { nullable: true, description: 'An administrator by id; null when unknown.' })
  admin(@Arg('id', () => ID) id: string, @Ctx() ctx: IdentityContext): Promise<Admin | null> {
    return ctx.em.findOne(Admin, { id: requireUuid(id, 'id') });
  }

  @Guard(Permission.READ)
  @Query(() => Admin, {
    nullable: true,
    description:
      'An administrator by e-mail (compared with full Unicode case folding: STRASSE@ is straße@); null when unknown.',
  })
  adminByEmail(
    @Arg('email', () => String) email: string,
    @Ctx() ctx: IdentityContext,
  ): Promise<Admin | null> {
    const key = emailKey(email);
    if (!key) throw apiError(ApiErrorCode.BAD_USER_INPUT, 'email must not be empty');
    return ctx.em.findOne(Admin, { emailKey: key });
  }

  @Guard(Permission.ADMIN_MANAGE)
  @Mutation(() => Admin, {
    description:
      'Create a manual administrator. CONFLICT when the e-mail is taken; a later admin sync that finds the e-mail in a role group takes it over (synced, read-only).',
  })
  async createAdmin(
    @Arg('input', () => CreateAdminInput) input: CreateAdminInput,
    @Ctx() ctx: IdentityContext,
  ): Promise<Admin> {
    const problems: Problems = [];
    const email = checkEmail(input.email, problems);
    if (!isAdminRoleName(input.role)) problems.push({ field: 'role', message: 'is not a role' });
    const firstName = checkText('firstName', input.firstName, problems) ?? null;
    const lastName = checkText('lastName', input.lastName, problems) ?? null;
    const displayName = checkText('displayName', input.displayName, problems) ?? null;
    if (problems.length > 0 || !email) badInput(problems);
    const key = emailKey(email);
    const id = await ctx.db.tx(async (sql) => {
      await checkEmailFree(sql, key, null);
      try {
        const [row] = await sql.rows<AdminRow>(
          `insert into admins as a (email, email_key, role, roles, first_name, last_name,
             display_name)
           values (?, ?, ?, ?::text[], ?, ?, ?) returning ${ADMIN_RETURNING}`,
          [email, key, input.role, [input.role], firstName, lastName, displayName],
        );
        emitAdminWrites(sql, '', [{ row: row!, before: undefined }], actorOf(ctx));
        return row!.id;
      } catch (err) {
        if (isUniqueViolation(err)) await checkEmailFree(sql, key, null);
        throw err;
      }
    });
    return ctx.em.findOneOrFail(Admin, { id });
  }

  @Guard(Permission.ADMIN_MANAGE)
  @Mutation(() => Admin, {
    description:
      'Change a manual administrator. A synced one is READ_ONLY: its fields come from the source.',
  })
  async updateAdmin(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateAdminInput) input: UpdateAdminInput,
    @Ctx() ctx: IdentityContext,
  ): Promise<Admin> {
    const adminId = requireUuid(id, 'id');
    await ctx.db.tx(async (sql) => {
      const [current] = await sql.rows<{
        id: string;
        directory_id: string | null;
        email: string;
        status: string;
      }>('select id, directory_id, email, status from admins where id = ? for update', [adminId]);
      if (!current) throw apiError(ApiErrorCode.NOT_FOUND, `administrator ${id} not found`);
      refuseSyncedAdmin(current, 'changed');
      const problems: Problems = [];
      const sets: string[] = [];
      const params: unknown[] = [];
      if (input.email !== undefined && input.email !== null) {
        const email = checkEmail(input.email, problems);
        if (email) {
          await checkEmailFree(sql, emailKey(email), adminId);
          sets.push('email = ?', 'email_key = ?');
          params.push(email, emailKey(email));
        }
      }
      if (input.role !== undefined && input.role !== null) {
        if (!isAdminRoleName(input.role))
          problems.push({ field: 'role', message: 'is not a role' });
        sets.push('role = ?', 'roles = ?::text[]');
        params.push(input.role, [input.role]);
      }
      for (const [field, column] of [
        ['firstName', 'first_name'],
        ['lastName', 'last_name'],
        ['displayName', 'display_name'],
      ] as const) {
        const v = checkText(field, input[field], problems);
        if (v !== undefined) {
          sets.push(`${column} = ?`);
          params.push(v);
        }
      }
      if (input.disabled !== undefined && input.disabled !== null) {
        sets.push(`status = ?`);
        params.push(input.disabled ? 'disabled' : 'active');
      }
      if (problems.length > 0) badInput(problems);
      if (sets.length === 0) return;
      const [row] = await sql.rows<AdminRow>(
        `update admins a set ${sets.join(', ')}, version = a.version + 1, updated_at = now()
         where a.id = ? returning ${ADMIN_RETURNING}`,
        [...params, adminId],
      );
      if (row) {
        const changed = (['email', 'role', 'firstName', 'lastName', 'displayName'] as const).filter(
          (f) => input[f] !== undefined && input[f] !== null,
        ) as string[];
        if (row.status !== current.status) changed.push('status');
        emitAdminWrites(sql, '', [{ row, before: current.status, changed }], actorOf(ctx));
      }
    });
    return ctx.em.findOneOrFail(Admin, { id: adminId });
  }

  @Guard(Permission.ADMIN_MANAGE)
  @Mutation(() => Boolean, {
    description:
      'Delete a manual administrator. A synced one is READ_ONLY: remove the person from its role groups instead.',
  })
  async deleteAdmin(
    @Arg('id', () => ID) id: string,
    @Ctx() ctx: IdentityContext,
  ): Promise<boolean> {
    const adminId = requireUuid(id, 'id');
    await ctx.db.tx(async (sql) => {
      const [current] = await sql.rows<{ id: string; directory_id: string | null; email: string }>(
        'select id, directory_id, email from admins where id = ? for update',
        [adminId],
      );
      if (!current) throw apiError(ApiErrorCode.NOT_FOUND, `administrator ${id} not found`);
      refuseSyncedAdmin(current, 'deleted');
      const gone = await sql.rows<AdminRow>(
        `delete from admins a where a.id = ? returning ${ADMIN_RETURNING}`,
        [adminId],
      );
      // A manual administrator has no restore window: deleted is gone (PURGED).
      emitAdminsGone(sql, Transition.PURGED, gone, { actor: actorOf(ctx) });
    });
    return true;
  }

  @FieldResolver(() => Boolean, {
    description: 'Synced from a directory (read-only through the API); false for manual ones.',
  })
  synced(@Root() admin: Admin): boolean {
    return admin.directoryId !== null;
  }

  @FieldResolver(() => Boolean, {
    description:
      "true when another administrator holds this e-mail: two e-mails that became the same under full case folding (STRASSE@ and straße@) are both kept, one holds the e-mail (emailHolder) and adminByEmail finds it; this one matches nothing until the holder is gone, when its directory's next sync of the address gives it back (docs/lifecycle.md).",
  })
  emailConflict(@Root() admin: Admin): boolean {
    return admin.emailKey.includes('\u0001');
  }

  @FieldResolver(() => Admin, {
    nullable: true,
    description:
      'The administrator holding this e-mail when emailConflict is true; null otherwise, or when nobody holds it any more.',
  })
  async emailHolder(@Root() admin: Admin, @Ctx() ctx: IdentityContext): Promise<Admin | null> {
    if (!admin.emailKey.includes('\u0001')) return null;
    return ctx.em.findOne(Admin, { emailKey: admin.emailKey.split('\u0001')[0]! });
  }

  @FieldResolver(() => Directory, {
    nullable: true,
    description: 'The directory it is synced from; null for manual administrators.',
  })
  directory(@Root() admin: Admin): Directory | null {
    return admin.directoryId ? Object.assign(new Directory(), { id: admin.directoryId }) : null;
  }
}

/** `__resolveReference` for Admin: the sync subgraph hands us `{ id }` (syncAdmin). */
export function resolveAdminReference(
  ref: { id: string },
  ctx: IdentityContext,
): Promise<Admin | null> | null {
  return isUuid(ref.id) ? ctx.em.findOne(Admin, { id: ref.id.toLowerCase() }) : null;
}

/** Who made an operator's change, for its lifecycle events (a principal id, never a secret). */
function actorOf(ctx: IdentityContext): string {
  return ctx.principal?.id ?? '';
}
