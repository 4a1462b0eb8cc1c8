/** Shapes of the GraphQL answers the console reads (the selections in operations.ts). */

export type RunStatus = 'QUEUED' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'BLOCKED' | 'REJECTED';
export type SyncMode = 'FULL' | 'DELTA' | 'USER' | 'ADMIN';
export type UserStatus = 'ACTIVE' | 'DISABLED' | 'BYPASS' | 'PENDING_DELETION';
export type DirectoryKind = 'LDAP' | 'ENTRA' | 'GOOGLE' | 'OKTA' | 'SCIM';

export interface PageInfo {
  hasNextPage: boolean;
  endCursor: string | null;
}

export interface Connection<T> {
  nodes: T[];
  pageInfo: PageInfo;
  totalCount?: number;
}

export interface RunCounts {
  seen: number;
  created: number;
  updated: number;
  unchanged: number;
  disabled: number;
  pendingDeletion: number;
  restored: number;
  errors: number;
  groupsSeen: number;
  groupsCreated: number;
  groupsUpdated: number;
  groupsRemoved: number;
  membershipsAdded: number;
  membershipsRemoved: number;
  entriesRead: number;
  adminsSeen: number;
  adminsCreated: number;
  adminsUpdated: number;
  adminsUnchanged: number;
  adminsDisabled: number;
  adminsPendingDeletion: number;
  adminsRestored: number;
  /** USERNAME_CONFLICT records: counted apart from `errors`, listed with the per-object errors. */
  conflicts: number;
}

export interface RunSummary {
  id: string;
  /** Planned only: nobody was changed. */
  dryRun: boolean;
  mode: SyncMode;
  readMode: SyncMode | null;
  trigger: 'MANUAL' | 'SCHEDULE';
  status: RunStatus;
  username: string | null;
  email: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  queuedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  counts: Pick<
    RunCounts,
    | 'seen'
    | 'created'
    | 'updated'
    | 'unchanged'
    | 'disabled'
    | 'pendingDeletion'
    | 'restored'
    | 'errors'
    | 'conflicts'
    | 'adminsSeen'
    | 'adminsCreated'
    | 'adminsUpdated'
    | 'adminsDisabled'
    | 'adminsPendingDeletion'
    | 'adminsRestored'
  >;
  /** Set when the run was (or, a dry run, would be) BLOCKED by the deletion threshold. */
  removals: { users: number } | null;
  directory?: { id: string; name: string };
}

export interface RemovalPlan {
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
}

export interface RunDetail extends Omit<RunSummary, 'counts' | 'removals'> {
  fullReadReason: string | null;
  /** Runs that were BLOCKED: what the deletion threshold held back. */
  removals: RemovalPlan | null;
  decision: 'APPROVE' | 'REJECT' | null;
  decidedBy: string | null;
  decidedAt: string | null;
  supersededBy: { id: string } | null;
  /** The connector on the run; `publishedAt` once it has read everything (a dry run then plans). */
  connector: { publishedAt: string | null } | null;
  counts: RunCounts;
  directory: { id: string; name: string };
  errors: Connection<ObjectError> & { totalCount: number };
}

export interface ObjectError {
  externalId: string;
  sourceLocator: string;
  code: string;
  message: string;
}

export interface LdapSettings {
  url: string;
  profile: string;
  bindDn: string;
  baseDn: string;
  userBaseDn: string | null;
  groupBaseDn: string | null;
  userFilter: string | null;
  startTls: boolean;
  tlsCaPem: string | null;
  tlsRejectUnauthorized: boolean;
  allowPlainLdap: boolean;
  pageSize: number;
  timeoutMs: number;
}

export interface EntraSettings {
  tenantId: string;
  clientId: string;
  credential: string;
  cloud: string;
  loginUrl: string | null;
  graphUrl: string | null;
  tlsCaPem: string | null;
  pageSize: number;
  timeoutMs: number;
}

export interface AttributeMapping {
  username: string;
  aliases: string[];
  email: string;
  firstName: string;
  lastName: string;
  displayName: string;
  phones: string[];
  custom: { name: string; attribute: string }[];
}

