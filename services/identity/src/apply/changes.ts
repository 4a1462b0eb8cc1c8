import type { AdminRoleName } from '@dirsync/kit';
import type { ErrorCode, ObjectError } from '@dirsync/proto';

/**
 * The per-object changes of a run: what applying one event (one transaction) did to users,
 * groups and administrators, as a typed list. This is THE contract between the apply path and everything that
 * reports on it:
 *
 * - run history (`run_changes`, `SyncRun.changes`, `User.history`) stores the list;
 * - lifecycle events (`LifecycleEvent`s in the outbox) are written from the same list;
 * - a dry run records the list it would have produced, and writes nothing else.
 *
 * Rules every producer keeps (tests assert them):
 *
 * 1. **Same transaction.** The changes of a transaction are those of the rows it wrote: they are
 *    collected in `RunState.changes` while the event is applied and are final when the event's
 *    transaction commits (a rolled-back transaction produced none). A consumer writes what it
 *    derives from them (history rows, outbox rows) in that same transaction.
 * 2. **Set-based.** Producers take the changes from the `RETURNING` of the statements that
 *    made them (or from a CTE reading the same snapshot), never from per-row queries.
 * 3. **Counts.** Each change kind with a run counter moves that counter by exactly one (see
 *    {@link COUNTED_KINDS}): `created` ↔ `counts.created`, `updated` ↔ `updated`, `restored` ↔
 *    `restored`, `disabled` ↔ `disabled`, `enabled` ↔ `enabled`, `claimed` ↔ `claimed`,
 *    `pendingDeletion` ↔ `pendingDeletion`, `conflict` ↔ `conflicts`, `error` ↔ `errors`,
 *    `groupCreated` ↔ `groupsCreated`, `groupUpdated` ↔ `groupsUpdated`, `groupDeleted` ↔
 *    `groupsRemoved`, the `admin*` kinds ↔ their `admins*` counter (`adminRoleChanged`,
 *    `adminClaimed`, `adminEnabled` have none: their write is counted as updated or restored);
 *    and the `added` / `removed` lists of the `membership` changes sum to
 *    `membershipsAdded` / `membershipsRemoved`. So a run's counts always equal what its recorded
 *    changes say. A producer that moves a counter pushes the change in the same place.
 * 4. **One object, several kinds.** One write can be several changes of the same object, listed
 *    in this order: `created` | `updated` | `restored`, then `claimed`, then `disabled` |
 *    `enabled`. A user created disabled is `created` + `disabled`; a user disabled in the source
 *    is `updated` (field `status`) + `disabled`; a pending user observed again is `restored`
 *    (with the fields that changed) + `disabled` when it comes back disabled. A source entry
 *    deleted and re-created (new external id, same username) inside the restore window is its
 *    pending user `restored` with the field `externalId` changed, not a `claimed`.
 *    Administrators: `adminCreated` | `adminUpdated` | `adminRestored`, then `adminRoleChanged`,
 *    then `adminClaimed`, then `adminDisabled` | `adminEnabled`.
 * 5. **Field names** are the GraphQL field names of `User` (`email`, `displayName`, `aliases`,
 *    `phones`, `status`, `customAttributes`, …) with values as GraphQL shows them (status as
 *    the `UserStatus` enum name). Group memberships are the `membership` kind: a user in 100
 *    groups would otherwise carry two lists of 100 names for one added group. Administrators'
 *    fields are the GraphQL field names of `Admin` (`role`, `roles` as `AdminRole` names).
 * 6. **Nothing secret.** Changes carry what the API shows anyway; they are stored and published.
 */

/** A user's status as GraphQL's `UserStatus` names it. */
export type UserStatusName = 'ACTIVE' | 'DISABLED' | 'BYPASS' | 'PENDING_DELETION';

/** A stored status (`users.status`) as GraphQL names it. */
export function statusName(stored: string): UserStatusName {
  switch (stored) {
    case 'disabled':
      return 'DISABLED';
    case 'bypass':
      return 'BYPASS';
    case 'pending_deletion':
      return 'PENDING_DELETION';
    default:
      return 'ACTIVE';
  }
}

