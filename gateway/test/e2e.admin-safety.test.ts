// Deletion safety for administrators end to end: a real slapd, NATS, Postgres and every service
// in process, through the gateway and the `dirsync` command line as a shell runs it. A role group
// emptied in the source (OpenLDAP keeps only its refint placeholder member) makes the full ADMIN
// run BLOCKED instead of removing every administrator: nobody is removed, the held
// administrators are listed, reject removes none, a later admin run supersedes, and approve
// removes exactly the plan minus someone who came back. One administrator leaving is not held.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatLdifEntry, startSlapd, waitFor, type Slapd } from '@dirsync/testkit';
import { runCli } from './support/cli.js';
import { startStack, waitForRun, type Stack } from './support/stack.js';

const SUFFIX = 'dc=example,dc=org';
const PEOPLE = `ou=people,${SUFFIX}`;
const GROUPS = `ou=groups,${SUFFIX}`;
const ADMINS = `cn=dirsync-admins,${GROUPS}`;
const OWNERS = `cn=dirsync-owners,${GROUPS}`;
/** What OpenLDAP's refint overlay leaves in a groupOfNames whose members are all gone. */
const PLACEHOLDER = `cn=admin,${SUFFIX}`;

/** a0…a4 are administrators, o0 the owner. */
const STAFF = ['a0', 'a1', 'a2', 'a3', 'a4'];
const dnOf = (uid: string) => `uid=${uid},${PEOPLE}`;
const mailOf = (uid: string) => `${uid}@example.org`;

function ldif(): string {
  return [
    ...[...STAFF, 'o0'].map((uid) =>
      formatLdifEntry({
        dn: dnOf(uid),
        attributes: {
          objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
          uid: [uid],
          cn: [uid],
          sn: [uid],
          mail: [mailOf(uid)],
        },
      }),
    ),
    formatLdifEntry({
      dn: ADMINS,
      attributes: {
        objectClass: ['top', 'groupOfNames'],
        cn: ['dirsync-admins'],
        member: STAFF.map(dnOf),
      },
    }),
    formatLdifEntry({
      dn: OWNERS,
      attributes: {
        objectClass: ['top', 'groupOfNames'],
        cn: ['dirsync-owners'],
        member: [dnOf('o0')],
      },
    }),
  ].join('\n\n');
}

const RUN = `id status mode decision decidedBy
  counts { adminsSeen adminsCreated adminsPendingDeletion adminsRestored }
  removals { users admins baseAdmins reason threshold { maxCount maxPercent } }
  supersededBy { id }`;

interface Run {
  id: string;
  status: string;
  mode: string;
  decision: string | null;
  decidedBy: string | null;
  counts: {
    adminsSeen: number;
    adminsCreated: number;
    adminsPendingDeletion: number;
    adminsRestored: number;
  };
  removals: {
    users: number;
    admins: number;
    baseAdmins: number;
    reason: string;
    threshold: { maxCount: number; maxPercent: number };
  } | null;
  supersededBy: { id: string } | null;
}

