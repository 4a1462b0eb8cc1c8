/** The GraphQL the commands send: fragments shared by several commands. */

export const RUN_FIELDS = `id mode readMode fullReadReason trigger status dryRun username errorCode errorMessage
  queuedAt startedAt finishedAt durationMs directory { id name }
  counts { seen created updated unchanged disabled pendingDeletion restored errors entriesRead conflicts
           groupsSeen groupsCreated groupsUpdated groupsRemoved membershipsAdded membershipsRemoved
           adminsSeen adminsCreated adminsUpdated adminsUnchanged adminsDisabled
           adminsPendingDeletion adminsRestored }
  removals { users memberships groups baseUsers baseMemberships admins baseAdmins reason
             threshold { maxCount maxPercent } }
  decision decidedBy decidedAt supersededBy { id }`;

export interface RunCounts {
  seen: number;
  created: number;
  updated: number;
  unchanged: number;
  disabled: number;
  pendingDeletion: number;
  restored: number;
  errors: number;
  /** Entries the connector read from the source (a DELTA run reads only what changed). */
  entriesRead: number;
  /** Records not imported: another directory's user holds the username (USERNAME_CONFLICT). */
  conflicts: number;
  groupsSeen: number;
  groupsCreated: number;
  groupsUpdated: number;
  groupsRemoved: number;
  membershipsAdded: number;
  membershipsRemoved: number;
  adminsSeen: number;
  adminsCreated: number;
  adminsUpdated: number;
  adminsUnchanged: number;
  adminsDisabled: number;
  adminsPendingDeletion: number;
  adminsRestored: number;
}

export interface Run {
  id: string;
  mode: string;
  /** How the connector read (a DELTA run served by a full read says FULL); null until it read to its end. */
  readMode?: string | null;
  /** A DELTA run read in full: why (NO_CURSOR, CURSOR_REJECTED, DELTA_UNSUPPORTED). */
  fullReadReason?: string | null;
  trigger: string;
  status: string;
  /** A dry run: the counts, changes and removals are the plan; nothing was changed. */
  dryRun?: boolean;
  /** The connector on the run; `publishedAt` set once it has read everything (progress polls ask). */
  connector?: { publishedAt: string | null } | null;
  username: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  queuedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  directory: { id: string; name: string };
  counts: RunCounts;
  /** Runs that were BLOCKED: what the deletion threshold held back. */
  removals?: {
    users: number;
    memberships: number;
    groups: number;
    baseUsers: number;
    baseMemberships: number;
    /** ADMIN runs: administrators held back, of the directory's synced ones. */
    admins: number;
    baseAdmins: number;
    reason: string;
    threshold: { maxCount: number; maxPercent: number };
  } | null;
  decision?: string | null;
  decidedBy?: string | null;
  decidedAt?: string | null;
  supersededBy?: { id: string } | null;
}

const RUN_BRIEF = `id status mode dryRun username finishedAt queuedAt
  counts { seen errors pendingDeletion adminsSeen }`;

export const DIRECTORY_FIELDS = `id name kind enabled selectedGroups defaultRegion
  scheduleIntervalMinutes deltaIntervalMinutes adminScheduleIntervalMinutes
  restoreWindowDays conflictPolicy deletionThreshold { maxCount maxPercent }
  nextRunAt nextDeltaRunAt nextAdminRunAt createdAt updatedAt hasBindPassword
  mapping { username aliases email firstName lastName displayName phones custom { name attribute } }
  ldap { url profile bindDn baseDn userBaseDn groupBaseDn userFilter startTls tlsRejectUnauthorized pageSize timeoutMs }
  entra { tenantId clientId credential cloud }
  adminRoles { role groups }
  lastRun { ${RUN_BRIEF} }`;

/**
 * `directories list|show`: also the last user sync (FULL or DELTA, not a dry run) and the last
 * admin sync, which `lastRun` — whichever run came last, a sync-user too — hides one of.
 */
export const DIRECTORY_SYNC_FIELDS = `${DIRECTORY_FIELDS}
  lastSyncs: runs(first: 1, mode: [FULL, DELTA], dryRun: false) { nodes { ${RUN_BRIEF} } }
  lastAdminSyncs: runs(first: 1, mode: [ADMIN]) { nodes { ${RUN_BRIEF} } }`;

