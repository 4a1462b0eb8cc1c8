import {
  ErrorCode,
  Transition,
  SyncMode,
  UserOutcome,
  errorCodeName,
  type ObjectError,
  type ObservedUser,
} from '@dirsync/proto';
import type { Sql } from '../db/sql.js';
import {
  diffFields,
  errorChange,
  recordMemberships,
  type MembershipRow,
  statusName,
  type Change,
  type UserFieldValues,
} from './changes.js';
import { MEMBERSHIP_ROWS, NO_PAIRS } from './complete.js';
import { USER_LIMITS } from './limits.js';
import { lockNames } from './names.js';
import {
  hasNul,
  nameKey,
  normalizeUser,
  storedUserId,
  storable,
  unusableAliases,
  unusableUser,
  userContentHash,
  type NormalizedUser,
} from './normalize.js';
import { objectError, type RunState } from './run.repository.js';
import { emitLifecycle, syncTransition, userEvent } from '../lifecycle/lifecycle.outbox.js';

interface ExistingUser {
  id: string;
  /** null: a manual user. */
  external_id: string | null;
  /** null: a manual user; another directory's id: a user that directory holds. */
  directory_id: string | null;
  username_key: string;
  status: string;
  content_hash: string | null;
  /** Why it is pending deletion ('directory_deleted': its directory is gone). */
  removal_reason: string | null;
}

interface WrittenUser {
  id: string;
  external_id: string;
  inserted: boolean;
  status: string;
  version: number;
  username: string;
  email: string | null;
  display_name: string | null;
  /** The row before the write; null for an inserted user. */
  old: OldUser | null;
}

/** A written user's row before the write, as APPLY_USERS returns it. */
interface OldUser {
  username: string;
  email: string | null;
  displayName: string | null;
  firstName: string | null;
  lastName: string | null;
  status: string;
  previousStatus: string | null;
  customAttributes: Record<string, string>;
  sourceLocator: string | null;
  aliases: string[];
  phones: { number: string; kind: string }[];
}

/**
 * One statement per batch: upsert the users that changed, bring their aliases and phones to the
 * observed lists (positions beyond the new length deleted, changed positions updated, the rest
 * left alone), and stage every observed external id as seen.
 */
const APPLY_USERS = `
with input as (
  select * from unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[],
    ?::text[], ?::boolean[], ?::text[], ?::text[], ?::text[], ?::int[], ?::int[])
    as t(external_id, username, username_key, display_name, first_name, last_name, email,
      disabled, custom_attributes, source_locator, content_hash, alias_count, phone_count)
),
-- The written users that exist (by id, from the lookup before) as they were: every
-- sub-statement of one WITH sees the same snapshot, so this reads the rows before the upsert
-- below changes them (for the per-field changes). A new user costs nothing here.
old as (
  select u.external_id, u.username, u.email, u.display_name, u.first_name, u.last_name,
    u.status, u.previous_status, u.custom_attributes, u.source_locator,
    array(select a.alias from user_aliases a where a.user_id = u.id order by a.position)
      as aliases,
    coalesce((select jsonb_agg(jsonb_build_object('number', p.number, 'kind', p.kind)
                               order by p.position)
              from user_phones p where p.user_id = u.id), '[]'::jsonb) as phones
  from unnest(?::uuid[]) as x(id)
  cross join lateral (select * from users u where u.id = x.id) u
),
up as (
  insert into users as u (directory_id, external_id, username, username_key, display_name,
    first_name, last_name, email, status, custom_attributes, source_locator, content_hash)
  select ?, i.external_id, i.username, i.username_key, i.display_name, i.first_name,
    i.last_name, i.email, case when i.disabled then 'disabled' else 'active' end,
    i.custom_attributes::jsonb, i.source_locator, i.content_hash
  from input i
  on conflict (directory_id, external_id) do update set
    username = excluded.username,
    username_key = excluded.username_key,
    display_name = excluded.display_name,
    first_name = excluded.first_name,
    last_name = excluded.last_name,
    email = excluded.email,
    custom_attributes = excluded.custom_attributes,
    source_locator = excluded.source_locator,
    content_hash = excluded.content_hash,
    -- The source decides disabled or not; an operator's bypass (the flag) survives syncs, so
    -- a bypass user disabled in the source is disabled, and re-enabled is bypass again (also
    -- across a pending deletion and its restore).
    status = case
      when excluded.status = 'disabled' then 'disabled'
      when u.bypass then 'bypass'
      else 'active'
    end,
    previous_status = case when u.status = 'pending_deletion' then null else u.previous_status end,
    removal_reason = null,
    pending_deletion_at = null,
    purge_after = null,
    version = u.version + 1,
    updated_at = now(),
    synced_at = now()
  where u.content_hash is distinct from excluded.content_hash or u.status = 'pending_deletion'
  returning u.id, u.external_id, (u.xmax = 0) as inserted, u.status, u.version, u.username,
    u.email, u.display_name
),
alias_in as (
  select * from unnest(?::text[], ?::smallint[], ?::text[], ?::text[])
    as t(external_id, position, alias, alias_key)
),
alias_up as (
  insert into user_aliases as a (user_id, position, alias, alias_key)
  select up.id, ai.position, ai.alias, ai.alias_key from alias_in ai join up using (external_id)
  on conflict (user_id, position) do update set alias = excluded.alias,
    alias_key = excluded.alias_key
  where a.alias is distinct from excluded.alias
),
alias_cut as (
  delete from user_aliases a using up join input i using (external_id)
  where a.user_id = up.id and not up.inserted and a.position >= i.alias_count
),
phone_in as (
  select * from unnest(?::text[], ?::smallint[], ?::text[], ?::text[])
    as t(external_id, position, number, kind)
),
phone_up as (
  insert into user_phones as p (user_id, position, number, kind)
  select up.id, pi.position, pi.number, pi.kind from phone_in pi join up using (external_id)
  on conflict (user_id, position) do update set number = excluded.number, kind = excluded.kind
  where (p.number, p.kind) is distinct from (excluded.number, excluded.kind)
),
phone_cut as (
  delete from user_phones p using up join input i using (external_id)
  where p.user_id = up.id and not up.inserted and p.position >= i.phone_count
),
seen as (
  insert into run_seen_users (run_id, external_id) select ?, unnest(?::text[])
)
select up.id, up.external_id, up.inserted, up.status, up.version, up.username, up.email,
  up.display_name,
  case when old.external_id is null then null else jsonb_build_object(
    'username', old.username, 'email', old.email, 'displayName', old.display_name,
    'firstName', old.first_name, 'lastName', old.last_name, 'status', old.status,
    'previousStatus', old.previous_status, 'customAttributes', old.custom_attributes,
    'sourceLocator', old.source_locator, 'aliases', to_jsonb(old.aliases),
    'phones', old.phones) end as old
from up left join old using (external_id)`;

