// Entra ID benchmark (run through `npm run bench`, which starts the services): a fake Graph
// tenant of 50,000 users (infra/fake-graph, a separate process over HTTPS), then
// (a) floor: paging the selected group's transitive members with plain node:https, $top=999;
// (b) syncAll of an Entra directory from mutation to COMPLETED; (c) a second syncAll (nothing
// changed); (d) DELTA runs: nothing changed, then after 1% of the users changed; peak RSS of
// connector-entra. Writes bench/results/entra-sync.json.
import { spawn } from 'node:child_process';
import https from 'node:https';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { FakeGraphAdmin } from '../infra/fake-graph/dist/index.js';
import { gql, peakRss, timedSync } from './lib.mjs';

const USERS = Number(process.env.BENCH_ENTRA_USERS ?? 50_000);
const SECRET = 'bench-Entra-Secret';

function startFake() {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['infra/fake-graph/dist/main.js', '--port', '0'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    p.stdout.on('data', (c) => {
      out += c;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ proc: p, info: JSON.parse(out.slice(0, nl)) });
    });
    p.on('error', reject);
    p.on('exit', (code) => reject(new Error(`fake-graph exited ${code}`)));
  });
}

function get(url, agent, token) {
  return new Promise((resolve, reject) => {
    https
      .get(url, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
      })
      .on('error', reject);
  });
}

async function token(info, agent, clientId) {
  const body = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: clientId,
    client_secret: SECRET,
    scope: `${info.url}/.default`,
  }).toString();
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${info.url}/${info.tenantId}/oauth2/v2.0/token`,
      { method: 'POST', agent, headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString()).access_token));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The floor: every page of the selected group's transitive user members, no SDK, no dirsync. */
async function floor(info, clientId, groupId) {
  const agent = new https.Agent({ ca: info.caPem, keepAlive: true });
  const t = await token(info, agent, clientId);
  const t0 = performance.now();
  let url = `${info.url}/v1.0/groups/${groupId}/transitiveMembers/microsoft.graph.user?$select=id,accountEnabled,userPrincipalName,mail,givenName,surname,displayName,businessPhones,mobilePhone&$top=999`;
  let n = 0;
  let pages = 0;
  while (url) {
    const page = await get(url, agent, t);
    n += page.value.length;
    pages++;
    url = page['@odata.nextLink'];
  }
  agent.destroy();
  return { seconds: (performance.now() - t0) / 1000, users: n, pages };
}

const { proc, info } = await startFake();
try {
  const admin = new FakeGraphAdmin(info.url, info.caPem);
  const t0 = performance.now();
  const tenant = await admin.generate({ users: USERS, groups: 50 });
  const app = await admin.registerApp({ secrets: [SECRET] });
  console.log(
    `  fake tenant: ${tenant.users} users, ${tenant.groups} groups in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const selected = tenant.selectedGroups[0];

  console.log('(a) floor: paging transitiveMembers with node:https');
  const f = await floor(info, app.clientId, selected);
  console.log(`  ${f.users} users in ${f.pages} pages, ${f.seconds.toFixed(2)} s`);

  const { createDirectory } = await gql(
    `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { id } }`,
    {
      input: {
        name: `bench entra ${Date.now()}`,
        entra: {
          tenantId: info.tenantId,
          clientId: app.clientId,
          loginUrl: info.url,
          graphUrl: info.url,
          tlsCaPem: info.caPem,
        },
        clientSecret: SECRET,
        selectedGroups: [selected],
        scheduleIntervalMinutes: 0,
      },
    },
  );
  console.log('(b) full syncAll');
  const full = await timedSync(createDirectory.id, 'full', USERS);
  console.log(`  ${full.seconds.toFixed(2)} s: ${JSON.stringify(full.run.counts)}`);
  console.log('(c) second syncAll, nothing changed');
  const noop = await timedSync(createDirectory.id, 'no-op', USERS);
  console.log(`  ${noop.seconds.toFixed(2)} s: ${JSON.stringify(noop.run.counts)}`);

  console.log('(d) DELTA syncAll, nothing changed');
  const deltaNoop = await timedSync(createDirectory.id, 'delta no-op', USERS, 'DELTA');
  console.log(`  ${deltaNoop.seconds.toFixed(2)} s: ${JSON.stringify(deltaNoop.run.counts)}`);
  const sample = await admin.userIds(Math.round(USERS / 100));
  for (const id of sample)
    await admin.updateUser(id, { jobTitle: 'Changed for the benchmark', surname: 'Changed' });
  console.log(`(e) DELTA syncAll after ${sample.length} users changed`);
  const delta = await timedSync(createDirectory.id, 'delta', USERS, 'DELTA');
  console.log(`  ${delta.seconds.toFixed(2)} s: ${JSON.stringify(delta.run.counts)}`);

  const stats = await admin.stats();
  const result = {
    users: USERS,
    groups: tenant.groups,
    floorSeconds: +f.seconds.toFixed(3),
    floorPages: f.pages,
    fullSyncSeconds: +full.seconds.toFixed(3),
    usersPerSecond: Math.round(USERS / full.seconds),
    noopSyncSeconds: +noop.seconds.toFixed(3),
    ratio: +(full.seconds / f.seconds).toFixed(2),
    deltaNoopSeconds: +deltaNoop.seconds.toFixed(3),
    deltaSyncSeconds: +delta.seconds.toFixed(3),
    deltaChangedUsers: sample.length,
    deltaCounts: delta.run.counts,
    graphRequests: stats.requests,
    peakRssMb: { 'connector-entra': peakRss()['connector-entra'] ?? null },
    fullCounts: full.run.counts,
    noopCounts: noop.run.counts,
    measuredAt: new Date().toISOString(),
    machine: { cpus: cpus().length, node: process.version },
  };
  await mkdir('bench/results', { recursive: true });
  await writeFile('bench/results/entra-sync.json', JSON.stringify(result, null, 2) + '\n');
  console.log('\n| measure | value |\n|---|---|');
  for (const k of [
    'users',
    'floorSeconds',
    'fullSyncSeconds',
    'usersPerSecond',
    'noopSyncSeconds',
    'deltaNoopSeconds',
    'deltaChangedUsers',
    'deltaSyncSeconds',
    'ratio',
  ])
    console.log(`| ${k} | ${result[k]} |`);
  console.log('\nwritten to bench/results/entra-sync.json');
  admin.close();
} finally {
  proc.kill('SIGTERM');
}