export interface DirectorySummary {
  id: string;
  name: string;
  kind: DirectoryKind;
  enabled: boolean;
  ldap: { url: string; profile: string } | null;
  entra: { tenantId: string } | null;
  scheduleIntervalMinutes: number;
  deltaIntervalMinutes: number;
  nextRunAt: string | null;
  nextDeltaRunAt: string | null;
  /** Whichever run came last (an ADMIN or USER run too): what the list polls while it is active. */
  lastRun: RunSummary | null;
  /** The last user sync (FULL or DELTA, not a dry run): the list's "last run". */
  lastSyncs: { nodes: RunSummary[] };
  /** The last admin sync, shown under it. */
  lastAdminSyncs: { nodes: RunSummary[] };
}

export interface DirectoryDetail {
  id: string;
  name: string;
  kind: DirectoryKind;
  enabled: boolean;
  selectedGroups: string[];
  mapping: AttributeMapping;
  defaultRegion: string;
  scheduleIntervalMinutes: number;
  deltaIntervalMinutes: number;
  adminScheduleIntervalMinutes: number;
  restoreWindowDays: number;
  deletionThreshold: { maxCount: number; maxPercent: number };
  conflictPolicy: 'REPORT' | 'TAKE_OVER';
  nextRunAt: string | null;
  nextDeltaRunAt: string | null;
  nextAdminRunAt: string | null;
  createdAt: string;
  updatedAt: string;
  ldap: LdapSettings | null;
  entra: EntraSettings | null;
  adminRoles: { role: string; groups: string[] }[];
  hasBindPassword: boolean;
  lastRun: RunSummary | null;
}

export interface UserRow {
  id: string;
  username: string;
  displayName: string | null;
  firstName: string | null;
  lastName: string | null;
  email: string | null;
  status: UserStatus;
  synced: boolean;
  directory: { id: string; name: string } | null;
  lastDirectorySync: string | null;
  pendingDeletionAt: string | null;
  purgeAfter: string | null;
  removalReason: string | null;
}

export interface UserDetail extends UserRow {
  /** null for manual users. */
  directoryId: string | null;
  externalId: string | null;
  /** Set by an operator; the status is BYPASS while the user is neither disabled nor pending. */
  bypass: boolean;
  /** Synced from a directory (fields read-only); false for manual users. */
  synced: boolean;
  firstName: string | null;
  lastName: string | null;
  sourceLocator: string | null;
  createdAt: string;
  updatedAt: string;
  aliases: string[];
  phones: { number: string; kind: string }[];
  customAttributes: { name: string; value: string }[];
  /** Its username or aliases another user holds (full case folding made them equal). */
  nameConflicts: {
    code: 'USERNAME_CONFLICT' | 'ALIAS_CONFLICT';
    name: string;
    /** null once nobody holds the name (the user's next sync takes it back). */
    holder: { id: string; username: string } | null;
  }[];
  groups: Connection<{ id: string; name: string }> & { totalCount: number };
}

export interface GroupRow {
  id: string;
  name: string;
  description: string | null;
  memberCount: number;
  directory: { id: string; name: string } | null;
}

export interface GroupDetail extends GroupRow {
  externalId: string;
  sourceLocator: string | null;
  updatedAt: string;
  members: Connection<{
    id: string;
    username: string;
    displayName: string | null;
    status: UserStatus;
  }>;
}

export interface AdminRow {
  id: string;
  email: string;
  role: string;
  roles: string[];
  firstName: string | null;
  lastName: string | null;
  displayName: string | null;
  status: 'ACTIVE' | 'DISABLED' | 'PENDING_DELETION';
  synced: boolean;
  syncedAt: string | null;
  pendingDeletionAt: string | null;
  purgeAfter: string | null;
  directory: { id: string; name: string } | null;
}

export type SyncOutcome =
  | 'CREATED'
  | 'UPDATED'
  | 'UNCHANGED'
  | 'PENDING_DELETION'
  | 'RESTORED'
  | 'NOT_FOUND'
  | 'FAILED';