/**
 * The records of a `UserBatch` identity can store (normalised; the same record twice in a batch:
 * the later observation is the current one), the per-object errors of the others, and the
 * external ids of those refused for their username (still in the source, so protected from the
 * sweep). `users.length` is what the batch adds to the run's `seen`.
 */
function readUserBatch(observed: readonly ObservedUser[]): {
  users: NormalizedUser[];
  errors: ObjectError[];
  unreadable: string[];
} {
  const errors: ObjectError[] = [];
  const byExt = new Map<string, NormalizedUser>();
  const unreadable: string[] = [];
  for (const raw of observed) {
    const problem = unusableUser(raw);
    const u = problem ? undefined : normalizeUser(raw);
    if (!u) {
      const { code, message } = problem ?? {
        code: ErrorCode.INVALID_ATTRIBUTE,
        message: 'the user cannot be stored',
      };
      errors.push(
        objectError(code, message, storable(raw.externalId.trim()), storable(raw.sourceLocator)),
      );
      const ext = raw.externalId.trim();
      if (ext && !hasNul(ext)) unreadable.push(ext);
      continue;
    }
    for (const { code, message } of unusableAliases(raw)) {
      errors.push(objectError(code, message, u.externalId, storable(raw.sourceLocator)));
    }
    byExt.delete(u.externalId);
    byExt.set(u.externalId, u);
  }
  return { users: [...byExt.values()], errors, unreadable };
}

/**
 * What applying this `UserBatch` adds to the run's `seen` — `applyUserBatch` counts with the
 * same function, so a dry run's progress (dry-run.ts) and its plan agree.
 */
export function countSeenUsers(observed: readonly ObservedUser[]): number {
  // readUserBatch keeps one user per distinct storedUserId (normalizeUser's externalId).
  const ids = new Set<string>();
  for (const raw of observed) {
    const id = storedUserId(raw);
    if (id !== undefined) ids.add(id);
  }
  return ids.size;
}

/**
 * Apply one `UserBatch`: upsert what changed, stage what was observed, count. A user whose
 * username another user of the directory holds is reported (`DUPLICATE_USERNAME`) and skipped;
 * the rest of the batch applies. A new record whose username a `pending_deletion` user holds
 * claims that user instead (see `resolveUsernames`). A record without external id or username,
 * or with a U+0000 in either, is reported and skipped (but, when it has a usable external id,
 * still protected from the sweep: it is in the source).
 */
