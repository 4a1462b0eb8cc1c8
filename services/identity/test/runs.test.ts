import {
  AdminRole,
  DirectoryDeletedSchema,
  ErrorCode,
  RunStatus,
  Subject,
  SyncMode,
  UserOutcome,
  create,
  subject,
  toBinary,
} from '@dirsync/proto';
import { waitFor } from '@dirsync/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RunBuilder,
  admin,
  fullRun,
  group,
  gql,
  runAndWait,
  startHarness,
  user,
  type Harness,
} from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h?.close();
});

async function userRow(directoryId: string, externalId: string) {
  const [row] = await h.rows<{
    id: string;
    status: string;
    email: string;
    purge_after: Date | null;
  }>(
    'select id, status, email, purge_after from users where directory_id = ? and external_id = ?',
    [directoryId, externalId],
  );
  return row;
}

async function groupsOfUser(directoryId: string, externalId: string): Promise<string[]> {
  const rows = await h.rows<{ g: string }>(
    `select g.external_id as g from memberships m join groups g on g.id = m.group_id
     join users u on u.id = m.user_id
     where u.directory_id = ? and u.external_id = ? order by 1`,
    [directoryId, externalId],
  );
  return rows.map((r) => r.g);
}

function userRun(directoryId: string, username: string): RunBuilder {
  return new RunBuilder(directoryId).started(SyncMode.USER, { username });
}

describe('USER runs', () => {
  const dir = 'dir-user';

  beforeAll(async () => {
    await runAndWait(
      h,
      fullRun(
        dir,
        [user('k1', 'kim'), user('k2', 'kai')],
        [group('ga', 'Alpha'), group('gb', 'Beta'), group('gc', 'Gamma')],
        { ga: ['k1', 'k2'], gb: ['k1'] },
      ),
    );
  });

  it('creates a user it has not seen and reports CREATED with its id', async () => {
    const final = await runAndWait(
      h,
      userRun(dir, 'kit')
        .users([user('k3', 'kit')])
        .completed(),
    );
    expect(final.status).toBe(RunStatus.COMPLETED);
    expect(final.mode).toBe(SyncMode.USER);
    expect(final.userOutcome).toBe(UserOutcome.CREATED);
    expect(final.userId).toBe((await userRow(dir, 'k3'))?.id);
    expect(final.counts).toMatchObject({ seen: 1, created: 1, pendingDeletion: 0 });
  });

  it('reports UNCHANGED, and touches no other user', async () => {
    const before = await h.rows<{ v: string }>(
      `select id::text || ':' || xmin::text as v from users where directory_id = ? order by id`,
      [dir],
    );
    const final = await runAndWait(
      h,
      userRun(dir, 'kim')
        .users([user('k1', 'kim')])
        .members({ ga: ['k1'], gb: ['k1'] })
        .completed(),
    );
    expect(final.userOutcome).toBe(UserOutcome.UNCHANGED);
    expect(final.userId).toBe((await userRow(dir, 'k1'))?.id);
    expect(final.counts).toMatchObject({
      unchanged: 1,
      membershipsAdded: 0,
      membershipsRemoved: 0,
    });
    const after = await h.rows<{ v: string }>(
      `select id::text || ':' || xmin::text as v from users where directory_id = ? order by id`,
      [dir],
    );
    expect(after).toEqual(before);
  });

  it("reports UPDATED and replaces only that user's memberships", async () => {
    const final = await runAndWait(
      h,
      userRun(dir, 'KIM')
        .users([user('k1', 'kim', { email: 'kim@new.example.org' })])
        // Beta dropped, Gamma added; "gz" does not exist here and is ignored.
        .members({ ga: ['k1'], gc: ['k1'], gz: ['k1'] })
        .completed(),
    );
    expect(final.userOutcome).toBe(UserOutcome.UPDATED);
    expect(final.counts).toMatchObject({ updated: 1, membershipsAdded: 1, membershipsRemoved: 1 });
    expect((await userRow(dir, 'k1'))?.email).toBe('kim@new.example.org');
    expect(await groupsOfUser(dir, 'k1')).toEqual(['ga', 'gc']);
    expect(await groupsOfUser(dir, 'k2')).toEqual(['ga']);
  });

  it('moves a known user the source no longer has to pending deletion, out of its groups', async () => {
    expect(await groupsOfUser(dir, 'k2')).toEqual(['ga']);
    const final = await runAndWait(h, userRun(dir, 'Kai').completed());
    expect(final.userOutcome).toBe(UserOutcome.PENDING_DELETION);
    const kai = await userRow(dir, 'k2');
    expect(final.userId).toBe(kai?.id);
    expect(kai?.status).toBe('pending_deletion');
    // A removed user is in no group, whichever run removed it; the loss is counted and recorded.
    expect(await groupsOfUser(dir, 'k2')).toEqual([]);
    expect(final.counts).toMatchObject({ pendingDeletion: 1, membershipsRemoved: 1 });
    const [change] = await h.rows<{ kind: string }>(
      `select kind from run_changes where run_id = ? and kind = 'membership'`,
      [final.runId],
    );
    expect(change).toBeDefined();
    // Nobody else was swept.
    expect((await userRow(dir, 'k1'))?.status).toBe('active');
    expect((await userRow(dir, 'k3'))?.status).toBe('active');
  });

  it('restores it when the source has it again', async () => {
    const final = await runAndWait(
      h,
      userRun(dir, 'kai')
        .users([user('k2', 'kai')])
        .completed(),
    );
    expect(final.userOutcome).toBe(UserOutcome.RESTORED);
    expect((await userRow(dir, 'k2'))?.status).toBe('active');
    expect(await groupsOfUser(dir, 'k2')).toEqual([]);
  });

  it('reports NOT_FOUND for a user nobody knows, and changes nothing', async () => {
    const final = await runAndWait(h, userRun(dir, 'nobody').completed());
    expect(final.status).toBe(RunStatus.COMPLETED);
    expect(final.userOutcome).toBe(UserOutcome.NOT_FOUND);
    expect(final.userId).toBe('');
    expect(final.counts).toMatchObject({ pendingDeletion: 0, created: 0 });
  });
});

