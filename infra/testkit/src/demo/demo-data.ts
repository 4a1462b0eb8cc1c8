import { createHash } from 'node:crypto';
/**
 * The demo directory: ~2,000 people and 60 groups under dc=example,dc=org, generated from a
 * fixed seed so infra/demo/demo.ldif is byte-identical on every run. See infra/demo/README.md.
 */
import { formatLdif, ldifAttr, normalizeDn, type LdifEntry } from '../ldif.js';
import { Prng, asciiFold } from '../prng.js';

export const DEMO_SEED = 20240611;
export const DEMO_SUFFIX = 'dc=example,dc=org';
export const DEMO_PEOPLE = `ou=people,${DEMO_SUFFIX}`;
export const DEMO_GROUPS = `ou=groups,${DEMO_SUFFIX}`;
export const DEMO_ROOT_DN = `cn=admin,${DEMO_SUFFIX}`;
const PEOPLE_COUNT = 2000;

const g = (cn: string) => `cn=${cn},${DEMO_GROUPS}`;
const p = (rdn: string) => `${rdn},${DEMO_PEOPLE}`;

/** The groups a demo directory selects (the scope of the import). */
export const DEMO_SELECTED_GROUPS = [
  g('engineering'),
  g('cycle-a'),
  g('sales-uk'),
  g('unix-admins'),
  g('support'),
];

/** The directory definition the demo registers (infra/demo/demo-directory.json). */
export const DEMO_DIRECTORY = {
  name: 'Demo OpenLDAP',
  ldap: {
    url: 'ldap://127.0.0.1:3890',
    bindDn: DEMO_ROOT_DN,
    baseDn: DEMO_SUFFIX,
    userBaseDn: DEMO_PEOPLE,
    groupBaseDn: DEMO_GROUPS,
  },
  selectedGroups: DEMO_SELECTED_GROUPS,
  mapping: {
    username: 'uid',
    aliases: ['mail'],
    email: 'mail',
    firstName: 'givenName',
    lastName: 'sn',
    displayName: 'displayName',
    phones: ['telephoneNumber', 'mobile'],
    custom: { department: 'departmentNumber', employeeId: 'employeeNumber', title: 'title' },
  },
  defaultRegion: 'GB',
};

// ---------------------------------------------------------------------------------------------
// Name pools

const FIRST = [
  'James',
  'Mary',
  'Olivia',
  'Liam',
  'Emma',
  'Noah',
  'Ava',
  'Oliver',
  'Sophia',
  'Elijah',
  'Isabella',
  'Lucas',
  'Mia',
  'Mason',
  'Amelia',
  'Ethan',
  'Harper',
  'Aiden',
  'Evelyn',
  'Logan',
  'Abigail',
  'Jacob',
  'Emily',
  'Michael',
  'Ella',
  'Daniel',
  'Charlotte',
  'Henry',
  'Grace',
  'Jackson',
  'Hannah',
  'Samuel',
  'Priya',
  'Arjun',
  'Fatima',
  'Mohammed',
  'Yusuf',
  'Amara',
  'Kwame',
  'Chidi',
  'Hiroshi',
  'Yuki',
  'Mei',
  'Wei',
  'Aoife',
  'Dmitri',
  'Ingrid',
  'Lars',
  'Chloé',
  'Sebastián',
  'Zoë',
  'José',
  'Søren',
  'Björn',
  'Łukasz',
  'François',
  'Élodie',
  'Ágnes',
  'Jürgen',
  'Małgorzata',
  'Renée',
  'Siobhán',
  'Íñigo',
  'Ana',
  'Mateus',
  'Nadia',
];
const LAST = [
  'Smith',
  'Johnson',
  'Williams',
  'Brown',
  'Jones',
  'Garcia',
  'Miller',
  'Davis',
  'Rodriguez',
  'Martinez',
  'Hernandez',
  'Lopez',
  'Gonzalez',
  'Wilson',
  'Anderson',
  'Thomas',
  'Taylor',
  'Moore',
  'Jackson',
  'Martin',
  'Lee',
  'Perez',
  'Thompson',
  'White',
  'Harris',
  'Clark',
  'Lewis',
  'Robinson',
  'Walker',
  'Young',
  'Allen',
  'King',
  'Wright',
  'Scott',
  'Green',
  'Baker',
  'Adams',
  'Nelson',
  'Hill',
  'Campbell',
  'Patel',
  'Singh',
  'Khan',
  'Okafor',
  'Mensah',
  'Yamamoto',
  'Tanaka',
  'Chen',
  'Wang',
  'MacLeod',
  'Müller',
  'Ørsted',
  'Núñez',
  'Dvořák',
  'Sørensen',
  "O'Brien",
  'Nguyễn',
  'Çelik',
  'Kowalczyk',
  'Schäfer',
  'Fernández',
  'Žukauskas',
  'Öztürk',
  'Hämäläinen',
  'Ólafsdóttir',
  'da Silva',
  'van der Berg',
  'Ó Briain',
];
const TITLES = [
  'Software Engineer',
  'Senior Software Engineer',
  'Staff Engineer',
  'Engineering Manager',
  'Site Reliability Engineer',
  'Account Executive',
  'Sales Manager',
  'Support Engineer',
  'Product Manager',
  'Designer',
  'Financial Analyst',
  'Recruiter',
  'Legal Counsel',
  'Ingénieur logiciel',
  'Data Scientist',
  'IT Administrator',
  'Office Manager',
];
const DEPARTMENTS = [
  'ENG-100',
  'ENG-110',
  'ENG-120',
  'SAL-200',
  'SAL-210',
  'SUP-300',
  'FIN-400',
  'HR-500',
  'LEG-600',
  'OPS-700',
  'RND-800',
  'PRD-900',
  'IT-950',
];

