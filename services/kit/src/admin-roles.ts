import { AdminRole, AdminRoleSchema } from '@dirsync/proto';
import { nameKey } from './unicode/case-fold.js';

/**
 * The administrator roles by name, most privileged first — the order of `AdminRole` in
 * `proto/dirsync/v1/admins.proto`. Someone in several role groups gets the first of their roles.
 * These names are what GraphQL, the database and the directory configuration use.
 */
export const ADMIN_ROLES = [
  'OWNER',
  'ADMINISTRATOR',
  'APPLICATION_MANAGER',
  'USER_MANAGER',
  'HELP_DESK',
  'BILLING',
  'PHISHING_MANAGER',
  'READ_ONLY',
] as const;
export type AdminRoleName = (typeof ADMIN_ROLES)[number];

/** The GraphQL description of the `AdminRole` enum; every subgraph that has it uses this one. */
export const ADMIN_ROLE_DESCRIPTION =
  'Administrator roles, most privileged first; someone in several role groups gets the first of their roles.';

/** Role groups per directory: at most this many groups for one role, and over all roles. */
export const MAX_GROUPS_PER_ADMIN_ROLE = 50;
export const MAX_ADMIN_ROLE_GROUPS = 100;

export function isAdminRoleName(v: string): v is AdminRoleName {
  return (ADMIN_ROLES as readonly string[]).includes(v);
}

/** `AdminRole.HELP_DESK` → "HELP_DESK"; undefined for UNSPECIFIED or an unknown number. */
export function adminRoleName(role: AdminRole): AdminRoleName | undefined {
  const v = AdminRoleSchema.values.find((x) => x.number === role);
  const name = v?.name.replace(/^ADMIN_ROLE_/, '');
  return name && isAdminRoleName(name) ? name : undefined;
}

export function adminRoleFromName(name: AdminRoleName): AdminRole {
  const v = AdminRoleSchema.values.find((x) => x.name === `ADMIN_ROLE_${name}`);
  if (!v) throw new Error(`admins.proto has no role ${name}`);
  return v.number as AdminRole;
}

/**
 * Rank of a role: 0 is the most privileged; UNSPECIFIED and unknown numbers rank below every
 * real role, so they never win.
 */
export function adminRoleRank(role: AdminRole): number {
  return role > AdminRole.UNSPECIFIED && role <= AdminRole.READ_ONLY
    ? role - 1
    : Number.MAX_SAFE_INTEGER;
}

/** The given roles without duplicates, most privileged first (UNSPECIFIED dropped). */
export function sortAdminRoles(roles: Iterable<AdminRole>): AdminRole[] {
  return [...new Set(roles)]
    .filter((r) => adminRoleRank(r) !== Number.MAX_SAFE_INTEGER)
    .sort((a, b) => adminRoleRank(a) - adminRoleRank(b));
}

/**
 * The comparison key of an e-mail address, which is what administrators are matched by: the
 * trimmed address's {@link nameKey} (canonical caseless matching, full case folding), the key
 * usernames and aliases use, so `STRASSE@example.org` is `straße@example.org`. It is the whole
 * address on purpose: RFC 5321 lets a local part be case-sensitive, but no identity provider
 * treats it so, and a role group naming a person in another case must still find them; domains
 * are case-insensitive, and an internationalised domain is compared as its Unicode text folded
 * like a name (no IDNA/punycode mapping: `xn--…` and its Unicode form are different keys).
 */
export function emailKey(email: string): string {
  return nameKey(email.trim());
}

const MAX_EMAIL_LENGTH = 254;
// eslint-disable-next-line no-control-regex -- the point is to find control characters
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Why a value is not usable as an administrator's e-mail, or undefined when it is: one "@" with
 * something on both sides, no spaces or control characters, at most 254 characters. Deliberately
 * loose (RFC 5321 local parts are wild); it only keeps out what cannot be an address.
 */
export function emailProblem(email: string): string | undefined {
  const v = email.trim();
  if (v === '') return 'is empty';
  if ([...v].length > MAX_EMAIL_LENGTH) return `is longer than ${MAX_EMAIL_LENGTH} characters`;
  if (CONTROL_RE.test(v)) return 'contains control characters';
  if (/\s/.test(v)) return 'contains spaces';
  const at = v.lastIndexOf('@');
  if (at <= 0 || at === v.length - 1) return 'is not an e-mail address (local@domain)';
  return undefined;
}
