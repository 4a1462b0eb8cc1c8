import { gql, type TypedDocumentNode } from '@apollo/client';
import type {
  AdminRow,
  Connection,
  DirectoryDetail,
  DirectorySummary,
  GroupDetail,
  GroupRow,
  RunDetail,
  RunSummary,
  SyncOutcome,
  UserDetail,
  UserRow,
} from './types.js';
import type { Viewer } from '../lib/viewer.js';

/**
 * Every GraphQL operation the console sends. `operations.test.ts` validates each against the
 * committed supergraph's API schema, so a console that asks for a field the API does not have
 * fails `npm test`, not an operator's browser.
 */

type Vars = Record<string, unknown>;
type Doc<R, V extends Vars = Vars> = TypedDocumentNode<R, V>;

const RUN_SUMMARY = `id dryRun mode readMode trigger status username email errorCode errorMessage
  queuedAt startedAt finishedAt durationMs
  counts { seen created updated unchanged disabled pendingDeletion restored errors conflicts
           adminsSeen adminsCreated adminsUpdated adminsDisabled adminsPendingDeletion adminsRestored }
  removals { users }`;

export const VIEWER: Doc<{ viewer: Viewer }> = gql`
  query Viewer {
    viewer {
      id
      name
      kind
      role
      permissions
    }
  }
`;

export const DIRECTORIES: Doc<{ directories: Connection<DirectorySummary> }> = gql`
  query Directories {
    directories(first: 100) {
      totalCount
      nodes {
        id
        name
        kind
        enabled
        ldap { url profile }
        entra { tenantId }
        scheduleIntervalMinutes
        deltaIntervalMinutes
        nextRunAt
        nextDeltaRunAt
        lastRun { ${RUN_SUMMARY} }
        lastSyncs: runs(first: 1, mode: [FULL, DELTA], dryRun: false) { nodes { ${RUN_SUMMARY} } }
        lastAdminSyncs: runs(first: 1, mode: [ADMIN]) { nodes { ${RUN_SUMMARY} } }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

export interface DirectoryCounts {
  active: { totalCount: number };
  disabled: { totalCount: number };
  pending: { totalCount: number };
  groups: { totalCount: number };
  admins: { totalCount: number };
}

/** How many users, groups and administrators a directory has, by status (first: 0 = count only). */
export const DIRECTORY_COUNTS: Doc<DirectoryCounts, { id: string }> = gql`
  query DirectoryCounts($id: ID!) {
    active: users(first: 0, filter: { directoryId: $id, status: [ACTIVE, BYPASS] }) {
      totalCount
    }
    disabled: users(first: 0, filter: { directoryId: $id, status: [DISABLED] }) {
      totalCount
    }
    pending: users(first: 0, filter: { directoryId: $id, status: [PENDING_DELETION] }) {
      totalCount
    }
    groups(first: 0, filter: { directoryId: $id }) {
      totalCount
    }
    admins(first: 0, filter: { directoryId: $id }) {
      totalCount
    }
  }
`;

const DIRECTORY_DETAIL = `id name kind enabled selectedGroups
  mapping { username aliases email firstName lastName displayName phones custom { name attribute } }
  defaultRegion scheduleIntervalMinutes deltaIntervalMinutes adminScheduleIntervalMinutes
  restoreWindowDays nextRunAt nextDeltaRunAt nextAdminRunAt createdAt updatedAt
  deletionThreshold { maxCount maxPercent }
  conflictPolicy
  ldap { url profile bindDn baseDn userBaseDn groupBaseDn userFilter startTls tlsCaPem
         tlsRejectUnauthorized allowPlainLdap pageSize timeoutMs }
  entra { tenantId clientId credential cloud loginUrl graphUrl tlsCaPem pageSize timeoutMs }
  adminRoles { role groups }
  hasBindPassword
  lastRun { ${RUN_SUMMARY} }`;

export const DIRECTORY: Doc<{ directory: DirectoryDetail | null }, { id: string }> = gql`
  query Directory($id: ID!) {
    directory(id: $id) { ${DIRECTORY_DETAIL} }
  }
