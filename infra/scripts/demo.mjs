// The demo's client half: creates (or updates) the demo directory through the gateway, runs
// syncAll with a live progress bar, prints what the run did, re-syncs one user, and shows
// queries to try. Plain Node (fetch), no build step.
import { readFile } from 'node:fs/promises';

const gateway = process.env.DIRSYNC_GATEWAY_URL ?? 'http://127.0.0.1:4000/graphql';
const definitionPath = process.argv[2] ?? new URL('../demo/demo-directory.json', import.meta.url);
const bindPassword = process.env.DIRSYNC_DEMO_LDAP_PASSWORD ?? 'admin-secret';
const tty = process.stdout.isTTY;
// Every request is authenticated (docs/security.md): the demo uses the first owner API key, which
// the auth service wrote to this file on its first start.
const keyFile = process.env.DIRSYNC_API_KEY_FILE;
const apiKey =
  process.env.DIRSYNC_API_KEY ?? (keyFile ? (await readFile(keyFile, 'utf8')).trim() : '');
if (!apiKey) {
  console.error('demo: set DIRSYNC_API_KEY (or DIRSYNC_API_KEY_FILE) to an owner API key');
  process.exit(1);
}

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

function mappingInput(mapping = {}) {
  const { custom = {}, ...rest } = mapping;
  return {
    ...rest,
    custom: Object.entries(custom).map(([name, attribute]) => ({ name, attribute })),
  };
}

function bar(done, total, width = 30) {
  if (!total) return '[' + ' '.repeat(width) + ']';
  const filled = Math.min(width, Math.round((done / total) * width));
  return '[' + '#'.repeat(filled) + '.'.repeat(width - filled) + ']';
}

const RUN_FIELDS = `id status mode errorCode errorMessage durationMs
  counts { seen created updated unchanged disabled pendingDeletion restored errors
           groupsSeen groupsCreated groupsUpdated groupsRemoved membershipsAdded membershipsRemoved
           conflicts claimed }`;

