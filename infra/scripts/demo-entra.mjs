// The demo's Entra ID half: a fake Microsoft Entra tenant (infra/fake-graph, started by demo.sh)
// gets 300 people in nested department groups; the demo registers an app, adds the tenant as a
// directory through the gateway (client secret, the fake's CA as tlsCaPem), runs a FULL syncAll,
// changes two people in the tenant and runs a DELTA syncAll that reads only those changes, then
// maps two of the tenant's groups to admin roles and runs an ADMIN syncAll.
// Plain Node (fetch), no build step besides the fake's.
import { readFile } from 'node:fs/promises';
import { FakeGraphAdmin } from '../fake-graph/dist/index.js';

const gateway = process.env.DIRSYNC_GATEWAY_URL ?? 'http://127.0.0.1:4000/graphql';
const info = JSON.parse(await readFile(process.env.DIRSYNC_DEMO_GRAPH_INFO, 'utf8'));
const apiKey =
  process.env.DIRSYNC_API_KEY ?? (await readFile(process.env.DIRSYNC_API_KEY_FILE, 'utf8')).trim();
const NAME = 'Demo Entra ID (fake tenant)';
// A fixed app registration, so re-runs update the same directory.
const CLIENT_ID = '5e0d1e6a-0000-4000-8000-00000000de40';
const SECRET = 'demo-Entra-client-secret';

async function gql(query, variables = {}) {
  const res = await fetch(gateway, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors?.length) {
    const e = body.errors[0];
    throw new Error(`${e.extensions?.code ?? 'ERROR'}: ${e.message}`);
  }
  return body.data;
}

const RUN = `id status readMode fullReadReason errorCode errorMessage durationMs
  counts { seen created updated unchanged disabled pendingDeletion groupsSeen membershipsAdded entriesRead }`;

async function sync(directoryId, mode) {
  const { syncAll } = await gql(
    `mutation($id: ID!, $mode: SyncMode) { syncAll(directoryId: $id, mode: $mode) { id } }`,
    { id: directoryId, mode },
  );
  for (;;) {
    const { run } = await gql(`query($id: ID!) { run(id: $id) { ${RUN} } }`, { id: syncAll.id });
    if (['COMPLETED', 'FAILED', 'BLOCKED'].includes(run.status)) return run;
    await new Promise((r) => setTimeout(r, 200));
  }
}

function report(label, run) {
  const c = run.counts;
  console.log(
    `${label}: ${run.status}${run.readMode ? ` (read ${run.readMode})` : ''} in ${((run.durationMs ?? 0) / 1000).toFixed(1)}s` +
      ` — seen ${c.seen}, created ${c.created}, updated ${c.updated}, disabled ${c.disabled},` +
      ` pending deletion ${c.pendingDeletion}, groups ${c.groupsSeen}, entries read ${c.entriesRead}` +
      (run.errorCode ? `\n  ${run.errorCode}: ${run.errorMessage}` : ''),
  );
}

