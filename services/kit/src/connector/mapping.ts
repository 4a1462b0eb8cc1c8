import { ErrorCode, type AttributeMapping } from '@dirsync/proto';
import { DirsyncError } from '../errors.js';
import { MAX_ALIAS_ATTRIBUTES } from '../sources/ldap.js';

/**
 * A directory's attribute mapping with the source's defaults filled in and every name checked:
 * for each dirsync field, the source attribute (LDAP) or property (Graph) it is read from.
 */
export interface ResolvedMapping {
  username: string;
  aliases: string[];
  email: string;
  firstName: string;
  lastName: string;
  displayName: string;
  phones: string[];
  /** dirsync custom attribute name → source attribute. */
  custom: [string, string][];
}

/** What a source maps when the directory's mapping leaves a field empty. */
export interface MappingDefaults {
  username: string;
  email: string;
  firstName: string;
  lastName: string;
  displayName: string;
  phones: readonly string[];
}

/**
 * The default mapping of each kind of source: what the sync service stores for a new directory
 * and what a connector fills in for a field the directory's mapping leaves empty.
 */
export const SOURCE_MAPPING_DEFAULTS = {
  openldap: {
    username: 'uid',
    email: 'mail',
    firstName: 'givenName',
    lastName: 'sn',
    displayName: 'displayName',
    phones: ['telephoneNumber', 'mobile'],
  },
  activedirectory: {
    username: 'sAMAccountName',
    email: 'mail',
    firstName: 'givenName',
    lastName: 'sn',
    displayName: 'displayName',
    phones: ['telephoneNumber', 'mobile'],
  },
  /** Graph user properties. */
  entra: {
    username: 'userPrincipalName',
    email: 'mail',
    firstName: 'givenName',
    lastName: 'surname',
    displayName: 'displayName',
    phones: ['businessPhones', 'mobilePhone'],
  },
} as const satisfies Record<string, MappingDefaults>;

/** How a source tells an attribute name from anything else. */
export interface AttributeNameRule {
  valid(name: string): boolean;
  /** Completes "… is not": `an LDAP attribute name`, `a Microsoft Graph property name`. */
  what: string;
}

/**
 * Fill a directory's mapping with the source's defaults (an empty field, or no phones, takes the
 * default) and check every name. More than `MAX_ALIAS_ATTRIBUTES` aliases, or a name the rule
 * refuses, fails the run with CONFIG_INVALID naming the field (`mapping.aliases[1]: "a b" is not
 * an LDAP attribute name`) — a mapping is configuration, never a per-object problem. Names are
 * trimmed; which names a source accepts as a username is the connector's own check.
 */
export function resolveMapping(
  mapping: AttributeMapping,
  defaults: MappingDefaults,
  rule: AttributeNameRule,
): ResolvedMapping {
  const check = (field: string, name: string): string => {
    if (!rule.valid(name)) {
      throw new DirsyncError(
        ErrorCode.CONFIG_INVALID,
        `mapping.${field}: "${name}" is not ${rule.what}`,
      );
    }
    return name;
  };
  const aliases = mapping.aliases.filter((a) => a.trim() !== '');
  if (aliases.length > MAX_ALIAS_ATTRIBUTES) {
    throw new DirsyncError(
      ErrorCode.CONFIG_INVALID,
      `mapping.aliases: at most ${MAX_ALIAS_ATTRIBUTES} alias attributes may be mapped`,
    );
  }
  const phones = mapping.phones.filter((p) => p.trim() !== '');
  const d = defaults;
  return {
    username: check('username', mapping.username.trim() || d.username),
    aliases: aliases.map((a, i) => check(`aliases[${i}]`, a.trim())),
    email: check('email', mapping.email.trim() || d.email),
    firstName: check('firstName', mapping.firstName.trim() || d.firstName),
    lastName: check('lastName', mapping.lastName.trim() || d.lastName),
    displayName: check('displayName', mapping.displayName.trim() || d.displayName),
    phones: (phones.length ? phones : [...d.phones]).map((p, i) => check(`phones[${i}]`, p.trim())),
    custom: Object.entries(mapping.custom).map(([name, attr]) => [
      name,
      check(`custom.${name}`, attr.trim()),
    ]),
  };
}
