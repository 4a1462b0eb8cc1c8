import { ArrayType, EntitySchema } from '@mikro-orm/core';
import type { AdminRoleName, EntraSettings, LdapSettings } from '@dirsync/kit';

/** Source kinds a directory can have; LDAP and ENTRA have connectors today. */
export const DIRECTORY_KINDS = ['LDAP', 'ENTRA', 'GOOGLE', 'OKTA', 'SCIM'] as const;
export type DirectoryKind = (typeof DIRECTORY_KINDS)[number];

/** How source attributes become dirsync fields (stored as jsonb, sent in DirectoryConfig). */
export interface StoredMapping {
  username: string;
  aliases: string[];
  email: string;
  firstName: string;
  lastName: string;
  displayName: string;
  phones: string[];
  /** dirsync custom attribute name → source attribute, in the order given. */
  custom: { name: string; attribute: string }[];
}

/** The source groups (DNs for LDAP) whose members get one admin role. */
export interface StoredAdminRoleGroups {
  role: AdminRoleName;
  groups: string[];
}

export class Directory {
  id!: string;
  name!: string;
  kind!: DirectoryKind;
  /** Connector settings without secrets, defaults applied (`LdapSettings` or `EntraSettings`). */
  settings!: LdapSettings | EntraSettings;
  /**
   * `SecretBox` ciphertext of the directory's credential — LDAP bind password, Entra client
   * secret or client certificate — never leaves the service except in a ConfigReply.
   */
  bindPasswordEnc!: string | null;
  selectedGroups!: string[];
  mapping!: StoredMapping;
  defaultRegion!: string;
  scheduleIntervalMinutes!: number;
  enabled!: boolean;
  restoreWindowDays!: number;
  /**
   * Deletion threshold: a FULL or DELTA run that would remove more than `deletionMaxCount` users (or
   * memberships), or more than `deletionMaxPercent` % of them, removes nothing and ends BLOCKED.
   * 0 turns a limit off. Sent to identity in `DirectoryPolicy.deletion_threshold`.
   */
  deletionMaxCount!: number;
  deletionMaxPercent!: number;
  /** Delta cursor from the last COMPLETED run ("" or null: none). */
  cursor!: string | null;
  createdAt!: Date;
  updatedAt!: Date;
  lastRunId!: string | null;
  nextRunAt!: Date | null;
  /** Admin sync: role → groups, in role order; empty = no admin sync. */
  adminRoleGroups!: StoredAdminRoleGroups[];
  adminScheduleIntervalMinutes!: number;
  /** When the next scheduled full admin run is due (null: not scheduled). */
  nextAdminRunAt!: Date | null;
  /** Minutes between scheduled DELTA runs (0 = none). */
  deltaIntervalMinutes!: number;
  /** When the next scheduled DELTA run is due (null: not scheduled). */
  nextDeltaRunAt!: Date | null;
  /**
   * What a record whose username another directory's user holds does: REPORT (a per-object
   * USERNAME_CONFLICT, the other user left alone) or TAKE_OVER (the user moves to this
   * directory, same id). Sent to identity in `DirectoryPolicy.conflict_policy`.
   */
  conflictPolicy!: ConflictPolicyName;
  /**
   * When the scope settings last changed (`scopeKey`): a BLOCKED run queued before it holds a plan
   * made with other settings, which approveRun refuses. Null: never since creation.
   */
  scopeChangedAt!: Date | null;
}

/** Settings that do not change what a sync reads or whom it counts (connection tuning, TLS). */
const NOT_SCOPE = new Set([
  'pageSize',
  'timeoutMs',
  'tlsCaPem',
  'tlsRejectUnauthorized',
  'startTls',
  'allowPlainLdap',
]);

/**
 * What decides a sync's plan — server and bases, filter, selected groups, mapping, role groups —
 * as one comparable string. The credential is not in it: a new password reads the same entries.
 */
export function scopeKey(
  d: Pick<Directory, 'settings' | 'selectedGroups' | 'mapping' | 'adminRoleGroups'>,
): string {
  const settings = Object.entries(d.settings as unknown as Record<string, unknown>)
    .filter(([k]) => !NOT_SCOPE.has(k))
    // Server URLs are scheme://host[:port]: case and a trailing "/" name the same server.
    .map(([k, v]): [string, unknown] =>
      typeof v === 'string' && /url$/i.test(k) ? [k, v.toLowerCase().replace(/\/+$/, '')] : [k, v],
    )
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([settings, d.selectedGroups, d.mapping, d.adminRoleGroups]);
}

export const CONFLICT_POLICIES = ['REPORT', 'TAKE_OVER'] as const;
export type ConflictPolicyName = (typeof CONFLICT_POLICIES)[number];

export const DirectorySchema = new EntitySchema<Directory>({
  class: Directory,
  tableName: 'directories',
  properties: {
    id: { type: 'uuid', primary: true },
    name: { type: 'text' },
    kind: { type: 'text' },
    settings: { type: 'json' },
    bindPasswordEnc: { type: 'text', fieldName: 'bind_password_enc', nullable: true },
    selectedGroups: { type: ArrayType, fieldName: 'selected_groups', columnType: 'text[]' },
    mapping: { type: 'json' },
    defaultRegion: { type: 'text', fieldName: 'default_region' },
    scheduleIntervalMinutes: { type: 'integer', fieldName: 'schedule_interval_minutes' },
    enabled: { type: 'boolean' },
    restoreWindowDays: { type: 'integer', fieldName: 'restore_window_days' },
    deletionMaxCount: { type: 'integer', fieldName: 'deletion_max_count' },
    deletionMaxPercent: { type: 'integer', fieldName: 'deletion_max_percent' },
    conflictPolicy: { type: 'text', fieldName: 'conflict_policy' },
    cursor: { type: 'text', nullable: true },
    createdAt: { type: 'datetime', fieldName: 'created_at', columnType: 'timestamptz' },
    updatedAt: { type: 'datetime', fieldName: 'updated_at', columnType: 'timestamptz' },
    lastRunId: { type: 'uuid', fieldName: 'last_run_id', nullable: true },
    nextRunAt: {
      type: 'datetime',
      fieldName: 'next_run_at',
      columnType: 'timestamptz',
      nullable: true,
    },
    adminRoleGroups: { type: 'json', fieldName: 'admin_role_groups' },
    adminScheduleIntervalMinutes: {
      type: 'integer',
      fieldName: 'admin_schedule_interval_minutes',
    },
    nextAdminRunAt: {
      type: 'datetime',
      fieldName: 'next_admin_run_at',
      columnType: 'timestamptz',
      nullable: true,
    },
    deltaIntervalMinutes: { type: 'integer', fieldName: 'delta_interval_minutes' },
    scopeChangedAt: {
      type: 'datetime',
      fieldName: 'scope_changed_at',
      columnType: 'timestamptz',
      nullable: true,
    },
    nextDeltaRunAt: {
      type: 'datetime',
      fieldName: 'next_delta_run_at',
      columnType: 'timestamptz',
      nullable: true,
    },
  },
});