// ---------------------------------------------------------------------------------------------

interface Person {
  dn: string;
  uid: string | undefined;
  attrs: Record<string, string[]>;
}

interface Group {
  dn: string;
  kind: 'groupOfNames' | 'groupOfUniqueNames' | 'posixGroup';
  cn: string;
  description: string;
  /** DNs as written in the LDIF (member / uniqueMember), or uids (memberUid). */
  members: string[];
  gidNumber?: number;
}

function phone(rng: Prng, n: number): string {
  const d2 = String(n % 100).padStart(2, '0');
  const d3 = String(n % 1000).padStart(3, '0');
  const d6 = String(100000 + ((n * 7919) % 900000));
  return rng.weighted<string>([
    [`+1 415 555 01${d2}`, 14],
    [`+1 (415) 555-01${d2}`, 8],
    [`+1-212-555-01${d2}`, 6],
    [`020 7946 0${d3}`, 16],
    [`+44 20 7946 0${d3}`, 12],
    [`0131 496 0${d3}`, 5],
    [`07400 ${d6}`, 10],
    [`+49 30 9018 2${d3}`, 4],
    [`+33 1 23 45 67 ${d2}`, 4],
    [`+44 20 7946 0${d3} ext. ${d2}`, 3],
    [`(415) 555-01${d2}`, 3], // no country code, US layout: invalid for the GB default region
    ['12', 1],
    ['n/a', 1],
  ]);
}

/** Everything the demo consists of. */
export interface DemoData {
  /** The LDIF text written to infra/demo/demo.ldif. */
  ldif: string;
  entries: LdifEntry[];
  /** The expectations written to infra/demo/demo-expected.json. */
  expected: DemoExpected;
}

/** What importing the demo directory with {@link DEMO_DIRECTORY} must produce. */
export interface DemoExpected {
  seed: number;
  people: number;
  groups: number;
  selectedGroups: string[];
  /** Selected groups plus every group reachable from them through nested members (each once). */
  reachableGroups: string[];
  /** People reachable from the selected groups (nested groups expanded, cycle visited once). */
  inScope: {
    /** Number of person entries in scope. */
    entries: number;
    /** Of those, the ones with a uid (the username attribute): the users an import creates. */
    importable: number;
    /** Entries in scope that lack a uid: reported as per-object errors, not imported. */
    withoutUsername: string[];
    /** Entries reachable only through nested groups (not a direct member of a selected group). */
    onlyThroughNesting: number;
    /** Entries reachable only through a posixGroup's memberUid. */
    onlyThroughMemberUid: number;
    /** In-scope entries without mail / without any phone. */
    withoutMail: number;
    withoutPhone: number;
    /** uids of the importable users, sorted by code point. */
    usernames: string[];
  };
  outOfScope: {
    /** People in no group at all. */
    inNoGroup: number;
    /** People only in groups that are not selected (or only in parents of selected groups). */
    onlyInOtherGroups: number;
  };
  /** Member values of reachable groups that name no entry (DN or memberUid). */
  danglingMembers: { group: string; value: string }[];
  /** Per reachable group: the DNs of the people it lists directly (target entries' own DNs). */
  directMembers: Record<string, string[]>;
  /** The hand-made edge cases, with the DN involved and why it matters. */
  specialCases: { case: string; dn: string; detail: string }[];
}

