import type { DirectoryDetail } from '../graphql/types.js';
import type { FieldProblem } from '../lib/errors.js';

/**
 * The directory form's state (a flat map keyed by input path, `ldap.url`) and its translation to
 * `CreateDirectoryInput` / `UpdateDirectoryInput`. The paths are the ones the API names in a
 * BAD_USER_INPUT answer, so each problem lands beside its field. Validation is the API's; the
 * form checks only what GraphQL itself would refuse without naming a field (numbers).
 */
export type SourceKind = 'openldap' | 'activedirectory' | 'entra';
export type FormState = Record<string, string | boolean>;

export const KINDS: [SourceKind, string][] = [
  ['openldap', 'OpenLDAP'],
  ['activedirectory', 'Active Directory'],
  ['entra', 'Microsoft Entra ID'],
];

export const ADMIN_ROLES = [
  'OWNER',
  'ADMINISTRATOR',
  'APPLICATION_MANAGER',
  'USER_MANAGER',
  'HELP_DESK',
  'BILLING',
  'PHISHING_MANAGER',
  'READ_ONLY',
];

const INT_FIELDS = [
  'ldap.pageSize',
  'ldap.timeoutMs',
  'entra.pageSize',
  'scheduleIntervalMinutes',
  'deltaIntervalMinutes',
  'restoreWindowDays',
  'adminScheduleIntervalMinutes',
  'deletionThreshold.maxCount',
  'deletionThreshold.maxPercent',
];

export function newForm(kind: SourceKind): FormState {
  const base: FormState = {
    kind,
    name: '',
    selectedGroups: '',
    'mapping.username': '',
    'mapping.aliases': '',
    'mapping.email': '',
    'mapping.firstName': '',
    'mapping.lastName': '',
    'mapping.displayName': '',
    'mapping.phones': '',
    'mapping.custom': '',
    defaultRegion: '',
    scheduleIntervalMinutes: '30',
    deltaIntervalMinutes: '5',
    restoreWindowDays: '7',
    'deletionThreshold.maxCount': '500',
    'deletionThreshold.maxPercent': '20',
    conflictPolicy: 'REPORT',
    enabled: true,
  };
  if (kind === 'entra') {
    return {
      ...base,
      'entra.tenantId': '',
      'entra.clientId': '',
      'entra.credential': 'clientSecret',
      clientSecret: '',
      clientCertificate: '',
      'entra.cloud': 'global',
      'entra.loginUrl': '',
      'entra.graphUrl': '',
      'entra.tlsCaPem': '',
      'entra.pageSize': '',
    };
  }
  const admin: FormState = { adminScheduleIntervalMinutes: '30' };
  for (const r of ADMIN_ROLES) admin[`adminRoles.${r}`] = '';
  return {
    ...base,
    ...admin,
    'ldap.url': '',
    'ldap.bindDn': '',
    bindPassword: '',
    'ldap.baseDn': '',
    'ldap.userBaseDn': '',
    'ldap.groupBaseDn': '',
    'ldap.userFilter': '',
    'ldap.startTls': false,
    'ldap.tlsRejectUnauthorized': true,
    ...(kind === 'activedirectory' ? { 'ldap.allowPlainLdap': false } : {}),
    'ldap.tlsCaPem': '',
    'ldap.pageSize': '',
    'ldap.timeoutMs': '',
  };
}

export function formFromDirectory(d: DirectoryDetail): FormState {
  const kind: SourceKind =
    d.kind === 'ENTRA'
      ? 'entra'
      : d.ldap?.profile === 'activedirectory'
        ? 'activedirectory'
        : 'openldap';
  const f = newForm(kind);
  const s = (v: string | number | null | undefined) =>
    v === null || v === undefined ? '' : String(v);
  Object.assign(f, {
    name: d.name,
    selectedGroups: d.selectedGroups.join('\n'),
    'mapping.username': d.mapping.username,
    'mapping.aliases': d.mapping.aliases.join(', '),
    'mapping.email': d.mapping.email,
    'mapping.firstName': d.mapping.firstName,
    'mapping.lastName': d.mapping.lastName,
    'mapping.displayName': d.mapping.displayName,
    'mapping.phones': d.mapping.phones.join(', '),
    'mapping.custom': d.mapping.custom.map((c) => `${c.name}=${c.attribute}`).join('\n'),
    defaultRegion: d.defaultRegion,
    scheduleIntervalMinutes: s(d.scheduleIntervalMinutes),
    deltaIntervalMinutes: s(d.deltaIntervalMinutes),
    restoreWindowDays: s(d.restoreWindowDays),
    'deletionThreshold.maxCount': s(d.deletionThreshold.maxCount),
    'deletionThreshold.maxPercent': s(d.deletionThreshold.maxPercent),
    conflictPolicy: d.conflictPolicy,
    enabled: d.enabled,
  });
  if (d.ldap) {
    const l = d.ldap;
    Object.assign(f, {
      'ldap.url': l.url,
      'ldap.bindDn': l.bindDn,
      'ldap.baseDn': l.baseDn,
      'ldap.userBaseDn': s(l.userBaseDn),
      'ldap.groupBaseDn': s(l.groupBaseDn),
      'ldap.userFilter': s(l.userFilter),
      'ldap.startTls': l.startTls,
      'ldap.tlsRejectUnauthorized': l.tlsRejectUnauthorized,
      'ldap.tlsCaPem': s(l.tlsCaPem),
      'ldap.pageSize': s(l.pageSize),
      'ldap.timeoutMs': s(l.timeoutMs),
      adminScheduleIntervalMinutes: s(d.adminScheduleIntervalMinutes),
    });
    if (kind === 'activedirectory') f['ldap.allowPlainLdap'] = l.allowPlainLdap;
    for (const r of d.adminRoles) f[`adminRoles.${r.role}`] = r.groups.join('\n');
  }
  if (d.entra) {
    const e = d.entra;
    Object.assign(f, {
      'entra.tenantId': e.tenantId,
      'entra.clientId': e.clientId,
      'entra.credential': e.credential,
      'entra.cloud': e.cloud,
      'entra.loginUrl': s(e.loginUrl),
      'entra.graphUrl': s(e.graphUrl),
      'entra.tlsCaPem': s(e.tlsCaPem),
      'entra.pageSize': s(e.pageSize),
    });
  }
  return f;
}

