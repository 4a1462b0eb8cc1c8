import { invisibleNameProblem, normalizePhone } from '@dirsync/kit';
import { Permission } from '@dirsync/kit/auth';
import { apiError, ApiErrorCode, Guard } from '@dirsync/kit/graphql';
import { Transition } from '@dirsync/proto';
import { Arg, Ctx, Field, ID, InputType, Mutation, Resolver } from 'type-graphql';
import { hasNul, nameKey } from '../apply/normalize.js';
import { lockNames, takenNames } from '../apply/names.js';
import type { Sql } from '../db/sql.js';
import { User } from '../entities/user.entity.js';
import {
  USER_EVENT_COLUMNS,
  emitUserTransition,
  emitUsersPurged,
} from '../lifecycle/lifecycle.outbox.js';
import type { IdentityContext } from './context.js';
import { badInput, checkText, refuseSynced, type Problems } from './manual-records.js';
import { requireUuid } from './pagination.js';

/**
 * Operators' changes to users: manual users (`createUser`, `updateUser`, `deleteUser`) and the
 * bypass flag of any user (`setUserBypass`). A synced user's fields come from its directory, so
 * `updateUser` and `deleteUser` answer READ_ONLY for it; a manual user becomes synced (and
 * read-only) when a sync brings its username (the sync claims it, same id).
 *
 * Usernames and aliases are unique across dirsync after NFC and case folding: a manual user's
 * username or alias that any user already has as username or alias is CONFLICT. Limits are the
 * sync's: at most 8 aliases and 100 phones.
 */

export const MAX_ALIASES = 8;
export const MAX_PHONES = 100;

/** The fields a sync writes: all of them are read-only on a synced user. */
const SYNCED_FIELDS = [
  'username',
  'aliases',
  'email',
  'firstName',
  'lastName',
  'displayName',
  'phones',
  'disabled',
] as const;

@InputType('PhoneInput')
export class PhoneInput {
  @Field(() => String, { description: 'With its country code (E.164 or +CC …).' })
  number!: string;

  @Field(() => String, { nullable: true, defaultValue: 'manual', description: 'e.g. "mobile".' })
  kind?: string | null;
}

@InputType('CreateUserInput')
export class CreateUserInput {
  @Field(() => String)
  username!: string;

  @Field(() => [String], { nullable: true, description: `At most ${MAX_ALIASES}.` })
  aliases?: string[] | null;

  @Field(() => String, { nullable: true })
  email?: string | null;

  @Field(() => String, { nullable: true })
  firstName?: string | null;

  @Field(() => String, { nullable: true })
  lastName?: string | null;

  @Field(() => String, { nullable: true })
  displayName?: string | null;

  @Field(() => [PhoneInput], { nullable: true, description: `At most ${MAX_PHONES}.` })
  phones?: PhoneInput[] | null;

  @Field(() => Boolean, { nullable: true, description: 'true: DISABLED; default ACTIVE.' })
  disabled?: boolean | null;
}

@InputType('UpdateUserInput', {
  description:
    'Fields of a manual user to change; absent fields keep their value, null clears a name or e-mail, a list replaces the list. On a synced user every field is READ_ONLY.',
})
export class UpdateUserInput {
  @Field(() => String, { nullable: true })
  username?: string | null;

  @Field(() => [String], { nullable: true })
  aliases?: string[] | null;

  @Field(() => String, { nullable: true })
  email?: string | null;

  @Field(() => String, { nullable: true })
  firstName?: string | null;

  @Field(() => String, { nullable: true })
  lastName?: string | null;

  @Field(() => String, { nullable: true })
  displayName?: string | null;

  @Field(() => [PhoneInput], { nullable: true })
  phones?: PhoneInput[] | null;

  @Field(() => Boolean, {
    nullable: true,
    description: 'true: DISABLED; false: ACTIVE (or BYPASS).',
  })
  disabled?: boolean | null;
}

/** A login name (username or alias) shows what it is: no invisible or reordering characters. */
function checkLoginName(field: string, v: string, problems: Problems): string | null | undefined {
  const t = checkText(field, v, problems);
  // (checkText reported control characters already.)
  const problem =
    t && !problems.some((p) => p.field === field) ? invisibleNameProblem(t) : undefined;
  if (problem) problems.push({ field, message: problem });
  return t;
}