/** A name-based UUID (version 5 layout, SHA-1) for a demo DN. */
function stableUuid(dn: string): string {
  const h = createHash('sha1')
    .update(`dirsync-demo:${normalizeDn(dn)}`)
    .digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** Build the demo directory. Pure and deterministic. */
export function buildDemo(): DemoData {
  const rng = new Prng(DEMO_SEED);
  const people: Person[] = [];
  const usedUids = new Set<string>();
  const usedMails = new Set<string>();
  const specialCases: DemoExpected['specialCases'] = [];

  const addPerson = (
    dn: string,
    given: string,
    sn: string,
    uid: string | undefined,
    extra: { cn?: string; mail?: string[] | null; displayName?: string | null } = {},
  ): Person => {
    const cn = extra.cn ?? `${given} ${sn}`;
    const attrs: Record<string, string[]> = {
      objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
    };
    if (uid !== undefined) {
      attrs.uid = [uid];
      usedUids.add(uid.normalize('NFC').toLowerCase());
    }
    attrs.cn = [cn];
    attrs.sn = [sn];
    attrs.givenName = [given];
    const displayName = extra.displayName === undefined ? cn : extra.displayName;
    if (displayName !== null) attrs.displayName = [displayName];
    const mail =
      extra.mail === undefined ? [`${asciiFold(given)}.${asciiFold(sn)}@example.org`] : extra.mail;
    if (mail !== null) {
      attrs.mail = mail;
      mail.forEach((m) => usedMails.add(m.toLowerCase()));
    }
    const person: Person = { dn, uid, attrs };
    people.push(person);
    return person;
  };

  // --- hand-made people (indexes 0..) -------------------------------------------------------
  const jdoe = addPerson(p('uid=jdoe'), 'John', 'Doe', 'jdoe');
  specialCases.push({
    case: 'case-variant member DN',
    dn: jdoe.dn,
    detail:
      'support lists him as "UID=jdoe, OU=People,dc=EXAMPLE,dc=org" (other case and spacing); it is his only selected membership, so exact string matching loses him',
  });
  const jose = addPerson(p('uid=jmuller'), 'José', 'Müller', 'jmuller');
  specialCases.push({
    case: 'non-ASCII names',
    dn: jose.dn,
    detail:
      'cn/sn/givenName/displayName are base64 in the LDIF (José Müller); member of engineering',
  });
  const zoe = addPerson(p('uid=zsaric'), 'Zoë', 'Ŝarić', 'zsaric');
  specialCases.push({
    case: 'non-ASCII names',
    dn: zoe.dn,
    detail: 'Zoë Ŝarić; member of cycle-b only (reached through cycle-a → cycle-b)',
  });
  const lilei = addPerson(p('uid=lilei'), '雷', '李', 'lilei', {
    cn: '李雷',
    mail: ['lilei@example.org'],
  });
  specialCases.push({
    case: 'CJK names',
    dn: lilei.dn,
    detail: 'cn 李雷, sn 李, givenName 雷; uniqueMember of sales-uk and memberUid of unix-admins',
  });
  const orsted = addPerson(p('cn=Hans Christian Ørsted'), 'Hans Christian', 'Ørsted', 'hcorsted');
  specialCases.push({
    case: 'non-ASCII DN, deepest nesting',
    dn: orsted.dn,
    detail:
      'RDN cn=Hans Christian Ørsted (dn:: base64 in the LDIF); only member of sre-oncall, three levels below engineering',
  });
  const anna = addPerson(p('cn=Smith\\, Anna'), 'Anna', 'Smith', 'asmith', {
    cn: 'Smith, Anna',
    displayName: 'Anna Smith',
  });
  specialCases.push({
    case: 'escaped comma in RDN',
    dn: anna.dn,
    detail: 'cn value "Smith, Anna"; listed by support exactly as written',
  });
  const rnd = addPerson(p('uid=r\\+d.lead'), 'Rosa', 'Delgado', 'r+d.lead', {
    displayName: 'R+D Lead (Rosa Delgado)',
  });
  specialCases.push({
    case: 'escaped plus in RDN, hex-escaped member value',
    dn: rnd.dn,
    detail:
      'uid "r+d.lead"; support lists her as "uid=r\\2Bd.lead,ou=people,dc=example,dc=org" (hex escape of the same DN)',
  });
  const ada = addPerson(p('cn=Ada Lovelace+uid=alovelace'), 'Ada', 'Lovelace', 'alovelace');
  specialCases.push({
    case: 'multi-valued RDN',
    dn: ada.dn,
    detail:
      'RDN cn=Ada Lovelace+uid=alovelace; support lists her as "uid=alovelace+cn=Ada Lovelace,…" (same RDN, other order)',
  });
  const angstromUid = 'ångström'.normalize('NFD');
  const angstrom = addPerson(
    p(`uid=${angstromUid}`),
    'Anders',
    'Ångström'.normalize('NFD'),
    angstromUid,
    {
      mail: ['anders.angstrom@example.org'],
      cn: 'Anders Ångström'.normalize('NFD'),
    },
  );
  specialCases.push({
    case: 'non-ASCII uid in NFD',
    dn: angstrom.dn,
    detail:
      'uid "ångström" stored decomposed (a + U+030A, o + U+0308); the username must come out NFC ("ångström"); member of engineering',
  });
  const pat = addPerson(p('cn=Pat Contractor'), 'Pat', 'Contractor', undefined, {
    mail: ['pat.contractor@example.org'],
  });
  specialCases.push({
    case: 'no username (uid) attribute',
    dn: pat.dn,
    detail:
      'inetOrgPerson without uid, member of support: in scope but cannot be imported (per-object error), must not fail the run',
  });
  const nomail = addPerson(p('uid=nomail'), 'Norma', 'Mailless', 'nomail', {
    mail: null,
    displayName: null,
  });
  specialCases.push({
    case: 'no mail, no displayName, no phone',
    dn: nomail.dn,
    detail: 'member of support; imported without e-mail, display name or phone',
  });
  const twoMails = addPerson(p('uid=kmensah'), 'Kwame', 'Mensah', 'kmensah', {
    mail: ['Kwame.Mensah@Example.org', 'kwame@corp.example.org'],
  });
  specialCases.push({
    case: 'two mail values, mixed case',
    dn: twoMails.dn,
    detail: 'mail has two values, the first in mixed case; member of sales-uk',
  });
  const nogroup = addPerson(p('uid=ngroupless'), 'Nora', 'Groupless', 'ngroupless');
  specialCases.push({
    case: 'in no group',
    dn: nogroup.dn,
    detail: 'member of nothing: not imported',
  });
  const alum = addPerson(p('uid=former.staff'), 'Fred', 'Former', 'former.staff');
  specialCases.push({
    case: 'only in an unselected group',
    dn: alum.dn,
    detail: 'member of alumni only: not imported',
  });
  const parentOnly = addPerson(p('uid=parent.only'), 'Paula', 'Parent', 'parent.only');
  specialCases.push({
    case: 'only in a parent of selected groups',
    dn: parentOnly.dn,
    detail:
      'member of all-engineering-and-sales, which contains the selected engineering and sales-uk: selection does not expand upwards, not imported',
  });
  const posixOnly = addPerson(p('uid=posix.only'), 'Priya', 'Posix', 'posix.only');
  specialCases.push({
    case: 'only via memberUid',
    dn: posixOnly.dn,
    detail: 'listed only by the posixGroup unix-admins (memberUid, not a DN)',
  });
  const cycleOnly = addPerson(p('uid=cycle.only'), 'Cyrus', 'Cycle', 'cycle.only');
  specialCases.push({
    case: 'only via the cycle',
    dn: cycleOnly.dn,
    detail: 'member of cycle-c only (cycle-a → cycle-b → cycle-c → cycle-a)',
  });
  const specialsEnd = people.length;

  // --- generated people ----------------------------------------------------------------------
  while (people.length < PEOPLE_COUNT) {
    const given = rng.pick(FIRST);
    const sn = rng.pick(LAST);
    const fg = asciiFold(given);
    const fs = asciiFold(sn);
    const base = rng.chance(0.7) ? `${fg[0] ?? 'x'}${fs}` : `${fg}.${fs}`;
    let uid = base;
    for (let k = 2; usedUids.has(uid); k++) uid = `${base}${k}`;
    let mail: string[] | null;
    if (rng.chance(0.08)) mail = null;
    else {
      let local = rng.chance(0.5) ? uid : `${fg}.${fs}`;
      if (usedMails.has(`${local}@example.org`)) local = uid;
      const cap = (x: string) => (x[0] ?? '').toUpperCase() + x.slice(1);
      const primary = rng.chance(0.04)
        ? `${cap(fg)}.${cap(fs)}@Example.org`
        : `${local}@example.org`;
      mail = usedMails.has(primary.toLowerCase()) ? [`${uid}@example.org`] : [primary];
      if (rng.chance(0.08)) mail.push(`${uid}@corp.example.org`);
    }
    const displayName = rng.chance(0.06) ? null : rng.chance(0.05) ? `${sn}, ${given}` : undefined;
    addPerson(p(`uid=${uid}`), given, sn, uid, { mail, displayName });
  }

  // phones, custom attributes, posix, descriptions for every person (special ones too)
  people.forEach((person, i) => {
    const a = person.attrs;
    if (person !== nomail && rng.chance(0.85)) a.telephoneNumber = [phone(rng, i)];
    if (rng.chance(0.5)) a.mobile = [phone(rng, i + 5000)];
    if (rng.chance(0.04)) (a.telephoneNumber ??= []).push(phone(rng, i + 9000));
    if (rng.chance(0.6)) a.title = [rng.pick(TITLES)];
    if (rng.chance(0.7)) a.departmentNumber = [rng.pick(DEPARTMENTS)];
    if (rng.chance(0.8)) a.employeeNumber = [`E${String(10000 + i)}`];
    if (rng.chance(0.03)) {
      a.description = [
        `Long-standing member of staff whose description is deliberately longer than seventy-six characters so that the LDIF line is folded (${i}).`,
      ];
    }
  });
  const makePosix = (person: Person) => {
    if (!person.uid || person.attrs.uidNumber) return;
    const i = people.indexOf(person);
    person.attrs.objectClass?.push('posixAccount');
    person.attrs.uidNumber = [String(10000 + i)];
    person.attrs.gidNumber = ['10000'];
    person.attrs.homeDirectory = [`/home/${person.uid.normalize('NFC')}`];
    person.attrs.loginShell = [rng.chance(0.8) ? '/bin/bash' : '/bin/zsh'];
  };
  people.forEach((person) => {
    if (person.uid && rng.chance(0.25)) makePosix(person);
  });

  // --- pools -------------------------------------------------------------------------------
  const generated = people.slice(specialsEnd);
  rng.shuffle(generated);
  const inPool = generated.slice(0, 1050);
  const otherPool = generated.slice(1050, 1850);
  // generated.slice(1850): the rest are in no group at all

  // --- groups ------------------------------------------------------------------------------
  const groups: Group[] = [];
  const addGroup = (
    cn: string,
    kind: Group['kind'],
    description: string,
    gidNumber?: number,
  ): Group => {
    const group: Group = {
      dn: g(cn),
      kind,
      cn,
      description,
      members: [],
      ...(gidNumber ? { gidNumber } : {}),
    };
    groups.push(group);
    return group;
  };
  const engineering = addGroup(
    'engineering',
    'groupOfNames',
    'Engineering (selected; contains platform)',
  );
  const platform = addGroup(
    'platform',
    'groupOfNames',
    'Platform team (nested in engineering; contains infra-core)',
  );
  const infraCore = addGroup(
    'infra-core',
    'groupOfNames',
    'Infrastructure core (nested in platform; contains sre-oncall)',
  );
  const sre = addGroup(
    'sre-oncall',
    'groupOfNames',
    'SRE on-call rota (three levels below engineering)',
  );
  const cycleA = addGroup('cycle-a', 'groupOfNames', 'Cycle A (selected; contains cycle-b)');
  const cycleB = addGroup('cycle-b', 'groupOfNames', 'Cycle B (contains cycle-c)');
  const cycleC = addGroup(
    'cycle-c',
    'groupOfNames',
    'Cycle C (contains cycle-a: a membership cycle)',
  );
  const salesUk = addGroup(
    'sales-uk',
    'groupOfUniqueNames',
    'UK sales (selected; groupOfUniqueNames)',
  );
  const unixAdmins = addGroup(
    'unix-admins',
    'posixGroup',
    'Unix administrators (selected; posixGroup with memberUid)',
    5000,
  );
  const support = addGroup(
    'support',
    'groupOfNames',
    'Support (selected; edge-case member values)',
  );
  const roleGroups = [
    addGroup('dirsync-owners', 'groupOfNames', 'dirsync role group: Owner'),
    addGroup('dirsync-administrators', 'groupOfNames', 'dirsync role group: Administrator'),
    addGroup('dirsync-help-desk', 'groupOfNames', 'dirsync role group: Help Desk'),
    addGroup('dirsync-read-only', 'groupOfNames', 'dirsync role group: Read-only'),
  ];
  const parent = addGroup(
    'all-engineering-and-sales',
    'groupOfNames',
    'Parent of engineering and sales-uk (not selected)',
  );
  const alumni = addGroup('alumni', 'groupOfNames', 'Former staff (not selected)');
  const contractors = addGroup('contractors', 'groupOfNames', 'Contractors (not selected)');
  const placeholder = addGroup(
    'placeholder-only',
    'groupOfNames',
    'An emptied group: only the refint placeholder member remains',
  );
  const finance = addGroup(
    'finance-approvers',
    'groupOfUniqueNames',
    'Finance approvers (not selected; groupOfUniqueNames)',
  );
  const developers = addGroup(
    'developers',
    'posixGroup',
    'Developers (not selected; posixGroup)',
    5001,
  );
  const departments = [
    'engineering',
    'sales',
    'marketing',
    'finance',
    'hr',
    'legal',
    'support',
    'operations',
    'research',
    'product',
    'design',
    'it',
  ].map((d) => addGroup(`dept-${d}`, 'groupOfNames', `Department: ${d}`));
  const locations = [
    'london',
    'edinburgh',
    'new-york',
    'san-francisco',
    'berlin',
    'paris',
    'tokyo',
    'remote',
  ].map((l) => addGroup(`loc-${l}`, 'groupOfNames', `Location: ${l}`));
  const projects: Group[] = [];
  for (const name of [
    'apollo',
    'borealis',
    'cassini',
    'dragonfly',
    'europa',
    'fermi',
    'gemini',
    'hubble',
    'icarus',
    'juno',
    'kepler',
    'lunar',
    'mercury',
    'nova',
    'orion',
    'pioneer',
    'quasar',
    'rosetta',
    'skylab',
    'titan',
  ]) {
    if (groups.length >= 60) break;
    projects.push(addGroup(`proj-${name}`, 'groupOfNames', `Project ${name}`));
  }

  const add = (group: Group, person: Person) => {
    if (group.kind === 'posixGroup') {
      if (!person.uid) throw new Error(`posixGroup ${group.cn}: ${person.dn} has no uid`);
      makePosix(person);
      if (!group.members.includes(person.uid)) group.members.push(person.uid);
    } else if (!group.members.includes(person.dn)) {
      group.members.push(person.dn);
    }
  };

  // special placements
  add(engineering, jose);
  add(engineering, angstrom);
  add(sre, orsted);
  add(cycleB, zoe);
  add(cycleC, cycleOnly);
  add(salesUk, lilei);
  add(salesUk, twoMails);
  add(unixAdmins, lilei);
  add(unixAdmins, posixOnly);
  add(support, pat);
  add(support, anna);
  add(support, nomail);
  add(alumni, alum);
  add(parent, parentOnly);

  // every in-scope generated person lands in one selected node, some in a second
  const nodes: [Group, number][] = [
    [engineering, 200],
    [platform, 140],
    [infraCore, 80],
    [sre, 30],
    [cycleA, 60],
    [cycleB, 60],
    [cycleC, 60],
    [salesUk, 200],
    [unixAdmins, 40],
    [support, 180],
  ];
  for (const person of inPool) add(rng.weighted(nodes), person);
  for (const person of rng.sample(inPool, 150)) add(rng.weighted(nodes), person);

  // member values that must be written in their odd forms (after the random ones, before nesting)
  support.members.push('UID=jdoe, OU=People,dc=EXAMPLE,dc=org');
  support.members.push(`uid=ghost,${DEMO_PEOPLE}`);
  support.members.push('uid=r\\2Bd.lead,ou=people,dc=example,dc=org');
  support.members.push('uid=alovelace+cn=Ada Lovelace,ou=people,dc=example,dc=org');
  unixAdmins.members.push('former.admin');
  specialCases.push({
    case: 'dangling member DN',
    dn: `uid=ghost,${DEMO_PEOPLE}`,
    detail:
      'support lists an entry that does not exist; it must be skipped (and may be reported), not fail the run',
  });
  specialCases.push({
    case: 'dangling memberUid',
    dn: unixAdmins.dn,
    detail: 'unix-admins lists memberUid "former.admin", which no entry has',
  });

  // nesting: engineering → platform → infra-core → sre-oncall; cycle-a → cycle-b → cycle-c → cycle-a
  engineering.members.push(platform.dn);
  platform.members.push(infraCore.dn);
  infraCore.members.push(sre.dn);
  cycleA.members.push(cycleB.dn);
  cycleB.members.push(cycleC.dn);
  cycleC.members.push(cycleA.dn);
  parent.members.push(engineering.dn);
  salesUk.members.push(g('dirsync-read-only')); // a nested group inside a groupOfUniqueNames
  specialCases.push({
    case: 'nested chain (depth 3)',
    dn: engineering.dn,
    detail: 'engineering ⊃ platform ⊃ infra-core ⊃ sre-oncall',
  });
  specialCases.push({
    case: 'membership cycle',
    dn: cycleA.dn,
    detail:
      'cycle-a ⊃ cycle-b ⊃ cycle-c ⊃ cycle-a: expansion must terminate and count each person once',
  });
  specialCases.push({
    case: 'group nested in a groupOfUniqueNames',
    dn: salesUk.dn,
    detail:
      'sales-uk has uniqueMember cn=dirsync-read-only,ou=groups,…: its members are in scope too',
  });
  specialCases.push({
    case: 'emptied group',
    dn: placeholder.dn,
    detail: `its only member is the refint placeholder ${DEMO_ROOT_DN}, which is not an entry`,
  });

  // role groups: a few in-scope people with mail (and one out of scope)
  const withMail = inPool.filter((x) => x.attrs.mail && x.uid);
  roleGroups.forEach((group, i) => {
    for (const person of rng.sample(withMail, [1, 3, 4, 5][i] ?? 2)) add(group, person);
  });
  add(roleGroups[1] as Group, rng.pick(otherPool));
  add(placeholder, { dn: DEMO_ROOT_DN, uid: undefined, attrs: {} });

  // unselected groups
  parent.members.push(salesUk.dn);
  for (const person of rng.sample(otherPool, 20)) add(parent, person);
  for (const person of rng.sample(otherPool, 40)) add(alumni, person);
  for (const person of rng.sample([...otherPool, ...inPool], 30)) add(contractors, person);
  for (const person of rng.sample([...otherPool, ...inPool], 12)) add(finance, person);
  for (const person of rng.sample([...otherPool, ...inPool], 45)) add(developers, person);
  for (const person of [...inPool, ...otherPool]) {
    if (otherPool.includes(person) || rng.chance(0.7)) add(rng.pick(departments), person);
    if (rng.chance(0.6)) add(rng.pick(locations), person);
  }
  for (const group of projects) {
    for (const person of rng.sample([...inPool, ...otherPool], rng.range(8, 60)))
      add(group, person);
  }
  // a few department groups nest project groups (not reachable from the selection)
  (departments[0] as Group).members.push(projects[0]?.dn ?? '', projects[1]?.dn ?? '');

  // --- memberOf (what the memberof overlay would maintain: groupOfNames + groupOfUniqueNames) --
  const byNorm = new Map<string, Person | Group>();
  for (const x of [...people, ...groups]) byNorm.set(normalizeDn(x.dn), x);
  const memberOf = new Map<string, string[]>();
  for (const group of groups) {
    if (group.kind === 'posixGroup') continue;
    for (const value of group.members) {
      const target = byNorm.get(normalizeDn(value));
      if (!target) continue;
      const list = memberOf.get(target.dn) ?? [];
      if (!list.includes(group.dn)) list.push(group.dn);
      memberOf.set(target.dn, list);
    }
  }

  // --- entries -----------------------------------------------------------------------------
  const entries: LdifEntry[] = [
    {
      dn: DEMO_SUFFIX,
      attributes: {
        objectClass: ['top', 'dcObject', 'organization'],
        dc: ['example'],
        o: ['Example Org'],
      },
    },
    { dn: DEMO_PEOPLE, attributes: { objectClass: ['top', 'organizationalUnit'], ou: ['people'] } },
    { dn: DEMO_GROUPS, attributes: { objectClass: ['top', 'organizationalUnit'], ou: ['groups'] } },
  ];
  for (const person of people) {
    const attrs = { ...person.attrs };
    const mo = memberOf.get(person.dn);
    if (mo) attrs.memberOf = mo;
    entries.push({ dn: person.dn, attributes: attrs });
  }
  for (const group of groups) {
    const attrs: Record<string, string[]> = {
      objectClass: ['top', group.kind],
      cn: [group.cn],
      description: [group.description],
    };
    if (group.kind === 'posixGroup') {
      attrs.gidNumber = [String(group.gidNumber ?? 5000)];
      attrs.memberUid = group.members;
    } else if (group.kind === 'groupOfUniqueNames') {
      attrs.uniqueMember = group.members;
    } else {
      attrs.member = group.members;
    }
    const mo = memberOf.get(group.dn);
    if (mo) attrs.memberOf = mo;
    entries.push({ dn: group.dn, attributes: attrs });
  }
  // A fixed entryUUID per DN: reloading the demo (a new machine, a wiped .data/) gives the same
  // identities, so a database that already synced it sees the same people, not 1,063 new ones.
  for (const entry of entries) entry.attributes.entryUUID = [stableUuid(entry.dn)];
  const header =
    '# dirsync demo directory — generated by infra/testkit/src/demo/generate-demo.ts; do not edit.\n' +
    '# See infra/demo/README.md. Load with slapadd -q (memberOf values are included).\n' +
    '\n';
  const ldif = header + formatLdif(entries);

  return { ldif, entries, expected: computeExpected(entries, specialCases) };
}

/**
 * Compute the import expectations from LDIF entries (exported so tests can recompute them from
 * the committed file): scope = people reachable from the selected groups through member,
 * uniqueMember (DNs, compared with normalizeDn) and memberUid (uids), expanding nested groups.
 */
export function computeExpected(
  entries: LdifEntry[],
  specialCases: DemoExpected['specialCases'] = [],
  selected: string[] = DEMO_SELECTED_GROUPS,
): DemoExpected {
  const isGroup = (e: LdifEntry) =>
    ldifAttr(e, 'objectClass').some((oc) =>
      /^(groupOfNames|groupOfUniqueNames|posixGroup)$/i.test(oc),
    );
  const isPerson = (e: LdifEntry) =>
    ldifAttr(e, 'objectClass').some((oc) => /^inetOrgPerson$/i.test(oc));
  const byNorm = new Map(entries.map((e) => [normalizeDn(e.dn), e]));
  const byUid = new Map<string, LdifEntry>();
  for (const e of entries) {
    if (!isPerson(e)) continue;
    for (const u of ldifAttr(e, 'uid')) byUid.set(u.normalize('NFC').toLowerCase(), e);
  }
  const people = entries.filter(isPerson);
  const groups = entries.filter(isGroup);

  const resolve = (group: LdifEntry): { targets: LdifEntry[]; dangling: string[] } => {
    const targets: LdifEntry[] = [];
    const dangling: string[] = [];
    for (const v of [...ldifAttr(group, 'member'), ...ldifAttr(group, 'uniqueMember')]) {
      const t = byNorm.get(normalizeDn(v.replace(/#'[01]*'B$/, '')));
      if (t) targets.push(t);
      else if (normalizeDn(v) !== normalizeDn(DEMO_ROOT_DN)) dangling.push(v);
    }
    for (const u of ldifAttr(group, 'memberUid')) {
      const t = byUid.get(u.normalize('NFC').toLowerCase());
      if (t) targets.push(t);
      else dangling.push(u);
    }
    return { targets, dangling };
  };

  const reachable: string[] = [];
  const seenGroups = new Set<string>();
  const inScope = new Map<string, LdifEntry>();
  const direct = new Set<string>();
  const viaMemberUidOnly = new Set<string>();
  const viaDn = new Set<string>();
  const danglingMembers: DemoExpected['danglingMembers'] = [];
  const directMembers: Record<string, string[]> = {};
  const queue: { dn: string; depth: number }[] = selected.map((dn) => ({ dn, depth: 0 }));
  while (queue.length) {
    const { dn, depth } = queue.shift() as { dn: string; depth: number };
    const key = normalizeDn(dn);
    if (seenGroups.has(key)) continue;
    seenGroups.add(key);
    const group = byNorm.get(key);
    if (!group) continue;
    reachable.push(group.dn);
    const { targets, dangling } = resolve(group);
    dangling.forEach((value) => danglingMembers.push({ group: group.dn, value }));
    const uidTargets = new Set(
      ldifAttr(group, 'memberUid').map((u) => byUid.get(u.normalize('NFC').toLowerCase())?.dn),
    );
    directMembers[group.dn] = [];
    for (const t of targets) {
      if (isGroup(t)) {
        queue.push({ dn: t.dn, depth: depth + 1 });
      } else if (isPerson(t)) {
        inScope.set(t.dn, t);
        directMembers[group.dn]?.push(t.dn);
        if (depth === 0) direct.add(t.dn);
        if (uidTargets.has(t.dn)) viaMemberUidOnly.add(t.dn);
        else viaDn.add(t.dn);
      }
    }
  }
  for (const dn of viaDn) viaMemberUidOnly.delete(dn);

  const scoped = [...inScope.values()];
  const importable = scoped.filter((e) => ldifAttr(e, 'uid').length > 0);
  const anyGroup = new Set<string>();
  for (const group of groups) for (const t of resolve(group).targets) anyGroup.add(t.dn);
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return {
    seed: DEMO_SEED,
    people: people.length,
    groups: groups.length,
    selectedGroups: selected,
    reachableGroups: reachable,
    inScope: {
      entries: scoped.length,
      importable: importable.length,
      withoutUsername: scoped.filter((e) => ldifAttr(e, 'uid').length === 0).map((e) => e.dn),
      onlyThroughNesting: scoped.filter((e) => !direct.has(e.dn)).length,
      onlyThroughMemberUid: viaMemberUidOnly.size,
      withoutMail: scoped.filter((e) => ldifAttr(e, 'mail').length === 0).length,
      withoutPhone: scoped.filter(
        (e) => ldifAttr(e, 'telephoneNumber').length + ldifAttr(e, 'mobile').length === 0,
      ).length,
      usernames: importable.map((e) => (ldifAttr(e, 'uid')[0] ?? '').normalize('NFC')).sort(cmp),
    },
    outOfScope: {
      inNoGroup: people.filter((e) => !anyGroup.has(e.dn)).length,
      onlyInOtherGroups: people.filter((e) => anyGroup.has(e.dn) && !inScope.has(e.dn)).length,
    },
    danglingMembers,
    directMembers,
    specialCases,
  };
}
