import { BigIntType, EntitySchema } from '@mikro-orm/core';

/** ADMIN: the directory's administrators; every one when `email` is null, else that one. */
export const RUN_MODES = ['FULL', 'DELTA', 'USER', 'ADMIN'] as const;
export type RunMode = (typeof RUN_MODES)[number];
export const RUN_TRIGGERS = ['MANUAL', 'SCHEDULE'] as const;
export type RunTrigger = (typeof RUN_TRIGGERS)[number];
/**
 * BLOCKED: the run applied everything but its removals, which exceeded the directory's deletion
 * threshold and wait for approveRun (→ COMPLETED) or rejectRun (→ REJECTED); a later FULL run
 * supersedes it (→ REJECTED with `supersededBy`).
 */
export const RUN_STATUSES = [
  'QUEUED',
  'RUNNING',
  'COMPLETED',
  'FAILED',
  'BLOCKED',
  'REJECTED',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
/** A directory has at most one run in these states (partial unique index `runs_one_active`). */
export const ACTIVE_STATUSES: readonly RunStatus[] = ['QUEUED', 'RUNNING'];

export const USER_OUTCOMES = [
  'CREATED',
  'UPDATED',
  'UNCHANGED',
  'PENDING_DELETION',
  'RESTORED',
  'NOT_FOUND',
  'FAILED',
  'CONFLICT',
] as const;
export type UserOutcome = (typeof USER_OUTCOMES)[number];

/** Why a DELTA run read the whole source (proto `FullReadReason`). */
export const FULL_READ_REASONS = ['NO_CURSOR', 'CURSOR_REJECTED', 'DELTA_UNSUPPORTED'] as const;
export type FullReadReason = (typeof FULL_READ_REASONS)[number];

export const RUN_DECISIONS = ['APPROVE', 'REJECT'] as const;
export type RunDecisionName = (typeof RUN_DECISIONS)[number];

/** What a BLOCKED run held back (proto `RemovalPlan`), as stored in `runs.removals`. */
export interface StoredRemovals {
  users: number;
  memberships: number;
  groups: number;
  baseUsers: number;
  baseMemberships: number;
  /** ADMIN runs: administrators held back, and the directory's synced ones before (absent in plans stored before). */
  admins?: number;
  baseAdmins?: number;
  reason: string;
  /** The threshold the run was measured against. */
  maxCount: number;
  maxPercent: number;
}

/** Cumulative counts as identity committed them (proto `RunCounts`). */
export const COUNT_FIELDS = [
  'seen',
  'created',
  'updated',
  'unchanged',
  'disabled',
  'pendingDeletion',
  'restored',
  'errors',
  'groupsSeen',
  'groupsCreated',
  'groupsUpdated',
  'groupsRemoved',
  'membershipsAdded',
  'membershipsRemoved',
  'entriesRead',
  'adminsSeen',
  'adminsCreated',
  'adminsUpdated',
  'adminsUnchanged',
  'adminsDisabled',
  'adminsPendingDeletion',
  'adminsRestored',
  'enabled',
  'conflicts',
  'claimed',
] as const;
export type CountField = (typeof COUNT_FIELDS)[number];

export class Run {
  id!: string;
  directoryId!: string;
  mode!: RunMode;
  trigger!: RunTrigger;
  /**
   * USER runs: the requested username, as UTF-8 bytes: it is passed through verbatim (NUL, `*`,
   * `(`… included — the connector escapes them) and Postgres text cannot hold a NUL.
   */
  username!: Buffer | null;
  /** ADMIN runs for one administrator: the requested e-mail (null: every administrator). */
  email!: string | null;
  /** A dry run: identity records the plan and changes nothing; no cursor is stored. */
  dryRun!: boolean;
  status!: RunStatus;
  seen!: number;
  created!: number;
  updated!: number;
  unchanged!: number;
  disabled!: number;
  pendingDeletion!: number;
  restored!: number;
  errors!: number;
  groupsSeen!: number;
  groupsCreated!: number;
  groupsUpdated!: number;
  groupsRemoved!: number;
  membershipsAdded!: number;
  membershipsRemoved!: number;
  /** Entries the connector read from the source. */
  entriesRead!: number;
  /** COMPLETED runs: how the connector read (a DELTA run served with a full read: FULL). */
  readMode!: RunMode | null;
  /** COMPLETED DELTA runs read in full: why. */
  fullReadReason!: FullReadReason | null;
  adminsSeen!: number;
  adminsCreated!: number;
  adminsUpdated!: number;
  adminsUnchanged!: number;
  adminsDisabled!: number;
  adminsPendingDeletion!: number;
  adminsRestored!: number;
  enabled!: number;
  conflicts!: number;
  claimed!: number;
  /** Highest RunUpdate seq applied; older updates are ignored. */
  updateSeq!: number;
  errorCode!: string | null;
  errorMessage!: string | null;
  userOutcome!: UserOutcome | null;
  userId!: string | null;
  /** ADMIN runs for one e-mail: what happened to that admin, and its identity id. */
  adminOutcome!: UserOutcome | null;
  adminId!: string | null;
  /** BLOCKED runs (and what became of them): the removals held back. */
  removals!: StoredRemovals | null;
  /** The operator's decision on a BLOCKED run, who made it and when. */
  decision!: RunDecisionName | null;
  decidedBy!: string | null;
  decidedAt!: Date | null;
  /** A BLOCKED run made stale by this later FULL run (then REJECTED, no decision). */
  supersededBy!: string | null;
  /** The replica responsible for the active run, and until when (see `RunService` leases). */
  leaseOwner!: string | null;
  leaseExpiresAt!: Date | null;
  /**
   * The connector process working on the run, from its heartbeats (connector liveness): its
   * kind and instance, its last heartbeat, and when it reported the terminal event published.
   */
  connectorKind!: string | null;
  connectorInstance!: string | null;
  heartbeatAt!: Date | null;
  connectorPublishedAt!: Date | null;
  queuedAt!: Date;
  startedAt!: Date | null;
  finishedAt!: Date | null;
  lastUpdateAt!: Date | null;
}

const count = (fieldName: string) => ({ type: 'integer', fieldName }) as const;
const time = (fieldName: string, nullable = true) =>
  ({ type: 'datetime', fieldName, columnType: 'timestamptz', nullable }) as const;

export const RunSchema = new EntitySchema<Run>({
  class: Run,
  tableName: 'runs',
  properties: {
    id: { type: 'uuid', primary: true },
    directoryId: { type: 'uuid', fieldName: 'directory_id' },
    mode: { type: 'text' },
    trigger: { type: 'text' },
    username: { type: 'blob', nullable: true },
    email: { type: 'text', nullable: true },
    dryRun: { type: 'boolean', fieldName: 'dry_run', default: false },
    status: { type: 'text' },
    seen: count('seen'),
    created: count('created'),
    updated: count('updated'),
    unchanged: count('unchanged'),
    disabled: count('disabled'),
    pendingDeletion: count('pending_deletion'),
    restored: count('restored'),
    errors: count('errors'),
    groupsSeen: count('groups_seen'),
    groupsCreated: count('groups_created'),
    groupsUpdated: count('groups_updated'),
    groupsRemoved: count('groups_removed'),
    membershipsAdded: count('memberships_added'),
    membershipsRemoved: count('memberships_removed'),
    entriesRead: count('entries_read'),
    readMode: { type: 'text', fieldName: 'read_mode', nullable: true },
    fullReadReason: { type: 'text', fieldName: 'full_read_reason', nullable: true },
    adminsSeen: count('admins_seen'),
    adminsCreated: count('admins_created'),
    adminsUpdated: count('admins_updated'),
    adminsUnchanged: count('admins_unchanged'),
    adminsDisabled: count('admins_disabled'),
    adminsPendingDeletion: count('admins_pending_deletion'),
    adminsRestored: count('admins_restored'),
    enabled: count('enabled'),
    conflicts: count('conflicts'),
    claimed: count('claimed'),
    updateSeq: { type: new BigIntType('number'), fieldName: 'update_seq' },
    errorCode: { type: 'text', fieldName: 'error_code', nullable: true },
    errorMessage: { type: 'text', fieldName: 'error_message', nullable: true },
    userOutcome: { type: 'text', fieldName: 'user_outcome', nullable: true },
    userId: { type: 'text', fieldName: 'user_id', nullable: true },
    adminOutcome: { type: 'text', fieldName: 'admin_outcome', nullable: true },
    adminId: { type: 'text', fieldName: 'admin_id', nullable: true },
    removals: { type: 'json', nullable: true },
    decision: { type: 'text', nullable: true },
    decidedBy: { type: 'text', fieldName: 'decided_by', nullable: true },
    decidedAt: time('decided_at'),
    supersededBy: { type: 'uuid', fieldName: 'superseded_by', nullable: true },
    leaseOwner: { type: 'text', fieldName: 'lease_owner', nullable: true },
    leaseExpiresAt: time('lease_expires_at'),
    connectorKind: { type: 'text', fieldName: 'connector_kind', nullable: true },
    connectorInstance: { type: 'text', fieldName: 'connector_instance', nullable: true },
    heartbeatAt: time('heartbeat_at'),
    connectorPublishedAt: time('connector_published_at'),
    queuedAt: time('queued_at', false),
    startedAt: time('started_at'),
    finishedAt: time('finished_at'),
    lastUpdateAt: time('last_update_at'),
  },
});
