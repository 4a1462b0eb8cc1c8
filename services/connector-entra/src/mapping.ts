import type { AttributeMapping } from '@dirsync/proto';
import { ErrorCode } from '@dirsync/proto';
import {
  DirsyncError,
  ENTRA_USERNAME_ATTRIBUTES,
  GRAPH_PROPERTY_RE,
  SOURCE_MAPPING_DEFAULTS,
  resolveMapping as resolveKitMapping,
  type AttributeNameRule,
  type ResolvedMapping,
  type SourceUser,
} from '@dirsync/kit';

export type { ResolvedMapping };

/** dirsync's defaults for an Entra directory (what the sync service stores on create). */
export const ENTRA_DEFAULT_MAPPING = SOURCE_MAPPING_DEFAULTS.entra;

/** Graph user properties the connector always reads: the external id, the status, the locator. */
const ALWAYS = ['id', 'accountEnabled', 'userPrincipalName'];

/** Graph property names (`givenName`, `extension_<app>_costCenter`). */
const GRAPH_NAMES: AttributeNameRule = {
  valid: (name) => GRAPH_PROPERTY_RE.test(name),
  what: 'a Microsoft Graph property name',
};

/**
 * Fill the Entra defaults and validate property names (the kit's rules); the username must be
 * one of the properties an Entra username can come from. CONFIG_INVALID names the field.
 */
export function resolveMapping(mapping: AttributeMapping): ResolvedMapping {
  const username = mapping.username.trim() || ENTRA_DEFAULT_MAPPING.username;
  if (!GRAPH_NAMES.valid(username)) {
    throw new DirsyncError(
      ErrorCode.CONFIG_INVALID,
      `mapping.username: "${username}" is not ${GRAPH_NAMES.what}`,
    );
  }
  if (!(ENTRA_USERNAME_ATTRIBUTES as readonly string[]).includes(username)) {
    throw new DirsyncError(
      ErrorCode.CONFIG_INVALID,
      `mapping.username: "${username}" cannot be an Entra username; use one of ${ENTRA_USERNAME_ATTRIBUTES.join(', ')}`,
    );
  }
  return resolveKitMapping(mapping, ENTRA_DEFAULT_MAPPING, GRAPH_NAMES);
}

/** The `$select` of user reads: the mapped properties plus `id` and `accountEnabled`. */
export function userSelect(m: ResolvedMapping): string {
  const all = [
    ...ALWAYS,
    m.username,
    ...m.aliases,
    m.email,
    m.firstName,
    m.lastName,
    m.displayName,
    ...m.phones,
    ...m.custom.map(([, p]) => p),
  ];
  return [...new Set(all)].join(',');
}

/**
 * The `$select` of administrator reads: what `SourceAdmin` needs (id, status, the locator, the
 * mapped e-mail and names), nothing else.
 */
export function adminSelect(m: ResolvedMapping): string {
  const all = [...ALWAYS, m.email, m.firstName, m.lastName, m.displayName];
  return [...new Set(all)].join(',');
}

/** An OData string literal: quoted, quotes doubled, so a value is compared, never parsed. */
export function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * Single-valued user properties whose `eq` filter Graph serves by default. Every other property
 * (`onPremisesSamAccountName`, `mobilePhone`, `employeeType`, extension properties, …) filters
 * only in an advanced query — Microsoft's table "Support for filter by properties of Microsoft
 * Entra ID (directory) objects" (learn.microsoft.com/graph/aad-advanced-queries).
 */
const DEFAULT_EQ_FILTER = new Set([
  'id',
  'userPrincipalName',
  'mail',
  'displayName',
  'givenName',
  'surname',
  'mailNickname',
  'jobTitle',
  'department',
  'employeeId',
  'city',
  'state',
  'country',
  'usageLocation',
  'userType',
  'onPremisesUserPrincipalName',
  'onPremisesSecurityIdentifier',
]);

/** A `/users` request: its query and the headers it needs. */
export interface UsersQuery {
  query: Record<string, string>;
  headers: Record<string, string>;
}

/**
 * `/users` where `property` equals `value` (an OData literal, never a pattern; Graph compares
 * case-insensitively). A property Graph filters only in advanced queries gets the advanced query
 * parameters (`ConsistencyLevel: eventual`, `$count=true`) — without them Graph answers 400
 * `Request_UnsupportedQuery`. Advanced queries are eventually consistent: a user created seconds
 * ago may not be found yet.
 */
export function usersWhere(property: string, value: string, select: string): UsersQuery {
  const query = { $filter: `${property} eq ${odataString(value)}`, $select: select };
  if (DEFAULT_EQ_FILTER.has(property)) return { query, headers: {} };
  return { query: { ...query, $count: 'true' }, headers: { ConsistencyLevel: 'eventual' } };
}

/** A Graph user object (only the selected properties are present). */
export type GraphUser = Record<string, unknown> & { id: string };

function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  if (typeof v === 'number' || typeof v === 'boolean') return [String(v)];
  return [];
}

const first = (v: unknown): string | undefined => strings(v)[0];

/** A Graph user as the kit's SourceUser. `accountEnabled: false` → disabled. */
export function mapUser(u: GraphUser, m: ResolvedMapping): SourceUser {
  return {
    externalId: u.id,
    username: first(u[m.username]),
    aliases: m.aliases.flatMap((a) => strings(u[a])),
    email: first(u[m.email]),
    firstName: first(u[m.firstName]),
    lastName: first(u[m.lastName]),
    displayName: first(u[m.displayName]),
    phones: m.phones.flatMap((kind) => strings(u[kind]).map((value) => ({ value, kind }))),
    disabled: u.accountEnabled === false,
    customAttributes: Object.fromEntries(m.custom.map(([name, prop]) => [name, first(u[prop])])),
    sourceLocator: first(u.userPrincipalName) ?? `users/${u.id}`,
  };
}