/** The synced fields of a user, keyed by GraphQL field name, typed as GraphQL shows them. */
export interface UserFieldValues {
  /** Changes only when a re-created source entry takes over its pending user (restored). */
  externalId: string;
  username: string;
  email: string | null;
  displayName: string | null;
  firstName: string | null;
  lastName: string | null;
  status: UserStatusName;
  aliases: string[];
  phones: { number: string; kind: string }[];
  /** Sorted by name. */
  customAttributes: { name: string; value: string }[];
  sourceLocator: string | null;
}

export type UserField = keyof UserFieldValues;

/** One field of one user, before and after. */
export type FieldChange = {
  [K in UserField]: { field: K; old: UserFieldValues[K]; new: UserFieldValues[K] };
}[UserField];

/** What every user change says about whom (user, directory, source record) and which run. */
interface UserRef {
  runId: string;
  directoryId: string;
  /** "" when there is no such user: an error, or a user a dry run's plan would create. */
  userId: string;
  externalId: string;
  /** The username after the change (for `pendingDeletion`, the one it keeps). */
  username: string;
}

/** A user identity had not seen, with the values it was imported with. */
export interface UserCreated extends UserRef {
  kind: 'created';
  values: UserFieldValues;
}

/** A user whose synced fields changed; `fields` lists only the ones that did, in field order. */
export interface UserUpdated extends UserRef {
  kind: 'updated';
  fields: FieldChange[];
}

/** A user in `pendingDeletion` observed again: back with the same id (`fields`: what changed). */
export interface UserRestored extends UserRef {
  kind: 'restored';
  /** The status it came back to (its status before the removal, or DISABLED when it is now). */
  status: UserStatusName;
  fields: FieldChange[];
}

/** Status became DISABLED (disabled in the source). */
export interface UserDisabled extends UserRef {
  kind: 'disabled';
  previousStatus: UserStatusName | null;
}

/** Status left DISABLED (re-enabled in the source): `status` is the one it returned to. */
export interface UserEnabled extends UserRef {
  kind: 'enabled';
  status: UserStatusName;
}

/** Why a user was removed (`users.removal_reason`, GraphQL `RemovalReason` in lower case). */
export type RemovalReasonName = 'deleted' | 'out_of_scope' | 'not_observed' | 'directory_deleted';

/** Moved to `pendingDeletion` (removed from the source or the scope); purged after the window. */
export interface UserPendingDeletion extends UserRef {
  kind: 'pendingDeletion';
  reason: RemovalReasonName;
  previousStatus: UserStatusName;
  /** When the purge job will delete the user (ISO 8601). */
  purgeAfter: string;
}

/**
 * A source record took over an existing user that was not its directory's: a manual user with
 * the same username, or (conflict policy TAKE_OVER) another directory's user. Listed after the
 * `updated` / `restored` of the same write. `previousDirectoryId` is "" for a manual user.
 */
export interface UserClaimed extends UserRef {
  kind: 'claimed';
  previousDirectoryId: string;
}

/**
 * A source record that was not applied because a user of another directory (or a manual user)
 * holds its username or alias (`USERNAME_CONFLICT`, `ALIAS_CONFLICT`; counted in `conflicts`,
 * not `errors`). `userId` is the record's own user when it has one (else ""), `holderUserId`
 * the user that holds the name when known (else ""); `username` is the record's username.
 * Two records of one directory with one username are an `error` (`DUPLICATE_USERNAME`): the
 * source itself is inconsistent.
 */
export interface UserConflict extends UserRef {
  kind: 'conflict';
  holderUserId: string;
  code: ErrorCode;
  message: string;
  sourceLocator: string;
}

/**
 * A per-object error of the run (a record that could not be read or stored), from the connector
 * or from identity. `userId` is the record's user when it has one (a rename into a username
 * another record of the directory holds), else ""; `username` is "" when unknown.
 */
