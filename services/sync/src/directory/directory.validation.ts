import {
  ADMIN_ROLES,
  ENTRA_USERNAME_ATTRIBUTES,
  GRAPH_PROPERTY_RE,
  MAX_ADMIN_ROLE_GROUPS,
  MAX_ALIAS_ATTRIBUTES,
  MAX_GROUPS_PER_ADMIN_ROLE,
  MAX_SELECTED_GROUPS,
  SOURCE_MAPPING_DEFAULTS,
  emailProblem,
  entraSettingsSchema,
  isAdminRoleName,
  isGuid,
  ldapSettingsSchema,
  type AdminRoleName,
  type EntraSettings,
  type LdapSettings,
} from '@dirsync/kit';
import { DnSyntaxError, filterProblem, isWithin, normalizeDn } from '@dirsync/kit/ldap';
import { parseDn } from './dn.js';
import {
  CONFLICT_POLICIES,
  type ConflictPolicyName,
  type DirectoryKind,
  type StoredAdminRoleGroups,
  type StoredMapping,
} from './directory.entity.js';

/** One thing wrong with an input, named by its path (`ldap.url`, `selectedGroups[3]`). */
export interface InputProblem {
  field: string;
  message: string;
}

/** Input that failed validation; every problem is reported at once. */
export class InvalidInputError extends Error {
  constructor(readonly problems: InputProblem[]) {
    super(problems.map((p) => `${p.field}: ${p.message}`).join('; '));
    this.name = 'InvalidInputError';
  }
}

/** LDAP settings as given in an input: `null` means "not set" (clears the field on update). */
export type LdapSettingsFields = {
  [K in keyof LdapSettings]?: LdapSettings[K] | null;
};

/** Entra settings as given in an input: `null` means "not set". */
export type EntraSettingsFields = {
  [K in keyof EntraSettings]?: EntraSettings[K] | null;
};

/** A directory's connector settings: LDAP or Entra, by kind. */
export type DirectorySettings = LdapSettings | EntraSettings;

/** Kinds that have a connector. */
export const SUPPORTED_KINDS: readonly DirectoryKind[] = ['LDAP', 'ENTRA'];

export interface MappingFields {
  username?: string | null;
  aliases?: string[] | null;
  email?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  displayName?: string | null;
  phones?: string[] | null;
  custom?: { name: string; attribute: string }[] | null;
}

/**
 * Fields of a directory a caller may set. On create `name` and `selectedGroups` are required,
 * and per kind: LDAP `ldap` and `bindPassword`; ENTRA `entra` and `clientSecret` (or
 * `clientCertificate` when `entra.credential` is "clientCertificate").
 */
export interface DirectoryFields {
  name?: string | null;
  kind?: DirectoryKind | null;
  ldap?: LdapSettingsFields | null;
  bindPassword?: string | null;
  entra?: EntraSettingsFields | null;
  clientSecret?: string | null;
  /** PEM: the private key and the certificate registered on the app. */
  clientCertificate?: string | null;
  selectedGroups?: string[] | null;
  mapping?: MappingFields | null;
  defaultRegion?: string | null;
  scheduleIntervalMinutes?: number | null;
  restoreWindowDays?: number | null;
  /** Absent fields keep their value (defaults on create: 500 and 20). */
  deletionThreshold?: { maxCount?: number | null; maxPercent?: number | null } | null;
  conflictPolicy?: ConflictPolicyName | null;
  enabled?: boolean | null;
  /** Admin sync: role → source groups; a list replaces the stored one, [] turns admin sync off. */
  adminRoles?: { role: AdminRoleName; groups: string[] }[] | null;
  adminScheduleIntervalMinutes?: number | null;
  deltaIntervalMinutes?: number | null;
}

/** A directory's settable state after validation. */
export interface ValidDirectory {
  name: string;
  kind: DirectoryKind;
  settings: DirectorySettings;
  selectedGroups: string[];
  mapping: StoredMapping;
  defaultRegion: string;
  scheduleIntervalMinutes: number;
  restoreWindowDays: number;
  deletionMaxCount: number;
  deletionMaxPercent: number;
  conflictPolicy: ConflictPolicyName;
  enabled: boolean;
  adminRoleGroups: StoredAdminRoleGroups[];
  adminScheduleIntervalMinutes: number;
  deltaIntervalMinutes: number;
}

