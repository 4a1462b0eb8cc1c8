import type { AttributeMapping } from '@dirsync/proto';
import { ErrorCode } from '@dirsync/proto';
import {
  DirsyncError,
  ENTRA_USERNAME_ATTRIBUTES,
  GRAPH_PROPERTY_RE,
  MAX_ALIAS_ATTRIBUTES,
  type SourceUser,
} from '@dirsync/kit';

/** A directory's mapping with the Entra defaults filled in: Graph user property per field. */
export interface ResolvedMapping {
  username: string;
  aliases: string[];
  email: string;
  firstName: string;
  lastName: string;
  displayName: string;
  phones: string[];
  /** dirsync custom attribute name → Graph property. */
  custom: [string, string][];
}

/** dirsync's defaults for an Entra directory (what the sync service stores on create). */
export const ENTRA_DEFAULT_MAPPING = {
  username: 'userPrincipalName',
  email: 'mail',
  firstName: 'givenName',
  lastName: 'surname',
  displayName: 'displayName',
  phones: ['businessPhones', 'mobilePhone'],
} as const;

/** Graph user properties the connector always reads: the external id, the status, the locator. */
const ALWAYS = ['id', 'accountEnabled', 'userPrincipalName'];

export function resolveMapping(mapping: AttributeMapping): ResolvedMapping {
  const d = ENTRA_DEFAULT_MAPPING;
  const check = (field: string, name: string): string => {
    if (!GRAPH_PROPERTY_RE.test(name)) {
      throw new DirsyncError(
        ErrorCode.CONFIG_INVALID,
        `mapping.${field}: "${name}" is not a Microsoft Graph property name`,
      );
    }
    return name;
  };
  const username = check('username', mapping.username.trim() || d.username);
  if (!(ENTRA_USERNAME_ATTRIBUTES as readonly string[]).includes(username)) {
    throw new DirsyncError(
      ErrorCode.CONFIG_INVALID,
      `mapping.username: "${username}" cannot be an Entra username; use one of ${ENTRA_USERNAME_ATTRIBUTES.join(', ')}`,
    );
  }
  const aliases = mapping.aliases.filter((a) => a.trim() !== '');
  if (aliases.length > MAX_ALIAS_ATTRIBUTES) {
    throw new DirsyncError(
      ErrorCode.CONFIG_INVALID,
      `mapping.aliases: at most ${MAX_ALIAS_ATTRIBUTES} alias attributes may be mapped`,
    );
  }
  const phones = mapping.phones.filter((p) => p.trim() !== '');
  return {
    username,
    aliases: aliases.map((a, i) => check(`aliases[${i}]`, a.trim())),
    email: check('email', mapping.email.trim() || d.email),
    firstName: check('firstName', mapping.firstName.trim() || d.firstName),
    lastName: check('lastName', mapping.lastName.trim() || d.lastName),
    displayName: check('displayName', mapping.displayName.trim() || d.displayName),
    phones: (phones.length ? phones : [...d.phones]).map((p, i) => check(`phones[${i}]`, p.trim())),
    custom: Object.entries(mapping.custom).map(([name, prop]) => [
      name,
      check(`custom.${name}`, prop.trim()),
    ]),
  };
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