export interface ObjectErrorChange extends UserRef {
  kind: 'error';
  code: ErrorCode;
  message: string;
  sourceLocator: string;
  /**
   * ADMIN runs: the administrator the record is about when there is one (`ADMIN_CONFLICT`: the
   * administrator another directory syncs with that e-mail), else absent; `email` the record's
   * e-mail when it has a usable one. `userId` and `username` are "" then.
   */
  adminId?: string;
  email?: string;
}

/** A user's group memberships changed (group ids; each list sorted). */
export interface MembershipChange extends UserRef {
  kind: 'membership';
  added: string[];
  removed: string[];
}

interface GroupRef {
  runId: string;
  directoryId: string;
  /** "" in a dry run's plan for a group it would create (no such group exists). */
  groupId: string;
  externalId: string;
  name: string;
}

export interface GroupCreated extends GroupRef {
  kind: 'groupCreated';
}

/** A group's fields (GraphQL `Group` field names). */
export type GroupField = 'name' | 'description' | 'sourceLocator';

/** Name, description or locator changed (`fields`: which; `name` is the new name). */
export interface GroupUpdated extends GroupRef {
  kind: 'groupUpdated';
  fields: GroupField[];
}

/** Gone from the source or the scope: deleted with its memberships (groups have no window). */
export interface GroupDeleted extends GroupRef {
  kind: 'groupDeleted';
}

/** An administrator's stored status as GraphQL's `AdminStatus` names it (the `UserStatus` names). */
export type AdminStatusName = 'ACTIVE' | 'DISABLED' | 'PENDING_DELETION';

/** A stored status (`admins.status`) as GraphQL names it. */
export function adminStatusName(stored: string): AdminStatusName {
  return stored === 'disabled'
    ? 'DISABLED'
    : stored === 'pending_deletion'
      ? 'PENDING_DELETION'
      : 'ACTIVE';
}

/**
 * The synced fields of an administrator, keyed by GraphQL `Admin` field name, typed as GraphQL
 * shows them (roles as `AdminRole` names, most privileged first).
 */
export interface AdminFieldValues {
  /** null: a manual administrator (one a sync claims has none before). */
  externalId: string | null;
  email: string;
  displayName: string | null;
  firstName: string | null;
  lastName: string | null;
  role: AdminRoleName;
  roles: AdminRoleName[];
  status: AdminStatusName;
  sourceLocator: string | null;
}

export type AdminField = keyof AdminFieldValues;

/** One field of one administrator, before and after. */
export type AdminFieldChange = {
  [K in AdminField]: { field: K; old: AdminFieldValues[K]; new: AdminFieldValues[K] };
}[AdminField];

/** What every administrator change says about whom and which run. */
interface AdminRef {
  runId: string;
  directoryId: string;
  adminId: string;
  externalId: string;
  /** The e-mail after the change (what administrators are matched by). */
  email: string;
}

/** An e-mail no administrator had: a new synced administrator, with its imported values. */
export interface AdminCreated extends AdminRef {
  kind: 'adminCreated';
  values: AdminFieldValues;
}

/** Synced fields changed (`fields`: only those, in field order; `role` among them). */
export interface AdminUpdated extends AdminRef {
  kind: 'adminUpdated';
  fields: AdminFieldChange[];
}

/** A pending administrator observed again: back with the same id (`fields`: what changed). */
export interface AdminRestored extends AdminRef {
  kind: 'adminRestored';
  status: AdminStatusName;
  fields: AdminFieldChange[];
}

/**
 * The role (the most privileged of the roles) changed: listed after the `adminUpdated` /
 * `adminRestored` of the same write, which has the field `role` too. Its own kind so that "who
 * was promoted or demoted" is one filter; no run counter (the write is counted as updated).
 */
export interface AdminRoleChanged extends AdminRef {
  kind: 'adminRoleChanged';
  previousRole: AdminRoleName;
  role: AdminRoleName;
}

/**
 * A manual administrator whose e-mail the run found in a role group: now synced from the run's
 * directory (same id). Listed after its `adminUpdated`; no run counter (counted as updated).
 */
export interface AdminClaimed extends AdminRef {
  kind: 'adminClaimed';
}