export const DEFAULTS = {
  defaultRegion: 'US',
  scheduleIntervalMinutes: 30,
  adminScheduleIntervalMinutes: 30,
  deltaIntervalMinutes: 5,
  restoreWindowDays: 7,
  deletionMaxCount: 500,
  deletionMaxPercent: 20,
  conflictPolicy: 'REPORT',
  enabled: true,
} as const;
export const MAX_DELETION_COUNT = 10_000_000;
export const MAX_SCHEDULE_INTERVAL_MINUTES = 43_200;
/**
 * At least a day: identity cannot tell a window of 0 from an unset one in the policy (proto3)
 * and would apply its default of 7, so 0 is refused rather than silently changed.
 */
export const MIN_RESTORE_WINDOW_DAYS = 1;
export const MAX_RESTORE_WINDOW_DAYS = 3_650;
export const MAX_PHONE_ATTRIBUTES = 8;
export const MAX_CUSTOM_ATTRIBUTES = 50;
export const MAX_NAME_LENGTH = 200;
export const MAX_SECRET_LENGTH = 4096;
export const MAX_USERNAME_LENGTH = 256;

const ATTRIBUTE_RE = /^[A-Za-z][A-Za-z0-9-]*(;[A-Za-z0-9-]+)*$/;
const OID_RE = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$/;
const CUSTOM_NAME_RE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
// eslint-disable-next-line no-control-regex -- the point is to find control characters
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/;
// eslint-disable-next-line no-control-regex -- NUL is allowed in usernames (the connector escapes it)
const USERNAME_CONTROL_RE = /[\u0001-\u001f\u007f-\u009f]/;
/** CLDR "regions" that are not countries a phone number can belong to. */
const NOT_COUNTRIES = new Set(['ZZ', 'EU', 'EZ', 'UN', 'QO']);
const regionNames = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });

/** Default attribute mapping per kind (and LDAP profile): the kit's, shared with the connectors. */
export function defaultMapping(profile: LdapSettings['profile'] | 'entra'): StoredMapping {
  const d = SOURCE_MAPPING_DEFAULTS[profile];
  return { ...d, aliases: [], phones: [...d.phones], custom: [] };
}

export function isAttributeName(v: string): boolean {
  return ATTRIBUTE_RE.test(v) || OID_RE.test(v);
}

/** LDAP attribute descriptions compare case-insensitively. */
export function sameAttribute(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

class Problems {
  readonly list: InputProblem[] = [];
  add(field: string, message: string): void {
    this.list.push({ field, message });
  }
  throwIfAny(): void {
    if (this.list.length > 0) throw new InvalidInputError(this.list);
  }
}

function dropNulls<T extends object>(o: T): Partial<Record<keyof T, unknown>> {
  return Object.fromEntries(
    Object.entries(o).filter(([, v]) => v !== null && v !== undefined),
  ) as Partial<Record<keyof T, unknown>>;
}

/** Settings that are multi-line text (PEM): tab, CR and LF are allowed in them. */
const MULTILINE_SETTINGS = new Set(['tlsCaPem']);
// eslint-disable-next-line no-control-regex -- the point is to find control characters
const MULTILINE_CONTROL_RE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
const LONE_SURROGATE_RE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why a string setting cannot be stored or used, or undefined: NUL and the other C0/C1 control
 * characters (Postgres text cannot hold NUL; DNs, filters, URLs and host names never contain
 * controls) and lone UTF-16 surrogates (not valid in a JSON document Postgres stores).
 */
export function textProblem(v: string, multiline = false): string | undefined {
  if (v.includes('\u0000')) return 'must not contain NUL characters';
  if ((multiline ? MULTILINE_CONTROL_RE : CONTROL_RE).test(v)) {
    return 'must not contain control characters';
  }
  if (LONE_SURROGATE_RE.test(v)) return 'must not contain unpaired UTF-16 surrogates';
  return undefined;
}

/** Merge a settings patch onto the stored settings and parse them with the kind's schema. */
function checkSettings<T>(
  block: 'ldap' | 'entra',
  schema: {
    safeParse(v: unknown):
      | { success: true; data: T }
      | {
          success: false;
          error: {
            issues: { code: string; path: PropertyKey[]; message: string; keys?: string[] }[];
          };
        };
  },
  base: object,
  patch: object | null | undefined,
  p: Problems,
): T | undefined {
  const merged: Record<string, unknown> = { ...dropNulls(base) };
  for (const [k, v] of Object.entries(patch ?? {})) {
    if (v === null) delete merged[k];
    else if (v !== undefined) merged[k] = v;
  }
  // Checked before the schema: Postgres cannot store NUL (nor a lone surrogate in JSON), and LDAP
  // DNs, filters and URLs cannot carry control characters; the value is never echoed.
  const badText = new Set<string>();
  for (const [k, v] of Object.entries(patch ?? {})) {
    if (typeof v !== 'string') continue;
    const problem = textProblem(v, MULTILINE_SETTINGS.has(k));
    if (problem) {
      p.add(`${block}.${k}`, problem);
      badText.add(k);
    }
  }
  const parsed = schema.safeParse(merged);
  if (parsed.success) return badText.size > 0 ? undefined : parsed.data;
  const what = block === 'ldap' ? 'an LDAP' : 'an Entra';
  for (const issue of parsed.error.issues) {
    if (badText.has(String(issue.path[0]))) continue;
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys ?? []) p.add(`${block}.${key}`, `is not ${what} setting`);
      continue;
    }
    const path = issue.path.map(String).join('.');
    p.add(path ? `${block}.${path}` : block, issue.message);
  }
  return undefined;
}