export async function applyUserBatch(
  sql: Sql,
  run: RunState,
  observed: readonly ObservedUser[],
): Promise<ObjectError[]> {
  const { users, errors, unreadable } = readUserBatch(observed);
  const counts = run.counts;
  counts.seen += users.length;
  // The usernames of refused records, for their error changes.
  const rawUsername = new Map(observed.map((r) => [storable(r.externalId.trim()), r.username]));
  if (users.length === 0) {
    counts.errors += errors.length;
    for (const e of errors) {
      run.changes.push(
        errorChange(run, e, errorCodeName(e.code), {
          username: storable(rawUsername.get(e.externalId) ?? '').trim(),
        }),
      );
    }
    if (run.mode === SyncMode.USER && errors.length > 0) run.userOutcome = UserOutcome.ERROR;
    if (unreadable.length > 0) {
      await sql.exec(
        'insert into run_seen_users (run_id, external_id) select ?, unnest(?::text[])',
        [run.runId, unreadable],
      );
    }
    return errors;
  }

  // Per-user limits: the first values in source order are kept, the rest reported (never
  // dropped silently).
  for (const u of users) errors.push(...applyLimits(u));
  const modified = new Set(users.filter((u) => errors.some((e) => e.externalId === u.externalId)));

  // Names are unique across dirsync (names.ts): checked and written under the names lock.
  await lockNames(sql);
  // One index lookup per record (lateral): planned the same however stale the statistics are,
  // where a plain `= any(array)` may filter the whole directory against the array instead.
  const own = await sql.rows<ExistingUser>(
    `select u.id, u.external_id, u.directory_id, u.username_key, u.status, u.content_hash,
       u.removal_reason
     from unnest(?::text[]) as x(ext)
     cross join lateral (
       select * from users u where u.directory_id = ? and u.external_id = x.ext limit 1) u`,
    [users.map((u) => u.externalId), run.directoryId],
  );
  const existingByExt = new Map(own.map((e) => [e.external_id!, e]));
  // Only records that are new or changed need their names looked up across dirsync (usernames
  // of any directory and of manual users, aliases): an unchanged record stores what it was last
  // written with, names that were free then and that nobody can have taken since (they would
  // have been refused). A record with a name conflict is never "unchanged": its stored hash is
  // of what was stored without the name (userContentHash), so it is looked up and reported at
  // every run. This keeps an unchanged re-sync at one lookup per record.
  const changing = new Set(
    users.filter((u) => {
      const e = existingByExt.get(u.externalId);
      return (
        !e ||
        e.content_hash !== u.contentHash ||
        e.status === 'pending_deletion' ||
        e.username_key !== u.usernameKey
      );
    }),
  );
  const keys = [
    ...new Set([...changing].flatMap((u) => [u.usernameKey, ...u.aliases.map(nameKey)])),
  ];
  const held =
    keys.length === 0
      ? []
      : await sql.rows<ExistingUser>(
          `select u.id, u.external_id, u.directory_id, u.username_key, u.status, u.content_hash,
       u.removal_reason
           from unnest(?::text[]) as x(key)
           cross join lateral (select * from users u where u.username_key = x.key limit 1) u`,
          [keys],
        );
  // `offset 0` keeps the lateral a per-key index lookup: without it the planner flattens the
  // subquery into a join and, before the aliases are analyzed, sorted the whole table for every
  // batch (a merge join: 23 s of a 54 s 100k first import).
  const aliasRows =
    keys.length === 0
      ? []
      : await sql.rows<{ key: string; user_id: string }>(
          `select x.key, a.user_id
           from unnest(?::text[]) as x(key)
           cross join lateral (
             select a.user_id from user_aliases a where a.alias_key = x.key offset 0) a`,
          [keys],
        );
  for (const e of held) {
    if (e.directory_id === run.directoryId && e.external_id !== null) {
      if (!existingByExt.has(e.external_id)) existingByExt.set(e.external_id, e);
    }
  }
  const existing = [...own, ...held];
  const existingByKey = new Map(existing.map((e) => [e.username_key, e]));
  const aliasHolders = new Map<string, string[]>();
  for (const r of aliasRows)
    aliasHolders.set(r.key, [...(aliasHolders.get(r.key) ?? []), r.user_id]);

  // Usernames held outside this directory (a manual user, another directory's user) or as
  // another user's alias are decided here; the rest by resolveUsernames.
  const { local, foreignClaims, conflicts, duplicates } = resolveForeign(
    run,
    users,
    existingByExt,
    existingByKey,
    aliasHolders,
  );
  const rejected = new Set<NormalizedUser>(duplicates);
  const claims = new Map<NormalizedUser, ExistingUser>();
  const acceptedLocal = new Set(
    resolveUsernames(local, existingByExt, existingByKey, rejected, claims),
  );
  const accepted = users.filter((u) => acceptedLocal.has(u) || foreignClaims.has(u));
  // A claimed record is, from here on, the user it claims.
  for (const [u, holder] of [...claims, ...foreignClaims]) existingByExt.set(u.externalId, holder);
  const holderOf = new Map<ObjectError, string>();
  for (const u of rejected) {
    errors.push(
      objectError(
        ErrorCode.DUPLICATE_USERNAME,
        `username "${u.username}" is already used by another user of this directory`,
        u.externalId,
        u.sourceLocator ?? '',
      ),
    );
  }
  for (const [u, c] of conflicts) {
    const e = objectError(
      ErrorCode.USERNAME_CONFLICT,
      c.message,
      u.externalId,
      u.sourceLocator ?? '',
    );
    holderOf.set(e, c.holderId);
    errors.push(e);
  }
  for (const { user, error, holderId } of aliasConflicts(
    accepted.filter((u) => changing.has(u)),
    existingByExt,
    existingByKey,
    aliasHolders,
  )) {
    holderOf.set(error, holderId);
    errors.push(error);
    modified.add(user);
  }
  // What is stored is what the hash describes (userContentHash).
  for (const u of modified) u.contentHash = userContentHash(u);

  const toWrite = accepted.filter((u) => {
    const e = existingByExt.get(u.externalId);
    return (
      !e ||
      e.content_hash !== u.contentHash ||
      e.status === 'pending_deletion' ||
      e.username_key !== u.usernameKey ||
      foreignClaims.has(u)
    );
  });
  // The memberships users taken from another directory (TAKE_OVER) lost there.
  const lostMemberships: MembershipRow[] = [];
  const written = await writeUsers(
    sql,
    run,
    toWrite,
    existingByExt,
    claims,
    foreignClaims,
    [...users.map((u) => u.externalId), ...unreadable],
    lostMemberships,
  );
  const writtenByExt = new Map(written.map((w) => [w.external_id, w]));

  const writtenUsers = new Map(toWrite.map((u) => [u.externalId, u]));
  const claimedFrom = new Map([...claims].map(([u, holder]) => [u.externalId, holder]));
  const changesBefore = run.changes.length;
  const takenFrom = new Map([...foreignClaims].map(([u, holder]) => [u.externalId, holder]));
  for (const w of written) {
    const before = existingByExt.get(w.external_id);
    if (w.inserted) counts.created += 1;
    else if (before?.status === 'pending_deletion') counts.restored += 1;
    else counts.updated += 1;
    if (takenFrom.has(w.external_id)) counts.claimed += 1;
    if (w.status === 'disabled' && before?.status !== 'disabled') counts.disabled += 1;
    // Enabled again by the source: back to the status it had before (active, or bypass).
    if (before?.status === 'disabled' && w.status !== 'disabled') counts.enabled += 1;
    const u = writtenUsers.get(w.external_id);
    if (u) {
      userChanges(run, u, w, before, claimedFrom.get(w.external_id), takenFrom.get(w.external_id));
    }
  }
  counts.unchanged += accepted.length - written.length;
  // After the users' own changes (changes.ts rule 4); memberships emit no lifecycle event.
  recordMemberships(run, lostMemberships);
  emitUserWrites(
    sql,
    run,
    written,
    existingByExt,
    eventsOfChanges(run.changes.slice(changesBefore)),
  );
  const byExternal = new Map(users.map((u) => [u.externalId, u]));
  for (const e of errors) {
    if (isConflict(e.code)) counts.conflicts += 1;
    else counts.errors += 1;
    const u = byExternal.get(e.externalId);
    const own = u ? existingByExt.get(u.externalId) : undefined;
    const holder = holderOf.get(e) ?? (u ? existingByKey.get(u.usernameKey)?.id : undefined);
    run.changes.push(
      errorChange(run, e, errorCodeName(e.code), {
        userId: own?.id,
        username: u?.username ?? storable(rawUsername.get(e.externalId) ?? '').trim(),
        holderUserId: holder && holder !== own?.id ? holder : undefined,
      }),
    );
  }

  if (run.mode === SyncMode.USER) {
    recordUserOutcome(run, users, rejected, conflicts, existingByExt, writtenByExt);
  }
  return errors;
}