describe('DELTA runs and overlapping runs', () => {
  const dir = 'dir-delta';

  it('upserts and adds memberships, and never sweeps', async () => {
    await runAndWait(
      h,
      fullRun(dir, [user('d1', 'dana'), user('d2', 'dirk')], [group('gd', 'Delta')], {
        gd: ['d1'],
      }),
    );
    const final = await runAndWait(
      h,
      new RunBuilder(dir)
        .started(SyncMode.DELTA)
        .users([user('d3', 'dora')])
        .members({ gd: ['d3'] })
        .completed('delta-cursor'),
    );
    expect(final.status).toBe(RunStatus.COMPLETED);
    expect(final.cursor).toBe('delta-cursor');
    expect(final.counts).toMatchObject({ created: 1, pendingDeletion: 0, membershipsAdded: 1 });
    expect((await userRow(dir, 'd2'))?.status).toBe('active');
    expect(await groupsOfUser(dir, 'd1')).toEqual(['gd']);
    expect(await groupsOfUser(dir, 'd3')).toEqual(['gd']);
  });

  it('a new run of a directory ends the one it left open', async () => {
    const abandoned = new RunBuilder(dir).started().users([user('d1', 'dana')]);
    await h.publish(abandoned.events);
    const next = fullRun(dir, [user('d1', 'dana'), user('d2', 'dirk'), user('d3', 'dora')]);
    await runAndWait(h, next);
    const ended = await h.finalUpdate(abandoned.runId);
    expect(ended.status).toBe(RunStatus.FAILED);
    expect(ended.error?.code).toBe(ErrorCode.RUN_TIMEOUT);
    expect((await userRow(dir, 'd2'))?.status).toBe('active');
  });
});

describe('identity restarted in the middle of a run', () => {
  const dir = 'dir-restart';

  it('finishes the run correctly with a new instance', async () => {
    const staff = Array.from({ length: 60 }, (_, i) => user(`r${i}`, `restart${i}`));
    await runAndWait(h, fullRun(dir, [...staff, user('gone', 'leaver')]));

    const run = new RunBuilder(dir).started();
    for (let i = 0; i < staff.length; i += 10) run.users(staff.slice(i, i + 10));
    run.completed('cursor-after-restart');
    const firstHalf = run.events.slice(0, 4);
    await h.publish(firstHalf);
    await waitFor(
      async () => {
        const [r] = await h.rows<{ n: string }>(
          'select count(*) as n from applied_events where run_id = ?',
          [run.runId],
        );
        return Number(r?.n) === firstHalf.length;
      },
      { message: 'first half applied' },
    );
    await h.service.stop();
    // The rest arrives while identity is down; a new instance picks it up from the durable.
    await h.publish(run.events.slice(4));
    await h.restart();
    const final = await h.finalUpdate(run.runId);
    expect(final.status).toBe(RunStatus.COMPLETED);
    expect(final.cursor).toBe('cursor-after-restart');
    expect(final.counts).toMatchObject({ seen: 60, unchanged: 60, pendingDeletion: 1 });
    expect((await userRow(dir, 'gone'))?.status).toBe('pending_deletion');
    const updates = await h.updates(run.runId);
    expect(updates.map((u) => u.update.seq)).toEqual(run.events.map((e) => e.seq));
  });
});

