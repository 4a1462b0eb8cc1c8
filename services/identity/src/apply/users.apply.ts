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
  statusName,
  type Change,
  type UserFieldValues,
} from './changes.js';
import {
  hasNul,
  nameKey,
  normalizeUser,
  storable,
  unusableUser,
  type NormalizedUser,
} from './normalize.js';
import { objectError, type RunState } from './run.repository.js';
import { emitLifecycle, syncTransition, userEvent } from '../lifecycle/lifecycle.outbox.js';

interface ExistingUser {
  id: string;
  external_id: string;
  username_key: string;
  status: string;
  content_hash: string;
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
  const errors: ObjectError[] = [];
  const byExt = new Map<string, NormalizedUser>();
  // Records refused for their username: still in the source, so protected from the sweep.
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
    // The same record twice in a batch: the later observation is the current one.
    byExt.delete(u.externalId);
    byExt.set(u.externalId, u);
  }
  const users = [...byExt.values()];
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

  // One index lookup per record (lateral): planned the same however stale the statistics are,
  // where a plain `= any(array)` may filter the whole directory against the array instead.
  const existing = await sql.rows<ExistingUser>(
    `select u.id, u.external_id, u.username_key, u.status, u.content_hash
     from unnest(?::text[]) as x(ext)
     cross join lateral (
       select * from users u where u.directory_id = ? and u.external_id = x.ext limit 1) u
     union
     select u.id, u.external_id, u.username_key, u.status, u.content_hash
     from unnest(?::text[]) as x(key)
     cross join lateral (
       select * from users u where u.directory_id = ? and u.username_key = x.key limit 1) u`,
    [
      users.map((u) => u.externalId),
      run.directoryId,
      users.map((u) => u.usernameKey),
      run.directoryId,
    ],
  );
  const existingByExt = new Map(existing.map((e) => [e.external_id, e]));
  const existingByKey = new Map(existing.map((e) => [e.username_key, e]));

  const rejected = new Set<NormalizedUser>();
  const claims = new Map<NormalizedUser, ExistingUser>();
  const accepted = resolveUsernames(users, existingByExt, existingByKey, rejected, claims);
  // A claimed record is, from here on, the pending user it restores.
  for (const [u, holder] of claims) existingByExt.set(u.externalId, holder);
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

  const toWrite = accepted.filter((u) => {
    const e = existingByExt.get(u.externalId);
    return !e || e.content_hash !== u.contentHash || e.status === 'pending_deletion';
  });
  const written = await writeUsers(sql, run, toWrite, existingByExt, claims, [
    ...users.map((u) => u.externalId),
    ...unreadable,
  ]);
  const writtenByExt = new Map(written.map((w) => [w.external_id, w]));

  const writtenUsers = new Map(toWrite.map((u) => [u.externalId, u]));
  const claimedFrom = new Map([...claims].map(([u, holder]) => [u.externalId, holder]));
  const changesBefore = run.changes.length;
  for (const w of written) {
    const before = existingByExt.get(w.external_id);
    if (w.inserted) counts.created += 1;
    else if (before?.status === 'pending_deletion') counts.restored += 1;
    else counts.updated += 1;
    if (w.status === 'disabled' && before?.status !== 'disabled') counts.disabled += 1;
    // Enabled again by the source: back to the status it had before (active, or bypass).
    if (before?.status === 'disabled' && w.status !== 'disabled') counts.enabled += 1;
    const u = writtenUsers.get(w.external_id);
    if (u) userChanges(run, u, w, before, claimedFrom.get(w.external_id));
  }
  counts.unchanged += accepted.length - written.length;
  counts.errors += errors.length;
  emitUserWrites(
    sql,
    run,
    written,
    existingByExt,
    eventsOfChanges(run.changes.slice(changesBefore)),
  );
  const byExternal = new Map(users.map((u) => [u.externalId, u]));
  for (const e of errors) {
    const u = byExternal.get(e.externalId);
    const own = u ? existingByExt.get(u.externalId) : undefined;
    const holder = u ? existingByKey.get(u.usernameKey) : undefined;
    run.changes.push(
      errorChange(run, e, errorCodeName(e.code), {
        userId: own?.id,
        username: u?.username ?? storable(rawUsername.get(e.externalId) ?? '').trim(),
        holderUserId: holder && holder !== own ? holder.id : undefined,
      }),
    );
  }

  if (run.mode === SyncMode.USER) {
    recordUserOutcome(run, users, rejected, existingByExt, writtenByExt);
  }
  return errors;
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
    !inputByExt.has(holder.external_id) &&
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
      const moving = inputByExt.get(holder.external_id);
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
  observed: readonly string[],
): Promise<WrittenUser[]> {
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
      const id = (claims.get(u) ?? existing.get(u.externalId))?.id;
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
      c.kind !== 'enabled'
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
  existingByExt: ReadonlyMap<string, ExistingUser>,
  writtenByExt: ReadonlyMap<string, WrittenUser>,
): void {
  const wanted = run.username ? nameKey(run.username) : undefined;
  const u = users.find((x) => x.usernameKey === wanted) ?? users[0];
  if (!u) return;
  const before = existingByExt.get(u.externalId);
  const w = writtenByExt.get(u.externalId);
  if (rejected.has(u)) {
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
  const old = w.old
    ? fieldValues({ ...w.old, externalId: claimedFrom?.external_id ?? u.externalId })
    : undefined;
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