function checkUsername(v: string, problems: Problems): string | undefined {
  const t = checkLoginName('username', v, problems);
  if (t === null) problems.push({ field: 'username', message: 'must not be empty' });
  return t ?? undefined;
}

/** Aliases trimmed, NFC, without empties and repeats (by key) and without the username itself. */
function checkAliases(
  v: string[] | null | undefined,
  usernameKey: string | undefined,
  problems: Problems,
): string[] | undefined {
  if (v === undefined || v === null) return v === null ? [] : undefined;
  const out: string[] = [];
  const keys = new Set<string>();
  v.forEach((a, i) => {
    const t = checkLoginName(`aliases[${i}]`, a, problems);
    if (!t) return;
    const k = nameKey(t);
    if (k === usernameKey || keys.has(k)) return;
    keys.add(k);
    out.push(t);
  });
  if (out.length > MAX_ALIASES) {
    problems.push({ field: 'aliases', message: `at most ${MAX_ALIASES} aliases (LIMIT_EXCEEDED)` });
  }
  return out;
}

function checkPhones(
  v: PhoneInput[] | null | undefined,
  problems: Problems,
): { number: string; kind: string }[] | undefined {
  if (v === undefined || v === null) return v === null ? [] : undefined;
  if (v.length > MAX_PHONES) {
    problems.push({ field: 'phones', message: `at most ${MAX_PHONES} phones (LIMIT_EXCEEDED)` });
    return [];
  }
  return v.flatMap((p, i) => {
    const r = normalizePhone(hasNul(p.number) ? '' : p.number, '');
    if (!r.ok) {
      problems.push({
        field: `phones[${i}].number`,
        message: `${r.reason}; give the country code (+…)`,
      });
      return [];
    }
    const kind = checkText(`phones[${i}].kind`, p.kind ?? 'manual', problems) ?? 'manual';
    return [{ number: r.e164, kind }];
  });
}

/** CONFLICT when another user has one of these names as username or alias. */
async function checkNamesFree(
  sql: Sql,
  names: { field: string; value: string }[],
  self: string | null,
): Promise<void> {
  const taken = await takenNames(
    sql,
    names.map((n) => nameKey(n.value)),
    self,
  );
  const hit = names.find((n) => taken.has(nameKey(n.value)));
  if (!hit) return;
  const holder = taken.get(nameKey(hit.value))!;
  throw apiError(
    ApiErrorCode.CONFLICT,
    `"${hit.value}" is already the ${holder.kind} of user ${holder.username} (${holder.userId}); usernames and aliases are unique across dirsync`,
    { field: hit.field, userId: holder.userId },
  );
}

interface LockedUser {
  id: string;
  directory_id: string | null;
  username: string;
  username_key: string;
  status: string;
}

async function lockUser(sql: Sql, id: string): Promise<LockedUser> {
  const [row] = await sql.rows<LockedUser>(
    'select id, directory_id, username, username_key, status from users where id = ? for update',
    [id],
  );
  if (!row) throw apiError(ApiErrorCode.NOT_FOUND, `user ${id} not found`);
  return row;
}

/** READ_ONLY for a synced user (naming the synced fields asked for): they come from the source. */
function refuseSyncedUser(user: LockedUser, what: string, fields: readonly string[]): void {
  refuseSynced(user.directory_id, (directoryId) => ({
    message: `user ${user.username} is synced from directory ${directoryId}: ${fields.length > 0 ? `${fields.join(', ')} cannot be ${what}` : `it cannot be ${what}`} through the API; change it in the source`,
    extensions: { userId: user.id, fields: [...fields] },
  }));
}

async function writeDetails(
  sql: Sql,
  userId: string,
  aliases: string[] | undefined,
  phones: { number: string; kind: string }[] | undefined,
): Promise<void> {
  if (aliases !== undefined) {
    await sql.exec('delete from user_aliases where user_id = ?', [userId]);
    if (aliases.length > 0) {
      await sql.exec(
        `insert into user_aliases (user_id, position, alias, alias_key)
         select ?, t.position - 1, t.alias, t.alias_key
         from unnest(?::text[], ?::text[]) with ordinality as t(alias, alias_key, position)`,
        [userId, aliases, aliases.map(nameKey)],
      );
    }
  }
  if (phones !== undefined) {
    await sql.exec('delete from user_phones where user_id = ?', [userId]);
    if (phones.length > 0) {
      await sql.exec(
        `insert into user_phones (user_id, position, number, kind)
         select ?, t.position - 1, t.number, t.kind
         from unnest(?::text[], ?::text[]) with ordinality as t(number, kind, position)`,
        [userId, phones.map((p) => p.number), phones.map((p) => p.kind)],
      );
    }
  }
}

