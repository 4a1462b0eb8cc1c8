import {
  MAX_ALIAS_ATTRIBUTES,
  MAX_SELECTED_GROUPS,
  ldapSettingsSchema,
  type LdapSettings,
} from '@dirsync/kit';
import { parseDn } from './dn.js';
import type { DirectoryKind, StoredMapping } from './directory.entity.js';

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

/** Fields of a directory a caller may set; on create `name`, `ldap`, `bindPassword` and `selectedGroups` are required. */
export interface DirectoryFields {
  name?: string | null;
  kind?: DirectoryKind | null;
  ldap?: LdapSettingsFields | null;
  bindPassword?: string | null;
  selectedGroups?: string[] | null;
  mapping?: MappingFields | null;
  defaultRegion?: string | null;
  scheduleIntervalMinutes?: number | null;
  restoreWindowDays?: number | null;
  enabled?: boolean | null;
}

/** A directory's settable state after validation. */
export interface ValidDirectory {
  name: string;
  kind: DirectoryKind;
  settings: LdapSettings;
  selectedGroups: string[];
  mapping: StoredMapping;
  defaultRegion: string;
  scheduleIntervalMinutes: number;
  restoreWindowDays: number;
  enabled: boolean;
}

export const DEFAULTS = {
  defaultRegion: 'US',
  scheduleIntervalMinutes: 30,
  restoreWindowDays: 7,
  enabled: true,
} as const;
export const MAX_SCHEDULE_INTERVAL_MINUTES = 43_200;
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

/** Default attribute mapping per LDAP profile. */
export function defaultMapping(profile: LdapSettings['profile']): StoredMapping {
  return profile === 'activedirectory'
    ? {
        username: 'sAMAccountName',
        aliases: [],
        email: 'mail',
        firstName: 'givenName',
        lastName: 'sn',
        displayName: 'displayName',
        phones: ['telephoneNumber', 'mobile'],
        custom: [],
      }
    : {
        username: 'uid',
        aliases: [],
        email: 'mail',
        firstName: 'givenName',
        lastName: 'sn',
        displayName: 'displayName',
        phones: ['telephoneNumber', 'mobile'],
        custom: [],
      };
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

function checkLdap(
  base: LdapSettingsFields,
  patch: LdapSettingsFields | null | undefined,
  p: Problems,
): LdapSettings | undefined {
  const merged: Record<string, unknown> = { ...dropNulls(base) };
  for (const [k, v] of Object.entries(patch ?? {})) {
    if (v === null) delete merged[k];
    else if (v !== undefined) merged[k] = v;
  }
  const parsed = ldapSettingsSchema.safeParse(merged);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) p.add(`ldap.${key}`, 'is not an LDAP setting');
      continue;
    }
    const path = issue.path.map(String).join('.');
    p.add(path ? `ldap.${path}` : 'ldap', issue.message);
  }
  return undefined;
}

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

function checkGroups(groups: string[] | null | undefined, p: Problems): string[] | undefined {
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

function checkAttribute(field: string, v: string, p: Problems, optional: boolean): boolean {
  if (v === '') {
    if (optional) return true;
    p.add(field, 'is required');
    return false;
  }
  if (!isAttributeName(v)) {
    p.add(field, `"${v}" is not an LDAP attribute name (letters, digits, "-", ";options") or OID`);
    return false;
  }
  return true;
}

function checkAttributeList(field: string, list: string[], max: number, p: Problems): boolean {
  if (list.length > max) {
    p.add(field, `at most ${max} attributes (got ${list.length})`);
    return false;
  }
  let ok = true;
  const seen: string[] = [];
  list.forEach((v, i) => {
    if (!checkAttribute(`${field}[${i}]`, v, p, false)) ok = false;
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
): StoredMapping | undefined {
  const m: StoredMapping = {
    ...base,
    ...(dropNulls(patch ?? {}) as Partial<StoredMapping>),
  };
  let ok = checkAttribute('mapping.username', m.username, p, false);
  ok = checkAttributeList('mapping.aliases', m.aliases, MAX_ALIAS_ATTRIBUTES, p) && ok;
  for (const key of ['email', 'firstName', 'lastName', 'displayName'] as const) {
    ok = checkAttribute(`mapping.${key}`, m[key], p, true) && ok;
  }
  ok = checkAttributeList('mapping.phones', m.phones, MAX_PHONE_ATTRIBUTES, p) && ok;
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
      ok = checkAttribute(`mapping.custom[${i}].attribute`, c.attribute, p, false) && ok;
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

function checkKind(kind: DirectoryKind, p: Problems): DirectoryKind | undefined {
  if (kind !== 'LDAP') {
    p.add('kind', `${kind} directories are not supported yet (only LDAP)`);
    return undefined;
  }
  return kind;
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

/** Validate a new directory; throws `InvalidInputError` naming every bad field. */
export function validateCreate(input: DirectoryFields): ValidDirectory & { bindPassword: string } {
  const p = new Problems();
  const name = checkName(input.name, p);
  const kind = checkKind(input.kind ?? 'LDAP', p);
  const settings = input.ldap
    ? checkLdap({}, input.ldap, p)
    : (p.add('ldap', 'is required'), undefined);
  const bindPassword = checkSecret(input.bindPassword, 'bindPassword', p);
  const selectedGroups = checkGroups(input.selectedGroups, p);
  const mapping = checkMapping(defaultMapping(settings?.profile ?? 'openldap'), input.mapping, p);
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
    0,
    MAX_RESTORE_WINDOW_DAYS,
    p,
  );
  p.throwIfAny();
  return {
    name: name!,
    kind: kind!,
    settings: settings!,
    bindPassword: bindPassword!,
    selectedGroups: selectedGroups!,
    mapping: mapping!,
    defaultRegion: defaultRegion!,
    scheduleIntervalMinutes: scheduleIntervalMinutes!,
    restoreWindowDays: restoreWindowDays!,
    enabled: input.enabled ?? DEFAULTS.enabled,
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
): ValidDirectory & { bindPassword: string | undefined } {
  const p = new Problems();
  const name =
    input.name !== undefined && input.name !== null ? checkName(input.name, p) : current.name;
  const kind =
    input.kind !== undefined && input.kind !== null && input.kind !== current.kind
      ? (p.add('kind', 'cannot be changed; create a new directory instead'), undefined)
      : current.kind;
  const settings = checkLdap(current.settings, input.ldap, p);
  const bindPassword =
    input.bindPassword !== undefined && input.bindPassword !== null
      ? checkSecret(input.bindPassword, 'bindPassword', p)
      : undefined;
  const selectedGroups =
    input.selectedGroups !== undefined && input.selectedGroups !== null
      ? checkGroups(input.selectedGroups, p)
      : current.selectedGroups;
  const mapping = checkMapping(current.mapping, input.mapping, p);
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
    0,
    MAX_RESTORE_WINDOW_DAYS,
    p,
  );
  p.throwIfAny();
  return {
    name: name!,
    kind: kind!,
    settings: settings!,
    bindPassword,
    selectedGroups: selectedGroups!,
    mapping: mapping!,
    defaultRegion: defaultRegion!,
    scheduleIntervalMinutes: scheduleIntervalMinutes!,
    restoreWindowDays: restoreWindowDays!,
    enabled: input.enabled ?? current.enabled,
  };
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