const checkLdap = (
  base: LdapSettingsFields,
  patch: LdapSettingsFields | null | undefined,
  p: Problems,
) => {
  const settings = checkSettings<LdapSettings>('ldap', ldapSettingsSchema, base, patch, p);
  return settings && checkLdapNames(settings, p) ? settings : undefined;
};

/** Active Directory also binds as `user@domain` (UPN) or `DOMAIN\user`. */
const AD_BIND_NAME_RE = /^([^\s@\\]+@[^\s@\\]+|[^\s@\\]+\\[^\s@\\]+)$/;

/**
 * What connector-ldap would refuse at its first run (CONFIG_INVALID), refused here by field with
 * the connector's own parsers (`@dirsync/kit/ldap`): bindDn, baseDn, userBaseDn and groupBaseDn
 * are DNs (on Active Directory bindDn may also be a UPN or `DOMAIN\user`), userBaseDn and
 * groupBaseDn lie within baseDn (the connector reads nothing outside it), and userFilter is one
 * parenthesised RFC 4515 filter with balanced parentheses.
 */
function checkLdapNames(s: LdapSettings, p: Problems): boolean {
  const opts = { caseIgnoreAll: s.profile === 'activedirectory' };
  let ok = true;
  const fail = (field: string, message: string) => {
    p.add(`ldap.${field}`, message);
    ok = false;
  };
  const dn = (field: string, value: string): string | undefined => {
    if (value.trim() === '') {
      fail(field, 'must not be empty');
      return undefined;
    }
    try {
      return normalizeDn(value, opts);
    } catch (err) {
      fail(
        field,
        `"${value}" is not a DN: ${err instanceof DnSyntaxError ? err.reason : 'it cannot be parsed'}`,
      );
      return undefined;
    }
  };
  if (!(s.profile === 'activedirectory' && AD_BIND_NAME_RE.test(s.bindDn.trim()))) {
    dn('bindDn', s.bindDn);
  }
  const base = dn('baseDn', s.baseDn);
  for (const field of ['userBaseDn', 'groupBaseDn'] as const) {
    const value = s[field];
    if (value === undefined || value === '') continue; // unset: baseDn
    const normalized = dn(field, value);
    if (normalized !== undefined && base !== undefined && !isWithin(normalized, base)) {
      fail(
        field,
        `"${value}" is not within baseDn "${s.baseDn}"; the connector reads only under baseDn`,
      );
    }
  }
  if (s.userFilter !== undefined && s.userFilter.trim() !== '') {
    const problem = filterProblem(s.userFilter);
    if (problem) fail('userFilter', `"${s.userFilter}" is not an LDAP filter: ${problem}`);
  }
  return ok;
}
const checkEntra = (
  base: EntraSettingsFields,
  patch: EntraSettingsFields | null | undefined,
  p: Problems,
) => checkSettings<EntraSettings>('entra', entraSettingsSchema, base, patch, p);

function checkName(name: string | null | undefined, p: Problems): string | undefined {
  if (name === undefined || name === null) {
    p.add('name', 'is required');
    return undefined;
  }
  const v = name.trim();
  if (v === '') p.add('name', 'must not be empty');
  else if (v.length > MAX_NAME_LENGTH)
    p.add('name', `must be at most ${MAX_NAME_LENGTH} characters`);
  else if (CONTROL_RE.test(v)) p.add('name', 'must not contain control characters');
  else return v;
  return undefined;
}