/** Status became DISABLED (disabled in the source). */
export interface AdminDisabled extends AdminRef {
  kind: 'adminDisabled';
  previousStatus: AdminStatusName | null;
}

/** Status left DISABLED (enabled again in the source); no run counter (counted as updated). */
export interface AdminEnabled extends AdminRef {
  kind: 'adminEnabled';
  status: AdminStatusName;
}

/** In no role group any more, or gone from the source: pending deletion, restorable. */
export interface AdminPendingDeletion extends AdminRef {
  kind: 'adminPendingDeletion';
  /** An admin run cannot tell "out of every role group" from "deleted": not observed. */
  reason: 'not_observed';
  previousStatus: AdminStatusName;
  /** When the purge job will delete the administrator (ISO 8601). */
  purgeAfter: string;
}

export type AdminChange =
  | AdminCreated
  | AdminUpdated
  | AdminRestored
  | AdminRoleChanged
  | AdminClaimed
  | AdminDisabled
  | AdminEnabled
  | AdminPendingDeletion;

export type UserChange =
  | UserCreated
  | UserUpdated
  | UserRestored
  | UserDisabled
  | UserEnabled
  | UserPendingDeletion
  | UserClaimed
  | UserConflict
  | ObjectErrorChange
  | MembershipChange;

export type GroupChange = GroupCreated | GroupUpdated | GroupDeleted;

export type Change = UserChange | GroupChange | AdminChange;

export type ChangeKind = Change['kind'];

export const CHANGE_KINDS = [
  'created',
  'updated',
  'restored',
  'claimed',
  'disabled',
  'enabled',
  'pendingDeletion',
  'conflict',
  'error',
  'membership',
  'groupCreated',
  'groupUpdated',
  'groupDeleted',
  'adminCreated',
  'adminUpdated',
  'adminRestored',
  'adminRoleChanged',
  'adminClaimed',
  'adminDisabled',
  'adminEnabled',
  'adminPendingDeletion',
] as const satisfies readonly ChangeKind[];

const ADMIN_KINDS = new Set<ChangeKind>([
  'adminCreated',
  'adminUpdated',
  'adminRestored',
  'adminRoleChanged',
  'adminClaimed',
  'adminDisabled',
  'adminEnabled',
  'adminPendingDeletion',
]);

/** An administrator's change (the `admin*` kinds; an ADMIN run's errors are `error`). */
export function isAdminChange(c: Change): c is AdminChange {
  return ADMIN_KINDS.has(c.kind);
}

/** The run counter each kind moves by one (rule 3). */
export const COUNTED_KINDS = {
  created: 'created',
  updated: 'updated',
  restored: 'restored',
  claimed: 'claimed',
  disabled: 'disabled',
  enabled: 'enabled',
  pendingDeletion: 'pendingDeletion',
  conflict: 'conflicts',
  error: 'errors',
  groupCreated: 'groupsCreated',
  groupUpdated: 'groupsUpdated',
  groupDeleted: 'groupsRemoved',
  adminCreated: 'adminsCreated',
  adminUpdated: 'adminsUpdated',
  adminRestored: 'adminsRestored',
  adminDisabled: 'adminsDisabled',
  adminPendingDeletion: 'adminsPendingDeletion',
} as const satisfies Record<
  Exclude<ChangeKind, 'membership' | 'adminRoleChanged' | 'adminClaimed' | 'adminEnabled'>,
  string
>;

/** Error codes (names) that are conflicts with another directory's or a manual user. */
const CONFLICT_CODES = new Set<string>(['USERNAME_CONFLICT', 'ALIAS_CONFLICT']);

/**
 * A per-object error as a change: `conflict` when another user holds the record's name,
 * `error` otherwise. `codeName` is the error's `ErrorCode` name (errorCodeName()).
 */