async function main() {
  // `created` only when the auth service made the first owner key (a database without keys);
  // `issued` when the database already had keys and the scripts issued one (stack.sh).
  if (process.env.DIRSYNC_DEMO_KEY_ORIGIN === 'created') {
    console.log(
      `First start: dirsync created an owner API key. It is shown this once (and kept in` +
        `\n${keyFile ?? 'DIRSYNC_API_KEY'} for the demo); send it as "Authorization: Bearer <key>":` +
        `\n\n  ${apiKey}\n`,
    );
  } else if (process.env.DIRSYNC_DEMO_KEY_ORIGIN === 'issued') {
    console.log(
      `The database already had API keys (not a first start), but ${keyFile ?? 'the key file'} was` +
        `\nmissing: the demo issued an additional owner key into it (not shown). See the keys with` +
        `\n\`dirsync keys list\` and revoke the ones you no longer use (\`dirsync keys revoke <id>\`).\n`,
    );
  }
  const def = JSON.parse(await readFile(definitionPath, 'utf8'));
  const input = {
    name: def.name,
    ldap: {
      ...def.ldap,
      ...(process.env.DIRSYNC_DEMO_LDAP_URL ? { url: process.env.DIRSYNC_DEMO_LDAP_URL } : {}),
    },
    bindPassword,
    selectedGroups: def.selectedGroups,
    mapping: mappingInput(def.mapping),
    defaultRegion: def.defaultRegion,
  };

  // The demo data's role groups (infra/demo/demo.ldif), most privileged first: their members
  // become dirsync administrators in the ADMIN run below. Here rather than in the directory file,
  // which tests use as it is.
  const roleGroup = (cn) => [`cn=${cn},${def.ldap.groupBaseDn}`];
  const adminRoles = def.adminRoles ?? [
    { role: 'OWNER', groups: roleGroup('dirsync-owners') },
    { role: 'ADMINISTRATOR', groups: roleGroup('dirsync-administrators') },
    { role: 'HELP_DESK', groups: roleGroup('dirsync-help-desk') },
    { role: 'READ_ONLY', groups: roleGroup('dirsync-read-only') },
  ];
  const { directories } = await gql(
    `{ directories(first: 100) { nodes { id name selectedGroups adminRoles { role groups }
       runs(status: [COMPLETED], first: 20) { nodes { mode counts { seen } } } } } }`,
  );
  let dir = directories.nodes.find((d) => d.name === def.name);
  // The progress bar's total: the users the previous FULL run saw (not the last run's: that is
  // the demo's syncUser or ADMIN run, which see one user or none). Read before `dir` is replaced.
  const expected =
    dir?.runs.nodes.find((r) => r.mode === 'FULL')?.counts.seen ?? def.expectedUsers ?? 0;
  if (dir) {
    // An existing directory keeps what an operator set through the API or console (selected
    // groups, mapping, thresholds, schedules, role groups): the demo only points it at this run's
    // OpenLDAP (its port is a setting) and adds the role groups when it has none.
    const update = { ldap: { url: input.ldap.url }, bindPassword };
    const added = dir.adminRoles.length === 0 && adminRoles.length > 0;
    if (added) update.adminRoles = adminRoles;
    const { updateDirectory } = await gql(
      `mutation($id: ID!, $input: UpdateDirectoryInput!) { updateDirectory(id: $id, input: $input) {
         id name selectedGroups adminRoles { role groups } } }`,
      { id: dir.id, input: update },
    );
    dir = updateDirectory;
    console.log(
      `Directory "${dir.name}" exists (${dir.id}): set its LDAP URL (${input.ldap.url}) and bind password` +
        (added ? ', added the demo role groups (it had none)' : '') +
        ';\nits other settings are left as they are (delete the directory to start from the demo definition).',
    );
  } else {
    const { createDirectory } = await gql(
      `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) {
         id name selectedGroups adminRoles { role groups } } }`,
      { input: { ...input, adminRoles } },
    );
    dir = createDirectory;
    console.log(`Created directory "${dir.name}" (${dir.id}).`);
  }

  // What the console's "test connection" button shows: every step, before anything is read.
  const { testDirectory: test } = await gql(
    `mutation($id: ID!) { testDirectory(id: $id) { ok durationMs checks { name target status code message } } }`,
    { id: dir.id },
  );
  const passed = test.checks.filter((c) => c.status === 'OK').length;
  // What was checked, named from the answer itself (role groups and TLS come and go with settings).
  const ok = (name) => test.checks.filter((c) => c.name === name && c.status === 'OK').length;
  const checked = [
    'settings',
    'reach',
    ok('TLS') ? 'TLS' : '',
    'bind',
    'base DNs',
    `${ok('GROUP')} groups`,
    ok('ADMIN_GROUP') ? `${ok('ADMIN_GROUP')} role groups` : '',
    'a sample search',
  ].filter(Boolean);
  const skipped = test.checks.filter((c) => c.status === 'SKIPPED').map((c) => c.name);
  console.log(
    test.ok
      ? `Connection test: ${passed} checks passed in ${test.durationMs} ms (${checked.join(', ')})${
          skipped.length ? `; ${skipped.length} skipped (${skipped.join(', ')})` : ''
        }.`
      : 'Connection test FAILED:',
  );
  for (const c of test.checks.filter((x) => x.status === 'FAILED')) {
    console.log(`  ${c.name} ${c.code}: ${c.message}`);
  }

  const started = Date.now();
  const { syncAll } = await gql(
    `mutation($id: ID!) { syncAll(directoryId: $id) { ${RUN_FIELDS} } }`,
    { id: dir.id },
  );
  console.log(`syncAll started run ${syncAll.id}`);
  let run = syncAll;
  let lastPrint = 0;
  let lastStatus = '';
  const ended = (r) => ['COMPLETED', 'FAILED', 'BLOCKED', 'REJECTED'].includes(r.status);
  for (;;) {
    if (ended(run)) break;
    await new Promise((r) => setTimeout(r, 200));
    run = (await gql(`query($id: ID!) { run(id: $id) { ${RUN_FIELDS} } }`, { id: run.id })).run;
    const c = run.counts;
    // The total is the previous run's seen (unknown on a first run: the bar fills at the end).
    const total = ended(run) ? expected || c.seen : expected;
    const line = `${bar(c.seen, total)} ${run.status.padEnd(9)} seen ${c.seen}  created ${c.created}  updated ${c.updated}  unchanged ${c.unchanged}  errors ${c.errors}`;
    if (tty) process.stdout.write(`\r${line}`);
    // Not a terminal: a line per status change, every second, and always the last one.
    else if (ended(run) || run.status !== lastStatus || Date.now() - lastPrint >= 1000) {
      console.log(line);
      lastPrint = Date.now();
    }
    lastStatus = run.status;
  }
  if (tty) process.stdout.write('\n');
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const c = run.counts;
  console.log(`\nRun ${run.id}: ${run.status} in ${seconds}s`);
  if (run.status === 'FAILED') {
    console.log(`  ${run.errorCode}: ${run.errorMessage}`);
    process.exitCode = 1;
    return;
  }
  const rows = [
    ['users seen', c.seen],
    ['created', c.created],
    ['updated', c.updated],
    ['unchanged', c.unchanged],
    ['disabled', c.disabled],
    ['pending deletion', c.pendingDeletion],
    ['restored', c.restored],
    ['per-object errors', c.errors],
    ['name conflicts', c.conflicts],
    ['claimed', c.claimed],
    ['groups seen', c.groupsSeen],
    ['groups created', c.groupsCreated],
    ['memberships added', c.membershipsAdded],
    ['memberships removed', c.membershipsRemoved],
  ];
  for (const [k, v] of rows) console.log(`  ${k.padEnd(20)} ${String(v).padStart(7)}`);

  const { run: withErrors } = await gql(
    `query($id: ID!) { run(id: $id) { errors(first: 5) { totalCount nodes { code sourceLocator message } } } }`,
    { id: run.id },
  );
  if (withErrors.errors.totalCount > 0) {
    console.log(
      `\nPer-object errors (${withErrors.errors.totalCount}, first 5) — records that could not be fully` +
        `\nimported; the run goes on without them. The demo directory contains such cases on purpose` +
        `\n(a person without uid, invalid phone numbers, a group cycle): see infra/demo/README.md.`,
    );
    for (const e of withErrors.errors.nodes)
      console.log(`  ${e.code}  ${e.sourceLocator}  ${e.message}`);
  }

  const { users } = await gql(
    `query($dir: ID!) { users(first: 1, filter: { directoryId: $dir, status: [ACTIVE] }) { totalCount nodes { username } } }`,
    { dir: dir.id },
  );
  const someone = users.nodes[0]?.username;
  if (someone) {
    const { syncUser } = await gql(
      `mutation($id: ID!, $u: String!) { syncUser(directoryId: $id, username: $u) {
         outcome run { errorCode errorMessage } user { username email directory { name } } } }`,
      { id: dir.id, u: someone },
    );
    console.log(
      `\nsyncUser("${someone}") → ${syncUser.outcome}` +
        (syncUser.user ? ` (${syncUser.user.email ?? 'no e-mail'})` : '') +
        (syncUser.run?.errorCode ? ` ${syncUser.run.errorCode}: ${syncUser.run.errorMessage}` : ''),
    );
  }

  // Administrators from the role groups (dirsync-owners, -administrators, -help-desk, -read-only).
  if (dir.adminRoles.length > 0) {
    const { syncAll: adminRun } = await gql(
      `mutation($id: ID!) { syncAll(directoryId: $id, mode: ADMIN) { id } }`,
      { id: dir.id },
    );
    let ar;
    for (;;) {
      ({ run: ar } = await gql(
        `query($id: ID!) { run(id: $id) { status errorCode errorMessage durationMs
          counts { adminsSeen adminsCreated adminsUpdated adminsUnchanged adminsPendingDeletion } } }`,
        { id: adminRun.id },
      ));
      if (ended(ar)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const a = ar.counts;
    console.log(
      `\nsyncAll ADMIN: ${ar.status} in ${((ar.durationMs ?? 0) / 1000).toFixed(1)}s — admins seen ${a.adminsSeen},` +
        ` created ${a.adminsCreated}, updated ${a.adminsUpdated}, unchanged ${a.adminsUnchanged},` +
        ` pending deletion ${a.adminsPendingDeletion}` +
        (ar.errorCode ? `\n  ${ar.errorCode}: ${ar.errorMessage}` : ''),
    );
    const { admins } = await gql(
      `query($dir: ID!) { admins(first: 20, filter: { directoryId: $dir }) { nodes { email role } } }`,
      { dir: dir.id },
    );
    for (const x of admins.nodes) console.log(`  ${x.role.padEnd(13)} ${x.email}`);
  }

  console.log(
    `\n${users.totalCount} active users from "${def.name}": the members of its ${dir.selectedGroups.length} selected` +
      `\ngroups (nested groups expanded); people outside them are not imported. Try a query:\n`,
  );
  const auth = keyFile
    ? `"authorization: Bearer $(cat ${keyFile})"`
    : `'authorization: Bearer <key>'`;
  console.log(`  curl -s ${gateway} -H 'content-type: application/json' -H ${auth} \\
    -d '{"query":"{ users(first: 5, filter: { search: \\"a\\" }) { totalCount nodes { username email status phones { number } groups { nodes { name } } directory { name } } } }"}'\n`);
  console.log(`  or re-sync one user:\n`);
  console.log(`  curl -s ${gateway} -H 'content-type: application/json' -H ${auth} \\
    -d '{"query":"mutation { syncUser(directoryId: \\"${dir.id}\\", username: \\"${someone ?? 'jdoe'}\\") { outcome user { username } } }"}'\n`);
}

main().catch((err) => {
  console.error(`demo: ${err.message}`);
  process.exit(1);
});