`;

/** Whether a connector process for the directory's kind is running (presence heartbeats). */
export interface DirectoryConnector {
  kind: string;
  alive: boolean;
  lastSeenAt: string | null;
  instances: {
    instance: string;
    version: string | null;
    state: 'ALIVE' | 'STALE';
    lastSeenAt: string;
    runIds: string[];
  }[];
}

export const DIRECTORY_CONNECTOR: Doc<
  { directory: { id: string; connector: DirectoryConnector } | null },
  { id: string }
> = gql`
  query DirectoryConnector($id: ID!) {
    directory(id: $id) {
      id
      connector {
        kind
        alive
        lastSeenAt
        instances {
          instance
          version
          state
          lastSeenAt
          runIds
        }
      }
    }
  }
`;

export const RUNS: Doc<
  { runs: Connection<RunSummary> & { totalCount: number } },
  { directoryId?: string | null; status?: string[] | null; after?: string | null; first: number }
> = gql`
  query Runs($directoryId: ID, $status: [RunStatus!], $after: String, $first: Int!) {
    runs(directoryId: $directoryId, status: $status, after: $after, first: $first) {
      totalCount
      nodes { ${RUN_SUMMARY} directory { id name } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

export const RUN: Doc<{ run: RunDetail | null }, { id: string; errorsAfter?: string | null }> = gql`
  query Run($id: ID!, $errorsAfter: String) {
    run(id: $id) {
      id
      dryRun
      mode
      readMode
      fullReadReason
      trigger
      status
      username
      email
      errorCode
      errorMessage
      queuedAt
      startedAt
      finishedAt
      durationMs
      counts {
        seen
        created
        updated
        unchanged
        disabled
        pendingDeletion
        restored
        errors
        conflicts
        groupsSeen
        groupsCreated
        groupsUpdated
        groupsRemoved
        membershipsAdded
        membershipsRemoved
        entriesRead
        adminsSeen
        adminsCreated
        adminsUpdated
        adminsUnchanged
        adminsDisabled
        adminsPendingDeletion
        adminsRestored
      }
      directory {
        id
        name
      }
      removals {
        users
        memberships
        groups
        baseUsers
        baseMemberships
        admins
        baseAdmins
        reason
        threshold {
          maxCount
          maxPercent
        }
      }
      decision
      decidedBy
      decidedAt
      supersededBy {
        id
      }
      connector {
        publishedAt
      }
      errors(first: 50, after: $errorsAfter) {
        totalCount
        nodes {
          externalId
          sourceLocator
          code
          message
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
`;

export interface RunChange {
  id: string;
  kind: string;
  runId: string;
  userId: string | null;
  groupId: string | null;
  externalId: string | null;
  username: string | null;
  groupName: string | null;
  /** Administrator changes (ADMIN_*, an admin run's errors): the administrator and e-mail. */
  adminId: string | null;
  email: string | null;
  role: string | null;
  previousRole: string | null;
  fields: { field: string; old: unknown; new: unknown }[];
  changedFields: string[];
  status: string | null;
  previousStatus: string | null;
  removalReason: string | null;
  addedGroupIds: string[];
  removedGroupIds: string[];
  errorCode: string | null;
  errorMessage: string | null;
  sourceLocator: string | null;
}

// Not `at`: identity answers it as a string DateTimeISO refuses (INTERNAL_SERVER_ERROR for the
// whole list); a history row shows its run's time instead.
const RUN_CHANGE = `id kind runId userId groupId externalId username groupName adminId email
  role previousRole fields { field old new } changedFields status previousStatus removalReason
  addedGroupIds removedGroupIds errorCode errorMessage sourceLocator`;

/** A run's per-object changes, filtered by kind, a page at a time. */
export const RUN_CHANGES: Doc<
  {
    run: {
      id: string;
      changes: Connection<RunChange> & { totalCount: number };
    } | null;
  },
  { id: string; kinds?: string[] | null; after?: string | null }
> = gql`
  query RunChanges($id: ID!, $kinds: [ChangeKind!], $after: String) {
    run(id: $id) {
      id
      changes(filter: { kinds: $kinds }, after: $after, first: 50) {
        totalCount
        nodes { ${RUN_CHANGE} }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
`;

/** The change kinds of `ChangeKind`, in the order the filter offers them. */
export const CHANGE_KINDS = [
  'CREATED',
  'UPDATED',
  'DISABLED',
  'ENABLED',
  'PENDING_DELETION',
  'RESTORED',
  'CLAIMED',
  'MEMBERSHIP',
  'GROUP_CREATED',
  'GROUP_UPDATED',
  'GROUP_DELETED',
  'ADMIN_CREATED',
  'ADMIN_UPDATED',
  'ADMIN_ROLE_CHANGED',
  'ADMIN_DISABLED',
  'ADMIN_ENABLED',
  'ADMIN_PENDING_DELETION',
  'ADMIN_RESTORED',
  'ADMIN_CLAIMED',
  'CONFLICT',
  'ERROR',
] as const;

/**
 * The per-object records that are not changes: the run's errors and username conflicts, which
 * its page also lists on their own (`run.errors`). The change list leaves them out by default.
 */
export const PROBLEM_KINDS: readonly string[] = ['CONFLICT', 'ERROR'];
export const CHANGE_ONLY_KINDS: string[] = CHANGE_KINDS.filter((k) => !PROBLEM_KINDS.includes(k));

/** How many changes of each kind a run has: one aliased `totalCount` per kind, no rows. */
export const RUN_CHANGE_KINDS: Doc<
  { run: ({ id: string } & Record<string, { totalCount: number } | string>) | null },
  { id: string }
> = gql`
  query RunChangeKinds($id: ID!) {
    run(id: $id) {
      id
      ${CHANGE_KINDS.map((k) => `${k}: changes(filter: { kinds: [${k}] }, first: 0) { totalCount }`).join('\n      ')}
    }
  }
`;

/** A group's name, for membership changes (which hold group ids). */
export const GROUP_NAME: Doc<{ group: { id: string; name: string } | null }, { id: string }> = gql`
  query GroupName($id: ID!) {
    group(id: $id) {
      id
      name
    }
  }
`;

/** What runs did to one user, newest first. */
export const USER_HISTORY: Doc<
  {
    user: {
      id: string;
      history: Connection<RunChange & { run: { id: string; mode: string; queuedAt: string } }> & {
        totalCount: number;
      };
    } | null;
  },
  { id: string; after?: string | null }
> = gql`
  query UserHistory($id: ID!, $after: String) {
    user(id: $id) {
      id
      history(after: $after, first: 20) {
        totalCount
        nodes { ${RUN_CHANGE} run { id mode queuedAt } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
`;

/** Runs waiting for an approve/reject decision, for the directories page's banner. */
export const BLOCKED_RUNS: Doc<{ runs: Connection<RunSummary> & { totalCount: number } }> = gql`
  query BlockedRuns {
    runs(status: [BLOCKED], first: 20) {
      totalCount
      nodes { ${RUN_SUMMARY} directory { id name } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

/** The counts of the directory's last completed run of a mode, to show a run's progress against. */
export const PREVIOUS_RUN: Doc<
  { runs: Connection<{ id: string; mode: string; counts: { seen: number; entriesRead: number } }> },
  { directoryId: string }
> = gql`
  query PreviousRun($directoryId: ID!) {
    runs(directoryId: $directoryId, status: [COMPLETED], first: 5) {
      nodes {
        id
        mode
        counts {
          seen
          entriesRead
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;

export const SYNC_ALL: Doc<
  { syncAll: { id: string; status: string; mode: string } },
  { directoryId: string; mode: string; dryRun?: boolean }
> = gql`
  mutation SyncAll($directoryId: ID!, $mode: SyncMode!, $dryRun: Boolean) {
    syncAll(directoryId: $directoryId, mode: $mode, dryRun: $dryRun) {
      id
      status
      mode
    }
  }
`;

export const APPROVE_RUN: Doc<
  { approveRun: { id: string; status: string; decision: string | null } },
  { runId: string }
> = gql`
  mutation ApproveRun($runId: ID!) {
    approveRun(runId: $runId) {
      id
      status
      decision
    }
  }
`;

export const REJECT_RUN: Doc<
  { rejectRun: { id: string; status: string; decision: string | null } },
  { runId: string }
> = gql`
  mutation RejectRun($runId: ID!) {
    rejectRun(runId: $runId) {
      id
      status
      decision
    }
  }
`;

export const SYNC_USER: Doc<
  {
    syncUser: {
      outcome: SyncOutcome;
      run: {
        id: string;
        status: string;
        dryRun: boolean;
        errorCode: string | null;
        errorMessage: string | null;
        /** Asked only for a dry run: the plan for this one user. */
        changes?: Connection<RunChange> & { totalCount: number };
      };
      user: { id: string; username: string; status: string } | null;
    };
  },
  { directoryId: string; username: string; dryRun?: boolean }
> = gql`
  mutation SyncUser($directoryId: ID!, $username: String!, $dryRun: Boolean = false) {
    syncUser(directoryId: $directoryId, username: $username, dryRun: $dryRun) {
      outcome
      run {
        id
        status
        dryRun
        errorCode
        errorMessage
        changes(first: 50) @include(if: $dryRun) {
          totalCount
          nodes { ${RUN_CHANGE} }
          pageInfo { hasNextPage endCursor }
        }
      }
      user {
        id
        username
        status
      }
    }
  }
`;

export const SYNC_ADMIN: Doc<
  {
    syncAdmin: {
      outcome: SyncOutcome;
      run: { id: string; status: string; errorCode: string | null; errorMessage: string | null };
      admin: { id: string; email: string; role: string; status: string } | null;
    };
  },
  { directoryId: string; email: string }
> = gql`
  mutation SyncAdmin($directoryId: ID!, $email: String!) {
    syncAdmin(directoryId: $directoryId, email: $email) {
      outcome
      run {
        id
        status
        errorCode
        errorMessage
      }
      admin {
        id
        email
        role
        status
      }
    }
  }
`;

export interface ConnectionTest {
  ok: boolean;
  directoryId: string | null;
  kind: string;
  durationMs: number;
  testedAt: string;
  checks: {
    name: string;
    target: string | null;
    status: 'OK' | 'FAILED' | 'SKIPPED';
    code: string | null;
    message: string;
    durationMs: number;
  }[];
}

const CONNECTION_TEST = `ok directoryId kind durationMs testedAt
  checks { name target status code message durationMs }`;

/** Test a saved directory's connection with its stored settings and credential. */
export const TEST_DIRECTORY: Doc<{ testDirectory: ConnectionTest }, { id: string }> = gql`
  mutation TestDirectory($id: ID!) {
    testDirectory(id: $id) { ${CONNECTION_TEST} }
  }
`;

/** Test settings from the form before saving them (nothing is stored). */
export const TEST_DIRECTORY_SETTINGS: Doc<
  { testDirectorySettings: ConnectionTest },
  { input: Record<string, unknown> }
> = gql`
  mutation TestDirectorySettings($input: TestDirectorySettingsInput!) {
    testDirectorySettings(input: $input) { ${CONNECTION_TEST} }
  }
`;

export const CREATE_DIRECTORY: Doc<
  { createDirectory: { id: string } },
  { input: Record<string, unknown> }
> = gql`
  mutation CreateDirectory($input: CreateDirectoryInput!) {
    createDirectory(input: $input) {
      id
    }
  }
`;

export const UPDATE_DIRECTORY: Doc<
  { updateDirectory: DirectoryDetail },
  { id: string; input: Record<string, unknown> }
> = gql`
  mutation UpdateDirectory($id: ID!, $input: UpdateDirectoryInput!) {
    updateDirectory(id: $id, input: $input) { ${DIRECTORY_DETAIL} }
  }
`;

export const DELETE_DIRECTORY: Doc<{ deleteDirectory: boolean }, { id: string }> = gql`
  mutation DeleteDirectory($id: ID!) {
    deleteDirectory(id: $id)
  }
`;

export interface UserFilterVars {
  status?: string[] | null;
  directoryId?: string | null;
  groupId?: string | null;
  search?: string | null;
  /** The users a BLOCKED run holds back for removal. */
  heldByRunId?: string | null;
}

const USER_ROW = `id username displayName firstName lastName email status synced directory { id name } lastDirectorySync
  pendingDeletionAt purgeAfter removalReason`;

/** One page of users; no totalCount (counted once per filter by USER_COUNT, not per page). */
export const USERS: Doc<
  { users: Connection<UserRow> },
  { filter: UserFilterVars; after?: string | null; first: number }
> = gql`
  query Users($filter: UserFilter, $after: String, $first: Int!) {
    users(filter: $filter, after: $after, first: $first) {
      nodes { ${USER_ROW} }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

export const USER_COUNT: Doc<{ users: { totalCount: number } }, { filter: UserFilterVars }> = gql`
  query UserCount($filter: UserFilter) {
    users(filter: $filter, first: 0) {
      totalCount
    }
  }
`;

export const USER: Doc<{ user: UserDetail | null }, { id: string }> = gql`
  query User($id: ID!) {
    user(id: $id) {
      ${USER_ROW}
      directoryId externalId bypass synced firstName lastName sourceLocator createdAt updatedAt
      aliases phones { number kind } customAttributes { name value }
      nameConflicts { code name holder { id username } }
      groups(first: 100) { totalCount nodes { id name } pageInfo { hasNextPage endCursor } }
    }
  }
`;

export const SET_USER_BYPASS: Doc<
  { setUserBypass: { id: string; status: string; bypass: boolean } },
  { id: string; bypass: boolean }
> = gql`
  mutation SetUserBypass($id: ID!, $bypass: Boolean!) {
    setUserBypass(id: $id, bypass: $bypass) {
      id
      status
      bypass
    }
  }
`;

export interface ManualUserInput {
  username?: string;
  aliases?: string[];
  email?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  displayName?: string | null;
  phones?: { number: string; kind?: string }[];
  disabled?: boolean;
}

export const CREATE_USER: Doc<{ createUser: { id: string } }, { input: ManualUserInput }> = gql`
  mutation CreateUser($input: CreateUserInput!) {
    createUser(input: $input) {
      id
    }
  }
`;

export const UPDATE_USER: Doc<
  { updateUser: { id: string } },
  { id: string; input: ManualUserInput }
> = gql`
  mutation UpdateUser($id: ID!, $input: UpdateUserInput!) {
    updateUser(id: $id, input: $input) {
      id
    }
  }
`;

export const DELETE_USER: Doc<{ deleteUser: boolean }, { id: string }> = gql`
  mutation DeleteUser($id: ID!) {
    deleteUser(id: $id)
  }
`;

export const RESTORE_USER: Doc<
  { restoreUser: { id: string; status: string; pendingDeletionAt: string | null } },
  { id: string }
> = gql`
  mutation RestoreUser($id: ID!) {
    restoreUser(id: $id) {
      id
      status
      pendingDeletionAt
    }
  }
`;

export const PURGE_USER: Doc<{ purgeUser: string }, { id: string }> = gql`
  mutation PurgeUser($id: ID!) {
    purgeUser(id: $id)
  }
`;

export const GROUPS: Doc<
  { groups: Connection<GroupRow> & { totalCount: number } },
  {
    filter: { directoryId?: string | null; search?: string | null };
    after?: string | null;
    first: number;
  }
> = gql`
  query Groups($filter: GroupFilter, $after: String, $first: Int!) {
    groups(filter: $filter, after: $after, first: $first) {
      totalCount
      nodes {
        id
        name
        description
        memberCount
        directory {
          id
          name
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;

/** A few groups matching a search, for the users page's group filter. */
export const GROUP_OPTIONS: Doc<
  { groups: Connection<{ id: string; name: string; directory: { name: string } | null }> },
  { search?: string | null; directoryId?: string | null }
> = gql`
  query GroupOptions($search: String, $directoryId: ID) {
    groups(filter: { search: $search, directoryId: $directoryId }, first: 20) {
      nodes {
        id
        name
        directory {
          name
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;

export const GROUP: Doc<{ group: GroupDetail | null }, { id: string; after?: string | null }> = gql`
  query Group($id: ID!, $after: String) {
    group(id: $id) {
      id
      name
      description
      memberCount
      externalId
      sourceLocator
      updatedAt
      directory {
        id
        name
      }
      members(first: 50, after: $after) {
        nodes {
          id
          username
          displayName
          status
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
`;

const ADMIN_ROW = `id email role roles firstName lastName displayName status synced syncedAt
  pendingDeletionAt purgeAfter directory { id name }`;

export const ADMINS: Doc<
  { admins: Connection<AdminRow> & { totalCount: number } },
  {
    filter: {
      status?: string[] | null;
      role?: string[] | null;
      directoryId?: string | null;
      search?: string | null;
      /** The administrators a BLOCKED ADMIN run holds back for removal. */
      heldByRunId?: string | null;
    };
    after?: string | null;
    first: number;
  }
> = gql`
  query Admins($filter: AdminFilter, $after: String, $first: Int!) {
    admins(filter: $filter, after: $after, first: $first) {
      totalCount
      nodes { ${ADMIN_ROW} }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;

export interface AdminInput {
  email?: string;
  role?: string;
  firstName?: string | null;
  lastName?: string | null;
  displayName?: string | null;
  disabled?: boolean;
}

/** A manual administrator (admin:manage); CONFLICT (`extensions.field: email`) when taken. */
export const CREATE_ADMIN: Doc<{ createAdmin: AdminRow }, { input: AdminInput }> = gql`
  mutation CreateAdmin($input: CreateAdminInput!) {
    createAdmin(input: $input) { ${ADMIN_ROW} }
  }
`;

/** Change a manual administrator; a synced one answers READ_ONLY. */
export const UPDATE_ADMIN: Doc<{ updateAdmin: AdminRow }, { id: string; input: AdminInput }> = gql`
  mutation UpdateAdmin($id: ID!, $input: UpdateAdminInput!) {
    updateAdmin(id: $id, input: $input) { ${ADMIN_ROW} }
  }
`;

export const DELETE_ADMIN: Doc<{ deleteAdmin: boolean }, { id: string }> = gql`
  mutation DeleteAdmin($id: ID!) {
    deleteAdmin(id: $id)
  }
`;

/** Every document above, for the schema test. */
export const ALL_OPERATIONS = {
  VIEWER,
  DIRECTORIES,
  DIRECTORY_COUNTS,
  DIRECTORY,
  RUNS,
  RUN,
  RUN_CHANGES,
  RUN_CHANGE_KINDS,
  GROUP_NAME,
  USER_HISTORY,
  BLOCKED_RUNS,
  PREVIOUS_RUN,
  SYNC_ALL,
  APPROVE_RUN,
  REJECT_RUN,
  SYNC_USER,
  SYNC_ADMIN,
  TEST_DIRECTORY,
  TEST_DIRECTORY_SETTINGS,
  CREATE_DIRECTORY,
  UPDATE_DIRECTORY,
  DELETE_DIRECTORY,
  USERS,
  USER_COUNT,
  USER,
  SET_USER_BYPASS,
  CREATE_USER,
  UPDATE_USER,
  DELETE_USER,
  RESTORE_USER,
  PURGE_USER,
  GROUPS,
  GROUP_OPTIONS,
  GROUP,
  ADMINS,
  CREATE_ADMIN,
  UPDATE_ADMIN,
  DELETE_ADMIN,
};