describe('DirectoryDeleted', () => {
  const dir = 'dir-deleted';

  it('moves its users to pending deletion, drops its groups, and fails its open run', async () => {
    await runAndWait(
      h,
      fullRun(dir, [user('x1', 'xena'), user('x2', 'xiu')], [group('gx', 'Ex')], {
        gx: ['x1', 'x2'],
      }),
    );
    await runAndWait(h, fullRun('dir-bystander', [user('y1', 'yara')]));
    await runAndWait(
      h,
      new RunBuilder(dir)
        .started(SyncMode.ADMIN)
        .admins([admin('x1', 'xena.admin@example.org', AdminRole.OWNER)])
        .completed(),
    );
    const ids = [(await userRow(dir, 'x1'))!.id, (await userRow(dir, 'x2'))!.id];
    const open = new RunBuilder(dir).started().users([user('x1', 'xena')]);
    await h.publish(open.events);
    await waitFor(async () => (await h.updates(open.runId)).length === 2, { message: 'run open' });

    const event = create(DirectoryDeletedSchema, {
      directoryId: dir,
      restoreWindowDays: 30,
      atMs: BigInt(Date.now()),
    });
    await h.nc
      .jetstream()
      .publish(
        subject(Subject.LIFECYCLE, { entity: 'directory', transition: 'deleted' }, h.ns),
        toBinary(DirectoryDeletedSchema, event),
        { msgID: `directory-deleted:${dir}` },
      );
    const final = await h.finalUpdate(open.runId);
    expect(final.status).toBe(RunStatus.FAILED);
    expect(final.error?.code).toBe(ErrorCode.DIRECTORY_NOT_FOUND);

    const users = await h.rows<{ status: string; days: number; dir: string | null }>(
      `select status, extract(epoch from purge_after - pending_deletion_at) / 86400 as days,
         directory_id as dir
       from users where id = any(?::uuid[]) order by username`,
      [`{${ids.join(',')}}`],
    );
    expect(users.map((u) => u.status)).toEqual(['pending_deletion', 'pending_deletion']);
    expect(users.map((u) => Math.round(Number(u.days)))).toEqual([30, 30]);
    // Detached from the gone directory: nothing points at it any more.
    expect(users.map((u) => u.dir)).toEqual([null, null]);
    const left = await h.rows<{ n: string }>(
      `select (select count(*) from groups where directory_id = ?) +
              (select count(*) from users where directory_id = ?) +
              (select count(*) from memberships m where m.user_id = any(?::uuid[])) as n`,
      [dir, dir, `{${ids.join(',')}}`],
    );
    expect(Number(left[0]?.n)).toBe(0);
    expect((await userRow('dir-bystander', 'y1'))?.status).toBe('active');
    // Its synced administrator too: pending deletion and detached, so it is a manual admin
    // (deleteAdmin works) instead of an ACTIVE, READ_ONLY admin of a source that is gone.
    const admins = await h.rows<{ status: string; dir: string | null; ext: string | null }>(
      `select status, directory_id as dir, external_id as ext from admins where email = ?`,
      ['xena.admin@example.org'],
    );
    expect(admins).toEqual([{ status: 'pending_deletion', dir: null, ext: null }]);
  });

  it('leaves users nobody is stuck with: no dangling directory, restorable as manual users, deletable and purgeable', async () => {
    const gone = 'dir-deleted-restore';
    await runAndWait(h, fullRun(gone, [user('r1', 'rhea'), user('r2', 'rolf')]));
    const [rhea, rolf] = [(await userRow(gone, 'r1'))!.id, (await userRow(gone, 'r2'))!.id];
    await h.nc
      .jetstream()
      .publish(
        subject(Subject.LIFECYCLE, { entity: 'directory', transition: 'deleted' }, h.ns),
        toBinary(
          DirectoryDeletedSchema,
          create(DirectoryDeletedSchema, { directoryId: gone, restoreWindowDays: 30 }),
        ),
        { msgID: `directory-deleted:${gone}` },
      );
    const FIELDS = 'id status synced directoryId removalReason directory { id }';
    const view = async (id: string) => {
      const r = await gql<{ user: Record<string, unknown> }>(
        h.service.url,
        `query($id: ID!) { user(id: $id) { ${FIELDS} } }`,
        { id },
      );
      expect(r.errors).toBeUndefined();
      return r.data!.user;
    };
    await waitFor(async () => (await view(rhea)).status === 'PENDING_DELETION', {
      message: 'directory deletion applied',
    });
    // The reference to the deleted directory is null, never a Directory the sync subgraph
    // cannot resolve (that is a GraphQL error at the gateway).
    expect(await view(rhea)).toMatchObject({
      directory: null,
      directoryId: null,
      synced: false,
      removalReason: 'DIRECTORY_DELETED',
    });

    const restored = await gql<{ restoreUser: Record<string, unknown> }>(
      h.service.url,
      `mutation($id: ID!) { restoreUser(id: $id) { ${FIELDS} } }`,
      { id: rhea },
    );
    expect(restored.errors).toBeUndefined();
    expect(restored.data!.restoreUser).toMatchObject({
      id: rhea,
      status: 'ACTIVE',
      synced: false,
      directory: null,
    });
    // A manual user now: deleteUser removes it (no READ_ONLY "synced from directory …").
    const deleted = await gql<{ deleteUser: boolean }>(
      h.service.url,
      'mutation($id: ID!) { deleteUser(id: $id) }',
      { id: rhea },
    );
    expect(deleted.errors).toBeUndefined();
    expect(deleted.data!.deleteUser).toBe(true);
    // Still pending: purgeUser deletes it now.
    const purged = await gql<{ purgeUser: string }>(
      h.service.url,
      'mutation($id: ID!) { purgeUser(id: $id) }',
      { id: rolf },
    );
    expect(purged.errors).toBeUndefined();
    const left = await h.rows<{ n: string }>(
      'select count(*) as n from users where id = any(?::uuid[])',
      [`{${rhea},${rolf}}`],
    );
    expect(Number(left[0]?.n)).toBe(0);
  });
});