@Resolver(() => User)
export class UserManageResolver {
  @Guard(Permission.USER_MANAGE)
  @Mutation(() => User, {
    description:
      'Create a manual user. CONFLICT when the username or an alias is any user’s username or alias (NFC, case-insensitive). A later sync that brings the same username claims the user (same id; then synced and read-only).',
  })
  async createUser(
    @Arg('input', () => CreateUserInput) input: CreateUserInput,
    @Ctx() ctx: IdentityContext,
  ): Promise<User> {
    const problems: Problems = [];
    const username = checkUsername(input.username, problems);
    const key = username ? nameKey(username) : undefined;
    const aliases = checkAliases(input.aliases, key, problems) ?? [];
    const phones = checkPhones(input.phones, problems) ?? [];
    const email = checkText('email', input.email, problems) ?? null;
    const firstName = checkText('firstName', input.firstName, problems) ?? null;
    const lastName = checkText('lastName', input.lastName, problems) ?? null;
    const displayName = checkText('displayName', input.displayName, problems) ?? null;
    if (problems.length > 0 || !username || !key) badInput(problems);
    const id = await ctx.db.tx(async (sql) => {
      await lockNames(sql);
      await checkNamesFree(
        sql,
        [
          { field: 'username', value: username },
          ...aliases.map((value, i) => ({ field: `aliases[${i}]`, value })),
        ],
        null,
      );
      const [row] = await sql.rows<{ id: string }>(
        `insert into users (username, username_key, email, first_name, last_name, display_name,
           status)
         values (?, ?, ?, ?, ?, ?, ?) returning id`,
        [
          username,
          key,
          email,
          firstName,
          lastName,
          displayName,
          input.disabled ? 'disabled' : 'active',
        ],
      );
      await writeDetails(sql, row!.id, aliases, phones);
      await emitUserTransition(sql, row!.id, {
        before: undefined,
        cause: { actor: actorOf(ctx) },
        bump: false,
      });
      return row!.id;
    });
    return ctx.em.findOneOrFail(User, { id });
  }