function checkGroups(
  groups: string[] | null | undefined,
  p: Problems,
  kind: DirectoryKind = 'LDAP',
): string[] | undefined {
  if (!groups) {
    p.add('selectedGroups', 'is required');
    return undefined;
  }
  if (groups.length === 0) {
    p.add('selectedGroups', 'select at least one group');
    return undefined;
  }
  if (groups.length > MAX_SELECTED_GROUPS) {
    p.add(
      'selectedGroups',
      `at most ${MAX_SELECTED_GROUPS} groups can be selected (got ${groups.length})`,
    );
    return undefined;
  }
  const seen = new Map<string, number>();
  const out: string[] = [];
  let ok = true;
  groups.forEach((raw, i) => {
    if (kind === 'ENTRA') {
      const id = raw.trim().toLowerCase();
      if (!isGuid(id)) {
        p.add(`selectedGroups[${i}]`, `"${raw}" is not an Entra group object id (GUID)`);
        ok = false;
        return;
      }
      const first = seen.get(id);
      if (first !== undefined) {
        p.add(`selectedGroups[${i}]`, `"${raw}" is a duplicate of selectedGroups[${first}]`);
        ok = false;
        return;
      }
      seen.set(id, i);
      out.push(id);
      return;
    }
    const dn = raw.trim();
    const parsed = parseDn(dn);
    if (!parsed.ok) {
      p.add(`selectedGroups[${i}]`, `"${raw}" is not a valid DN: ${parsed.reason}`);
      ok = false;
      return;
    }
    const first = seen.get(parsed.normalized);
    if (first !== undefined) {
      p.add(`selectedGroups[${i}]`, `"${raw}" is a duplicate of selectedGroups[${first}]`);
      ok = false;
      return;
    }
    seen.set(parsed.normalized, i);
    out.push(dn);
  });
  return ok ? out : undefined;
}

/** Directory kinds whose connectors read administrators from role groups (ADMIN runs). */
export const ADMIN_SYNC_KINDS: readonly DirectoryKind[] = ['LDAP', 'ENTRA'];

/**
 * Admin role groups: each role at most once, 1–50 groups per role in the source's notation
 * (LDAP: valid DNs; Entra: group object ids, stored lower case), no group mapped to two roles,
 * at most 100 groups in all; never for SCIM directories. Stored in role order (highest first).
 */
function checkAdminRoles(
  roles: { role: string; groups: string[] }[],
  kind: DirectoryKind | undefined,
  p: Problems,
): StoredAdminRoleGroups[] | undefined {
  if (roles.length === 0) return [];
  if (kind === 'SCIM') {
    p.add('adminRoles', 'administrators are never synced from SCIM directories');
    return undefined;
  }
  if (kind !== undefined && !ADMIN_SYNC_KINDS.includes(kind)) {
    p.add(
      'adminRoles',
      `admin sync is not available for ${kind} directories yet (only ${ADMIN_SYNC_KINDS.join(' and ')})`,
    );
    return undefined;
  }
  let ok = true;
  const byRole = new Map<AdminRoleName, string[]>();
  const groupRole = new Map<string, string>();
  let total = 0;
  roles.forEach((entry, i) => {
    const field = `adminRoles[${i}]`;
    if (!isAdminRoleName(entry.role)) {
      p.add(`${field}.role`, `"${entry.role}" is not a role (${ADMIN_ROLES.join(', ')})`);
      ok = false;
      return;
    }
    if (byRole.has(entry.role)) {
      p.add(`${field}.role`, `${entry.role} is listed twice; list all its groups once`);
      ok = false;
      return;
    }
    if (entry.groups.length === 0) {
      p.add(`${field}.groups`, `list at least one group (leave ${entry.role} out to not sync it)`);
      ok = false;
      return;
    }
    if (entry.groups.length > MAX_GROUPS_PER_ADMIN_ROLE) {
      p.add(
        `${field}.groups`,
        `at most ${MAX_GROUPS_PER_ADMIN_ROLE} groups per role (got ${entry.groups.length})`,
      );
      ok = false;
      return;
    }
    total += entry.groups.length;
    const groups: string[] = [];
    entry.groups.forEach((raw, j) => {
      let group: string;
      let key: string;
      if (kind === 'ENTRA') {
        group = raw.trim().toLowerCase();
        key = group;
        if (!isGuid(group)) {
          p.add(`${field}.groups[${j}]`, `"${raw}" is not an Entra group object id (GUID)`);
          ok = false;
          return;
        }
      } else {
        group = raw.trim();
        const parsed = parseDn(group);
        if (!parsed.ok) {
          p.add(`${field}.groups[${j}]`, `"${raw}" is not a valid DN: ${parsed.reason}`);
          ok = false;
          return;
        }
        key = parsed.normalized;
      }
      const other = groupRole.get(key);
      if (other !== undefined) {
        p.add(
          `${field}.groups[${j}]`,
          other === entry.role
            ? `"${raw}" is listed twice`
            : `"${raw}" is already mapped to ${other}; a group gives one role`,
        );
        ok = false;
        return;
      }
      groupRole.set(key, entry.role);
      groups.push(group);
    });
    byRole.set(entry.role, groups);
  });
  if (total > MAX_ADMIN_ROLE_GROUPS) {
    p.add('adminRoles', `at most ${MAX_ADMIN_ROLE_GROUPS} groups over all roles (got ${total})`);
    ok = false;
  }
  if (!ok) return undefined;
  return ADMIN_ROLES.filter((r) => byRole.has(r)).map((role) => ({
    role,
    groups: byRole.get(role) ?? [],
  }));
}

