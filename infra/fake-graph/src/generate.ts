import type { Tenant } from './tenant.js';

/** A synthetic tenant for the benchmark and the demo. */
export interface GenerateOptions {
  users: number;
  /** Groups besides the top-level "all staff" group (default 20). */
  groups?: number;
  /** Every n-th user is disabled (default 50; 0 = none). */
  disabledEvery?: number;
  /** Seed of the deterministic generator (default 1). */
  seed?: number;
  /** Domain of the user principal names (default "contoso.example"). */
  domain?: string;
}

export interface GeneratedTenant {
  users: number;
  groups: number;
  memberships: number;
  /** The group to select: every user is in it, transitively (through nested department groups). */
  selectedGroups: string[];
}

const FIRST = [
  'Ada',
  'Ben',
  'Chloé',
  'Dmitri',
  'Eva',
  'Farid',
  'Grace',
  'Hiro',
  'Inès',
  'Jonas',
  'Kai',
  'Lena',
  'Mateo',
  'Noor',
  'Olga',
  'Pål',
  'Quinn',
  'Rosa',
  'Søren',
  'Tariq',
];
const LAST = [
  'Abara',
  'Berg',
  'Castillo',
  'Dubois',
  'Eriksen',
  'Fischer',
  'García',
  'Hansen',
  'Ivanova',
  'Jensen',
  'Kowalski',
  'López',
  'Müller',
  'Nakamura',
  'Okafor',
  'Petrov',
  'Quist',
  'Rossi',
  'Schmidt',
  'Tanaka',
];

/** A deterministic GUID from a counter (version-4 shaped, so clients see ordinary object ids). */
function guid(seed: number, n: number): string {
  const hex = (v: number, len: number) => (v >>> 0).toString(16).padStart(len, '0').slice(-len);
  const a = Math.imul(n ^ 0x9e3779b9, 0x85ebca6b) ^ seed;
  const b = Math.imul(n + seed, 0xc2b2ae35);
  return `${hex(a, 8)}-${hex(b, 4)}-4${hex(b >>> 16, 3)}-8${hex(n, 3)}-${hex(seed, 4)}${hex(n, 8)}`;
}

/**
 * Fill a tenant: `users` people spread over `groups` department groups, all nested in one
 * "All staff" group (the one to select), every n-th user disabled, phone numbers in E.164.
 */
export function generateTenant(tenant: Tenant, opts: GenerateOptions): GeneratedTenant {
  const seed = opts.seed ?? 1;
  const groups = Math.max(1, opts.groups ?? 20);
  const disabledEvery = opts.disabledEvery ?? 50;
  const domain = opts.domain ?? 'contoso.example';
  const deptIds: string[] = [];
  const deptMembers: string[][] = [];
  for (let g = 0; g < groups; g++) {
    deptIds.push(guid(seed + 7, g));
    deptMembers.push([]);
  }
  for (let i = 0; i < opts.users; i++) {
    const first = FIRST[i % FIRST.length] as string;
    const last = LAST[Math.floor(i / FIRST.length) % LAST.length] as string;
    const login = `${first}.${last}.${i}`
      .normalize('NFD')
      .replace(/[\u0300-\u036f]/g, '')
      .replace(/[^A-Za-z0-9.]/g, '')
      .toLowerCase();
    const id = guid(seed, i);
    tenant.addUser({
      id,
      userPrincipalName: `${login}@${domain}`,
      mail: `${login}@${domain}`,
      givenName: first,
      surname: last,
      displayName: `${first} ${last}`,
      mobilePhone: `+1 415 555 ${String(i % 10_000).padStart(4, '0')}`,
      businessPhones: [`+1 212 555 ${String((i * 7) % 10_000).padStart(4, '0')}`],
      accountEnabled: disabledEvery === 0 || i % disabledEvery !== disabledEvery - 1,
      onPremisesSamAccountName: login.slice(0, 20),
      department: `Department ${i % groups}`,
    });
    deptMembers[i % groups]?.push(id);
  }
  for (let g = 0; g < groups; g++) {
    tenant.addGroup({
      id: deptIds[g],
      displayName: `Department ${g}`,
      description: `Everyone in department ${g}`,
      members: deptMembers[g],
    });
  }
  const allId = guid(seed + 13, 0);
  tenant.addGroup({
    id: allId,
    displayName: 'All staff',
    description: 'Every department',
    members: deptIds,
  });
  return {
    users: opts.users,
    groups: groups + 1,
    memberships: opts.users + groups,
    selectedGroups: [allId],
  };
}