describe('USER run of a spelling the source need not match', () => {
  const dir = 'dir-user-spelling';
  const stored = [
    user('s1', 'straße'),
    user('s2', 'ΟΔΥΣΣΕΥΣ'),
    user('s3', 'İstanbul'),
    user('s4', 'Zoë'),
  ];

  beforeAll(async () => {
    await runAndWait(h, fullRun(dir, stored, [], {}));
  });

  // Equal under full case folding (the stored user's key) but not what every source treats
  // as equal: the source's "nobody" is about the requested spelling only.
  it.each([
    ['STRASSE', 's1', 'straße'],
    ['strasse', 's1', 'straße'],
    ['STRAẞE', 's1', 'straße'],
    ['οδυσσευς', 's2', 'ΟΔΥΣΣΕΥΣ'],
    ['i̇stanbul', 's3', 'İstanbul'],
  ])('%s: removes nobody, NOT_FOUND naming the stored username', async (asked, ext, name) => {
    for (const dryRun of [true, false]) {
      const final = await runAndWait(
        h,
        new RunBuilder(dir).started(SyncMode.USER, { username: asked, dryRun }).completed(),
      );
      expect(final.status).toBe(RunStatus.COMPLETED);
      expect(final.userOutcome).toBe(UserOutcome.NOT_FOUND);
      expect(final.userId).toBe('');
      expect(final.counts).toMatchObject({ pendingDeletion: 0, errors: 1 });
      const errors = (await h.updates(final.runId)).flatMap((u) => u.update.errors);
      expect(errors.map((e) => [e.code, e.externalId])).toEqual([
        [ErrorCode.USERNAME_MISMATCH, ext],
      ]);
      expect(errors[0]?.message).toBe(
        `dirsync knows '${name}'; the source found no '${asked}' — sync '${name}' to check that user (nobody was removed)`,
      );
    }
    const rows = await h.rows<{ status: string; n: string }>(
      `select status, count(*) as n from users where directory_id = ? group by 1`,
      [dir],
    );
    expect(rows).toEqual([{ status: 'active', n: '4' }]);
  });

  it('still removes a user asked for in a spelling every source treats as equal', async () => {
    // Non-final sigma for the stored final position: per letter the same lower case.
    const greek = await runAndWait(h, userRun(dir, 'οδυσσευσ').completed());
    expect(greek.userOutcome).toBe(UserOutcome.PENDING_DELETION);
    const zoe = await runAndWait(h, userRun(dir, 'ZOË').completed());
    expect(zoe.userOutcome).toBe(UserOutcome.PENDING_DELETION);
    expect((await userRow(dir, 's2'))?.status).toBe('pending_deletion');
    expect((await userRow(dir, 's4'))?.status).toBe('pending_deletion');
    expect((await userRow(dir, 's1'))?.status).toBe('active');
  });
});

