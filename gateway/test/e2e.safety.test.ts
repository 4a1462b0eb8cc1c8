// Deletion safety end to end: a real slapd, NATS, Postgres and every service in process, through
// the gateway (and the `dirsync` command line as a shell runs it). A source that suddenly
// returns nobody — the user base filtered, the selected group emptied — ends BLOCKED and removes
// nobody; approve removes exactly what was held back (minus someone who came back), reject
// removes nobody, a later full sync supersedes a blocked run; only owners decide; restore, purge
// and the purge job finish the lifecycle. A DELTA run that names the removals (the only
// selected group emptied) is measured the same way.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatLdifEntry, startSlapd, waitFor, type Slapd } from '@dirsync/testkit';
import { runCli } from './support/cli.js';
import { startStack, waitForRun, type Client, type Stack } from './support/stack.js';

const PEOPLE = 'ou=people,dc=example,dc=org';
const GROUPS = 'ou=groups,dc=example,dc=org';
const EMPTY_OU = 'ou=contractors,dc=example,dc=org';
const USERS = 100;
const uid = (i: number) => `p${String(i).padStart(3, '0')}`;
const dnOf = (i: number) => `uid=${uid(i)},${PEOPLE}`;
/** A second directory, selecting cn=team: its own 20 people (usernames are unique across dirsync). */
const TEAM = 20;
const teamUid = (i: number) => `q${String(i).padStart(3, '0')}`;
const teamDn = (i: number) => `uid=${teamUid(i)},${PEOPLE}`;
/** A third directory, selecting cn=org, which nests cn=crew: r000 directly, r001–r020 through crew. */
const CREW = 20;
const crewUid = (i: number) => `r${String(i).padStart(3, '0')}`;
const crewDn = (i: number) => `uid=${crewUid(i)},${PEOPLE}`;
const ORG = `cn=org,${GROUPS}`;
const CREW_GROUP = `cn=crew,${GROUPS}`;
const range = (from: number, to: number) => Array.from({ length: to - from }, (_v, i) => from + i);

function directoryLdif(): string {
  return [
    formatLdifEntry({
      dn: EMPTY_OU,
      attributes: { objectClass: ['top', 'organizationalUnit'], ou: ['contractors'] },
    }),
    ...range(0, USERS).map((i) =>
      formatLdifEntry({
        dn: dnOf(i),
        attributes: {
          objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
          uid: [uid(i)],
          cn: [`Person ${i}`],
          sn: [`Surname ${i}`],
          mail: [`${uid(i)}@example.org`],
          telephoneNumber: [`+1 202 555 ${String(1000 + i)}`],
        },
      }),
    ),
    ...range(0, TEAM).map((i) =>
      formatLdifEntry({
        dn: teamDn(i),
        attributes: {
          objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
          uid: [teamUid(i)],
          cn: [`Team member ${i}`],
          sn: [`Surname ${i}`],
          mail: [`${teamUid(i)}@example.org`],
        },
      }),
    ),
    formatLdifEntry({
      dn: `cn=team,${GROUPS}`,
      attributes: {
        objectClass: ['top', 'groupOfNames'],
        cn: ['team'],
        member: range(0, TEAM).map(teamDn),
      },
    }),
    ...range(0, CREW + 1).map((i) =>
      formatLdifEntry({
        dn: crewDn(i),
        attributes: {
          objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
          uid: [crewUid(i)],
          cn: [`Crew member ${i}`],
          sn: [`Surname ${i}`],
          mail: [`${crewUid(i)}@example.org`],
        },
      }),
    ),
    formatLdifEntry({
      dn: CREW_GROUP,
      attributes: {
        objectClass: ['top', 'groupOfNames'],
        cn: ['crew'],
        member: range(1, CREW + 1).map(crewDn),
      },
    }),
    formatLdifEntry({
      dn: ORG,
      attributes: {
        objectClass: ['top', 'groupOfNames'],
        cn: ['org'],
        member: [crewDn(0), CREW_GROUP],
      },
    }),
    formatLdifEntry({
      dn: `cn=staff,${GROUPS}`,
      attributes: {
        objectClass: ['top', 'groupOfNames'],
        cn: ['staff'],
        member: range(0, USERS).map(dnOf),
      },
    }),
  ].join('\n\n');
}

