// Delta-sync benchmark, run by full-sync.mjs on the directory it just synced in full:
// (d) a DELTA run with nothing changed; (e) 1,000 users and 20 memberships changed with
// ldapmodify; (f) a DELTA run from the syncAll mutation to COMPLETED, with the entries it read
// from the server. Writes bench/results/delta-sync.json.
import { writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';

const CHANGED_USERS = 1_000;
const CHANGED_MEMBERSHIPS = 20;
const TARGET_SECONDS = 2;

/**
 * @param {object} ctx
 * @param {(cmd: string, args: string[], input?: string) => Promise<Buffer>} ctx.run
 * @param {(directoryId: string, label: string, mode?: string) => Promise<{ seconds: number, run: any }>} ctx.timedSync
 * @param {string} ctx.directoryId
 * @param {any} ctx.summary bench.json
 * @param {{ url: string, bindDn: string, password: string }} ctx.ldap
 */
export async function deltaBench({ run, timedSync, directoryId, summary, ldap }) {
  const auth = ['-x', '-H', ldap.url, '-D', ldap.bindDn, '-w', ldap.password];
  const people = summary.userBaseDn ?? 'ou=people,dc=example,dc=org';
  const userDn = (i) => `uid=user${String(i).padStart(6, '0')},${people}`;

  console.log('(d) DELTA syncAll, nothing changed');
  const quiet = await timedSync(directoryId, 'delta (no change)', 'DELTA');
  console.log(`  ${quiet.seconds.toFixed(2)} s, ${quiet.run.counts.entriesRead} entries read`);

  // 1,000 users spread over the directory get a new display name; 10 users join a chain head
  // (a selected group) and 10 members leave the biggest group.
  const step = Math.floor(summary.users / CHANGED_USERS);
  const records = [];
  for (let k = 0; k < CHANGED_USERS; k++) {
    records.push(
      `dn: ${userDn(k * step)}\nchangetype: modify\nreplace: displayName\ndisplayName: Changed ${k}\n`,
    );
  }
  const heads = summary.chains.heads;
  for (let k = 0; k < CHANGED_MEMBERSHIPS / 2; k++) {
    records.push(
      `dn: ${heads[k % heads.length]}\nchangetype: modify\nadd: member\nmember: ${userDn(50_000 + k * 7)}\n`,
    );
  }
  const big = summary.bigGroups[0].dn;
  const members = (
    await run('ldapsearch', [
      ...auth,
      '-LLL',
      '-o',
      'ldif-wrap=no',
      '-b',
      big,
      '-s',
      'base',
      'member',
    ])
  )
    .toString('utf8')
    .split('\n')
    .filter((l) => l.startsWith('member: uid='))
    .map((l) => l.slice('member: '.length));
  for (const m of members.slice(0, CHANGED_MEMBERSHIPS / 2)) {
    records.push(`dn: ${big}\nchangetype: modify\ndelete: member\nmember: ${m}\n`);
  }
  console.log(`(e) ldapmodify: ${CHANGED_USERS} users, ${CHANGED_MEMBERSHIPS} memberships`);
  const t0 = performance.now();
  await run('ldapmodify', auth, records.join('\n'));
  const modifySeconds = (performance.now() - t0) / 1000;
  console.log(`  ${modifySeconds.toFixed(2)} s`);

  console.log('(f) DELTA syncAll after the changes');
  const delta = await timedSync(directoryId, 'delta', 'DELTA');
  const c = delta.run.counts;
  console.log(
    `  ${delta.seconds.toFixed(2)} s (target < ${TARGET_SECONDS} s), read ${delta.run.readMode}, ` +
      `${c.entriesRead} entries read: ${JSON.stringify(c)}`,
  );
  if (delta.run.readMode !== 'DELTA') {
    throw new Error(`the delta run read ${delta.run.readMode} (${delta.run.fullReadReason})`);
  }

  const result = {
    users: summary.users,
    changedUsers: CHANGED_USERS,
    changedMemberships: CHANGED_MEMBERSHIPS,
    deltaSyncSeconds: +delta.seconds.toFixed(3),
    targetSeconds: TARGET_SECONDS,
    entriesRead: c.entriesRead,
    readMode: delta.run.readMode,
    deltaCounts: c,
    noChangeDeltaSeconds: +quiet.seconds.toFixed(3),
    noChangeEntriesRead: quiet.run.counts.entriesRead,
    ldapmodifySeconds: +modifySeconds.toFixed(3),
    measuredAt: new Date().toISOString(),
    machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
  };
  await writeFile('bench/results/delta-sync.json', JSON.stringify(result, null, 2) + '\n');
  console.log('\n| delta measure | value |\n|---|---|');
  for (const k of [
    'changedUsers',
    'changedMemberships',
    'deltaSyncSeconds',
    'entriesRead',
    'noChangeDeltaSeconds',
    'noChangeEntriesRead',
  ])
    console.log(`| ${k} | ${result[k]} |`);
  console.log('\nwritten to bench/results/delta-sync.json');
  return result;
}