/** USERNAME_CONFLICT and ALIAS_CONFLICT count as conflicts (RunCounts.conflicts), not errors. */
function isConflict(code: ErrorCode): boolean {
  return code === ErrorCode.USERNAME_CONFLICT || code === ErrorCode.ALIAS_CONFLICT;
}

/**
 * Keep the first `USER_LIMITS` values of a user in source order and report the rest as one
 * LIMIT_EXCEEDED error per list. The user is imported with what fits — skipping a person for
 * their 101st phone number would lock them out for a detail — and the error names what was
 * left out, every run, until the source is fixed.
 */
function applyLimits(u: NormalizedUser): ObjectError[] {
  const out: ObjectError[] = [];
  if (u.aliases.length > USER_LIMITS.aliases) {
    const dropped = u.aliases.slice(USER_LIMITS.aliases);
    u.aliases = u.aliases.slice(0, USER_LIMITS.aliases);
    out.push(
      objectError(
        ErrorCode.LIMIT_EXCEEDED,
        `${u.username} has ${USER_LIMITS.aliases + dropped.length} aliases; at most ${USER_LIMITS.aliases} are imported, left out: ${dropped.map((a) => `"${a}"`).join(', ')}`,
        u.externalId,
        u.sourceLocator ?? '',
      ),
    );
  }
  if (u.phones.length > USER_LIMITS.phones) {
    const dropped = u.phones.length - USER_LIMITS.phones;
    u.phones = u.phones.slice(0, USER_LIMITS.phones);
    out.push(
      objectError(
        ErrorCode.LIMIT_EXCEEDED,
        `${u.username} has ${USER_LIMITS.phones + dropped} phone numbers; the first ${USER_LIMITS.phones} are imported, ${dropped} left out`,
        u.externalId,
        u.sourceLocator ?? '',
      ),
    );
  }
  return out;
}