function checkAttribute(
  field: string,
  v: string,
  p: Problems,
  optional: boolean,
  kind: DirectoryKind = 'LDAP',
): boolean {
  if (v === '') {
    if (optional) return true;
    p.add(field, 'is required');
    return false;
  }
  if (kind === 'ENTRA') {
    if (GRAPH_PROPERTY_RE.test(v)) return true;
    p.add(field, `"${v}" is not a Microsoft Graph user property name`);
    return false;
  }
  if (!isAttributeName(v)) {
    p.add(field, `"${v}" is not an LDAP attribute name (letters, digits, "-", ";options") or OID`);
    return false;
  }
  return true;
}

function checkAttributeList(
  field: string,
  list: string[],
  max: number,
  p: Problems,
  kind: DirectoryKind,
): boolean {
  if (list.length > max) {
    p.add(field, `at most ${max} attributes (got ${list.length})`);
    return false;
  }
  let ok = true;
  const seen: string[] = [];
  list.forEach((v, i) => {
    if (!checkAttribute(`${field}[${i}]`, v, p, false, kind)) ok = false;
    else if (seen.some((s) => sameAttribute(s, v))) {
      p.add(`${field}[${i}]`, `"${v}" is listed twice`);
      ok = false;
    }
    seen.push(v);
  });
  return ok;
}

function checkMapping(
  base: StoredMapping,
  patch: MappingFields | null | undefined,
  p: Problems,
  kind: DirectoryKind = 'LDAP',
): StoredMapping | undefined {
  const m: StoredMapping = {
    ...base,
    ...(dropNulls(patch ?? {}) as Partial<StoredMapping>),
  };
  let ok = checkAttribute('mapping.username', m.username, p, false, kind);
  if (
    ok &&
    kind === 'ENTRA' &&
    !(ENTRA_USERNAME_ATTRIBUTES as readonly string[]).includes(m.username)
  ) {
    p.add('mapping.username', `must be one of ${ENTRA_USERNAME_ATTRIBUTES.join(', ')}`);
    ok = false;
  }
  ok = checkAttributeList('mapping.aliases', m.aliases, MAX_ALIAS_ATTRIBUTES, p, kind) && ok;
  for (const key of ['email', 'firstName', 'lastName', 'displayName'] as const) {
    ok = checkAttribute(`mapping.${key}`, m[key], p, true, kind) && ok;
  }
  ok = checkAttributeList('mapping.phones', m.phones, MAX_PHONE_ATTRIBUTES, p, kind) && ok;
  if (m.custom.length > MAX_CUSTOM_ATTRIBUTES) {
    p.add(
      'mapping.custom',
      `at most ${MAX_CUSTOM_ATTRIBUTES} custom attributes (got ${m.custom.length})`,
    );
    ok = false;
  } else {
    const names = new Set<string>();
    m.custom.forEach((c, i) => {
      if (!CUSTOM_NAME_RE.test(c.name)) {
        p.add(
          `mapping.custom[${i}].name`,
          `"${c.name}" must start with a letter and hold only letters, digits and "_" (at most 64)`,
        );
        ok = false;
      } else if (names.has(c.name.toLowerCase())) {
        p.add(`mapping.custom[${i}].name`, `"${c.name}" is mapped twice`);
        ok = false;
      }
      names.add(c.name.toLowerCase());
      ok = checkAttribute(`mapping.custom[${i}].attribute`, c.attribute, p, false, kind) && ok;
    });
  }
  return ok
    ? { ...m, custom: m.custom.map((c) => ({ name: c.name, attribute: c.attribute })) }
    : undefined;
}

function checkRegion(v: string, p: Problems): string | undefined {
  const code = v.trim().toUpperCase();
  if (!/^[A-Z]{2}$/.test(code) || NOT_COUNTRIES.has(code) || !regionNames.of(code)) {
    p.add('defaultRegion', `"${v}" is not an ISO 3166 alpha-2 country code (e.g. US, GB, DE)`);
    return undefined;
  }
  return code;
}

