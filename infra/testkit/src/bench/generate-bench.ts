/**
 * The benchmark directory: 100,000 users, 2,000 groups, ~300k memberships, streamed to
 * `<out>/bench.ldif` (default .data/bench, not committed) with a summary in `<out>/bench.json`.
 *
 * Shape (for --users 100000 --groups 2000):
 * - 12 big groups `cn=big-NN` (5,000–20,000 members): a disjoint partition of 90,000 users, plus
 *   5,000 extra members in big-00 that also belong to another big group;
 * - 40 nested chains `cn=chain-NN-l0 ⊃ -l1 ⊃ -l2 ⊃ -l3`, each level ~62 direct members, together
 *   the other 10,000 users (reachable only through their chain head, depth 3);
 * - the rest `cn=team-NNNN` small groups (20–200 random members each), 24 of them nested in
 *   big groups (adds no users to the scope);
 * - every user carries memberOf for each groupOfNames that lists it (slapadd skips overlays).
 * Selected groups = the 12 big groups + the 40 chain heads: together they cover all users.
 *
 * Usage: node infra/testkit/dist/bench/generate-bench.js [--out DIR] [--users N] [--groups N]
 *        [--port 3891] [--seed N]
 */
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ldifLine } from '../ldif.js';
import { DATA_DIR } from '../paths.js';
import { Prng, asciiFold } from '../prng.js';

const SUFFIX = 'dc=example,dc=org';
const PEOPLE = `ou=people,${SUFFIX}`;
const GROUPS = `ou=groups,${SUFFIX}`;

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
  'Priya',
  'Arjun',
  'Fatima',
  'Mohammed',
  'Kwame',
  'Hiroshi',
  'Mei',
  'Wei',
  'Aoife',
  'Dmitri',
  'Chloé',
  'Zoë',
  'José',
  'Søren',
  'Björn',
  'Łukasz',
  'François',
  'Jürgen',
  'Renée',
  'Siobhán',
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
  'Wilson',
  'Taylor',
  'Lee',
  'Patel',
  'Singh',
  'Khan',
  'Okafor',
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
  'Öztürk',
];
const TITLES = [
  'Software Engineer',
  'Account Executive',
  'Support Engineer',
  'Product Manager',
  'Designer',
  'Analyst',
  'Manager',
];
const DEPARTMENTS = ['ENG-100', 'ENG-110', 'SAL-200', 'SUP-300', 'FIN-400', 'HR-500', 'OPS-700'];

interface Options {
  out: string;
  users: number;
  groups: number;
  port: number;
  seed: number;
}

/** What bench.json holds. */
export interface BenchSummary {
  ldif: string;
  seed: number;
  users: number;
  groups: number;
  /** user → group member values (each user listed by a group counts once per group). */
  memberships: number;
  /** group → group member values (nesting links). */
  nestedGroupLinks: number;
  bigGroups: { dn: string; users: number; nestedGroups: number }[];
  chains: { count: number; depth: number; heads: string[] };
  smallGroups: number;
  /** The selection that covers every user: the big groups + the chain heads. */
  selectedGroups: string[];
  /** Users reachable from selectedGroups (all of them). */
  inScopeUsers: number;
  generatedInMs: number;
  bytes: number;
  /** A directory definition for the benchmark (same shape as infra/demo/demo-directory.json). */
  directory: Record<string, unknown>;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    out: join(DATA_DIR, 'bench'),
    users: 100_000,
    groups: 2_000,
    port: 3891,
    seed: 424242,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    const num = () => {
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0) throw new Error(`${a} needs a positive integer`);
      i++;
      return n;
    };
    if (a === '--out') {
      o.out = resolve(v ?? '.');
      i++;
    } else if (a === '--users') o.users = num();
    else if (a === '--groups') o.groups = num();
    else if (a === '--port') o.port = num();
    else if (a === '--seed') o.seed = num();
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