/**
 * Records whose username is held outside this directory, or is another user's alias:
 *
 * - a manual user's username → the record claims it (`foreignClaims`: same id, now synced);
 * - another directory's user's username → `USERNAME_CONFLICT` (policy REPORT: nothing imported,
 *   the other user left alone), or with TAKE_OVER the record claims it (the user moves to this
 *   directory, same id);
 * - another user's alias → `USERNAME_CONFLICT`, whatever the policy.
 *
 * A record that already is a user of this directory (renamed into such a username) never
 * claims: two users are never merged, so it is a conflict. Two records of this batch with the
 * same such username: the first one is decided, the others are DUPLICATE_USERNAME (the
 * directory itself is inconsistent). Every other record is `local`.
 */
function resolveForeign(
  run: RunState,
  users: readonly NormalizedUser[],
  existingByExt: ReadonlyMap<string, ExistingUser>,
  existingByKey: ReadonlyMap<string, ExistingUser>,
  aliasHolders: ReadonlyMap<string, string[]>,
): {
  local: NormalizedUser[];
  foreignClaims: Map<NormalizedUser, ExistingUser>;
  conflicts: Map<NormalizedUser, { holderId: string; message: string }>;
  duplicates: NormalizedUser[];
} {
  const local: NormalizedUser[] = [];
  const foreignClaims = new Map<NormalizedUser, ExistingUser>();
  const conflicts = new Map<NormalizedUser, { holderId: string; message: string }>();
  const duplicates: NormalizedUser[] = [];
  const decided = new Set<string>();
  for (const u of users) {
    const own = existingByExt.get(u.externalId);
    const holder = existingByKey.get(u.usernameKey);
    const aliasOf = (aliasHolders.get(u.usernameKey) ?? []).find(
      (id) => id !== own?.id && id !== holder?.id,
    );
    const foreign = holder !== undefined && holder.directory_id !== run.directoryId;
    if (!foreign && aliasOf === undefined) {
      local.push(u);
      continue;
    }
    if (decided.has(u.usernameKey)) {
      duplicates.push(u);
      continue;
    }
    decided.add(u.usernameKey);
    if (aliasOf !== undefined) {
      conflicts.set(u, {
        holderId: aliasOf,
        message: `username "${u.username}" is an alias of another user (${aliasOf}); usernames and aliases are unique across dirsync, so the record is not imported`,
      });
      continue;
    }
    const h = holder!;
    const where =
      h.directory_id === null ? 'a manual user' : `a user of directory ${h.directory_id}`;
    if (own) {
      conflicts.set(u, {
        holderId: h.id,
        message: `username "${u.username}" is held by ${where} (${h.id}); this record already is user ${own.id}, and two users are never merged, so it keeps its username`,
      });
    } else if (
      h.directory_id === null ||
      // Its directory was deleted: nothing can bring it back there, so this record claims it
      // (same id, restored) instead of waiting for the purge.
      (h.status === 'pending_deletion' && h.removal_reason === 'directory_deleted') ||
      run.conflictPolicy === 'TAKE_OVER'
    ) {
      foreignClaims.set(u, h);
    } else {
      conflicts.set(u, {
        holderId: h.id,
        message: `username "${u.username}" is held by ${where} (${h.id}); not imported: this directory's conflict policy is REPORT (TAKE_OVER would move that user here)`,
      });
    }
  }
  return { local, foreignClaims, conflicts, duplicates };
}

/**
 * Aliases another user has as username or alias (in the database, or in this batch: a
 * username of the batch wins over an alias, an earlier record's alias over a later one's) are
 * left out of the user and reported as one ALIAS_CONFLICT per user; the rest of the user is
 * imported. An alias equal to the user's own username is no conflict.
 */
function aliasConflicts(
  accepted: readonly NormalizedUser[],
  existingByExt: ReadonlyMap<string, ExistingUser>,
  existingByKey: ReadonlyMap<string, ExistingUser>,
  aliasHolders: ReadonlyMap<string, string[]>,
): { user: NormalizedUser; error: ObjectError; holderId: string }[] {
  const out: { user: NormalizedUser; error: ObjectError; holderId: string }[] = [];
  const usernames = new Map(accepted.map((u) => [u.usernameKey, u]));
  const aliasTaken = new Map<string, NormalizedUser>();
  for (const u of accepted) {
    const self = existingByExt.get(u.externalId)?.id;
    const kept: string[] = [];
    const dropped: string[] = [];
    let holderId = '';
    for (const a of u.aliases) {
      const k = nameKey(a);
      if (k === u.usernameKey) {
        kept.push(a);
        continue;
      }
      const byName = existingByKey.get(k);
      const dbHolder =
        byName && byName.id !== self
          ? byName.id
          : (aliasHolders.get(k) ?? []).find((id) => id !== self);
      const batchHolder = usernames.get(k) ?? aliasTaken.get(k);
      if (dbHolder !== undefined || (batchHolder !== undefined && batchHolder !== u)) {
        dropped.push(a);
        holderId ||= dbHolder ?? existingByExt.get(batchHolder!.externalId)?.id ?? '';
        continue;
      }
      aliasTaken.set(k, u);
      kept.push(a);
    }
    if (dropped.length === 0) continue;
    u.aliases = kept;
    out.push({
      user: u,
      holderId,
      error: objectError(
        ErrorCode.ALIAS_CONFLICT,
        `${u.username}: ${dropped.map((a) => `"${a}"`).join(', ')} ${dropped.length === 1 ? 'is' : 'are'} already another user's username or alias (unique across dirsync); imported without ${dropped.length === 1 ? 'it' : 'them'}`,
        u.externalId,
        u.sourceLocator ?? '',
      ),
    });
  }
  return out;
}

