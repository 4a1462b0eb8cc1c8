import { ErrorCode, type AttributeMapping } from '@dirsync/proto';
import {
  resolveMapping as resolveKitMapping,
  type AttributeNameRule,
  type ResolvedMapping,
  type SourceUser,
} from '@dirsync/kit';
import type { Entry } from 'ldapts';
import { parseDn, canonicalType, isAttributeName } from '@dirsync/kit/ldap';
import type { LdapProfile } from './profiles/index.js';

export type { ResolvedMapping };

/** The LDAP rule for mapped names: attribute descriptions (`mail`, `msDS-cloudExtensionAttribute1`). */
const LDAP_NAMES: AttributeNameRule = { valid: isAttributeName, what: 'an LDAP attribute name' };

/** Fill the profile's defaults and validate attribute names; a bad name fails the run with CONFIG_INVALID. */
export function resolveMapping(mapping: AttributeMapping, profile: LdapProfile): ResolvedMapping {
  return resolveKitMapping(mapping, profile.defaults, LDAP_NAMES);
}

/** The user attributes one search must request for this mapping and profile. */
export function userAttributes(m: ResolvedMapping, profile: LdapProfile): string[] {
  const all = [
    profile.idAttribute,
    m.username,
    ...m.aliases,
    m.email,
    m.firstName,
    m.lastName,
    m.displayName,
    ...m.phones,
    ...m.custom.map(([, a]) => a),
    profile.memberUidUserAttribute,
    ...profile.statusAttributes,
    ...(profile.primaryGroup
      ? [profile.primaryGroup.sidAttribute, profile.primaryGroup.primaryGroupIdAttribute]
      : []),
  ];
  const seen = new Set<string>();
  return all.filter((a) => {
    const k = a.toLowerCase();
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export type AttributeValues = readonly (string | Buffer)[];

const NONE: AttributeValues = [];

/**
 * The attribute spellings seen in one search's entries (servers return names in their own
 * case, and with options such as `;lang-en`), indexed by lower-case name without options. Shared
 * by every entry of a search so that reading an attribute costs no per-entry map.
 */
export class AttributeNames {
  private readonly seen = new Set<string>();
  private readonly byName = new Map<string, string[]>();
  private readonly lower = new Map<string, string>();

  learn(entry: Entry): void {
    for (const key in entry) {
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      if (key === 'dn') continue;
      const semi = key.indexOf(';');
      const name = (semi < 0 ? key : key.slice(0, semi)).toLowerCase();
      const keys = this.byName.get(name);
      if (keys) keys.push(key);
      else this.byName.set(name, [key]);
    }
  }

  keys(attribute: string): readonly string[] {
    let l = this.lower.get(attribute);
    if (l === undefined) {
      l = attribute.toLowerCase();
      this.lower.set(attribute, l);
    }
    return this.byName.get(l) ?? NO_KEYS;
  }
}

const NO_KEYS: readonly string[] = [];

/** Case-insensitive access to one ldapts entry's attributes. */
export class EntryAttributes {
  private readonly names: AttributeNames;

  constructor(
    private readonly entry: Entry,
    names?: AttributeNames,
  ) {
    this.names = names ?? new AttributeNames();
    this.names.learn(entry);
  }

  get(attribute: string): AttributeValues {
    const keys = this.names.keys(attribute);
    if (keys.length === 1) return asArray(this.entry[keys[0] as string]);
    if (keys.length === 0) return NONE;
    const out: (string | Buffer)[] = [];
    for (const k of keys) out.push(...asArray(this.entry[k]));
    return out;
  }

  /** String values only; Buffers (values that are not valid UTF-8) are counted separately. */
  strings(attribute: string): { values: string[]; invalid: number } {
    const all = this.get(attribute);
    let invalid = 0;
    for (const v of all) if (typeof v !== 'string') invalid++;
    if (invalid === 0) return { values: all as string[], invalid };
    return { values: all.filter((v): v is string => typeof v === 'string'), invalid };
  }

  first(attribute: string): string | undefined {
    for (const v of this.get(attribute)) if (typeof v === 'string' && v.trim() !== '') return v;
    return undefined;
  }
}

function asArray(v: Entry[string] | undefined): AttributeValues {
  if (v === undefined) return NONE;
  return Array.isArray(v) ? v : [v];
}

export interface MappedUser {
  user: SourceUser;
  /** Per-object problems of the mapping (undecodable values); the kit adds its own. */
  problems: { code: ErrorCode; message: string }[];
}

/**
 * Translate one user entry. The username is the value of the username attribute; when that
 * attribute is multi-valued, the value in the entry's RDN wins (it is what the entry is named
 * by), else the first.
 */
export function mapUser(
  dn: string,
  attrs: EntryAttributes,
  m: ResolvedMapping,
  profile: LdapProfile,
  now: Date,
): MappedUser {
  const problems: MappedUser['problems'] = [];
  const strings = (attr: string): string[] => {
    if (profile.binaryAttributes.some((b) => b.toLowerCase() === attr.toLowerCase())) {
      // binary attributes (objectGUID, objectSid) only ever in their text form, never UTF-8
      const out: string[] = [];
      for (const v of attrs.get(attr)) {
        const text = Buffer.isBuffer(v) ? profile.decodeBinary(attr, v) : undefined;
        if (text !== undefined) out.push(text);
      }
      return out;
    }
    const { values, invalid } = attrs.strings(attr);
    if (invalid > 0) {
      problems.push({
        code: ErrorCode.INVALID_ATTRIBUTE,
        message: `${dn}: ${invalid} value(s) of ${attr} are not valid UTF-8 and were skipped`,
      });
    }
    return values;
  };
  const firstOf = (attr: string): string | undefined => strings(attr).find((v) => v.trim() !== '');

  const usernames = strings(m.username).filter((v) => v.trim() !== '');
  let username = usernames[0];
  if (usernames.length > 1) {
    try {
      const rdn = parseDn(dn)[0] ?? [];
      const named = rdn.find((a) => canonicalType(a.type) === canonicalType(m.username));
      const match =
        named && usernames.find((u) => u.trim().toLowerCase() === named.value.trim().toLowerCase());
      if (match) username = match;
    } catch {
      // the server's own DN always parses; keep the first value otherwise
    }
  }

  const custom: Record<string, string | undefined> = {};
  for (const [name, attr] of m.custom) custom[name] = firstOf(attr);

  const rawId = attrs.get(profile.idAttribute)[0];
  return {
    user: {
      externalId: profile.readId(rawId) ?? '',
      username,
      aliases: m.aliases.flatMap((a) => strings(a)),
      email: firstOf(m.email),
      firstName: firstOf(m.firstName),
      lastName: firstOf(m.lastName),
      displayName: firstOf(m.displayName),
      phones: m.phones.flatMap((kind) => strings(kind).map((value) => ({ value, kind }))),
      disabled: profile.isDisabled((a) => attrs.get(a), now),
      customAttributes: custom,
      sourceLocator: dn,
    },
    problems,
  };
}
