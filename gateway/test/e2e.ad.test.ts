// End to end through the gateway against a real Samba AD domain controller: a 2,000-user domain
// synced in full, then five changes made the way an administrator makes them, then a DELTA run
// that reads only the changes (DirSync) — a deleted user (tombstone) goes to pending deletion —
// and finally the DC restored from a backup taken before, which the next DELTA run detects and
// answers with a full read. StartTLS verified against the tests' own CA.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSambaAd, type SambaAd } from '@dirsync/testkit';
import { RUN_FIELDS, startStack, waitForRun, type RunView, type Stack } from './support/stack.js';

const BASE = 'DC=example,DC=test';
const PEOPLE = `OU=People,${BASE}`;
const GROUPS = `OU=Groups,${BASE}`;
const USERS = 2000;
const name = (i: number) => `person${String(i).padStart(4, '0')}`;
const dn = (i: number) => `CN=${name(i)},${PEOPLE}`;

/** 2,000 people, all in Staff (one modify with 2,000 values), 100 of them also in Team. */
function fixture(): string {
  const records = [
    `dn: ${PEOPLE}\nchangetype: add\nobjectClass: organizationalUnit\n`,
    `dn: ${GROUPS}\nchangetype: add\nobjectClass: organizationalUnit\n`,
  ];
  for (let i = 0; i < USERS; i++) {
    records.push(
      [
        `dn: ${dn(i)}`,
        'changetype: add',
        'objectClass: user',
        `sAMAccountName: ${name(i)}`,
        'userAccountControl: 544',
        'givenName: Person',
        `sn: Number ${i}`,
        `mail: ${name(i)}@example.test`,
        '',
      ].join('\n'),
    );
  }
  const group = (cn: string, members: string[]) =>
    `dn: CN=${cn},${GROUPS}\nchangetype: add\nobjectClass: group\n\n` +
    [
      `dn: CN=${cn},${GROUPS}`,
      'changetype: modify',
      'add: member',
      ...members.map((m) => `member: ${m}`),
      '-',
      '',
    ].join('\n');
  records.push(
    group(
      'Staff',
      Array.from({ length: USERS }, (_v, i) => dn(i)),
    ),
  );
  records.push(
    group(
      'Team',
      Array.from({ length: 100 }, (_v, i) => dn(i)),
    ),
  );
  return records.join('\n');
}

interface DeltaRun extends RunView {
  readMode: string | null;
  fullReadReason: string | null;
  counts: RunView['counts'] & { entriesRead: number };
}

describe('Active Directory end to end (Samba AD)', () => {
  let ad: SambaAd;
  let stack: Stack;
  let dirId: string;
  let full: DeltaRun;

  async function sync(mode: 'FULL' | 'DELTA'): Promise<DeltaRun> {
    const { syncAll } = await stack.gql<{ syncAll: { id: string } }>(
      `mutation($id: ID!, $mode: SyncMode) { syncAll(directoryId: $id, mode: $mode) { id } }`,
      { id: dirId, mode },
    );
    await waitForRun(stack, syncAll.id, 120_000);
    const { run } = await stack.gql<{ run: DeltaRun }>(
      `query($id: ID!) { run(id: $id) { ${RUN_FIELDS} readMode fullReadReason counts { entriesRead } } }`,
      { id: syncAll.id },
    );
    return run;
  }

  async function user(username: string) {
    const { userByUsername } = await stack.gql<{
      userByUsername: { status: string; lastName: string | null; email: string | null } | null;
    }>(
      `query($dir: ID!, $u: String!) { userByUsername(directoryId: $dir, username: $u) { status lastName email } }`,
      { dir: dirId, u: username },
    );
    return userByUsername;
  }

  beforeAll(async () => {
    ad = await startSambaAd({ name: 'e2e-ad', fixture: fixture() });
    // the backup a restore will bring back later (nothing synced yet)
    await ad.stop();
    ad.backup('before-sync');
    await ad.start();
    stack = await startStack();
    const { createDirectory } = await stack.gql<{ createDirectory: { id: string } }>(
      `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { id } }`,
      {
        input: {
          name: 'Samba AD',
          ldap: {
            url: ad.url,
            profile: 'activedirectory',
            startTls: true,
            tlsCaPem: ad.caPem,
            bindDn: ad.adminDn,
            baseDn: BASE,
            userBaseDn: PEOPLE,
            groupBaseDn: GROUPS,
          },
          bindPassword: ad.adminPassword,
          selectedGroups: [`CN=Staff,${GROUPS}`],
          scheduleIntervalMinutes: 0,
        },
      },
    );
    dirId = createDirectory.id;
    full = await sync('FULL');
  }, 300_000);

  afterAll(async () => {
    await stack?.stop();
    await ad?.dispose();
  });

  it('imports the domain in full, with a cursor for the next delta', () => {
    expect(full.status).toBe('COMPLETED');
    expect(full.readMode).toBe('FULL');
    expect(full.counts.seen).toBe(USERS);
    expect(full.counts.created).toBe(USERS);
  });

  it('after 5 changes, a DELTA run reads only the changes', async () => {
    await ad.modify(
      [
        `dn: ${dn(1)}\nchangetype: modify\nreplace: sn\nsn: Renamed\n-\n`,
        `dn: ${dn(2)}\nchangetype: modify\nreplace: mail\nmail: new.address@example.test\n-\n`,
        `dn: ${dn(3)}\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: 546\n-\n`,
        `dn: ${dn(4)}\nchangetype: delete\n`,
        `dn: CN=Staff,${GROUPS}\nchangetype: modify\ndelete: member\nmember: ${dn(1500)}\n-\n`,
      ].join('\n'),
    );
    const run = await sync('DELTA');
    expect(run.status).toBe('COMPLETED');
    expect(run.readMode).toBe('DELTA');
    // the DirSync answer (5 objects), the 2 groups, the 4 users touched, one tombstone lookup,
    // the root DSE and the DC's NTDS Settings: a handful, not 2,000
    expect(run.counts.entriesRead).toBeGreaterThan(0);
    expect(run.counts.entriesRead).toBeLessThan(30);
    expect(run.counts.seen).toBe(3);
    expect(run.counts.pendingDeletion).toBe(2);
    expect(run.counts.disabled).toBe(1);
    expect(await user(name(1))).toMatchObject({ status: 'ACTIVE', lastName: 'Renamed' });
    expect((await user(name(2)))?.email).toBe('new.address@example.test');
    expect((await user(name(3)))?.status).toBe('DISABLED');
    // deleted (a tombstone under CN=Deleted Objects) and out of scope: pending deletion
    expect((await user(name(4)))?.status).toBe('PENDING_DELETION');
    expect((await user(name(1500)))?.status).toBe('PENDING_DELETION');
    expect((await user(name(5)))?.status).toBe('ACTIVE');
  });

  it('a DC restored from backup is detected and the DELTA run reads in full', async () => {
    await ad.stop();
    ad.restore('before-sync');
    await ad.start();
    const run = await sync('DELTA');
    expect(run.status).toBe('COMPLETED');
    expect(run.readMode).toBe('FULL');
    expect(run.fullReadReason).toBe('CURSOR_REJECTED');
    expect(run.counts.seen).toBe(USERS);
    // the restored domain has them again, as they were
    expect((await user(name(4)))?.status).toBe('ACTIVE');
    expect(await user(name(1))).toMatchObject({ lastName: 'Number 1' });
  });
});