/**
 * Decide which users may take their username. Within the batch the current holder of a key (or
 * else a record that claims it, or else the first record) wins; against the database a key is
 * free when its holder is renamed away in this same batch. Rejecting one user can keep another's
 * key taken, so repeat until nothing changes.
 *
 * A record identity has never seen (new external id) whose username is held by a
 * `pending_deletion` user that this batch does not observe under its own external id *claims*
 * that user (`claims`): the source deleted and re-created the entry inside the restore window
 * (OpenLDAP gives the new entry a new entryUUID), and the user is restored, not duplicated. A
 * live holder, or a pending one observed in this batch, keeps its username (DUPLICATE_USERNAME
 * for the newcomer, as before); so does a pending holder when the newcomer's external id is
 * already a user of its own (two records cannot be merged).
 */
function resolveUsernames(
  users: readonly NormalizedUser[],
  existingByExt: ReadonlyMap<string, ExistingUser>,
  existingByKey: ReadonlyMap<string, ExistingUser>,
  rejected: Set<NormalizedUser>,
  claims: Map<NormalizedUser, ExistingUser>,
): NormalizedUser[] {
  const inputByExt = new Map(users.map((u) => [u.externalId, u]));
  const claimable = (u: NormalizedUser, holder: ExistingUser | undefined): boolean =>
    holder !== undefined &&
    holder.status === 'pending_deletion' &&
    holder.external_id !== u.externalId &&
    !inputByExt.has(holder.external_id ?? '') &&
    !existingByExt.has(u.externalId);
  const accepted = new Set<NormalizedUser>();
  const byKey = new Map<string, NormalizedUser[]>();
  for (const u of users) {
    const list = byKey.get(u.usernameKey);
    if (list) list.push(u);
    else byKey.set(u.usernameKey, [u]);
  }
  for (const [key, list] of byKey) {
    const holder = existingByKey.get(key);
    const winner =
      list.find((u) => u.externalId === holder?.external_id) ??
      list.find((u) => claimable(u, holder)) ??
      list[0];
    for (const u of list) (u === winner ? accepted : rejected).add(u);
    if (winner && holder && claimable(winner, holder)) claims.set(winner, holder);
  }
  for (let changed = true; changed; ) {
    changed = false;
    for (const u of accepted) {
      const holder = existingByKey.get(u.usernameKey);
      if (!holder || holder.external_id === u.externalId || claims.has(u)) continue;
      const moving = inputByExt.get(holder.external_id ?? '');
      if (moving && accepted.has(moving) && moving.usernameKey !== u.usernameKey) continue;
      accepted.delete(u);
      rejected.add(u);
      changed = true;
    }
  }
  return users.filter((u) => accepted.has(u));
}