  @Guard(Permission.USER_MANAGE)
  @Mutation(() => User, {
    description:
      'Change a manual user. A synced user is READ_ONLY (extensions.fields names the fields): its fields come from the source.',
  })
  async updateUser(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateUserInput) input: UpdateUserInput,
    @Ctx() ctx: IdentityContext,
  ): Promise<User> {
    const userId = requireUuid(id, 'id');
    await ctx.db.tx(async (sql) => {
      await lockNames(sql);
      const current = await lockUser(sql, userId);
      refuseSyncedUser(
        current,
        'changed',
        SYNCED_FIELDS.filter((f) => input[f] !== undefined),
      );
      const problems: Problems = [];
      const sets: string[] = [];
      const params: unknown[] = [];
      let key = current.username_key;
      const names: { field: string; value: string }[] = [];
      if (input.username !== undefined && input.username !== null) {
        const username = checkUsername(input.username, problems);
        if (username) {
          key = nameKey(username);
          names.push({ field: 'username', value: username });
          sets.push('username = ?', 'username_key = ?');
          params.push(username, key);
        }
      }
      const aliases = checkAliases(input.aliases, key, problems);
      aliases?.forEach((value, i) => names.push({ field: `aliases[${i}]`, value }));
      const phones = checkPhones(input.phones, problems);
      for (const [field, column] of [
        ['email', 'email'],
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
        if (current.status === 'pending_deletion') {
          problems.push({ field: 'disabled', message: 'the user is pending deletion' });
        }
        sets.push(
          `status = case when ? then 'disabled' when bypass then 'bypass' else 'active' end`,
        );
        params.push(input.disabled);
      }
      if (problems.length > 0) badInput(problems);
      // An alias list kept as it is still has to stay free of the new username.
      if (aliases === undefined && key !== current.username_key) {
        const [clash] = await sql.rows<{ alias: string }>(
          'select alias from user_aliases where user_id = ? and alias_key = ?',
          [userId, key],
        );
        if (clash) {
          badInput([{ field: 'username', message: `is already one of the user's aliases` }]);
        }
      }
      await checkNamesFree(sql, names, userId);
      if (sets.length > 0) {
        await sql.exec(`update users set ${sets.join(', ')}, updated_at = now() where id = ?`, [
          ...params,
          userId,
        ]);
      }
      await writeDetails(sql, userId, aliases, phones);
      if (aliases !== undefined || phones !== undefined) {
        await sql.exec('update users set updated_at = now() where id = ?', [userId]);
      }
      // One transition (one version) for the whole mutation: the fields it set.
      const changed = [
        ...(['username', 'email', 'firstName', 'lastName', 'displayName'] as const).filter(
          (f) => input[f] !== undefined && input[f] !== null,
        ),
        ...(aliases !== undefined ? ['aliases'] : []),
        ...(phones !== undefined ? ['phones'] : []),
      ];
      if (changed.length > 0 || (input.disabled !== undefined && input.disabled !== null)) {
        const [now] = await sql.rows<{ status: string }>('select status from users where id = ?', [
          userId,
        ]);
        if (now && now.status !== current.status) changed.push('status');
        if (changed.length > 0) {
          await emitUserTransition(sql, userId, {
            before: current.status,
            cause: { actor: actorOf(ctx) },
            changedFields: changed,
            bump: true,
          });
        }
      }
    });
    return ctx.em.findOneOrFail(User, { id: userId }, { refresh: true });
  }

  @Guard(Permission.USER_MANAGE)
  @Mutation(() => Boolean, {
    description:
      'Delete a manual user at once, with its aliases and phones. A synced user is READ_ONLY: remove it from the source (or from the selected groups) instead.',
  })
  async deleteUser(@Arg('id', () => ID) id: string, @Ctx() ctx: IdentityContext): Promise<boolean> {
    const userId = requireUuid(id, 'id');
    await ctx.db.tx(async (sql) => {
      const current = await lockUser(sql, userId);
      refuseSyncedUser(current, 'deleted', []);
      const gone = await sql.rows<Parameters<typeof emitUsersPurged>[1][number]>(
        `delete from users u where u.id = ? returning ${USER_EVENT_COLUMNS}`,
        [userId],
      );
      // A manual user has no restore window: deleted is gone (PURGED).
      emitUsersPurged(sql, gone, { actor: actorOf(ctx) });
    });
    return true;
  }

  @Guard(Permission.USER_MANAGE)
  @Mutation(() => User, {
    description:
      'Set or clear the bypass of any user (synced or manual). Syncs keep it: the status is BYPASS while the user is neither disabled (by its source) nor pending deletion, and becomes BYPASS again when the source enables the user or it is restored.',
  })
  async setUserBypass(
    @Arg('id', () => ID) id: string,
    @Arg('bypass', () => Boolean) bypass: boolean,
    @Ctx() ctx: IdentityContext,
  ): Promise<User> {
    const userId = requireUuid(id, 'id');
    await ctx.db.tx(async (sql) => {
      const current = await lockUser(sql, userId);
      const changed = await sql.exec(
        `update users set bypass = ?,
           status = case when status in ('active', 'bypass')
                         then case when ? then 'bypass' else 'active' end
                         else status end,
           updated_at = now()
         where id = ? and bypass is distinct from ?`,
        [bypass, bypass, userId, bypass],
      );
      if (changed > 0) {
        // No transition of its own: an UPDATED event with "bypass" (and "status" if it moved).
        const [now] = await sql.rows<{ status: string }>('select status from users where id = ?', [
          userId,
        ]);
        await emitUserTransition(sql, userId, {
          before: current.status,
          cause: { actor: actorOf(ctx) },
          changedFields: now?.status !== current.status ? ['bypass', 'status'] : ['bypass'],
          bump: true,
          transition: Transition.UPDATED,
        });
      }
    });
    return ctx.em.findOneOrFail(User, { id: userId }, { refresh: true });
  }
}

/** Who made an operator's change, for its lifecycle events (a principal id, never a secret). */
function actorOf(ctx: IdentityContext): string {
  return ctx.principal?.id ?? '';
}
