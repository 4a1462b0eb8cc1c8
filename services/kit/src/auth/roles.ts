/**
 * Who may do what: the one table every service and the gateway use. docs/security.md prints it
 * and explains how a new field picks its permission. A role is what a principal (an API key or an
 * OIDC token) has; a permission is what a GraphQL field requires.
 */

/** What a GraphQL field can require. Each root field and entity reference names exactly one. */
export const Permission = {
  /** Every query: users, groups, admins, directories (without secrets), runs. */
  READ: 'read',
  /** `syncUser`: re-sync one person now. */
  SYNC_USER: 'sync:user',
  /** `syncAll` (any mode) and `syncAdmin`: start runs of a whole directory. */
  SYNC_RUN: 'sync:run',
  /** `restoreUser`: bring a pending-deletion user back. */
  USER_RESTORE: 'user:restore',
  /** `purgeUser`: remove a pending-deletion user for good. */
  USER_PURGE: 'user:purge',
  /**
   * `createUser`, `updateUser`, `deleteUser` (manual users; a synced user's synced fields are
   * read-only for everyone) and `setUserBypass`.
   */
  USER_MANAGE: 'user:manage',
  /** `createAdmin`, `updateAdmin`, `deleteAdmin`: manage manual administrators. */
  ADMIN_MANAGE: 'admin:manage',
  /** Create, change and delete directories; rotate SCIM tokens. */
  DIRECTORY_MANAGE: 'directory:manage',
  /** `approveRun` / `rejectRun` of runs blocked by a deletion threshold. */
  RUN_APPROVE: 'run:approve',
  /** List, create and revoke API keys. */
  KEY_MANAGE: 'key:manage',
  /** Read the audit log. */
  AUDIT_READ: 'audit:read',
} as const;
export type Permission = (typeof Permission)[keyof typeof Permission];

/**
 * The roles a principal can have, named after the product's admin roles. The admin roles without
 * a directory-sync duty (Application Manager, Billing, Phishing Manager) are not here: a token
 * that carries only those gets no access.
 */
export const Role = {
  OWNER: 'OWNER',
  ADMINISTRATOR: 'ADMINISTRATOR',
  USER_MANAGER: 'USER_MANAGER',
  HELP_DESK: 'HELP_DESK',
  READ_ONLY: 'READ_ONLY',
} as const;
export type Role = (typeof Role)[keyof typeof Role];

/** Roles from the most to the least powerful (a principal with several gets the first). */
export const ROLES: readonly Role[] = [
  Role.OWNER,
  Role.ADMINISTRATOR,
  Role.USER_MANAGER,
  Role.HELP_DESK,
  Role.READ_ONLY,
];

const P = Permission;

/** The role → permission table. Change it here only; docs/security.md shows the same table. */
export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  OWNER: Object.values(Permission),
  ADMINISTRATOR: [P.READ, P.SYNC_USER, P.SYNC_RUN, P.USER_RESTORE, P.USER_PURGE, P.USER_MANAGE],
  USER_MANAGER: [P.READ, P.SYNC_USER, P.SYNC_RUN, P.USER_RESTORE, P.USER_MANAGE],
  HELP_DESK: [P.READ, P.SYNC_USER],
  READ_ONLY: [P.READ],
};

/** Whether `role` grants `permission`. */
export function can(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role]?.includes(permission) ?? false;
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function isPermission(value: unknown): value is Permission {
  return typeof value === 'string' && (Object.values(Permission) as string[]).includes(value);
}

/** The most powerful of the given roles, or undefined when there is none. */
export function highestRole(roles: Iterable<Role>): Role | undefined {
  const set = new Set(roles);
  return ROLES.find((r) => set.has(r));
}