/** Buffered synchronous writer: far faster than one write per line. */
class Sink {
  private parts: string[] = [];
  private size = 0;
  bytes = 0;
  constructor(private readonly fd: number) {}
  write(s: string): void {
    this.parts.push(s);
    this.size += s.length;
    if (this.size > 1 << 20) this.flush();
  }
  flush(): void {
    if (!this.parts.length) return;
    const buf = Buffer.from(this.parts.join(''), 'utf8');
    writeSync(this.fd, buf);
    this.bytes += buf.length;
    this.parts = [];
    this.size = 0;
  }
}

export function generateBench(o: Options): BenchSummary {
  const started = Date.now();
  const rng = new Prng(o.seed);
  const f = o.users / 100_000;
  const U = o.users;
  const uidOf = (i: number) => `user${String(i).padStart(6, '0')}`;
  const userDn = (i: number) => `uid=${uidOf(i)},${PEOPLE}`;

  // --- group layout ------------------------------------------------------------------------
  const bigSizes = [15000, 12000, 8000, 7000, 6000, 6000, 5000, 5000, 5000, 5000, 5500, 5500].map(
    (s) => Math.max(1, Math.round(s * f)),
  );
  const bigTotal = bigSizes.reduce((a, b) => a + b, 0);
  const chainCount = Math.max(1, Math.round(40 * f));
  const depth = 4;
  const smallCount = o.groups - bigSizes.length - chainCount * depth;
  if (smallCount < 0)
    throw new Error(`--groups must be at least ${bigSizes.length + chainCount * depth}`);

  const groupDns: string[] = [];
  const bigIdx: number[] = [];
  bigSizes.forEach((_, k) => {
    bigIdx.push(groupDns.length);
    groupDns.push(`cn=big-${String(k).padStart(2, '0')},${GROUPS}`);
  });
  const chainIdx: number[][] = [];
  for (let c = 0; c < chainCount; c++) {
    const levels: number[] = [];
    for (let l = 0; l < depth; l++) {
      levels.push(groupDns.length);
      groupDns.push(`cn=chain-${String(c).padStart(2, '0')}-l${l},${GROUPS}`);
    }
    chainIdx.push(levels);
  }
  const smallIdx: number[] = [];
  for (let s = 0; s < smallCount; s++) {
    smallIdx.push(groupDns.length);
    groupDns.push(`cn=team-${String(s).padStart(4, '0')},${GROUPS}`);
  }
  const G = groupDns.length;

  // member lists: users (as indexes) and groups (as indexes) per group
  const userMembers: Int32Array[] = new Array<Int32Array>(G);
  const groupMembers: number[][] = Array.from({ length: G }, () => []);

  const perm = Int32Array.from({ length: U }, (_, i) => i);
  for (let i = U - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = perm[i] as number;
    perm[i] = perm[j] as number;
    perm[j] = t;
  }
  const bigCover = Math.min(bigTotal, U);
  let pos = 0;
  bigSizes.forEach((size, k) => {
    const end = Math.min(pos + size, bigCover);
    userMembers[bigIdx[k] as number] = perm.slice(pos, end);
    pos = end;
  });
  // big-00 also gets extra members that belong to other big groups
  {
    const first = userMembers[bigIdx[0] as number] ?? new Int32Array();
    const extra = new Set<number>();
    const want = Math.min(Math.round(5000 * f), bigCover - first.length);
    while (extra.size < want)
      extra.add(perm[first.length + rng.int(bigCover - first.length)] as number);
    const merged = new Int32Array(first.length + extra.size);
    merged.set(first);
    merged.set(Int32Array.from(extra), first.length);
    userMembers[bigIdx[0] as number] = merged;
  }
  // chains take the remaining users
  const rest = perm.slice(bigCover);
  const perChain = Math.ceil(rest.length / chainCount);
  chainIdx.forEach((levels, c) => {
    const slice = rest.slice(c * perChain, Math.min((c + 1) * perChain, rest.length));
    const perLevel = Math.ceil(slice.length / depth);
    levels.forEach((g, l) => {
      userMembers[g] = slice.slice(l * perLevel, Math.min((l + 1) * perLevel, slice.length));
      const next = levels[l + 1];
      if (next !== undefined) groupMembers[g]?.push(next);
    });
  });
  // small groups: random members from everyone
  const minSmall = Math.max(2, Math.round(20 * Math.min(1, f * 5)));
  const maxSmall = Math.max(minSmall, Math.round(200 * Math.min(1, f * 5)));
  for (const g of smallIdx) {
    const size = rng.range(minSmall, maxSmall);
    const set = new Set<number>();
    while (set.size < Math.min(size, U)) set.add(rng.int(U));
    userMembers[g] = Int32Array.from(set);
  }
  // nest 24 small groups in big groups
  for (let k = 0; k < Math.min(24, smallIdx.length); k++) {
    groupMembers[bigIdx[k % bigIdx.length] as number]?.push(smallIdx[k] as number);
  }

  // --- memberOf index (CSR) ----------------------------------------------------------------
  const counts = new Int32Array(U + 1);
  let memberships = 0;
  for (let g = 0; g < G; g++) {
    for (const u of userMembers[g] ?? []) {
      counts[u + 1] = (counts[u + 1] as number) + 1;
      memberships++;
    }
  }
  for (let i = 1; i <= U; i++) counts[i] = (counts[i] as number) + (counts[i - 1] as number);
  const offsets = counts;
  const fill = offsets.slice(0, U);
  const groupsOfUser = new Int32Array(memberships);
  for (let g = 0; g < G; g++) {
    for (const u of userMembers[g] ?? []) {
      const at = fill[u] as number;
      groupsOfUser[at] = g;
      fill[u] = at + 1;
    }
  }
  const parentsOfGroup: number[][] = Array.from({ length: G }, () => []);
  let nestedGroupLinks = 0;
  groupMembers.forEach((children, parent) => {
    for (const child of children) {
      parentsOfGroup[child]?.push(parent);
      nestedGroupLinks++;
    }
  });

  // --- write -------------------------------------------------------------------------------
  mkdirSync(o.out, { recursive: true });
  const ldifPath = join(o.out, 'bench.ldif');
  const fd = openSync(ldifPath, 'w');
  const sink = new Sink(fd);
  sink.write(
    `# dirsync benchmark directory: ${U} users, ${G} groups (generated; seed ${o.seed})\n\n`,
  );
  sink.write(
    `dn: ${SUFFIX}\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example Org\n\n`,
  );
  sink.write(`dn: ${PEOPLE}\nobjectClass: top\nobjectClass: organizationalUnit\nou: people\n\n`);
  sink.write(`dn: ${GROUPS}\nobjectClass: top\nobjectClass: organizationalUnit\nou: groups\n\n`);

  const nameLines = new Map<string, string>();
  const cached = (name: string, value: string) => {
    const key = `${name}\u0000${value}`;
    let line = nameLines.get(key);
    if (line === undefined) {
      line = ldifLine(name, value);
      nameLines.set(key, line);
    }
    return line;
  };
  for (let i = 0; i < U; i++) {
    const given = rng.pick(FIRST);
    const sn = rng.pick(LAST);
    const uid = uidOf(i);
    let s =
      `dn: uid=${uid},${PEOPLE}\nobjectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\nobjectClass: inetOrgPerson\n` +
      `uid: ${uid}\n${cached('cn', `${given} ${sn}`)}\n${cached('sn', sn)}\n${cached('givenName', given)}\n` +
      `${cached('displayName', `${given} ${sn}`)}\n`;
    if (!rng.chance(0.05)) s += `mail: ${asciiFold(given)}.${asciiFold(sn)}.${i}@example.org\n`;
    if (rng.chance(0.7))
      s += `telephoneNumber: +44 20 7946 ${String(i % 10000).padStart(4, '0')}\n`;
    if (rng.chance(0.3)) s += `mobile: 07400 ${String(100000 + (i % 900000))}\n`;
    s += `employeeNumber: E${i}\n`;
    if (rng.chance(0.7)) s += `departmentNumber: ${rng.pick(DEPARTMENTS)}\n`;
    if (rng.chance(0.5)) s += `title: ${rng.pick(TITLES)}\n`;
    const from = offsets[i] as number;
    const to = offsets[i + 1] as number;
    for (let k = from; k < to; k++) s += `memberOf: ${groupDns[groupsOfUser[k] as number]}\n`;
    sink.write(s + '\n');
  }
  for (let g = 0; g < G; g++) {
    const dn = groupDns[g] as string;
    const cn = dn.slice(3, dn.indexOf(','));
    let s = `dn: ${dn}\nobjectClass: top\nobjectClass: groupOfNames\ncn: ${cn}\n`;
    const users = userMembers[g] ?? new Int32Array();
    const children = groupMembers[g] ?? [];
    if (users.length + children.length === 0) s += `member: cn=admin,${SUFFIX}\n`;
    for (const u of users) {
      s += `member: ${userDn(u)}\n`;
      if (s.length > 1 << 16) {
        sink.write(s);
        s = '';
      }
    }
    for (const c of children) s += `member: ${groupDns[c]}\n`;
    for (const p of parentsOfGroup[g] ?? []) s += `memberOf: ${groupDns[p]}\n`;
    sink.write(s + '\n');
  }
  sink.flush();
  closeSync(fd);

  const selectedGroups = [...bigIdx, ...chainIdx.map((l) => l[0] as number)].map(
    (g) => groupDns[g] as string,
  );
  const summary: BenchSummary = {
    ldif: ldifPath,
    seed: o.seed,
    users: U,
    groups: G,
    memberships,
    nestedGroupLinks,
    bigGroups: bigIdx.map((g) => ({
      dn: groupDns[g] as string,
      users: userMembers[g]?.length ?? 0,
      nestedGroups: groupMembers[g]?.length ?? 0,
    })),
    chains: {
      count: chainCount,
      depth,
      heads: chainIdx.map((l) => groupDns[l[0] as number] as string),
    },
    smallGroups: smallIdx.length,
    selectedGroups,
    inScopeUsers: U,
    generatedInMs: Date.now() - started,
    bytes: sink.bytes,
    directory: {
      name: 'Bench OpenLDAP',
      ldap: {
        url: `ldap://127.0.0.1:${o.port}`,
        bindDn: `cn=admin,${SUFFIX}`,
        baseDn: SUFFIX,
        userBaseDn: PEOPLE,
        groupBaseDn: GROUPS,
      },
      selectedGroups,
      mapping: {
        username: 'uid',
        email: 'mail',
        firstName: 'givenName',
        lastName: 'sn',
        displayName: 'displayName',
        phones: ['telephoneNumber', 'mobile'],
        custom: { department: 'departmentNumber', employeeId: 'employeeNumber', title: 'title' },
      },
      defaultRegion: 'GB',
    },
  };
  writeFileSync(join(o.out, 'bench.json'), JSON.stringify(summary, null, 2) + '\n');
  return summary;
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'));
if (invokedDirectly) {
  try {
    const s = generateBench(parseArgs(process.argv.slice(2)));
    console.log(
      `bench: ${s.users} users, ${s.groups} groups, ${s.memberships} memberships (+${s.nestedGroupLinks} nested links), ` +
        `${(s.bytes / 1e6).toFixed(1)} MB in ${s.generatedInMs} ms → ${s.ldif}`,
    );
  } catch (err) {
    console.error(String(err instanceof Error ? err.message : err));
    process.exitCode = 1;
  }
}