describe('deletion safety for administrators end to end (OpenLDAP → … → GraphQL, CLI)', () => {
  let slapd: Slapd;
  let stack: Stack;
  let dirId: string;

  async function run(id: string): Promise<Run> {
    return (await stack.gql<{ run: Run }>(`query($id: ID!) { run(id: $id) { ${RUN} } }`, { id }))
      .run;
  }

  async function adminSync(): Promise<Run> {
    const { syncAll } = await stack.gql<{ syncAll: { id: string } }>(
      `mutation($id: ID!) { syncAll(directoryId: $id, mode: ADMIN) { id } }`,
      { id: dirId },
    );
    await waitForRun(stack, syncAll.id);
    return run(syncAll.id);
  }

  /** E-mails by status. */
  async function byStatus(): Promise<Record<string, string[]>> {
    const { admins } = await stack.gql<{ admins: { nodes: { email: string; status: string }[] } }>(
      `query($dir: ID!) { admins(first: 100, filter: { directoryId: $dir }) { nodes { email status } } }`,
      { dir: dirId },
    );
    const out: Record<string, string[]> = {};
    for (const a of admins.nodes) (out[a.status] ??= []).push(a.email);
    for (const list of Object.values(out)) list.sort();
    return out;
  }

  async function held(runId: string): Promise<{ totalCount: number; emails: string[] }> {
    const { admins } = await stack.gql<{
      admins: { totalCount: number; nodes: { email: string }[] };
    }>(
      `query($r: ID) { admins(first: 100, filter: { heldByRunId: $r }) { totalCount nodes { email } } }`,
      { r: runId },
    );
    return { totalCount: admins.totalCount, emails: admins.nodes.map((a) => a.email).sort() };
  }

  /** Replace the role group's members (none: only the refint placeholder remains). */
  async function setMembers(uids: string[]): Promise<void> {
    const members = uids.length ? uids.map(dnOf) : [PLACEHOLDER];
    await slapd.modify(
      `dn: ${ADMINS}\nchangetype: modify\nreplace: member\n${members.map((m) => `member: ${m}`).join('\n')}\n-\n`,
    );
  }

  /** `dirsync …args` as a shell runs it, with the owner's key. */
  const dirsync = (args: string[]) => runCli(stack, args);

  beforeAll(async () => {
    slapd = await startSlapd({ name: 'admin-safety-e2e', ldif: ldif() });
    stack = await startStack();
    const { createDirectory } = await stack.gql<{
      createDirectory: { id: string; deletionThreshold: { maxCount: number; maxPercent: number } };
    }>(
      `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { id deletionThreshold { maxCount maxPercent } } }`,
      {
        input: {
          name: 'admin safety e2e',
          ldap: {
            url: slapd.url,
            bindDn: slapd.rootDn,
            baseDn: slapd.suffix,
            userBaseDn: PEOPLE,
            groupBaseDn: GROUPS,
          },
          bindPassword: slapd.rootPassword,
          selectedGroups: [ADMINS],
          scheduleIntervalMinutes: 0,
          deltaIntervalMinutes: 0,
          adminScheduleIntervalMinutes: 0,
          adminRoles: [
            { role: 'OWNER', groups: [OWNERS] },
            { role: 'ADMINISTRATOR', groups: [ADMINS] },
          ],
        },
      },
    );
    // The default threshold: nothing configured for administrators.
    expect(createDirectory.deletionThreshold).toEqual({ maxCount: 500, maxPercent: 20 });
    dirId = createDirectory.id;
    const first = await adminSync();
    expect(first).toMatchObject({ status: 'COMPLETED', counts: { adminsCreated: 6 } });
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    await slapd?.dispose();
  });

  it('one administrator leaving a role group is removed as before (1 of 6), and comes back', async () => {
    await setMembers(STAFF.slice(0, 4));
    const left = await adminSync();
    expect(left).toMatchObject({
      status: 'COMPLETED',
      removals: null,
      counts: { adminsPendingDeletion: 1 },
    });
    expect((await byStatus())['PENDING_DELETION']).toEqual([mailOf('a4')]);
    await setMembers(STAFF);
    const back = await adminSync();
    expect(back).toMatchObject({ status: 'COMPLETED', counts: { adminsRestored: 1 } });
    expect((await byStatus())['ACTIVE']).toHaveLength(6);
  });

  describe('the role group emptied in the source', () => {
    let blocked: Run;

    beforeAll(async () => {
      await setMembers([]);
      blocked = await adminSync();
    });

    it('ends BLOCKED with the plan, removes no administrator, and lists who would go', async () => {
      expect(blocked).toMatchObject({
        status: 'BLOCKED',
        mode: 'ADMIN',
        counts: { adminsPendingDeletion: 0 },
        removals: {
          users: 0,
          admins: 5,
          baseAdmins: 6,
          reason:
            'would remove 5 of 6 administrators (83.3 %); the deletion threshold is more than ' +
            '500 or more than 20 % (for administrators: of more than 1, or the last)',
          threshold: { maxCount: 500, maxPercent: 20 },
        },
      });
      expect(await byStatus()).toEqual({ ACTIVE: [...STAFF, 'o0'].map(mailOf).sort() });
      expect(await held(blocked.id)).toEqual({ totalCount: 5, emails: STAFF.map(mailOf) });
    });

    it('`dirsync runs show` names the held administrators', async () => {
      const shown = await dirsync(['runs', 'show', blocked.id]);
      expect(shown.code).toBe(0);
      expect(shown.stdout).toContain(blocked.removals!.reason);
      expect(shown.stdout).toMatch(/administrators\s+5 of 6/);
      for (const uid of STAFF) expect(shown.stdout).toContain(mailOf(uid));
      expect(shown.stdout).not.toContain(mailOf('o0'));
    });

    it('reject removes no administrator; the run is REJECTED', async () => {
      const { rejectRun } = await stack.gql<{ rejectRun: Run }>(
        `mutation($id: ID!) { rejectRun(runId: $id) { ${RUN} } }`,
        { id: blocked.id },
      );
      expect(rejectRun).toMatchObject({ status: 'REJECTED', decision: 'REJECT' });
      expect(await byStatus()).toEqual({ ACTIVE: [...STAFF, 'o0'].map(mailOf).sort() });
      expect((await held(blocked.id)).totalCount).toBe(0);
    });

    it('a later admin run supersedes a blocked one; approve removes exactly the plan minus one who came back', async () => {
      const first = await adminSync();
      expect(first.status).toBe('BLOCKED');
      // `dirsync sync --mode admin --wait` of a run that blocks exits 4.
      const waited = await dirsync(['sync', dirId, '--mode', 'admin', '--wait', '--json']);
      expect(waited.code).toBe(4);
      const second = JSON.parse(waited.stdout) as Run;
      expect(second).toMatchObject({ status: 'BLOCKED', removals: { admins: 5 } });
      const stale = await waitFor(
        async () => {
          const r = await run(first.id);
          return r.status === 'REJECTED' ? r : undefined;
        },
        { message: 'the first blocked admin run superseded' },
      );
      expect(stale).toMatchObject({ decision: null, supersededBy: { id: second.id } });
      const approveStale = await stack.gqlRaw(
        `mutation($id: ID!) { approveRun(runId: $id) { id } }`,
        { id: first.id },
      );
      expect(approveStale.errors?.[0]?.extensions?.code).toBe('RUN_SUPERSEDED');

      // a2 is put back in the role group and synced by e-mail: it leaves the plan.
      await setMembers(['a2']);
      const { syncAdmin } = await stack.gql<{ syncAdmin: { outcome: string } }>(
        `mutation($id: ID!, $e: String!) { syncAdmin(directoryId: $id, email: $e) { outcome } }`,
        { id: dirId, e: mailOf('a2') },
      );
      expect(syncAdmin.outcome).toBe('UNCHANGED');
      expect((await held(second.id)).emails).toEqual(['a0', 'a1', 'a3', 'a4'].map(mailOf));

      const approved = await dirsync(['runs', 'approve', second.id, '--json']);
      expect(approved.code).toBe(0);
      expect(JSON.parse(approved.stdout)).toMatchObject({
        status: 'COMPLETED',
        decision: 'APPROVE',
      });
      expect((await run(second.id)).counts.adminsPendingDeletion).toBe(4);
      expect(await byStatus()).toEqual({
        ACTIVE: [mailOf('a2'), mailOf('o0')],
        PENDING_DELETION: ['a0', 'a1', 'a3', 'a4'].map(mailOf),
      });
    });
  });
});