/** Whole numbers where the API takes an Int (GraphQL would refuse anything else unnamed). */
export function localProblems(f: FormState): FieldProblem[] {
  return INT_FIELDS.filter((k) => {
    const v = f[k];
    return typeof v === 'string' && v.trim() !== '' && !/^-?\d+$/.test(v.trim());
  }).map((field) => ({ field, message: 'must be a whole number' }));
}

const lines = (v: string | boolean | undefined) =>
  String(v ?? '')
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
const list = (v: string | boolean | undefined) =>
  String(v ?? '')
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean);

function custom(v: string | boolean | undefined) {
  return lines(v).map((line) => {
    const i = line.indexOf('=');
    return i < 0
      ? { name: line, attribute: '' }
      : { name: line.slice(0, i).trim(), attribute: line.slice(i + 1).trim() };
  });
}

/** Optional text: trimmed, or (create) left out / (update) null when empty. */
function opt(f: FormState, k: string, empty: null | undefined): string | null | undefined {
  const v = String(f[k] ?? '').trim();
  return v === '' ? empty : v;
}
function int(f: FormState, k: string): number | undefined {
  const v = String(f[k] ?? '').trim();
  return v === '' ? undefined : Number.parseInt(v, 10);
}

function threshold(f: FormState) {
  const t = prune({
    maxCount: int(f, 'deletionThreshold.maxCount'),
    maxPercent: int(f, 'deletionThreshold.maxPercent'),
  });
  return Object.keys(t).length ? t : undefined;
}

function adminRoles(f: FormState) {
  return ADMIN_ROLES.map((role) => ({ role, groups: lines(f[`adminRoles.${role}`]) })).filter(
    (r) => r.groups.length > 0,
  );
}

function ldapSettings(f: FormState, empty: null | undefined) {
  const kind = f.kind as SourceKind;
  return prune({
    // Required fields go as typed (even empty): the API then names them in its answer.
    url: String(f['ldap.url'] ?? '').trim(),
    profile: kind === 'activedirectory' ? 'activedirectory' : 'openldap',
    bindDn: String(f['ldap.bindDn'] ?? '').trim(),
    baseDn: String(f['ldap.baseDn'] ?? '').trim(),
    userBaseDn: opt(f, 'ldap.userBaseDn', empty),
    groupBaseDn: opt(f, 'ldap.groupBaseDn', empty),
    userFilter: opt(f, 'ldap.userFilter', empty),
    startTls: f['ldap.startTls'] === true,
    tlsRejectUnauthorized: f['ldap.tlsRejectUnauthorized'] !== false,
    ...(kind === 'activedirectory' ? { allowPlainLdap: f['ldap.allowPlainLdap'] === true } : {}),
    tlsCaPem: opt(f, 'ldap.tlsCaPem', empty),
    pageSize: int(f, 'ldap.pageSize'),
    timeoutMs: int(f, 'ldap.timeoutMs'),
  });
}

function entraSettings(f: FormState, empty: null | undefined) {
  return prune({
    tenantId: String(f['entra.tenantId'] ?? '').trim(),
    clientId: String(f['entra.clientId'] ?? '').trim(),
    credential: String(f['entra.credential'] ?? 'clientSecret'),
    cloud: String(f['entra.cloud'] ?? 'global'),
    loginUrl: opt(f, 'entra.loginUrl', empty),
    graphUrl: opt(f, 'entra.graphUrl', empty),
    tlsCaPem: opt(f, 'entra.tlsCaPem', empty),
    pageSize: int(f, 'entra.pageSize'),
  });
}

/** Drop undefined members (absent = default on create, unchanged on update). */
function prune<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function secrets(f: FormState) {
  const out: Record<string, string> = {};
  for (const k of ['bindPassword', 'clientSecret', 'clientCertificate']) {
    const v = String(f[k] ?? '');
    if (v !== '') out[k] = v;
  }
  if (f.kind === 'entra') {
    if (f['entra.credential'] === 'clientCertificate') delete out.clientSecret;
    else delete out.clientCertificate;
  }
  return out;
}