function checkInt(
  field: string,
  v: number,
  min: number,
  max: number,
  p: Problems,
): number | undefined {
  if (!Number.isInteger(v) || v < min || v > max) {
    p.add(field, `must be an integer between ${min} and ${max}`);
    return undefined;
  }
  return v;
}

function checkConflictPolicy(v: string, p: Problems): ConflictPolicyName | undefined {
  if ((CONFLICT_POLICIES as readonly string[]).includes(v)) return v as ConflictPolicyName;
  p.add('conflictPolicy', `must be one of ${CONFLICT_POLICIES.join(', ')}`);
  return undefined;
}

function checkKind(kind: DirectoryKind, p: Problems): DirectoryKind | undefined {
  if (!SUPPORTED_KINDS.includes(kind)) {
    p.add(
      'kind',
      `${kind} directories are not supported yet (only ${SUPPORTED_KINDS.join(' and ')})`,
    );
    return undefined;
  }
  return kind;
}

/** A client certificate credential: the PEM private key and its certificate, together. */
function checkCertificate(v: string | null | undefined, p: Problems): string | undefined {
  const s = checkSecret(v, 'clientCertificate', p);
  if (s === undefined) return undefined;
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(s) || !/-----BEGIN CERTIFICATE-----/.test(s)) {
    p.add('clientCertificate', 'must be PEM holding the private key and the certificate');
    return undefined;
  }
  return s;
}

/**
 * The settings block and secret of the directory's kind; the other kind's fields are refused.
 * `current` is the stored state on update (its secret need not be given again).
 */
function checkSource(
  kind: DirectoryKind | undefined,
  input: DirectoryFields,
  current: ValidDirectory | undefined,
  p: Problems,
): { settings: DirectorySettings | undefined; secret: string | undefined } {
  const refuse = (field: keyof DirectoryFields, forKind: string) => {
    if (input[field] !== undefined && input[field] !== null) {
      p.add(field, `is only for ${forKind} directories`);
    }
  };
  if (kind === 'ENTRA') {
    refuse('ldap', 'LDAP');
    refuse('bindPassword', 'LDAP');
    if (!current && !input.entra) {
      p.add('entra', 'is required');
      return { settings: undefined, secret: undefined };
    }
    const settings = checkEntra((current?.settings ?? {}) as EntraSettingsFields, input.entra, p);
    const wanted = settings?.credential ?? 'clientSecret';
    const other = wanted === 'clientSecret' ? 'clientCertificate' : 'clientSecret';
    refuse(other, `credential "${other}"`);
    const given = input[wanted];
    const credentialChanged =
      current !== undefined &&
      settings !== undefined &&
      (current.settings as EntraSettings).credential !== settings.credential;
    if (current && !credentialChanged && (given === undefined || given === null)) {
      return { settings, secret: undefined };
    }
    const secret =
      wanted === 'clientSecret'
        ? checkSecret(given, 'clientSecret', p)
        : checkCertificate(given, p);
    return { settings, secret };
  }
  refuse('entra', 'ENTRA');
  refuse('clientSecret', 'ENTRA');
  refuse('clientCertificate', 'ENTRA');
  if (!current && !input.ldap) {
    p.add('ldap', 'is required');
    checkSecret(input.bindPassword, 'bindPassword', p);
    return { settings: undefined, secret: undefined };
  }
  const settings = checkLdap((current?.settings ?? {}) as LdapSettingsFields, input.ldap, p);
  if (current && (input.bindPassword === undefined || input.bindPassword === null)) {
    return { settings, secret: undefined };
  }
  return { settings, secret: checkSecret(input.bindPassword, 'bindPassword', p) };
}

function mappingDefaults(kind: DirectoryKind | undefined, settings: DirectorySettings | undefined) {
  if (kind === 'ENTRA') return defaultMapping('entra');
  return defaultMapping((settings as LdapSettings | undefined)?.profile ?? 'openldap');
}

/** Check a bind password; secrets are never echoed in a message. */
export function checkSecret(
  v: string | null | undefined,
  field: string,
  p: Problems,
): string | undefined {
  if (v === undefined || v === null) {
    p.add(field, 'is required');
    return undefined;
  }
  if (v === '') p.add(field, 'must not be empty');
  else if (v.length > MAX_SECRET_LENGTH)
    p.add(field, `must be at most ${MAX_SECRET_LENGTH} characters`);
  else return v;
  return undefined;
}

/**
 * Validate a new directory; throws `InvalidInputError` naming every bad field. The kind is
 * `input.kind`, else ENTRA when only an `entra` block is given, else LDAP. `secret` is the
 * kind's credential (bind password, client secret or client certificate).
 * `selectedGroupsOptional`: none may be given (a connection test of settings not saved yet).
 */