describe('USER runs and the text Postgres cannot hold', () => {
  const dir = 'dir-user-nul';

  it('a username with U+0000 is NOT_FOUND and changes nothing', async () => {
    await runAndWait(
      h,
      fullRun(dir, [user('a1', 'alice')], [group('ga', 'Alpha')], { ga: ['a1'] }),
    );
    const before = await h.rows<{ v: string }>(
      `select id::text || ':' || xmin::text || ':' || status as v from users
       where directory_id = ? order by id`,
      [dir],
    );
    // The connector escapes the NUL in its LDAP filter; whatever it then reports is ignored.
    const run = userRun(dir, 'ali\u0000ce')
      .users([user('a1', 'alice', { email: 'changed@example.org' })])
      .members({ ga: [] })
      .completed();
    const final = await runAndWait(h, run);
    expect(final.status).toBe(RunStatus.COMPLETED);
    expect(final.mode).toBe(SyncMode.USER);
    expect(final.userOutcome).toBe(UserOutcome.NOT_FOUND);
    expect(final.userId).toBe('');
    expect(final.counts).toMatchObject({ seen: 0, created: 0, updated: 0, pendingDeletion: 0 });
    const [row] = await h.rows<{ username: string; status: string }>(
      'select username, status from runs where run_id = ?',
      [run.runId],
    );
    expect(row).toEqual({ username: 'ali\uFFFDce', status: 'COMPLETED' });
    const after = await h.rows<{ v: string }>(
      `select id::text || ':' || xmin::text || ':' || status as v from users
       where directory_id = ? order by id`,
      [dir],
    );
    expect(after).toEqual(before);
    expect(await groupsOfUser(dir, 'a1')).toEqual(['ga']);
    // One update: the run ended at RunStarted.
    expect((await h.updates(run.runId)).length).toBe(1);
  });
});

describe('USER run of a user deleted and re-created in the source', () => {
  const dir = 'dir-user-recreate';

  it('restores the pending user under the new external id, with its memberships', async () => {
    await runAndWait(
      h,
      fullRun(
        dir,
        [user('k1', 'kate'), user('k2', 'karl')],
        [group('ga', 'Alpha'), group('gb', 'Beta')],
        { ga: ['k1', 'k2'] },
      ),
    );
    const kate = await userRow(dir, 'k1');
    const gone = await runAndWait(h, userRun(dir, 'kate').completed());
    expect(gone.userOutcome).toBe(UserOutcome.PENDING_DELETION);

    const back = await runAndWait(
      h,
      userRun(dir, 'KATE')
        .users([user('k1-new', 'kate', { email: 'kate@new.example.org' })])
        .members({ ga: ['k1-new'], gb: ['k1-new'] })
        .completed(),
    );
    expect(back.status).toBe(RunStatus.COMPLETED);
    expect(back.userOutcome).toBe(UserOutcome.RESTORED);
    expect(back.userId).toBe(kate?.id);
    expect(back.counts).toMatchObject({ restored: 1, created: 0, errors: 0, membershipsAdded: 2 });
    expect(await userRow(dir, 'k1')).toBeUndefined();
    expect(await userRow(dir, 'k1-new')).toMatchObject({
      id: kate?.id,
      status: 'active',
      email: 'kate@new.example.org',
      purge_after: null,
    });
    expect(await groupsOfUser(dir, 'k1-new')).toEqual(['ga', 'gb']);
    expect(await groupsOfUser(dir, 'k2')).toEqual(['ga']);
  });

  it('reports a live holder as DUPLICATE_USERNAME (ERROR outcome)', async () => {
    const run = userRun(dir, 'karl')
      .users([user('k2-new', 'karl')])
      .completed();
    const final = await runAndWait(h, run);
    expect(final.userOutcome).toBe(UserOutcome.ERROR);
    expect(final.counts).toMatchObject({ created: 0, restored: 0, errors: 1 });
    expect((await h.updates(run.runId)).flatMap((u) => u.update.errors)[0]?.code).toBe(
      ErrorCode.DUPLICATE_USERNAME,
    );
    expect((await userRow(dir, 'k2'))?.status).toBe('active');
  });
});