export function errorChange(
  run: { runId: string; directoryId: string },
  e: ObjectError,
  codeName: string,
  who: {
    userId?: string;
    username?: string;
    holderUserId?: string;
    adminId?: string;
    email?: string;
  } = {},
): UserConflict | ObjectErrorChange {
  const common = {
    runId: run.runId,
    directoryId: run.directoryId,
    userId: who.userId ?? '',
    externalId: e.externalId,
    username: who.username ?? '',
    code: e.code,
    message: e.message,
    sourceLocator: e.sourceLocator,
  };
  return CONFLICT_CODES.has(codeName)
    ? { ...common, kind: 'conflict', holderUserId: who.holderUserId ?? '' }
    : {
        ...common,
        kind: 'error',
        ...(who.adminId ? { adminId: who.adminId } : {}),
        ...(who.email ? { email: who.email } : {}),
      };
}

/** Compare two users' field values; the changed fields in {@link UserFieldValues} order. */
export function diffFields(
  old: UserFieldValues,
  now: UserFieldValues,
  only?: readonly UserField[],
): FieldChange[] {
  const out: FieldChange[] = [];
  for (const field of only ?? FIELD_ORDER) {
    if (!sameValue(old[field], now[field])) {
      out.push({ field, old: old[field], new: now[field] } as FieldChange);
    }
  }
  return out;
}

const FIELD_ORDER: readonly UserField[] = [
  'externalId',
  'username',
  'email',
  'displayName',
  'firstName',
  'lastName',
  'status',
  'aliases',
  'phones',
  'customAttributes',
  'sourceLocator',
];

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  return JSON.stringify(a) === JSON.stringify(b);
}

const ADMIN_FIELD_ORDER: readonly AdminField[] = [
  'externalId',
  'email',
  'displayName',
  'firstName',
  'lastName',
  'role',
  'roles',
  'status',
  'sourceLocator',
];

/** Compare two administrators' field values; the changed fields in field order. */
export function diffAdminFields(old: AdminFieldValues, now: AdminFieldValues): AdminFieldChange[] {
  const out: AdminFieldChange[] = [];
  for (const field of ADMIN_FIELD_ORDER) {
    if (!sameValue(old[field], now[field])) {
      out.push({ field, old: old[field], new: now[field] } as AdminFieldChange);
    }
  }
  return out;
}

/** How many changes of each kind a list holds (tests and the counts check). */
export function countKinds(changes: readonly Change[]): Partial<Record<ChangeKind, number>> {
  const out: Partial<Record<ChangeKind, number>> = {};
  for (const c of changes) out[c.kind] = (out[c.kind] ?? 0) + 1;
  return out;
}

/** One user's membership changes as a statement returns them (group ids as text). */
export interface MembershipRow {
  user_id: string;
  external_id: string;
  username: string;
  added: string[] | null;
  removed: string[] | null;
}

/**
 * Record membership changes: one `membership` change per user and transaction (rows for a user
 * already listed in this transaction are merged into its change), and the run's
 * `membershipsAdded` / `membershipsRemoved` moved by exactly the listed pairs (rule 3).
 */
export function recordMemberships(
  run: {
    runId: string;
    directoryId: string;
    changes: Change[];
    counts: { membershipsAdded: number; membershipsRemoved: number };
  },
  rows: readonly MembershipRow[],
): void {
  if (rows.length === 0) return;
  const existing = new Map<string, MembershipChange>();
  for (const c of run.changes) if (c.kind === 'membership') existing.set(c.userId, c);
  for (const r of rows) {
    const added = r.added ?? [];
    const removed = r.removed ?? [];
    if (added.length === 0 && removed.length === 0) continue;
    run.counts.membershipsAdded += added.length;
    run.counts.membershipsRemoved += removed.length;
    const c = existing.get(r.user_id);
    if (c) {
      c.added = [...c.added, ...added].sort();
      c.removed = [...c.removed, ...removed].sort();
      continue;
    }
    const change: MembershipChange = {
      kind: 'membership',
      runId: run.runId,
      directoryId: run.directoryId,
      userId: r.user_id,
      externalId: r.external_id,
      username: r.username,
      added: [...added].sort(),
      removed: [...removed].sort(),
    };
    existing.set(r.user_id, change);
    run.changes.push(change);
  }
}