async function writeUsers(
  sql: Sql,
  run: RunState,
  users: readonly NormalizedUser[],
  existing: ReadonlyMap<string, ExistingUser>,
  claims: ReadonlyMap<NormalizedUser, ExistingUser>,
  foreignClaims: ReadonlyMap<NormalizedUser, ExistingUser>,
  observed: readonly string[],
  lostMemberships: MembershipRow[],
): Promise<WrittenUser[]> {
  if (foreignClaims.size > 0) {
    // Manual users and (TAKE_OVER) other directories' users move into this directory under the
    // record's external id; the upsert below then writes them like any changed user (the null
    // hash makes sure it does). A user taken from another directory leaves that directory's
    // groups; its memberships here are resolved at completion, as for anyone.
    const taken = [...foreignClaims];
    const moved = await sql.exec(
      `update users u set directory_id = ?, external_id = c.external_id, content_hash = null
       from unnest(?::uuid[], ?::text[]) as c(id, external_id)
       where u.id = c.id and u.directory_id is distinct from ?`,
      [
        run.directoryId,
        taken.map(([, holder]) => holder.id),
        taken.map(([u]) => u.externalId),
        run.directoryId,
      ],
    );
    if (moved !== taken.length) {
      throw new Error(`claimed ${taken.length} users of other directories but moved ${moved}`);
    }
    // Recorded like every membership removal (a `membership` change with the groups it lost,
    // counted in membershipsRemoved), by the caller after the user's own changes.
    lostMemberships.push(
      ...(await sql.rows<MembershipRow>(
        `with removed as (
           delete from memberships where user_id = any(?::uuid[])
           returning group_id, user_id
         ),
         added as (${NO_PAIRS}),
         ${MEMBERSHIP_ROWS}`,
        [taken.filter(([, holder]) => holder.directory_id !== null).map(([, holder]) => holder.id)],
      )),
    );
  }
  if (claims.size > 0) {
    // The claimed users take their new external id first; the upsert below then finds them
    // under it and restores them like any pending user observed again (same id, attributes,
    // aliases and phones brought to the observation, bypass kept).
    const claimed = [...claims];
    const moved = await sql.exec(
      `update users u set external_id = c.external_id
       from unnest(?::uuid[], ?::text[]) as c(id, external_id)
       where u.id = c.id and u.directory_id = ? and u.status = 'pending_deletion'`,
      [claimed.map(([, holder]) => holder.id), claimed.map(([u]) => u.externalId), run.directoryId],
    );
    if (moved !== claimed.length) {
      throw new Error(`claimed ${claimed.length} pending users but moved ${moved}`);
    }
  }
  const alias = {
    ext: [] as string[],
    pos: [] as number[],
    value: [] as string[],
    key: [] as string[],
  };
  const phone = {
    ext: [] as string[],
    pos: [] as number[],
    number: [] as string[],
    kind: [] as string[],
  };
  for (const u of users) {
    u.aliases.forEach((a, i) => {
      alias.ext.push(u.externalId);
      alias.pos.push(i);
      alias.value.push(a);
      alias.key.push(nameKey(a));
    });
    u.phones.forEach((p, i) => {
      phone.ext.push(u.externalId);
      phone.pos.push(i);
      phone.number.push(p.number);
      phone.kind.push(p.kind);
    });
  }
  return sql.rows<WrittenUser>(APPLY_USERS, [
    users.map((u) => u.externalId),
    users.map((u) => u.username),
    users.map((u) => u.usernameKey),
    users.map((u) => u.displayName),
    users.map((u) => u.firstName),
    users.map((u) => u.lastName),
    users.map((u) => u.email),
    users.map((u) => u.disabled),
    users.map((u) => JSON.stringify(u.customAttributes)),
    users.map((u) => u.sourceLocator),
    users.map((u) => u.contentHash),
    users.map((u) => u.aliases.length),
    users.map((u) => u.phones.length),
    users.flatMap((u) => {
      const id = (claims.get(u) ?? foreignClaims.get(u) ?? existing.get(u.externalId))?.id;
      return id ? [id] : [];
    }),
    run.directoryId,
    alias.ext,
    alias.pos,
    alias.value,
    alias.key,
    phone.ext,
    phone.pos,
    phone.number,
    phone.kind,
    run.runId,
    observed,
  ]);
}

/**
 * One lifecycle event per written user (each write bumped its version): created, restored,
 * disabled, enabled or updated (see `syncTransition`).
 */
function emitUserWrites(
  sql: Sql,
  run: RunState,
  written: readonly WrittenUser[],
  existingByExt: ReadonlyMap<string, ExistingUser>,
  fromChanges: ReadonlyMap<string, { transition: Transition; fields: string[] }>,
): void {
  if (written.length === 0) return;
  const at = BigInt(Date.now());
  const cause = { runId: run.runId };
  emitLifecycle(
    sql,
    written.map((w) => {
      const before = w.inserted ? undefined : existingByExt.get(w.external_id)?.status;
      const change = fromChanges.get(w.id);
      const transition = change?.transition ?? syncTransition(before, w.status);
      return userEvent(
        transition,
        {
          id: w.id,
          directoryId: run.directoryId,
          externalId: w.external_id,
          username: w.username,
          email: w.email,
          displayName: w.display_name,
          status: w.status,
          previousStatus: before ?? null,
          version: w.version,
        },
        cause,
        change?.fields ?? (before !== undefined && before !== w.status ? ['status'] : []),
        at,
      );
    }),
  );
}

/**
 * Each written user's event from the batch's per-object changes (changes.ts): the transition —
 * `created` and `restored` first, then `disabled` / `enabled`, else `updated` (one write is one
 * version, so one event) — and `changed_fields`, the fields an `updated` change lists (old → new
 * per GraphQL field); for `restored`, "status" and whatever else changed while the user was
 * away; none for `created`.
 */
function eventsOfChanges(
  changes: readonly Change[],
): Map<string, { transition: Transition; fields: string[] }> {
  const byUser = new Map<string, { kinds: Set<string>; fields: string[] }>();
  for (const c of changes) {
    if (
      c.kind !== 'created' &&
      c.kind !== 'restored' &&
      c.kind !== 'updated' &&
      c.kind !== 'disabled' &&
      c.kind !== 'enabled' &&
      c.kind !== 'claimed'
    ) {
      continue;
    }
    const entry = byUser.get(c.userId) ?? { kinds: new Set<string>(), fields: [] };
    byUser.set(c.userId, entry);
    entry.kinds.add(c.kind);
    if (c.kind === 'updated') entry.fields = c.fields.map((f) => f.field);
    if (c.kind === 'restored') {
      entry.fields = ['status', ...c.fields.map((f) => f.field).filter((f) => f !== 'status')];
    }
    // A manual user (or, TAKE_OVER, another directory's) now belongs to the run's directory.
    if (c.kind === 'claimed') entry.fields = [...entry.fields, 'directoryId'];
  }
  const out = new Map<string, { transition: Transition; fields: string[] }>();
  for (const [id, { kinds, fields }] of byUser) {
    const transition = kinds.has('created')
      ? Transition.CREATED
      : kinds.has('restored')
        ? Transition.RESTORED
        : kinds.has('disabled')
          ? Transition.DISABLED
          : kinds.has('enabled')
            ? Transition.ENABLED
            : Transition.UPDATED;
    out.set(id, { transition, fields: transition === Transition.CREATED ? [] : fields });
  }
  return out;
}