const admin = new FakeGraphAdmin(info.url, info.caPem);
try {
  const tenant = await admin.generate({ users: 300, groups: 6, disabledEvery: 25 });
  await admin.registerApp({ clientId: CLIENT_ID, secrets: [SECRET] });
  const entra = {
    tenantId: info.tenantId,
    clientId: CLIENT_ID,
    loginUrl: info.url,
    graphUrl: info.url,
    tlsCaPem: info.caPem,
  };
  const { directories } = await gql(`{ directories(first: 100) { nodes { id name } } }`);
  let id = directories.nodes.find((d) => d.name === NAME)?.id;
  const again = id !== undefined;
  // The two changes the demo makes in the tenant. The fake starts afresh on every run (the same
  // generated people, the same tenant id from demo.sh), so on a run after the first they are made
  // again BEFORE the FULL sync: the tenant then is what dirsync already has, and a second demo is
  // a no-op for this directory too.
  // Taken before any change, so every run picks the same people (the admins below too).
  const people = await admin.userIds(6);
  const [first, second] = people;
  const changeTenant = async () => {
    await admin.updateUser(first, { jobTitle: 'Principal Engineer', surname: 'Renamed' });
    await admin.deleteUser(second);
  };
  if (again) await changeTenant();
  // Administrators: "dirsync owners" (nested in "dirsync help desk") → OWNER, the help desk →
  // HELP_DESK; the owner is in both and gets the higher role. Made before the directory is
  // created or updated (and so before its connection test checks the role groups): the fake
  // gives groups new ids on every start.
  const [owners, helpdesk] = await admin.addGroups([
    { displayName: 'dirsync owners', members: [people[2]] },
    { displayName: 'dirsync help desk', members: people.slice(3, 6) },
  ]);
  await admin.addMembers(String(helpdesk.id), [String(owners.id)]);
  const adminRoles = [
    { role: 'OWNER', groups: [String(owners.id)] },
    { role: 'HELP_DESK', groups: [String(helpdesk.id)] },
  ];
  if (id) {
    // The fake is new on every run (port, CA, group ids): point the directory at it again —
    // its connection, selected groups and role groups are set to this tenant's; the rest of its
    // settings are left as they are.
    await gql(
      `mutation($id: ID!, $input: UpdateDirectoryInput!) { updateDirectory(id: $id, input: $input) { id } }`,
      {
        id,
        input: { entra, clientSecret: SECRET, selectedGroups: tenant.selectedGroups, adminRoles },
      },
    );
  } else {
    const { createDirectory } = await gql(
      `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { id } }`,
      {
        input: {
          name: NAME,
          entra,
          clientSecret: SECRET,
          selectedGroups: tenant.selectedGroups,
          scheduleIntervalMinutes: 0,
          adminRoles,
        },
      },
    );
    id = createDirectory.id;
  }
  console.log(`Entra ID directory "${NAME}" (${id}): tenant ${info.tenantId} at ${info.url}`);
  const { testDirectory: test } = await gql(
    `mutation($id: ID!) { testDirectory(id: $id) { ok durationMs checks { name target status code message } } }`,
    { id },
  );
  console.log(
    test.ok
      ? `Connection test: ${test.checks.map((c) => c.name).join(', ')} passed in ${test.durationMs} ms`
      : `Connection test FAILED: ${test.checks
          .filter((c) => c.status === 'FAILED')
          .map((c) => `${c.name} ${c.code}: ${c.message}`)
          .join('; ')}`,
  );
  report('syncAll FULL ', await sync(id, 'FULL'));
  if (!again) await changeTenant();
  report('syncAll DELTA', await sync(id, 'DELTA'));
  console.log(
    again
      ? '  (the tenant as the first demo left it: nothing for the DELTA run to change)'
      : "  (one person renamed, one deleted in the tenant: the DELTA run read only Graph's delta pages and those two)",
  );

  const { syncAll } = await gql(
    `mutation($id: ID!) { syncAll(directoryId: $id, mode: ADMIN) { id } }`,
    { id },
  );
  let run;
  for (;;) {
    ({ run } = await gql(
      `query($id: ID!) { run(id: $id) { status errorCode errorMessage durationMs
        counts { adminsSeen adminsCreated adminsUpdated adminsUnchanged adminsPendingDeletion } } }`,
      { id: syncAll.id },
    ));
    if (['COMPLETED', 'FAILED', 'BLOCKED'].includes(run.status)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const a = run.counts;
  console.log(
    `syncAll ADMIN: ${run.status} in ${((run.durationMs ?? 0) / 1000).toFixed(1)}s — admins seen ${a.adminsSeen},` +
      ` created ${a.adminsCreated}, updated ${a.adminsUpdated}, unchanged ${a.adminsUnchanged},` +
      ` pending deletion ${a.adminsPendingDeletion}` +
      (run.errorCode ? `\n  ${run.errorCode}: ${run.errorMessage}` : ''),
  );
  const { admins } = await gql(
    `query($dir: ID!) { admins(first: 10, filter: { directoryId: $dir }) { nodes { email role roles } } }`,
    { dir: id },
  );
  for (const x of admins.nodes)
    console.log(`  ${x.role.padEnd(10)} ${x.email}  (${x.roles.join(', ')})`);
} finally {
  admin.close();
}