const RUN = `id status decision decidedBy errorCode
  counts { seen created pendingDeletion membershipsRemoved }
  removals { users memberships groups baseUsers baseMemberships reason threshold { maxCount maxPercent } }
  supersededBy { id }`;

interface Run {
  id: string;
  status: string;
  decision: string | null;
  decidedBy: string | null;
  counts: { seen: number; created: number; pendingDeletion: number; membershipsRemoved: number };
  removals: {
    users: number;
    memberships: number;
    groups: number;
    baseUsers: number;
    baseMemberships: number;
    reason: string;
    threshold: { maxCount: number; maxPercent: number };
  } | null;
  supersededBy: { id: string } | null;
}

describe('deletion safety end to end (OpenLDAP → … → GraphQL)', () => {
  let slapd: Slapd;
  let stack: Stack;
  let admin: Client;
  let dirId: string;

  async function sync(): Promise<Run> {
    const { syncAll } = await stack.gql<{ syncAll: { id: string } }>(
      `mutation($id: ID!) { syncAll(directoryId: $id) { id } }`,
      { id: dirId },
    );
    await waitForRun(stack, syncAll.id);
    return run(syncAll.id);
  }

  async function run(id: string): Promise<Run> {
    return (await stack.gql<{ run: Run }>(`query($id: ID!) { run(id: $id) { ${RUN} } }`, { id }))
      .run;
  }

  /** Usernames by status. */
  async function byStatus(): Promise<Record<string, string[]>> {
    const { users } = await stack.gql<{ users: { nodes: { username: string; status: string }[] } }>(
      `query($dir: ID!) { users(first: 500, filter: { directoryId: $dir }) { nodes { username status } } }`,
      { dir: dirId },
    );
    const out: Record<string, string[]> = {};
    for (const u of users.nodes) (out[u.status] ??= []).push(u.username);
    for (const list of Object.values(out)) list.sort();
    return out;
  }

  async function userId(i: number): Promise<string> {
    const { userByUsername } = await stack.gql<{ userByUsername: { id: string } | null }>(
      `query($dir: ID!, $u: String!) { userByUsername(directoryId: $dir, username: $u) { id } }`,
      { dir: dirId, u: uid(i) },
    );
    return userByUsername!.id;
  }

  async function setUserBase(dn: string): Promise<void> {
    await stack.gql(
      `mutation($id: ID!, $dn: String!) { updateDirectory(id: $id, input: { ldap: { userBaseDn: $dn } }) { id } }`,
      { id: dirId, dn },
    );
  }

  /** `dirsync …args` as a shell runs it, with the owner's key. */
  const dirsync = (args: string[]) => runCli(stack, args);

  beforeAll(async () => {
    slapd = await startSlapd({ name: 'safety-e2e', ldif: directoryLdif() });
    stack = await startStack();
    admin = await stack.client('ADMINISTRATOR');
    const { createDirectory } = await stack.gql<{
      createDirectory: { id: string; deletionThreshold: { maxCount: number; maxPercent: number } };
    }>(
      `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { id deletionThreshold { maxCount maxPercent } } }`,
      {
        input: {
          name: 'safety e2e',
          ldap: {
            url: slapd.url,
            bindDn: slapd.rootDn,
            baseDn: slapd.suffix,
            userBaseDn: PEOPLE,
            groupBaseDn: GROUPS,
          },
          bindPassword: slapd.rootPassword,
          selectedGroups: [`cn=staff,${GROUPS}`],
          scheduleIntervalMinutes: 0,
          deltaIntervalMinutes: 0,
        },
      },
    );
    expect(createDirectory.deletionThreshold).toEqual({ maxCount: 500, maxPercent: 20 });
    dirId = createDirectory.id;
    const first = await sync();
    expect(first).toMatchObject({ status: 'COMPLETED', counts: { created: USERS } });
  });

  afterAll(async () => {
    await stack?.stop();
    await slapd?.dispose();
  });

  describe('the user base filtered: the source returns nobody', () => {
    let blocked: Run;

    beforeAll(async () => {
      await setUserBase(EMPTY_OU);
      blocked = await sync();
    });

    it('`dirsync directories show` names the threshold', async () => {
      const shown = await dirsync(['directories', 'show', dirId]);
      expect(shown.code).toBe(0);
      expect(shown.stdout).toMatch(
        /deletion threshold\s+more than 500 or 20 % removed blocks a run/,
      );
    });

    it('ends BLOCKED with the plan, and removes nobody', async () => {
      expect(blocked).toMatchObject({
        status: 'BLOCKED',
        decision: null,
        counts: { seen: 0, pendingDeletion: 0, membershipsRemoved: 0 },
        removals: {
          users: USERS,
          memberships: USERS,
          groups: 0,
          baseUsers: USERS,
          baseMemberships: USERS,
          threshold: { maxCount: 500, maxPercent: 20 },
        },
      });
      expect(blocked.removals?.reason).toContain(`${USERS} of ${USERS} users (100 %)`);
      expect(await byStatus()).toEqual({ ACTIVE: range(0, USERS).map(uid) });
    });

    it('only owners approve or reject: anyone else is FORBIDDEN and changes nothing', async () => {
      for (const op of ['approveRun', 'rejectRun']) {
        const r = await admin.gqlRaw(`mutation($id: ID!) { ${op}(runId: $id) { id } }`, {
          id: blocked.id,
        });
        expect(r.errors?.[0]?.extensions?.code, op).toBe('FORBIDDEN');
      }
      expect((await run(blocked.id)).status).toBe('BLOCKED');
    });

    it('`dirsync runs reject` discards the removals: REJECTED, nobody removed; again exits 10', async () => {
      const shown = await dirsync(['runs', 'show', blocked.id]);
      expect(shown.code).toBe(0);
      expect(shown.stdout).toContain(blocked.removals!.reason);
      const r = await dirsync(['runs', 'reject', blocked.id, '--json']);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({
        id: blocked.id,
        status: 'REJECTED',
        decision: 'REJECT',
      });
      expect(await byStatus()).toEqual({ ACTIVE: range(0, USERS).map(uid) });
      const again = await dirsync(['runs', 'reject', blocked.id]);
      expect(again.code).toBe(10);
      const approve = await stack.gqlRaw(`mutation($id: ID!) { approveRun(runId: $id) { id } }`, {
        id: blocked.id,
      });
      expect(approve.errors?.[0]?.extensions?.code).toBe('RUN_NOT_BLOCKED');
    });

    it('`dirsync sync --wait` of a run that blocks exits 4; a later full sync supersedes it', async () => {
      const waited = await dirsync(['sync', dirId, '--wait', '--json']);
      expect(waited.code).toBe(4);
      const second = JSON.parse(waited.stdout) as Run;
      expect(second.status).toBe('BLOCKED');
      await setUserBase(PEOPLE);
      const later = await sync();
      expect(later.status).toBe('COMPLETED');
      const stale = await waitFor(
        async () => {
          const r = await run(second.id);
          return r.status === 'REJECTED' ? r : undefined;
        },
        { message: 'the blocked run superseded' },
      );
      expect(stale).toMatchObject({ decision: null, supersededBy: { id: later.id } });
      const approve = await stack.gqlRaw(`mutation($id: ID!) { approveRun(runId: $id) { id } }`, {
        id: second.id,
      });
      expect(approve.errors?.[0]?.extensions?.code).toBe('RUN_SUPERSEDED');
      expect((await dirsync(['runs', 'approve', second.id])).code).toBe(10);
      expect(await byStatus()).toEqual({ ACTIVE: range(0, USERS).map(uid) });
    });
  });

  describe('the selected group emptied but for ten', () => {
    let blocked: Run;
    const kept = range(0, 10);

    beforeAll(async () => {
      await slapd.modify(
        `dn: cn=staff,${GROUPS}\nchangetype: modify\nreplace: member\n${kept.map((i) => `member: ${dnOf(i)}`).join('\n')}\n-\n`,
      );
      blocked = await sync();
    });

    it('blocks the 90 removals by percentage', () => {
      expect(blocked).toMatchObject({
        status: 'BLOCKED',
        removals: { users: 90, memberships: 90, baseUsers: USERS, baseMemberships: USERS },
      });
      expect(blocked.removals?.reason).toContain('90 of 100 users (90 %)');
    });

    it('approve removes exactly the held users, except one a later sync found again', async () => {
      // p050 is back in the group, and a single-user sync sees it before anyone approves.
      await slapd.modify(
        `dn: cn=staff,${GROUPS}\nchangetype: modify\nadd: member\nmember: ${dnOf(50)}\n-\n`,
      );
      const single = await stack.gql<{ syncUser: { outcome: string } }>(
        `mutation($id: ID!) { syncUser(directoryId: $id, username: "${uid(50)}") { outcome } }`,
        { id: dirId },
      );
      expect(single.syncUser.outcome).toBe('UNCHANGED');
      const r = await dirsync(['runs', 'approve', blocked.id, '--json']);
      expect(r.code).toBe(0);
      const approved = JSON.parse(r.stdout) as Run;
      expect(approved).toMatchObject({
        status: 'COMPLETED',
        decision: 'APPROVE',
        counts: { pendingDeletion: 89 },
      });
      expect(approved.decidedBy).toBeTruthy();
      const removed = range(10, USERS).filter((i) => i !== 50);
      expect(await byStatus()).toEqual({
        ACTIVE: [...kept, 50].map(uid).sort(),
        PENDING_DELETION: removed.map(uid),
      });
    });

    it('the audit log records the decisions', async () => {
      const { auditLog } = await stack.gql<{
        auditLog: {
          nodes: { fields: string[]; result: string; arguments: Record<string, unknown> }[];
        };
      }>(`{ auditLog(first: 500) { nodes { fields result arguments } } }`);
      const decisions = auditLog.nodes.filter((e) =>
        e.fields.some((f) => f === 'approveRun' || f === 'rejectRun'),
      );
      expect(decisions.length).toBeGreaterThanOrEqual(4);
      expect(decisions.some((e) => e.fields.includes('approveRun') && e.result === 'OK')).toBe(
        true,
      );
      expect(decisions.some((e) => e.fields.includes('rejectRun') && e.result === 'OK')).toBe(true);
    });
  });

  describe('restore, purge and the purge job', () => {
    it('restoreUser brings a removed user back with its id (user managers may)', async () => {
      const manager = await stack.client('USER_MANAGER');
      const id = await userId(20);
      const r = await manager.gqlRaw(`mutation($id: ID!) { restoreUser(id: $id) { id status } }`, {
        id,
      });
      expect(r.data?.restoreUser).toEqual({ id, status: 'ACTIVE' });
      const again = await manager.gqlRaw(`mutation($id: ID!) { restoreUser(id: $id) { id } }`, {
        id,
      });
      expect(again.errors?.[0]?.extensions?.code).toBe('NOT_PENDING_DELETION');
      const purge = await manager.gqlRaw(`mutation($id: ID!) { purgeUser(id: $id) }`, {
        id: await userId(21),
      });
      expect(purge.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    });

    it('purgeUser deletes a removed user now (administrators may)', async () => {
      const id = await userId(21);
      const r = await admin.gqlRaw(`mutation($id: ID!) { purgeUser(id: $id) }`, { id });
      expect(r.data?.purgeUser).toBe(id);
      const { user } = await stack.gql<{ user: unknown }>(
        `query($id: ID!) { user(id: $id) { id } }`,
        {
          id,
        },
      );
      expect(user).toBeNull();
    });

    it('the purge job deletes the removed users once their window (7 days) has passed', async () => {
      const pending = (await byStatus()).PENDING_DELETION ?? [];
      expect(pending).toHaveLength(87);
      const day = 86_400_000;
      expect(await stack.identity.purgeExpired(new Date(Date.now() + 6 * day))).toBe(0);
      expect(await stack.identity.purgeExpired(new Date(Date.now() + 7 * day + 60_000))).toBe(87);
      const left = await byStatus();
      expect(left.PENDING_DELETION).toBeUndefined();
      expect(left.ACTIVE).toHaveLength(12);
    });
  });
  describe('a DELTA run after the only selected group was emptied', () => {
    let teamDir: string;

    async function syncTeam(mode: 'FULL' | 'DELTA'): Promise<Run & { readMode: string | null }> {
      const { syncAll } = await stack.gql<{ syncAll: { id: string } }>(
        `mutation($id: ID!, $mode: SyncMode) { syncAll(directoryId: $id, mode: $mode) { id } }`,
        { id: teamDir, mode },
      );
      await waitForRun(stack, syncAll.id);
      return (
        await stack.gql<{ run: Run & { readMode: string | null } }>(
          `query($id: ID!) { run(id: $id) { ${RUN} readMode } }`,
          { id: syncAll.id },
        )
      ).run;
    }

    async function teamStatuses(): Promise<Record<string, number>> {
      const { users } = await stack.gql<{ users: { nodes: { status: string }[] } }>(
        `query($dir: ID!) { users(first: 500, filter: { directoryId: $dir }) { nodes { status } } }`,
        { dir: teamDir },
      );
      const out: Record<string, number> = {};
      for (const u of users.nodes) out[u.status] = (out[u.status] ?? 0) + 1;
      return out;
    }

    beforeAll(async () => {
      const { createDirectory } = await stack.gql<{ createDirectory: { id: string } }>(
        `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { id } }`,
        {
          input: {
            name: 'safety e2e team',
            ldap: {
              url: slapd.url,
              bindDn: slapd.rootDn,
              baseDn: slapd.suffix,
              userBaseDn: PEOPLE,
              groupBaseDn: GROUPS,
            },
            bindPassword: slapd.rootPassword,
            selectedGroups: [`cn=team,${GROUPS}`],
            scheduleIntervalMinutes: 0,
            deltaIntervalMinutes: 0,
          },
        },
      );
      teamDir = createDirectory.id;
      expect(await syncTeam('FULL')).toMatchObject({
        status: 'COMPLETED',
        counts: { created: TEAM },
      });
      expect(await syncTeam('DELTA')).toMatchObject({ status: 'COMPLETED', readMode: 'DELTA' });
      // The group emptied the way an administrator does it: only the root DN placeholder left.
      await slapd.modify(
        `dn: cn=team,${GROUPS}\nchangetype: modify\nreplace: member\nmember: ${slapd.rootDn}\n-\n`,
      );
    });

    it('is BLOCKED with its plan and removes nobody; reject removes nobody', async () => {
      const blocked = await syncTeam('DELTA');
      expect(blocked).toMatchObject({
        status: 'BLOCKED',
        // How it read, as for a completed run.
        readMode: 'DELTA',
        counts: { pendingDeletion: 0, membershipsRemoved: 0 },
        removals: {
          users: TEAM,
          memberships: TEAM,
          baseUsers: TEAM,
          baseMemberships: TEAM,
          threshold: { maxCount: 500, maxPercent: 20 },
        },
      });
      expect(blocked.removals?.reason).toContain(`${TEAM} of ${TEAM} users (100 %)`);
      // (Read as a delta: this connector process holds the delta state of the cursor the DELTA
      // before stored, so its removals are the users it names out of scope — the bug was that
      // such a delta was never measured.)
      expect(await teamStatuses()).toEqual({ ACTIVE: TEAM });

      const rejected = await stack.gql<{ rejectRun: { status: string; decision: string } }>(
        `mutation($id: ID!) { rejectRun(runId: $id) { status decision } }`,
        { id: blocked.id },
      );
      expect(rejected.rejectRun).toEqual({ status: 'REJECTED', decision: 'REJECT' });
      expect(await teamStatuses()).toEqual({ ACTIVE: TEAM });
    });

    it('the next DELTA blocks again and supersedes a blocked run; approve removes exactly the held users', async () => {
      // The cursor did not move, so the next DELTA re-reads the same removals — as a delta: the
      // connector's delta state went back to the stored cursor (it had moved on with the
      // blocked run, and a full read would have named the users "not observed").
      const again = await syncTeam('DELTA');
      expect(again).toMatchObject({
        status: 'BLOCKED',
        readMode: 'DELTA',
        removals: { users: TEAM },
      });
      const last = await syncTeam('DELTA');
      expect(last).toMatchObject({
        status: 'BLOCKED',
        readMode: 'DELTA',
        removals: { users: TEAM },
      });
      const stale = await waitFor(
        async () => {
          const r = await run(again.id);
          return r.status === 'REJECTED' ? r : undefined;
        },
        { message: 'the earlier blocked DELTA superseded' },
      );
      expect(stale).toMatchObject({ decision: null, supersededBy: { id: last.id } });
      expect(await teamStatuses()).toEqual({ ACTIVE: TEAM });

      const { approveRun } = await stack.gql<{ approveRun: Run }>(
        `mutation($id: ID!) { approveRun(runId: $id) { ${RUN} } }`,
        { id: last.id },
      );
      expect(approveRun).toMatchObject({
        status: 'COMPLETED',
        decision: 'APPROVE',
        counts: { pendingDeletion: TEAM, membershipsRemoved: TEAM },
      });
      expect(await teamStatuses()).toEqual({ PENDING_DELETION: TEAM });
      // With the reason the delta gave: they left the selected group.
      const { users } = await stack.gql<{ users: { nodes: { removalReason: string }[] } }>(
        `query($dir: ID!) { users(first: 500, filter: { directoryId: $dir }) { nodes { removalReason } } }`,
        { dir: teamDir },
      );
      expect(new Set(users.nodes.map((u) => u.removalReason))).toEqual(new Set(['OUT_OF_SCOPE']));
      // The first directory is untouched.
      expect((await byStatus()).ACTIVE).toHaveLength(12);
    });
  });
  describe('a FULL run BLOCKED after a nested selected group left the scope', () => {
    // The fresh-user trial: cn=crew taken out of cn=org, a FULL sync blocked, then DELTA syncs.
    // sync stores no cursor for a blocked run (nor when it is decided), so the next DELTA names
    // the cursor stored before it, which the connector must still hold: it reads as a delta
    // (it read in full, CURSOR_REJECTED "restarted", and named the users NOT_OBSERVED).
    let orgDir: string;
    type OrgRun = Run & { readMode: string | null; fullReadReason: string | null };

    async function syncOrg(mode: 'FULL' | 'DELTA'): Promise<OrgRun> {
      const { syncAll } = await stack.gql<{ syncAll: { id: string } }>(
        `mutation($id: ID!, $mode: SyncMode) { syncAll(directoryId: $id, mode: $mode) { id } }`,
        { id: orgDir, mode },
      );
      await waitForRun(stack, syncAll.id);
      return (
        await stack.gql<{ run: OrgRun }>(
          `query($id: ID!) { run(id: $id) { ${RUN} readMode fullReadReason } }`,
          { id: syncAll.id },
        )
      ).run;
    }

    async function decide(id: string, decision: 'approveRun' | 'rejectRun'): Promise<Run> {
      const res = await stack.gql<Record<string, Run>>(
        `mutation($id: ID!) { ${decision}(runId: $id) { ${RUN} } }`,
        { id },
      );
      return res[decision] as Run;
    }

    /** `status removalReason` → how many of the directory's users. */
    async function orgUsers(): Promise<Record<string, number>> {
      const { users } = await stack.gql<{
        users: { nodes: { status: string; removalReason: string | null }[] };
      }>(
        `query($dir: ID!) { users(first: 500, filter: { directoryId: $dir }) { nodes { status removalReason } } }`,
        { dir: orgDir },
      );
      const out: Record<string, number> = {};
      for (const u of users.nodes) {
        const key = u.removalReason ? `${u.status} ${u.removalReason}` : u.status;
        out[key] = (out[key] ?? 0) + 1;
      }
      return out;
    }

    const crewLeaves = () =>
      slapd.modify(`dn: ${ORG}\nchangetype: modify\ndelete: member\nmember: ${CREW_GROUP}\n`);

    beforeAll(async () => {
      const { createDirectory } = await stack.gql<{ createDirectory: { id: string } }>(
        `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { id } }`,
        {
          input: {
            name: 'safety e2e org',
            ldap: {
              url: slapd.url,
              bindDn: slapd.rootDn,
              baseDn: slapd.suffix,
              userBaseDn: PEOPLE,
              groupBaseDn: GROUPS,
            },
            bindPassword: slapd.rootPassword,
            selectedGroups: [ORG],
            scheduleIntervalMinutes: 0,
            deltaIntervalMinutes: 0,
          },
        },
      );
      orgDir = createDirectory.id;
      expect(await syncOrg('FULL')).toMatchObject({
        status: 'COMPLETED',
        counts: { created: CREW + 1 },
      });
      expect(await syncOrg('DELTA')).toMatchObject({ status: 'COMPLETED', readMode: 'DELTA' });
      await crewLeaves();
    });

    it('rejected: the next DELTA reads as a delta, blocks on the same users, and approving it records OUT_OF_SCOPE', async () => {
      const full = await syncOrg('FULL');
      expect(full).toMatchObject({
        status: 'BLOCKED',
        readMode: 'FULL',
        removals: { users: CREW, baseUsers: CREW + 1 },
      });
      expect(await decide(full.id, 'rejectRun')).toMatchObject({ status: 'REJECTED' });

      const delta = await syncOrg('DELTA');
      expect(delta).toMatchObject({
        status: 'BLOCKED',
        readMode: 'DELTA',
        fullReadReason: null,
        removals: { users: CREW, baseUsers: CREW + 1 },
      });
      expect(await orgUsers()).toEqual({ ACTIVE: CREW + 1 });
      expect(await decide(delta.id, 'approveRun')).toMatchObject({
        status: 'COMPLETED',
        counts: { pendingDeletion: CREW },
      });
      // The reason the delta gave: they left the selected groups.
      expect(await orgUsers()).toEqual({ ACTIVE: 1, 'PENDING_DELETION OUT_OF_SCOPE': CREW });
      expect(await syncOrg('DELTA')).toMatchObject({
        status: 'COMPLETED',
        readMode: 'DELTA',
        counts: { pendingDeletion: 0 },
      });
    });

    it('approved: its removals are NOT_OBSERVED (a full read cannot tell why), and the next DELTA reads as a delta', async () => {
      // crew back in scope: a delta restores them
      await slapd.modify(`dn: ${ORG}\nchangetype: modify\nadd: member\nmember: ${CREW_GROUP}\n`);
      expect(await syncOrg('DELTA')).toMatchObject({ status: 'COMPLETED', readMode: 'DELTA' });
      expect(await orgUsers()).toEqual({ ACTIVE: CREW + 1 });

      await crewLeaves();
      const full = await syncOrg('FULL');
      expect(full).toMatchObject({
        status: 'BLOCKED',
        readMode: 'FULL',
        removals: { users: CREW },
      });
      expect(await decide(full.id, 'approveRun')).toMatchObject({
        status: 'COMPLETED',
        counts: { pendingDeletion: CREW },
      });
      expect(await orgUsers()).toEqual({ ACTIVE: 1, 'PENDING_DELETION NOT_OBSERVED': CREW });
      // The approval left the cursor where it was (the one before the FULL run), and the
      // connector still holds its state: a delta, naming the users it already removed (a no-op).
      const after = await syncOrg('DELTA');
      expect(after).toMatchObject({
        status: 'COMPLETED',
        readMode: 'DELTA',
        fullReadReason: null,
        counts: { pendingDeletion: 0 },
      });
      expect(await orgUsers()).toEqual({ ACTIVE: 1, 'PENDING_DELETION NOT_OBSERVED': CREW });
      expect(await syncOrg('DELTA')).toMatchObject({ status: 'COMPLETED', readMode: 'DELTA' });
    });
  });
});