/** USER runs report what happened to the requested user in the final RunUpdate. */
function recordUserOutcome(
  run: RunState,
  users: readonly NormalizedUser[],
  rejected: ReadonlySet<NormalizedUser>,
  conflicts: ReadonlyMap<NormalizedUser, unknown>,
  existingByExt: ReadonlyMap<string, ExistingUser>,
  writtenByExt: ReadonlyMap<string, WrittenUser>,
): void {
  const wanted = run.username ? nameKey(run.username) : undefined;
  const u = users.find((x) => x.usernameKey === wanted) ?? users[0];
  if (!u) return;
  const before = existingByExt.get(u.externalId);
  const w = writtenByExt.get(u.externalId);
  if (conflicts.has(u)) {
    run.userOutcome = UserOutcome.CONFLICT;
    run.userId = before?.id ?? null;
  } else if (rejected.has(u)) {
    run.userOutcome = UserOutcome.ERROR;
    run.userId = before?.id ?? null;
  } else if (w) {
    run.userOutcome = w.inserted
      ? UserOutcome.CREATED
      : before?.status === 'pending_deletion'
        ? UserOutcome.RESTORED
        : UserOutcome.UPDATED;
    run.userId = w.id;
  } else {
    run.userOutcome = UserOutcome.UNCHANGED;
    run.userId = before?.id ?? null;
  }
}

/** A user's synced fields as GraphQL shows them (changes.ts, rule 5). */
function fieldValues(
  u: Omit<OldUser, 'previousStatus' | 'customAttributes'> & {
    externalId: string;
    customAttributes: Record<string, string>;
  },
): UserFieldValues {
  return {
    externalId: u.externalId,
    username: u.username,
    email: u.email,
    displayName: u.displayName,
    firstName: u.firstName,
    lastName: u.lastName,
    status: statusName(u.status),
    aliases: u.aliases,
    phones: u.phones.map((p) => ({ number: p.number, kind: p.kind })),
    customAttributes: Object.keys(u.customAttributes)
      .sort()
      .map((name) => ({ name, value: u.customAttributes[name] ?? '' })),
    sourceLocator: u.sourceLocator,
  };
}

/**
 * The changes of one written user, in the order of changes.ts rule 4, each matching the counter
 * the caller moved for it: created | updated | restored, claimed, then disabled | enabled.
 */
function userChanges(
  run: RunState,
  u: NormalizedUser,
  w: WrittenUser,
  before: ExistingUser | undefined,
  claimedFrom: ExistingUser | undefined,
  takenFrom?: ExistingUser,
): void {
  const ref = {
    runId: run.runId,
    directoryId: run.directoryId,
    userId: w.id,
    externalId: u.externalId,
    username: u.username,
  };
  const now = fieldValues({ ...u, status: w.status });
  // A claimed pending user had its old external id until this batch moved it (writeUsers).
  // So had a user claimed from elsewhere (none for a manual user).
  const oldExternalId = takenFrom
    ? (takenFrom.external_id ?? '')
    : (claimedFrom?.external_id ?? u.externalId);
  const old = w.old ? fieldValues({ ...w.old, externalId: oldExternalId }) : undefined;
  const changes = run.changes;
  if (w.inserted || !old || !w.old) {
    changes.push({ ...ref, kind: 'created', values: now });
  } else if (before?.status === 'pending_deletion') {
    // The status is the restore itself; the fields are what else changed while away.
    const fields = diffFields({ ...old, status: now.status }, now);
    changes.push({ ...ref, kind: 'restored', status: now.status, fields });
  } else {
    changes.push({ ...ref, kind: 'updated', fields: diffFields(old, now) });
  }
  if (takenFrom) {
    changes.push({ ...ref, kind: 'claimed', previousDirectoryId: takenFrom.directory_id ?? '' });
  }
  // Same conditions as the counters in applyUserBatch (changes.ts rule 3).
  if (w.status === 'disabled' && before?.status !== 'disabled') {
    const previous =
      before?.status === 'pending_deletion' ? (w.old?.previousStatus ?? null) : before?.status;
    changes.push({
      ...ref,
      kind: 'disabled',
      previousStatus: previous ? statusName(previous) : null,
    });
  } else if (before?.status === 'disabled' && w.status !== 'disabled') {
    changes.push({ ...ref, kind: 'enabled', status: now.status });
  }
}
