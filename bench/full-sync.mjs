// Full-sync benchmark (run through `npm run bench`, which starts slapd and the services).
// (a) floor: paged ldapsearch of the whole directory + COPY of the users into a scratch table;
// (b) syncAll from mutation to COMPLETED; (c) a second, no-op syncAll; peak RSS per service;
// then the delta benchmark (bench/delta-sync.mjs) on the same directory.
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { gql, peakRss, timedSync } from './lib.mjs';

const pgUrl = process.env.BENCH_PG_URL;
const summary = JSON.parse(
  await readFile(process.env.BENCH_SUMMARY ?? '.data/bench/bench.json', 'utf8'),
);
const ldapUrl = summary.url ?? 'ldap://127.0.0.1:3891';
const bindDn = summary.bindDn ?? 'cn=admin,dc=example,dc=org';
const password = process.env.DIRSYNC_DEMO_LDAP_PASSWORD ?? summary.password ?? 'admin-secret';
const baseDn = summary.baseDn ?? 'dc=example,dc=org';

function run(cmd, args, input) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, {
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out = [];
    let err = '';
    p.stdout.on('data', (c) => out.push(c));
    p.stderr.on('data', (c) => (err += c));
    p.on('error', reject);
    p.on('close', (code) =>
      code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`${cmd} exited ${code}: ${err}`)),
    );
    if (input !== undefined) p.stdin.end(input);
  });
}

async function floor() {
  const t0 = performance.now();
  const ldif = await run('ldapsearch', [
    '-x',
    '-LLL',
    '-o',
    'ldif-wrap=no',
    '-H',
    ldapUrl,
    '-D',
    bindDn,
    '-w',
    password,
    '-b',
    baseDn,
    '-E',
    'pr=1000/noprompt',
    '(|(objectClass=inetOrgPerson)(objectClass=groupOfNames))',
    'entryUUID',
    'uid',
    'cn',
    'sn',
    'givenName',
    'displayName',
    'mail',
    'telephoneNumber',
    'mobile',
    'member',
    'memberOf',
  ]);
  const searchSeconds = (performance.now() - t0) / 1000;
  // Convert to CSV outside the timed parts: the floor is the server read plus the database write.
  const rows = [];
  let cur = null;
  const cols = [
    'entryUUID',
    'uid',
    'cn',
    'sn',
    'givenName',
    'displayName',
    'mail',
    'telephoneNumber',
    'mobile',
  ];
  for (const line of ldif.toString('utf8').split('\n')) {
    if (line.startsWith('dn:')) cur = { dn: line.slice(3).trim() };
    else if (line === '' && cur) {
      if (cur.uid) rows.push(cur);
      cur = null;
    } else if (cur) {
      const i = line.indexOf(':');
      const k = line.slice(0, i);
      if (cols.includes(k) && cur[k] === undefined) cur[k] = line.slice(i + 1).replace(/^:? ?/, '');
    }
  }
  const esc = (v) => (v === undefined ? '' : `"${String(v).replace(/"/g, '""')}"`);
  const csv =
    rows
      .map((r) => [r.dn, ...cols].map((c, i) => esc(i === 0 ? r.dn : r[c])).join(','))
      .join('\n') + '\n';
  await run('psql', [
    pgUrl,
    '-q',
    '-c',
    'drop table if exists bench_floor; create unlogged table bench_floor (dn text, entry_uuid text, uid text, cn text, sn text, given_name text, display_name text, mail text, phone text, mobile text)',
  ]);
  const t1 = performance.now();
  await run('psql', [pgUrl, '-q', '-c', '\\copy bench_floor from stdin with (format csv)'], csv);
  const copySeconds = (performance.now() - t1) / 1000;
  await run('psql', [pgUrl, '-q', '-c', 'drop table bench_floor']);
  return {
    searchSeconds,
    copySeconds,
    rows: rows.length,
    floorSeconds: searchSeconds + copySeconds,
  };
}

console.log('(a) floor: paged ldapsearch + COPY');
const f = await floor();
console.log(
  `  ldapsearch ${f.searchSeconds.toFixed(2)} s, COPY of ${f.rows} rows ${f.copySeconds.toFixed(2)} s`,
);

const { createDirectory } = await gql(
  `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { id } }`,
  {
    input: {
      name: `bench ${Date.now()}`,
      ldap: {
        url: ldapUrl,
        bindDn,
        baseDn,
        userBaseDn: summary.userBaseDn ?? `ou=people,${baseDn}`,
        groupBaseDn: summary.groupBaseDn ?? `ou=groups,${baseDn}`,
      },
      bindPassword: password,
      selectedGroups: summary.selectedGroups,
      mapping: {
        username: 'uid',
        email: 'mail',
        firstName: 'givenName',
        lastName: 'sn',
        displayName: 'displayName',
        phones: ['telephoneNumber', 'mobile'],
      },
      // The generated numbers are British (07400 …): the directory's region, as the generator says.
      defaultRegion: summary.directory?.defaultRegion ?? 'GB',
      scheduleIntervalMinutes: 0,
    },
  },
);
console.log('(b) full syncAll');
const full = await timedSync(createDirectory.id, 'full', summary.users);
console.log(`  ${full.seconds.toFixed(2)} s: ${JSON.stringify(full.run.counts)}`);
console.log('(c) no-op syncAll');
const noop = await timedSync(createDirectory.id, 'no-op', summary.users);
console.log(`  ${noop.seconds.toFixed(2)} s: ${JSON.stringify(noop.run.counts)}`);

const result = {
  users: summary.users,
  groups: summary.groups,
  memberships: summary.memberships,
  floorSeconds: +f.floorSeconds.toFixed(3),
  floorDetail: {
    ldapsearchSeconds: +f.searchSeconds.toFixed(3),
    copySeconds: +f.copySeconds.toFixed(3),
    rows: f.rows,
  },
  fullSyncSeconds: +full.seconds.toFixed(3),
  noopSyncSeconds: +noop.seconds.toFixed(3),
  ratio: +(full.seconds / f.floorSeconds).toFixed(2),
  peakRssMb: peakRss(),
  fullCounts: full.run.counts,
  noopCounts: noop.run.counts,
  measuredAt: new Date().toISOString(),
  machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
};
await mkdir('bench/results', { recursive: true });
await writeFile('bench/results/full-sync.json', JSON.stringify(result, null, 2) + '\n');
console.log('\n| measure | value |\n|---|---|');
for (const k of [
  'users',
  'groups',
  'memberships',
  'floorSeconds',
  'fullSyncSeconds',
  'noopSyncSeconds',
  'ratio',
])
  console.log(`| ${k} | ${result[k]} |`);
for (const [k, v] of Object.entries(result.peakRssMb)) console.log(`| peak RSS ${k} (MB) | ${v} |`);
console.log('\nwritten to bench/results/full-sync.json');

const { deltaBench } = await import('./delta-sync.mjs');
await deltaBench({
  run,
  timedSync: (id, label, mode) => timedSync(id, label, summary.users, mode),
  directoryId: createDirectory.id,
  summary,
  ldap: { url: ldapUrl, bindDn, password },
});