export interface RunBrief {
  id: string;
  status: string;
  mode: string;
  dryRun: boolean;
  username: string | null;
  finishedAt: string | null;
  queuedAt: string;
  counts: { seen: number; errors: number; pendingDeletion: number; adminsSeen: number };
}

/** A directory with its last user and admin syncs (`DIRECTORY_SYNC_FIELDS`, flattened). */
export type DirectoryWithSyncs = Directory & {
  lastSync: RunBrief | null;
  lastAdminSync: RunBrief | null;
};

export function withSyncs(
  d: Directory & { lastSyncs?: { nodes: RunBrief[] }; lastAdminSyncs?: { nodes: RunBrief[] } },
): DirectoryWithSyncs {
  const { lastSyncs, lastAdminSyncs, ...rest } = d;
  return {
    ...rest,
    lastSync: lastSyncs?.nodes[0] ?? null,
    lastAdminSync: lastAdminSyncs?.nodes[0] ?? null,
  };
}

export interface Directory {
  id: string;
  name: string;
  kind: string;
  enabled: boolean;
  selectedGroups: string[];
  defaultRegion: string;
  scheduleIntervalMinutes: number;
  deltaIntervalMinutes: number;
  adminScheduleIntervalMinutes: number;
  restoreWindowDays: number;
  conflictPolicy: string;
  deletionThreshold: { maxCount: number; maxPercent: number };
  nextRunAt: string | null;
  nextDeltaRunAt: string | null;
  /** Null without admin role groups. */
  nextAdminRunAt: string | null;
  createdAt: string;
  updatedAt: string;
  hasBindPassword: boolean;
  mapping: Record<string, unknown>;
  ldap: Record<string, unknown> | null;
  entra: { tenantId: string; clientId: string; credential: string; cloud: string } | null;
  adminRoles: { role: string; groups: string[] }[];
  /** Whichever run came last: a FULL, DELTA, ADMIN or USER run, a dry run too. */
  lastRun: RunBrief | null;
}

export const USER_FIELDS = `id username displayName firstName lastName email status externalId
  sourceLocator aliases createdAt updatedAt pendingDeletionAt purgeAfter lastDirectorySync
  directoryId directory { id name } phones { number kind } customAttributes { name value }`;

export interface User {
  id: string;
  username: string;
  displayName: string | null;
  firstName: string | null;
  lastName: string | null;
  email: string | null;
  status: string;
  externalId: string;
  sourceLocator: string | null;
  aliases: string[];
  createdAt: string;
  updatedAt: string;
  pendingDeletionAt: string | null;
  purgeAfter: string | null;
  lastDirectorySync: string | null;
  directoryId: string;
  directory: { id: string; name: string } | null;
  phones: { number: string; kind: string }[];
  customAttributes: { name: string; value: string }[];
}

export interface Connection<T> {
  nodes: T[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount?: number;
}

/** What `sync --dry-run --wait` and `runs show` print of a run's per-object changes. */
export const CHANGE_FIELDS = `kind username groupName email changedFields fields { field old new }
  status previousStatus role previousRole removalReason addedGroupIds removedGroupIds
  errorCode errorMessage sourceLocator`;

export interface RunChange {
  kind: string;
  username: string | null;
  groupName: string | null;
  /** Administrator changes: the e-mail. */
  email: string | null;
  changedFields: string[];
  /** Each changed field, old → new (CREATED: every imported field, old null). */
  fields: { field: string; old: unknown; new: unknown }[];
  status: string | null;
  previousStatus: string | null;
  /** ADMIN_ROLE_CHANGED: the role after and before. */
  role: string | null;
  previousRole: string | null;
  removalReason: string | null;
  /** MEMBERSHIP: the groups joined and left, by id; the CLI adds their names (addedGroups…). */
  addedGroupIds: string[];
  removedGroupIds: string[];
  addedGroups?: string[];
  removedGroups?: string[];
  errorCode: string | null;
  errorMessage: string | null;
  sourceLocator: string | null;
}
