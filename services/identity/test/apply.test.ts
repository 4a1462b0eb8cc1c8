import { ErrorCode, RunStatus, SyncMode, errorCodeName } from '@dirsync/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RunBuilder,
  fullRun,
  group,
  runAndWait,
  startHarness,
  user,
  type Harness,
  type UserInit,
} from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h?.close();
});

interface UserRow {
  id: string;
  external_id: string;
  username: string;
  username_key: string;
  email: string | null;
  status: string;
  previous_status: string | null;
  pending_deletion_at: Date | null;
  purge_after: Date | null;
  custom_attributes: Record<string, string>;
}

async function usersOf(directoryId: string): Promise<Map<string, UserRow>> {
  const rows = await h.rows<UserRow>(
    'select * from users where directory_id = ? order by external_id',
    [directoryId],
  );
  return new Map(rows.map((r) => [r.external_id, r]));
}

/** Every row version of a directory: an unchanged re-sync must leave all of them alone. */
async function rowVersions(directoryId: string): Promise<string[]> {
  const rows = await h.rows<{ v: string }>(
    `select 'u:' || u.id || ':' || u.xmin || ':' || u.updated_at as v from users u
       where u.directory_id = ?
     union all
     select 'a:' || a.user_id || ':' || a.position || ':' || a.xmin from user_aliases a
       join users u on u.id = a.user_id where u.directory_id = ?
     union all
     select 'p:' || p.user_id || ':' || p.position || ':' || p.xmin from user_phones p
       join users u on u.id = p.user_id where u.directory_id = ?
     union all
     select 'g:' || g.id || ':' || g.xmin || ':' || g.updated_at from groups g
       where g.directory_id = ?
     union all
     select 'm:' || m.group_id || ':' || m.user_id || ':' || m.xmin from memberships m
       join groups g on g.id = m.group_id where g.directory_id = ?
     order by 1`,
    [directoryId, directoryId, directoryId, directoryId, directoryId],
  );
  return rows.map((r) => r.v);
}

async function membershipsOf(directoryId: string): Promise<string[]> {
  const rows = await h.rows<{ m: string }>(
    `select g.external_id || '>' || u.external_id as m from memberships m
     join groups g on g.id = m.group_id join users u on u.id = m.user_id
     where g.directory_id = ? order by 1`,
    [directoryId],
  );
  return rows.map((r) => r.m);
}

const people: UserInit[] = [
  user('u1', 'alice', {
    aliases: ['alice.smith', 'asmith'],
    phones: [{ number: '+14155550101', kind: 'mobile' }],
    customAttributes: { department: 'Sales', costCenter: '42' },
  }),
  user('u2', 'bob', { phones: [{ number: '+14155550102', kind: 'telephoneNumber' }] }),
  user('u3', 'carol'),
  user('u4', 'dave', { disabled: true }),
];
const teams = [group('g1', 'Engineering', { description: 'Builders' }), group('g2', 'Sales')];
const members = { g1: ['u1', 'u2'], g2: ['u1', 'u3'] };