export function buildCreateInput(f: FormState): Record<string, unknown> {
  const isEntra = f.kind === 'entra';
  const mapping = prune({
    username: opt(f, 'mapping.username', undefined),
    aliases: list(f['mapping.aliases']).length ? list(f['mapping.aliases']) : undefined,
    email: opt(f, 'mapping.email', undefined),
    firstName: opt(f, 'mapping.firstName', undefined),
    lastName: opt(f, 'mapping.lastName', undefined),
    displayName: opt(f, 'mapping.displayName', undefined),
    phones: list(f['mapping.phones']).length ? list(f['mapping.phones']) : undefined,
    custom: custom(f['mapping.custom']).length ? custom(f['mapping.custom']) : undefined,
  });
  const roles = isEntra ? [] : adminRoles(f);
  return prune({
    name: String(f.name ?? '').trim(),
    kind: isEntra ? 'ENTRA' : 'LDAP',
    ...(isEntra ? { entra: entraSettings(f, undefined) } : { ldap: ldapSettings(f, undefined) }),
    ...secrets(f),
    selectedGroups: lines(f.selectedGroups),
    mapping: Object.keys(mapping).length ? mapping : undefined,
    defaultRegion: opt(f, 'defaultRegion', undefined),
    scheduleIntervalMinutes: int(f, 'scheduleIntervalMinutes'),
    deltaIntervalMinutes: int(f, 'deltaIntervalMinutes'),
    restoreWindowDays: int(f, 'restoreWindowDays'),
    deletionThreshold: threshold(f),
    conflictPolicy: f.conflictPolicy ? String(f.conflictPolicy) : undefined,
    enabled: f.enabled !== false,
    adminRoles: roles.length ? roles : undefined,
    adminScheduleIntervalMinutes: roles.length ? int(f, 'adminScheduleIntervalMinutes') : undefined,
  });
}

/** Every field as shown (lists replace, empty optional text clears); secrets only when typed. */
export function buildUpdateInput(f: FormState, existing: DirectoryDetail): Record<string, unknown> {
  const isEntra = existing.kind === 'ENTRA';
  const mapping = prune({
    username: opt(f, 'mapping.username', undefined),
    aliases: list(f['mapping.aliases']),
    email: String(f['mapping.email'] ?? '').trim(),
    firstName: String(f['mapping.firstName'] ?? '').trim(),
    lastName: String(f['mapping.lastName'] ?? '').trim(),
    displayName: String(f['mapping.displayName'] ?? '').trim(),
    phones: list(f['mapping.phones']),
    custom: custom(f['mapping.custom']),
  });
  return prune({
    name: String(f.name ?? '').trim(),
    ...(isEntra ? { entra: entraSettings(f, null) } : { ldap: ldapSettings(f, null) }),
    ...secrets(f),
    selectedGroups: lines(f.selectedGroups),
    mapping,
    defaultRegion: opt(f, 'defaultRegion', undefined),
    scheduleIntervalMinutes: int(f, 'scheduleIntervalMinutes'),
    deltaIntervalMinutes: int(f, 'deltaIntervalMinutes'),
    restoreWindowDays: int(f, 'restoreWindowDays'),
    deletionThreshold: threshold(f),
    conflictPolicy: f.conflictPolicy ? String(f.conflictPolicy) : undefined,
    enabled: f.enabled !== false,
    ...(isEntra
      ? {}
      : {
          adminRoles: adminRoles(f),
          adminScheduleIntervalMinutes: int(f, 'adminScheduleIntervalMinutes'),
        }),
  });
}

/**
 * The API names admin role problems by position (`adminRoles[1].groups[0]`) in the list the
 * form sent; the form shows one field per role (`adminRoles.HELP_DESK`).
 */
export function remapProblems(problems: FieldProblem[], f: FormState): FieldProblem[] {
  const sent = adminRoles(f).map((r) => r.role);
  return problems.map((p) => {
    const m = /^adminRoles\[(\d+)\](.*)$/.exec(p.field);
    const role = m ? sent[Number(m[1])] : undefined;
    return role
      ? {
          field: `adminRoles.${role}`,
          message: `${m![2] ? `${m![2]}: ` : ''}${p.message}`.replace(/^\.groups/, 'group '),
        }
      : p;
  });
}

/**
 * `TestDirectorySettingsInput`: what the form holds, nothing stored. Editing a directory, its id
 * goes along, so a credential left empty is the stored one.
 */
export function buildTestInput(f: FormState, directoryId?: string): Record<string, unknown> {
  const c = buildCreateInput(f);
  return prune({
    directoryId,
    name: c.name,
    kind: directoryId ? undefined : c.kind,
    ldap: c.ldap,
    entra: c.entra,
    bindPassword: c.bindPassword,
    clientSecret: c.clientSecret,
    clientCertificate: c.clientCertificate,
    selectedGroups: c.selectedGroups,
    mapping: c.mapping,
    adminRoles: c.adminRoles,
  });
}