export function validateCreate(
  input: DirectoryFields,
  opts: { selectedGroupsOptional?: boolean } = {},
): ValidDirectory & { secret: string } {
  const p = new Problems();
  const name = checkName(input.name, p);
  const kind = checkKind(input.kind ?? (input.entra && !input.ldap ? 'ENTRA' : 'LDAP'), p);
  const { settings, secret } = checkSource(kind, input, undefined, p);
  const selectedGroups =
    opts.selectedGroupsOptional && !input.selectedGroups?.length
      ? []
      : checkGroups(input.selectedGroups, p, kind);
  const mapping = checkMapping(mappingDefaults(kind, settings), input.mapping, p, kind);
  const defaultRegion = checkRegion(input.defaultRegion ?? DEFAULTS.defaultRegion, p);
  const scheduleIntervalMinutes = checkInt(
    'scheduleIntervalMinutes',
    input.scheduleIntervalMinutes ?? DEFAULTS.scheduleIntervalMinutes,
    0,
    MAX_SCHEDULE_INTERVAL_MINUTES,
    p,
  );
  const restoreWindowDays = checkInt(
    'restoreWindowDays',
    input.restoreWindowDays ?? DEFAULTS.restoreWindowDays,
    MIN_RESTORE_WINDOW_DAYS,
    MAX_RESTORE_WINDOW_DAYS,
    p,
  );
  const threshold = checkThreshold(input.deletionThreshold, DEFAULTS, p);
  const conflictPolicy = checkConflictPolicy(input.conflictPolicy ?? DEFAULTS.conflictPolicy, p);
  const adminRoleGroups = checkAdminRoles(input.adminRoles ?? [], kind, p);
  const adminScheduleIntervalMinutes = checkInt(
    'adminScheduleIntervalMinutes',
    input.adminScheduleIntervalMinutes ?? DEFAULTS.adminScheduleIntervalMinutes,
    0,
    MAX_SCHEDULE_INTERVAL_MINUTES,
    p,
  );
  const deltaIntervalMinutes = checkInt(
    'deltaIntervalMinutes',
    input.deltaIntervalMinutes ?? DEFAULTS.deltaIntervalMinutes,
    0,
    MAX_SCHEDULE_INTERVAL_MINUTES,
    p,
  );
  p.throwIfAny();
  return {
    name: name!,
    kind: kind!,
    settings: settings!,
    secret: secret!,
    selectedGroups: selectedGroups!,
    mapping: mapping!,
    defaultRegion: defaultRegion!,
    scheduleIntervalMinutes: scheduleIntervalMinutes!,
    restoreWindowDays: restoreWindowDays!,
    deletionMaxCount: threshold.deletionMaxCount!,
    deletionMaxPercent: threshold.deletionMaxPercent!,
    conflictPolicy: conflictPolicy!,
    enabled: input.enabled ?? DEFAULTS.enabled,
    adminRoleGroups: adminRoleGroups!,
    adminScheduleIntervalMinutes: adminScheduleIntervalMinutes!,
    deltaIntervalMinutes: deltaIntervalMinutes!,
  };
}

/**
 * Validate a change to `current`: absent fields keep their value, `ldap` and `mapping` are merged
 * field by field. `usernameLocked` names why the username attribute may no longer change.
 */