describe('FULL run', () => {
  const dir = 'dir-full';

  it('creates users, groups and memberships and reports the counts once each', async () => {
    const run = fullRun(dir, people, teams, members);
    const final = await runAndWait(h, run);
    expect(final.status).toBe(RunStatus.COMPLETED);
    expect(final.cursor).toBe(`cursor-${run.runId}`);
    expect(final.mode).toBe(SyncMode.FULL);
    expect(final.counts).toMatchObject({
      seen: 4,
      created: 4,
      updated: 0,
      unchanged: 0,
      disabled: 1,
      pendingDeletion: 0,
      groupsSeen: 2,
      groupsCreated: 2,
      membershipsAdded: 4,
      membershipsRemoved: 0,
      errors: 0,
    });

    const users = await usersOf(dir);
    expect([...users.keys()]).toEqual(['u1', 'u2', 'u3', 'u4']);
    expect(users.get('u1')).toMatchObject({
      username: 'alice',
      email: 'alice@example.org',
      status: 'active',
      custom_attributes: { department: 'Sales', costCenter: '42' },
    });
    expect(users.get('u4')?.status).toBe('disabled');
    const aliases = await h.rows<{ alias: string; alias_key: string }>(
      'select alias, alias_key from user_aliases where user_id = ? order by position',
      [users.get('u1')?.id],
    );
    expect(aliases.map((a) => a.alias)).toEqual(['alice.smith', 'asmith']);
    const phones = await h.rows<{ number: string; kind: string }>(
      'select number, kind from user_phones where user_id = ? order by position',
      [users.get('u2')?.id],
    );
    expect(phones).toEqual([{ number: '+14155550102', kind: 'telephoneNumber' }]);
    expect(await membershipsOf(dir)).toEqual(['g1>u1', 'g1>u2', 'g2>u1', 'g2>u3']);

    // One update per applied event (started, users, groups, members, completed), seq 1..5,
    // each stored once under its deterministic msg id.
    const updates = await h.updates(run.runId);
    expect(updates.map((u) => u.update.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(updates.map((u) => u.msgId)).toEqual([1, 2, 3, 4, 5].map((s) => `${run.runId}:u:${s}`));
    expect(updates.map((u) => u.update.status)).toEqual([
      RunStatus.RUNNING,
      RunStatus.RUNNING,
      RunStatus.RUNNING,
      RunStatus.RUNNING,
      RunStatus.COMPLETED,
    ]);
    expect(updates[1]?.update.counts?.created).toBe(4);
    // Staging is gone once the run is over.
    const staged = await h.rows<{ n: string }>(
      `select (select count(*) from run_seen_users where run_id = ?)
            + (select count(*) from run_seen_groups where run_id = ?)
            + (select count(*) from run_memberships where run_id = ?) as n`,
      [run.runId, run.runId, run.runId],
    );
    expect(Number(staged[0]?.n)).toBe(0);
  });

  it('writes no row when the directory did not change', async () => {
    const before = await rowVersions(dir);
    expect(before.length).toBeGreaterThan(10);
    const final = await runAndWait(h, fullRun(dir, people, teams, members));
    expect(final.status).toBe(RunStatus.COMPLETED);
    expect(final.counts).toMatchObject({
      seen: 4,
      created: 0,
      updated: 0,
      unchanged: 4,
      disabled: 0,
      pendingDeletion: 0,
      groupsCreated: 0,
      groupsUpdated: 0,
      groupsRemoved: 0,
      membershipsAdded: 0,
      membershipsRemoved: 0,
    });
    expect(await rowVersions(dir)).toEqual(before);
  });

  it('updates a changed attribute and only that user', async () => {
    const before = await usersOf(dir);
    const changed = people.map((p) =>
      p.externalId === 'u2' ? { ...p, email: 'robert@example.org', aliases: ['robert'] } : p,
    );
    const final = await runAndWait(h, fullRun(dir, changed, teams, members));
    expect(final.counts).toMatchObject({ seen: 4, created: 0, updated: 1, unchanged: 3 });
    const after = await usersOf(dir);
    expect(after.get('u2')?.email).toBe('robert@example.org');
    expect(after.get('u2')?.id).toBe(before.get('u2')?.id);
    const aliases = await h.rows<{ alias: string }>(
      'select alias from user_aliases where user_id = ?',
      [after.get('u2')?.id],
    );
    expect(aliases.map((a) => a.alias)).toEqual(['robert']);
    people.splice(0, people.length, ...changed);
  });

  it('moves a user missing from a FULL run to pending deletion, then restores it with the same id', async () => {
    const before = await usersOf(dir);
    const without = people.filter((p) => p.externalId !== 'u3');
    const t0 = Date.now();
    const final = await runAndWait(
      h,
      new RunBuilder(dir)
        .started(SyncMode.FULL, { restoreWindowDays: 3 })
        .users(without)
        .groups(teams)
        .members({ g1: ['u1', 'u2'], g2: ['u1'] })
        .completed(),
    );
    expect(final.counts).toMatchObject({ pendingDeletion: 1, unchanged: 3, membershipsRemoved: 1 });
    const gone = (await usersOf(dir)).get('u3');
    expect(gone?.status).toBe('pending_deletion');
    expect(gone?.previous_status).toBe('active');
    const days =
      (new Date(gone?.purge_after ?? 0).getTime() -
        new Date(gone?.pending_deletion_at ?? 0).getTime()) /
      86_400_000;
    expect(days).toBeCloseTo(3, 5);
    expect(new Date(gone?.pending_deletion_at ?? 0).getTime()).toBeGreaterThanOrEqual(t0 - 5_000);

    const back = await runAndWait(h, fullRun(dir, people, teams, members));
    expect(back.counts).toMatchObject({
      restored: 1,
      created: 0,
      pendingDeletion: 0,
      membershipsAdded: 1,
    });
    const restored = (await usersOf(dir)).get('u3');
    expect(restored?.id).toBe(before.get('u3')?.id);
    expect(restored).toMatchObject({
      status: 'active',
      pending_deletion_at: null,
      purge_after: null,
    });
  });

  it('removes groups that are no longer observed, with their memberships', async () => {
    const final = await runAndWait(h, fullRun(dir, people, [teams[0]!], { g1: ['u1', 'u2'] }));
    expect(final.counts).toMatchObject({
      groupsRemoved: 1,
      membershipsRemoved: 2,
      membershipsAdded: 0,
    });
    expect(await membershipsOf(dir)).toEqual(['g1>u1', 'g1>u2']);
    const groups = await h.rows<{ external_id: string }>(
      'select external_id from groups where directory_id = ?',
      [dir],
    );
    expect(groups.map((g) => g.external_id)).toEqual(['g1']);
  });

  it('follows the source on disable and enable, but keeps an operator bypass', async () => {
    const users = await usersOf(dir);
    await h.db.sql.exec(`update users set status = 'bypass', bypass = true where id = ?`, [
      users.get('u3')?.id,
    ]);
    const flipped = people.map((p) =>
      p.externalId === 'u1'
        ? { ...p, disabled: true }
        : p.externalId === 'u3'
          ? { ...p, firstName: 'Caroline' }
          : p.externalId === 'u4'
            ? { ...p, disabled: false }
            : p,
    );
    const final = await runAndWait(h, fullRun(dir, flipped, [teams[0]!], { g1: ['u1', 'u2'] }));
    expect(final.counts).toMatchObject({ updated: 3, disabled: 1, enabled: 1 });
    const after = await usersOf(dir);
    expect(after.get('u1')?.status).toBe('disabled');
    expect(after.get('u3')?.status).toBe('bypass');
    expect(after.get('u4')?.status).toBe('active');

    // A bypass user removed and restored comes back as bypass.
    const removed = await runAndWait(
      h,
      fullRun(
        dir,
        flipped.filter((p) => p.externalId !== 'u3'),
        [teams[0]!],
        { g1: ['u1', 'u2'] },
      ),
    );
    expect(removed.counts?.pendingDeletion).toBe(1);
    expect((await usersOf(dir)).get('u3')?.previous_status).toBe('bypass');
    await runAndWait(h, fullRun(dir, flipped, [teams[0]!], { g1: ['u1', 'u2'] }));
    expect((await usersOf(dir)).get('u3')?.status).toBe('bypass');
    people.splice(0, people.length, ...flipped);
  });
});

describe('runs that must not remove anyone', () => {
  const dir = 'dir-safe';
  const staff = [user('s1', 'sam'), user('s2', 'sue'), user('s3', 'sid')];

  beforeAll(async () => {
    const final = await runAndWait(h, fullRun(dir, staff));
    expect(final.status).toBe(RunStatus.COMPLETED);
  });

  it('RunFailed removes nobody and reports the connector error', async () => {
    const run = new RunBuilder(dir)
      .started()
      .users([staff[0]!])
      .failed(ErrorCode.SOURCE_UNAVAILABLE, 'connection reset by peer');
    const final = await runAndWait(h, run);
    expect(final.status).toBe(RunStatus.FAILED);
    expect(final.error?.code).toBe(ErrorCode.SOURCE_UNAVAILABLE);
    expect(final.error?.message).toBe('connection reset by peer');
    expect([...(await usersOf(dir)).values()].map((u) => u.status)).toEqual([
      'active',
      'active',
      'active',
    ]);
  });

  it('ignores events that arrive after the run ended', async () => {
    const run = new RunBuilder(dir)
      .started()
      .users([staff[0]!])
      .failed(ErrorCode.SOURCE_UNAVAILABLE, 'gone');
    await runAndWait(h, run);
    // A straggler with a new seq: the run is over here, so it changes nothing.
    run.users([user('late', 'latecomer')]);
    await h.publish(run.events.slice(-1));
    const marker = await runAndWait(h, fullRun('dir-other', [user('o', 'other')]));
    expect(marker.status).toBe(RunStatus.COMPLETED);
    expect((await usersOf(dir)).has('late')).toBe(false);
    expect((await h.updates(run.runId)).length).toBe(3);
  });

  it('a gap in the seqs fails the run with EVENTS_INCOMPLETE and removes nobody', async () => {
    const run = new RunBuilder(dir)
      .started()
      .users([staff[0]!])
      .users([staff[1]!])
      .users([staff[2]!])
      .completed();
    // Seq 3 (the batch with sue) never arrives.
    const final = await runAndWait(h, {
      ...run,
      events: run.events.filter((e) => e.seq !== 3),
    } as RunBuilder);
    expect(final.status).toBe(RunStatus.FAILED);
    expect(errorCodeName(final.error?.code ?? ErrorCode.UNSPECIFIED)).toBe('EVENTS_INCOMPLETE');
    expect(final.error?.message).toContain('3');
    expect([...(await usersOf(dir)).values()].every((u) => u.status === 'active')).toBe(true);
  });

  it('events delivered twice change nothing and count once', async () => {
    const run = fullRun(dir, [...staff, user('s4', 'stan')]);
    await h.publish(run.events);
    const first = await h.finalUpdate(run.runId);
    const versions = await rowVersions(dir);
    // A re-publish under new msg ids gets past JetStream's dedupe; identity must drop it.
    await h.publish(run.events, { msgIdSuffix: ':again' });
    const marker = fullRun(dir, [...staff, user('s4', 'stan')]);
    const after = await runAndWait(h, marker);
    expect(first.counts).toMatchObject({ seen: 4, created: 1, unchanged: 3 });
    expect(after.counts).toMatchObject({ seen: 4, created: 0, unchanged: 4 });
    const updates = await h.updates(run.runId);
    expect(updates.map((u) => u.update.seq)).toEqual([1, 2, 3]);
    expect(await rowVersions(dir)).toEqual(versions);
  });

  it('a dry run that sees nobody removes nobody (it only plans: test/dry-run.test.ts)', async () => {
    const run = new RunBuilder(dir).started(SyncMode.FULL, { dryRun: true }).users([]).completed();
    const final = await runAndWait(h, run);
    expect(final.status).toBe(RunStatus.COMPLETED);
    expect(final.dryRun).toBe(true);
    expect(final.counts?.pendingDeletion).toBeGreaterThan(0);
    expect([...(await usersOf(dir)).values()].every((u) => u.status === 'active')).toBe(true);
  });
});

describe('per-object problems', () => {
  const dir = 'dir-dup';

  it('reports a duplicate username per object and applies the rest of the batch', async () => {
    await runAndWait(h, fullRun(dir, [user('d1', 'Zoë')]));
    const run = new RunBuilder(dir)
      .started()
      .users([
        user('d1', 'Zoë'),
        // Same username after NFC + lower case (decomposed ë, upper case Z).
        user('d2', 'ZOE\u0308'),
        user('d3', 'yann'),
        user('d4', 'YANN'),
        user('d5', 'xavier'),
      ])
      .objectErrors([{ externalId: 'd6', code: ErrorCode.MISSING_USERNAME, message: 'no uid' }])
      .completed();
    const final = await runAndWait(h, run);
    expect(final.status).toBe(RunStatus.COMPLETED);
    expect(final.counts).toMatchObject({ seen: 5, created: 2, unchanged: 1, errors: 3 });
    const updates = await h.updates(run.runId);
    const errors = updates.flatMap((u) => u.update.errors);
    expect(errors.map((e) => [e.externalId, errorCodeName(e.code)]).sort()).toEqual([
      ['d2', 'DUPLICATE_USERNAME'],
      ['d4', 'DUPLICATE_USERNAME'],
      ['d6', 'MISSING_USERNAME'],
    ]);
    // Errors travel in the update of the batch that produced them, not again later.
    expect(updates[1]?.update.errors.length).toBe(2);
    expect(updates[2]?.update.errors.length).toBe(1);
    expect(updates[3]?.update.errors.length).toBe(0);
    expect([...(await usersOf(dir)).keys()]).toEqual(['d1', 'd3', 'd5']);
  });

  it('lets two users swap usernames in one batch', async () => {
    await runAndWait(h, fullRun('dir-swap', [user('a', 'first'), user('b', 'second')]));
    const final = await runAndWait(
      h,
      fullRun('dir-swap', [user('a', 'second'), user('b', 'first')]),
    );
    expect(final.counts).toMatchObject({ updated: 2, errors: 0 });
    const users = await usersOf('dir-swap');
    expect(users.get('a')?.username).toBe('second');
    expect(users.get('b')?.username).toBe('first');
  });
});

describe('text with U+0000 (Postgres text cannot hold it)', () => {
  const dir = 'dir-nul';

  it('replaces NUL in stored attributes, refuses it in identifiers, and runs to completion', async () => {
    const nul = [
      user('n1', 'nina', {
        displayName: 'Ni\u0000na',
        email: 'nina\u0000@example.org',
        aliases: ['ni\u0000'],
        phones: [{ number: '+14155550199', kind: 'mo\u0000bile' }],
        customAttributes: { 'co\u0000de': 'a\u0000b' },
        sourceLocator: 'uid=nina\u0000,dc=example,dc=org',
      }),
      user('n2', 'ne\u0000d'),
      user('n\u00003', 'nora'),
      user('n4', 'noel'),
    ];
    const run = new RunBuilder(dir)
      .started()
      .users(nul)
      .groups([group('gn', 'Nul\u0000s', { description: 'd\u0000' }), group('g\u0000x', 'X')])
      .members({ gn: ['n1', 'n\u00003', 'n4'], 'g\u0000x': ['n1'] })
      .objectErrors([
        { externalId: 'n\u00005', code: ErrorCode.INVALID_ATTRIBUTE, message: 'bad \u0000 value' },
      ])
      .completed('cur\u0000sor');
    const final = await runAndWait(h, run);
    expect(final.status).toBe(RunStatus.COMPLETED);
    expect(final.cursor).toBe('cur\uFFFDsor');
    expect(final.counts).toMatchObject({ seen: 2, created: 2, groupsCreated: 1, errors: 4 });

    const errors = (await h.updates(run.runId)).flatMap((u) => u.update.errors);
    expect(errors.map((e) => [e.externalId, errorCodeName(e.code), e.message])).toEqual([
      ['n2', 'INVALID_ATTRIBUTE', 'the username contains U+0000'],
      ['n\uFFFD3', 'INVALID_ATTRIBUTE', 'the external id contains U+0000'],
      ['g\uFFFDx', 'INVALID_ATTRIBUTE', 'the external id contains U+0000'],
      ['n\uFFFD5', 'INVALID_ATTRIBUTE', 'bad \uFFFD value'],
    ]);

    const users = await usersOf(dir);
    expect([...users.keys()]).toEqual(['n1', 'n4']);
    const [nina] = await h.rows<Record<string, unknown>>(
      `select display_name, email, source_locator, custom_attributes,
         (select array_agg(alias) from user_aliases a where a.user_id = u.id) as aliases,
         (select array_agg(kind) from user_phones p where p.user_id = u.id) as kinds
       from users u where directory_id = ? and external_id = 'n1'`,
      [dir],
    );
    expect(nina).toEqual({
      display_name: 'Ni\uFFFDna',
      email: 'nina\uFFFD@example.org',
      source_locator: 'uid=nina\uFFFD,dc=example,dc=org',
      custom_attributes: { 'co\uFFFDde': 'a\uFFFDb' },
      aliases: ['ni\uFFFD'],
      kinds: ['mo\uFFFDbile'],
    });
    const [gn] = await h.rows<{ name: string; description: string }>(
      `select name, description from groups where directory_id = ?`,
      [dir],
    );
    expect(gn).toEqual({ name: 'Nul\uFFFDs', description: 'd\uFFFD' });
    expect(await membershipsOf(dir)).toEqual(['gn>n1', 'gn>n4']);

    // The same observation again is unchanged (the hash covers what is stored), and a refused
    // record with a usable external id (n2) is protected from the sweep like any unreadable one.
    const again = await runAndWait(
      h,
      new RunBuilder(dir)
        .started()
        .users(nul)
        .groups([group('gn', 'Nul\u0000s', { description: 'd\u0000' })])
        .members({ gn: ['n1', 'n4'] })
        .completed(),
    );
    expect(again.counts).toMatchObject({ unchanged: 2, updated: 0, pendingDeletion: 0 });
  });

  it('keeps a refused record of a known user from being swept', async () => {
    const final = await runAndWait(
      h,
      fullRun(dir, [user('n1', 'nina'), user('n4', 'no\u0000el')], [group('gn', 'Nul\u0000s')], {
        gn: ['n1', 'n4'],
      }),
    );
    expect(final.status).toBe(RunStatus.COMPLETED);
    expect(final.counts).toMatchObject({ updated: 1, errors: 1, pendingDeletion: 0 });
    expect((await usersOf(dir)).get('n4')).toMatchObject({ username: 'noel', status: 'active' });
  });

  it('fails a run with a NUL in the connector error message, storing U+FFFD', async () => {
    const run = new RunBuilder(dir)
      .started()
      .failed(ErrorCode.SOURCE_UNAVAILABLE, 'reset\u0000by peer');
    const final = await runAndWait(h, run);
    expect(final.status).toBe(RunStatus.FAILED);
    expect(final.error?.message).toBe('reset\uFFFDby peer');
    const [row] = await h.rows<{ error_message: string }>(
      'select error_message from runs where run_id = ?',
      [run.runId],
    );
    expect(row?.error_message).toBe('reset\uFFFDby peer');
  });
});

describe('a user deleted and re-created in the source inside the restore window', () => {
  const dir = 'dir-recreate';
  const crew = [user('r1', 'rita'), user('r2', 'rob')];
  const crews = [group('gr', 'Crew')];

  it('is restored with its id when the new entry (new external id) comes back', async () => {
    await runAndWait(h, fullRun(dir, crew, crews, { gr: ['r1', 'r2'] }));
    const before = (await usersOf(dir)).get('r1');
    const gone = await runAndWait(h, fullRun(dir, [crew[1]!], crews, { gr: ['r2'] }));
    expect(gone.counts).toMatchObject({ pendingDeletion: 1, membershipsRemoved: 1 });

    // Re-created: OpenLDAP gave the entry a new entryUUID; the username differs only in case.
    const back = await runAndWait(
      h,
      fullRun(dir, [user('r1-new', 'Rita', { email: 'rita@new.example.org' }), crew[1]!], crews, {
        gr: ['r1-new', 'r2'],
      }),
    );
    expect(back.status).toBe(RunStatus.COMPLETED);
    expect(back.counts).toMatchObject({
      seen: 2,
      created: 0,
      restored: 1,
      unchanged: 1,
      errors: 0,
      pendingDeletion: 0,
      membershipsAdded: 1,
    });
    expect(back.errors).toEqual([]);
    const users = await usersOf(dir);
    expect([...users.keys()]).toEqual(['r1-new', 'r2']);
    expect(users.get('r1-new')).toMatchObject({
      id: before?.id,
      username: 'Rita',
      username_key: 'rita',
      email: 'rita@new.example.org',
      status: 'active',
      previous_status: null,
      pending_deletion_at: null,
      purge_after: null,
    });
    expect(await membershipsOf(dir)).toEqual(['gr>r1-new', 'gr>r2']);

    // And it is an ordinary user from then on.
    const again = await runAndWait(
      h,
      fullRun(dir, [user('r1-new', 'Rita', { email: 'rita@new.example.org' }), crew[1]!], crews, {
        gr: ['r1-new', 'r2'],
      }),
    );
    expect(again.counts).toMatchObject({ unchanged: 2, restored: 0, created: 0 });
  });

  it('keeps a pending bypass user bypass when it is claimed', async () => {
    await h.db.sql.exec(
      `update users set status = 'bypass', bypass = true where directory_id = ? and external_id = 'r2'`,
      [dir],
    );
    await runAndWait(h, fullRun(dir, [user('r1-new', 'Rita', { email: 'rita@new.example.org' })]));
    expect((await usersOf(dir)).get('r2')?.status).toBe('pending_deletion');
    const back = await runAndWait(
      h,
      fullRun(dir, [
        user('r1-new', 'Rita', { email: 'rita@new.example.org' }),
        user('r2-new', 'rob'),
      ]),
    );
    expect(back.counts).toMatchObject({ restored: 1, created: 0, errors: 0 });
    const users = await usersOf(dir);
    expect(users.get('r2-new')?.status).toBe('bypass');
    expect(users.has('r2')).toBe(false);
  });

  it('stays a DUPLICATE_USERNAME when the holder is live, or observed with its own id', async () => {
    const run = new RunBuilder(dir)
      .started()
      // rob is live: a new entry with his username is a duplicate (he is observed later on).
      .users([user('r3', 'ROB')])
      .users([user('r1-new', 'Rita', { email: 'rita@new.example.org' }), user('r2-new', 'rob')])
      .completed();
    const final = await runAndWait(h, run);
    expect(final.counts).toMatchObject({ created: 0, restored: 0, errors: 1 });
    const errors = (await h.updates(run.runId)).flatMap((u) => u.update.errors);
    expect(errors.map((e) => [e.externalId, errorCodeName(e.code)])).toEqual([
      ['r3', 'DUPLICATE_USERNAME'],
    ]);

    // A pending user observed again under its own id in the same batch as a newcomer with its
    // username keeps it: the newcomer is the duplicate.
    await runAndWait(h, fullRun(dir, [user('r2-new', 'rob')]));
    expect((await usersOf(dir)).get('r1-new')?.status).toBe('pending_deletion');
    const both = await runAndWait(
      h,
      fullRun(dir, [user('r4', 'rita'), user('r1-new', 'Rita'), user('r2-new', 'rob')]),
    );
    expect(both.counts).toMatchObject({ restored: 1, created: 0, errors: 1 });
    const users = await usersOf(dir);
    expect([...users.keys()]).toEqual(['r1-new', 'r2-new']);
    expect(users.get('r1-new')?.status).toBe('active');
  });
});