export function validateUpdate(
  current: ValidDirectory,
  input: DirectoryFields,
  usernameLocked: string | undefined,
): ValidDirectory & { secret: string | undefined } {
  const p = new Problems();
  const name =
    input.name !== undefined && input.name !== null ? checkName(input.name, p) : current.name;
  const kind =
    input.kind !== undefined && input.kind !== null && input.kind !== current.kind
      ? (p.add('kind', 'cannot be changed; create a new directory instead'), undefined)
      : current.kind;
  const { settings, secret } = checkSource(current.kind, input, current, p);
  const selectedGroups =
    input.selectedGroups !== undefined && input.selectedGroups !== null
      ? checkGroups(input.selectedGroups, p, current.kind)
      : current.selectedGroups;
  const profileOf = (v: unknown) => (v as { profile?: string } | undefined)?.profile;
  if (
    current.kind === 'LDAP' &&
    settings &&
    usernameLocked &&
    profileOf(settings) !== profileOf(current.settings)
  ) {
    // the profile decides the external id (entryUUID, objectGUID): changing it re-identifies all
    p.add(
      'ldap.profile',
      `cannot change from "${profileOf(current.settings)}" to "${profileOf(settings)}": ${usernameLocked}`,
    );
  }
  const mapping = checkMapping(current.mapping, input.mapping, p, current.kind);
  if (mapping && usernameLocked && !sameAttribute(mapping.username, current.mapping.username)) {
    p.add(
      'mapping.username',
      `cannot change from "${current.mapping.username}" to "${mapping.username}": ${usernameLocked}`,
    );
  }
  const defaultRegion =
    input.defaultRegion !== undefined && input.defaultRegion !== null
      ? checkRegion(input.defaultRegion, p)
      : current.defaultRegion;
  const scheduleIntervalMinutes = checkInt(
    'scheduleIntervalMinutes',
    input.scheduleIntervalMinutes ?? current.scheduleIntervalMinutes,
    0,
    MAX_SCHEDULE_INTERVAL_MINUTES,
    p,
  );
  const restoreWindowDays = checkInt(
    'restoreWindowDays',
    input.restoreWindowDays ?? current.restoreWindowDays,
    MIN_RESTORE_WINDOW_DAYS,
    MAX_RESTORE_WINDOW_DAYS,
    p,
  );
  const threshold = checkThreshold(input.deletionThreshold, current, p);
  const conflictPolicy = checkConflictPolicy(input.conflictPolicy ?? current.conflictPolicy, p);
  const adminRoleGroups =
    input.adminRoles !== undefined && input.adminRoles !== null
      ? checkAdminRoles(input.adminRoles, current.kind, p)
      : current.adminRoleGroups;
  const adminScheduleIntervalMinutes = checkInt(
    'adminScheduleIntervalMinutes',
    input.adminScheduleIntervalMinutes ?? current.adminScheduleIntervalMinutes,
    0,
    MAX_SCHEDULE_INTERVAL_MINUTES,
    p,
  );
  const deltaIntervalMinutes = checkInt(
    'deltaIntervalMinutes',
    input.deltaIntervalMinutes ?? current.deltaIntervalMinutes,
    0,
    MAX_SCHEDULE_INTERVAL_MINUTES,
    p,
  );
  p.throwIfAny();
  return {
    name: name!,
    kind: kind!,
    settings: settings!,
    secret,
    selectedGroups: selectedGroups!,
    mapping: mapping!,
    defaultRegion: defaultRegion!,
    scheduleIntervalMinutes: scheduleIntervalMinutes!,
    restoreWindowDays: restoreWindowDays!,
    deletionMaxCount: threshold.deletionMaxCount!,
    deletionMaxPercent: threshold.deletionMaxPercent!,
    conflictPolicy: conflictPolicy!,
    enabled: input.enabled ?? current.enabled,
    adminRoleGroups: adminRoleGroups!,
    adminScheduleIntervalMinutes: adminScheduleIntervalMinutes!,
    deltaIntervalMinutes: deltaIntervalMinutes!,
  };
}

/**
 * The deletion threshold: whole numbers, a count of at most 10,000,000 and a percentage of at
 * most 100; 0 turns that limit off. Absent fields keep `base` (the defaults, or the stored one).
 */
function checkThreshold(
  input: DirectoryFields['deletionThreshold'],
  base: { deletionMaxCount: number; deletionMaxPercent: number },
  p: Problems,
): { deletionMaxCount: number | undefined; deletionMaxPercent: number | undefined } {
  return {
    deletionMaxCount: checkInt(
      'deletionThreshold.maxCount',
      input?.maxCount ?? base.deletionMaxCount,
      0,
      MAX_DELETION_COUNT,
      p,
    ),
    deletionMaxPercent: checkInt(
      'deletionThreshold.maxPercent',
      input?.maxPercent ?? base.deletionMaxPercent,
      0,
      100,
      p,
    ),
  };
}

/** Check a syncAdmin e-mail (administrators are matched by e-mail). */
export function validateEmail(email: string): string {
  const p = new Problems();
  const problem = emailProblem(email);
  if (problem) p.add('email', `"${email}" ${problem}`);
  p.throwIfAny();
  return email.trim();
}

/**
 * Check a syncUser username. NUL, `*`, `(`, `)` and `\` are accepted and passed through verbatim:
 * the connector escapes them, so such a name finds nobody rather than someone else.
 */
export function validateUsername(username: string): string {
  const p = new Problems();
  if (username.trim() === '') p.add('username', 'must not be empty');
  else if ([...username].length > MAX_USERNAME_LENGTH) {
    p.add('username', `must be at most ${MAX_USERNAME_LENGTH} characters`);
  } else if (USERNAME_CONTROL_RE.test(username)) {
    p.add('username', 'must not contain control characters');
  }
  p.throwIfAny();
  return username;
}
