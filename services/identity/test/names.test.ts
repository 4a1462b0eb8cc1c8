import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConflictPolicy,
  DirectoryDeletedSchema,
  RunStatus,
  Subject,
  SyncMode,
  UserOutcome,
  create,
  errorCodeName,
  subject,
  toBinary,
} from '@dirsync/proto';
import { waitFor } from '@dirsync/testkit';
import {
  RunBuilder,
  fullRun,
  gql,
  group,
  runAndWait,
  startHarness,
  user,
  type Harness,
  type UserInit,
} from './harness.js';
import { nameKey } from '../src/apply/normalize.js';

/**
 * Names across dirsync: usernames and aliases are unique after NFC and case folding; a sync
 * claims a manual user with its username; a second directory that brings an existing username
 * reports a USERNAME_CONFLICT (policy REPORT) or takes the user over (TAKE_OVER); aliases that
 * another user has are left out (ALIAS_CONFLICT); per-user limits are reported, not silent.
 * A conflict never fails the run.
 */
let h: Harness;
let url: string;

beforeAll(async () => {
  h = await startHarness();
  url = h.service.url;
});
afterAll(() => h?.close());

interface Row {
  id: string;
  directory_id: string | null;
  external_id: string | null;
  username: string;
  status: string;
  first_name: string | null;
}

/** The user holding this username's key (computed by nameKey, as everywhere: never in SQL). */
async function byKey(username: string): Promise<Row | undefined> {
  const [row] = await h.rows<Row>('select * from users where username_key = ?', [
    nameKey(username),
  ]);
  return row;
}

async function aliasesOf(id: string): Promise<string[]> {
  const rows = await h.rows<{ alias: string }>(
    'select alias from user_aliases where user_id = ? order by position',
    [id],
  );
  return rows.map((r) => r.alias);
}

/** Every per-object error of a run (they travel in its RunUpdates), as "CODE externalId". */
async function errorsOf(
  runId: string,
): Promise<{ code: string; externalId: string; message: string }[]> {
  return (await h.updates(runId)).flatMap((u) =>
    u.update.errors.map((e) => ({
      code: errorCodeName(e.code),
      externalId: e.externalId,
      message: e.message,
    })),
  );
}

function policyRun(
  directoryId: string,
  users: UserInit[],
  conflictPolicy: ConflictPolicy,
): RunBuilder {
  return new RunBuilder(directoryId)
    .started(SyncMode.FULL, { conflictPolicy })
    .users(users)
    .completed('c');
}

describe('a sync claims a manual user with its username', () => {
  it('takes the manual user over: same id, synced, read-only, counted as claimed', async () => {
    const created = await gql<{ createUser: { id: string } }>(
      url,
      `mutation { createUser(input: { username: "Nadia", firstName: "Manual", disabled: true }) { id } }`,
    );
    expect(created.errors).toBeUndefined();
    const id = created.data!.createUser.id;
    await gql(url, `mutation($id: ID!) { setUserBypass(id: $id, bypass: true) { id } }`, { id });

    const run = fullRun('dir-claim', [user('n1', 'nadia', { firstName: 'Nadia' })]);
    const final = await runAndWait(h, run);
    expect(final.status).toBe(RunStatus.COMPLETED);
    // A claim is the user updated (and enabled: the source says enabled) and claimed.
    expect(final.counts).toMatchObject({ created: 0, updated: 1, claimed: 1, enabled: 1 });
    expect(await byKey('nadia')).toMatchObject({
      id,
      directory_id: 'dir-claim',
      external_id: 'n1',
      username: 'nadia',
      first_name: 'Nadia',
      // The operator's bypass survives the claim; the source enabled the user.
      status: 'bypass',
    });
    const upd = await gql(
      url,
      `mutation($id: ID!) { updateUser(id: $id, input: { firstName: "Again" }) { id } }`,
      { id },
    );
    expect(upd.errors?.[0]?.extensions?.code).toBe('READ_ONLY');

    // The next sync is an ordinary one: nothing to claim again.
    const again = await runAndWait(
      h,
      fullRun('dir-claim', [user('n1', 'nadia', { firstName: 'Nadia' })]),
    );
    expect(again.counts).toMatchObject({ unchanged: 1, claimed: 0, updated: 0 });
  });

  it('a USER run reports the claim as UPDATED with the user id', async () => {
    const created = await gql<{ createUser: { id: string } }>(
      url,
      `mutation { createUser(input: { username: "Olga" }) { id } }`,
    );
    const run = new RunBuilder('dir-claim')
      .started(SyncMode.USER, { username: 'olga' })
      .users([user('o1', 'OLGA')])
      .completed();
    const final = await runAndWait(h, run);
    expect(final.userOutcome).toBe(UserOutcome.UPDATED);
    expect(final.userId).toBe(created.data!.createUser.id);
    expect(final.counts?.claimed).toBe(1);
  });
});

describe('a username another directory holds', () => {
  const A = 'dir-a';
  const B = 'dir-b';

  beforeAll(async () => {
    const first = await runAndWait(
      h,
      fullRun(A, [
        user('a-zoe', 'Zo\u00eb'),
        user('a-anna', 'anna'),
        user('a-kim', 'kim', { aliases: ['kim.lee'] }),
        user('a-max', 'max'),
      ]),
    );
    expect(first.counts?.created).toBe(4);
  });

  it('REPORT: USERNAME_CONFLICT per record (NFC and case variants too), the rest imported, the run COMPLETED', async () => {
    const run = fullRun(B, [
      user('b-zoe', 'Zoe\u0308'), // decomposed ë
      user('b-anna', 'ANNA', { firstName: 'Other' }),
      user('b-kimlee', 'Kim.Lee'), // another user's alias
      user('b-ok', 'oscar'),
    ]);
    const final = await runAndWait(h, run);
    expect(final.status).toBe(RunStatus.COMPLETED);
    expect(final.counts).toMatchObject({ seen: 4, created: 1, conflicts: 3, errors: 0 });
    const errors = await errorsOf(run.runId);
    expect(errors.map((e) => `${e.code} ${e.externalId}`).sort()).toEqual([
      'USERNAME_CONFLICT b-anna',
      'USERNAME_CONFLICT b-kimlee',
      'USERNAME_CONFLICT b-zoe',
    ]);
    expect(errors.find((e) => e.externalId === 'b-anna')?.message).toContain('REPORT');
    // The other directory's users are left alone.
    expect(await byKey('anna')).toMatchObject({
      directory_id: A,
      external_id: 'a-anna',
      first_name: 'anna',
    });
    expect(await byKey('Zo\u00eb')).toMatchObject({ directory_id: A, external_id: 'a-zoe' });
    expect(await byKey('oscar')).toMatchObject({ directory_id: B });

    // Reported again at every run while it lasts; a conflict is not a removal either.
    const again = await runAndWait(h, fullRun(B, [user('b-anna', 'ANNA'), user('b-ok', 'oscar')]));
    expect(again.counts).toMatchObject({ conflicts: 1, pendingDeletion: 0, unchanged: 1 });
  });

  it('a USER run for a conflicting username answers CONFLICT', async () => {
    const run = new RunBuilder(B)
      .started(SyncMode.USER, { username: 'anna' })
      .users([user('b-anna', 'ANNA')])
      .completed();
    const final = await runAndWait(h, run);
    expect(final.status).toBe(RunStatus.COMPLETED);
    expect(final.userOutcome).toBe(UserOutcome.CONFLICT);
  });

  it('TAKE_OVER: the user moves to the new directory with the same id; the old one reports it', async () => {
    const before = (await byKey('max'))!;
    await h.db.sql.exec('update users set bypass = true, status = ? where id = ?', [
      'bypass',
      before.id,
    ]);
    const final = await runAndWait(
      h,
      policyRun(
        B,
        [user('b-max', 'MAX', { firstName: 'Maximilian' }), user('b-ok', 'oscar')],
        ConflictPolicy.TAKE_OVER,
      ),
    );
    expect(final.counts).toMatchObject({ claimed: 1, updated: 1, conflicts: 0 });
    expect(await byKey('max')).toMatchObject({
      id: before.id,
      directory_id: B,
      external_id: 'b-max',
      username: 'MAX',
      first_name: 'Maximilian',
      status: 'bypass',
    });

    // Directory A still has the entry: with REPORT it is now A's conflict, and A's sweep does
    // not remove a user that is B's.
    const backInA = fullRun(A, [
      user('a-zoe', 'Zo\u00eb'),
      user('a-anna', 'anna'),
      user('a-kim', 'kim', { aliases: ['kim.lee'] }),
      user('a-max', 'max'),
    ]);
    const a = await runAndWait(h, backInA);
    expect(a.counts).toMatchObject({ conflicts: 1, pendingDeletion: 0 });
    expect((await errorsOf(backInA.runId)).map((e) => e.code)).toEqual(['USERNAME_CONFLICT']);
    expect(await byKey('max')).toMatchObject({ id: before.id, directory_id: B, status: 'bypass' });
  });

  it('TAKE_OVER never merges two users: a known record renamed into the username conflicts', async () => {
    const run = policyRun(B, [user('b-ok', 'anna')], ConflictPolicy.TAKE_OVER);
    const final = await runAndWait(h, run);
    expect(final.counts).toMatchObject({ conflicts: 1, claimed: 0 });
    expect((await errorsOf(run.runId))[0]?.message).toContain('never merged');
    expect(await byKey('oscar')).toMatchObject({ external_id: 'b-ok', directory_id: B });
    expect(await byKey('anna')).toMatchObject({ directory_id: A });
  });
});

describe('a username whose directory was deleted', () => {
  it('is claimed by the next directory that brings it (same id, restored), whatever its policy', async () => {
    await runAndWait(h, fullRun('dir-gone', [user('g1', 'yuri', { firstName: 'Old' })]));
    const before = (await byKey('yuri'))!;
    await h.nc.jetstream().publish(
      subject(Subject.LIFECYCLE, { entity: 'directory', transition: 'deleted' }, h.ns),
      toBinary(
        DirectoryDeletedSchema,
        create(DirectoryDeletedSchema, {
          directoryId: 'dir-gone',
          restoreWindowDays: 7,
          atMs: BigInt(Date.now()),
        }),
      ),
      { msgID: 'directory-deleted:dir-gone' },
    );
    await waitFor(async () => (await byKey('yuri'))?.status === 'pending_deletion', {
      message: 'yuri pending deletion after the directory was deleted',
    });
    const run = fullRun('dir-new', [user('n-yuri', 'Yuri', { firstName: 'New' })]);
    const final = await runAndWait(h, run);
    expect(final.counts).toMatchObject({ claimed: 1, restored: 1, conflicts: 0, created: 0 });
    expect(await byKey('yuri')).toMatchObject({
      id: before.id,
      directory_id: 'dir-new',
      external_id: 'n-yuri',
      status: 'active',
      first_name: 'New',
    });
  });
});

describe('full case folding (ß = ss, ς = σ, ﬁ = fi)', () => {
  const ONE = 'dir-fold-1';
  const TWO = 'dir-fold-2';

  it('a sync of STRASSE claims the manual user straße; the API refuses a second spelling', async () => {
    const created = await gql<{ createUser: { id: string } }>(
      url,
      `mutation { createUser(input: { username: "straße", firstName: "Manual" }) { id } }`,
    );
    expect(created.errors).toBeUndefined();
    const id = created.data!.createUser.id;
    const again = await gql(url, `mutation { createUser(input: { username: "STRASSE" }) { id } }`);
    expect(again.errors?.[0]?.extensions?.code).toBe('CONFLICT');

    const final = await runAndWait(
      h,
      fullRun(ONE, [
        user('f-strasse', 'STRASSE', { firstName: 'Synced' }),
        user('f-fiona', 'Fiona'),
        user('f-odysseus', 'odysseus', { aliases: ['ΟΔΥΣΣΕΥΣ'] }),
      ]),
    );
    expect(final.status).toBe(RunStatus.COMPLETED);
    expect(final.counts).toMatchObject({ created: 2, updated: 1, claimed: 1, conflicts: 0 });
    expect(await byKey('Straße')).toMatchObject({
      id,
      directory_id: ONE,
      external_id: 'f-strasse',
      username: 'STRASSE',
      first_name: 'Synced',
    });
  });

  it('REPORT: Straße from a second directory is a USERNAME_CONFLICT with STRASSE; ς and ﬁ match too', async () => {
    const holder = (await byKey('STRASSE'))!;
    const run = fullRun(TWO, [
      user('t-strasse', 'Straße'),
      user('t-odysseus', 'οδυσσευσ'), // the other user's alias ΟΔΥΣΣΕΥΣ, non-final σ
      user('t-fi', 'fi.two', { aliases: ['\ufb01ona', 'fi.alias'] }), // ﬁona: Fiona's username
    ]);
    const final = await runAndWait(h, run);
    expect(final.status).toBe(RunStatus.COMPLETED);
    expect(final.counts).toMatchObject({ created: 1, conflicts: 3, errors: 0 });
    const errors = await errorsOf(run.runId);
    expect(errors.map((e) => `${e.code} ${e.externalId}`).sort()).toEqual([
      'ALIAS_CONFLICT t-fi',
      'USERNAME_CONFLICT t-odysseus',
      'USERNAME_CONFLICT t-strasse',
    ]);
    const strasse = errors.find((e) => e.externalId === 't-strasse')!;
    expect(strasse.message).toContain(holder.id);
    expect(strasse.message).toContain('REPORT');
    // The holder is left alone; the other records are imported without what conflicts.
    expect(await byKey('strasse')).toMatchObject({ id: holder.id, directory_id: ONE });
    expect(await aliasesOf((await byKey('fi.two'))!.id)).toEqual(['fi.alias']);
  });
});

describe('aliases', () => {
  const C = 'dir-c';
  const D = 'dir-d';

  it('leaves out an alias another user has (username or alias): ALIAS_CONFLICT, the user imported', async () => {
    await runAndWait(h, fullRun(C, [user('c-paul', 'paul', { aliases: ['p.smith', 'Paulchen'] })]));
    const run = fullRun(D, [
      user('d-pia', 'pia', { aliases: ['PAUL', 'pia.s', 'P.Smith'] }),
      // Two records of one batch: the username wins over the alias, the first alias over the later.
      user('d-quinn', 'quinn', { aliases: ['pia', 'q.x'] }),
      user('d-rex', 'rex', { aliases: ['q.x', 'rex'] }),
    ]);
    const final = await runAndWait(h, run);
    expect(final.status).toBe(RunStatus.COMPLETED);
    expect(final.counts).toMatchObject({ created: 3, conflicts: 3 });
    const errors = await errorsOf(run.runId);
    expect(errors.map((e) => `${e.code} ${e.externalId}`).sort()).toEqual([
      'ALIAS_CONFLICT d-pia',
      'ALIAS_CONFLICT d-quinn',
      'ALIAS_CONFLICT d-rex',
    ]);
    expect(errors.find((e) => e.externalId === 'd-pia')?.message).toContain('"PAUL", "P.Smith"');
    expect(await aliasesOf((await byKey('pia'))!.id)).toEqual(['pia.s']);
    expect(await aliasesOf((await byKey('quinn'))!.id)).toEqual(['q.x']);
    // Its own username as an alias is no conflict.
    expect(await aliasesOf((await byKey('rex'))!.id)).toEqual(['rex']);
  });

  it('imports the alias once the other user no longer has it', async () => {
    await runAndWait(h, fullRun(C, [user('c-paul', 'paul', { aliases: ['Paulchen'] })]));
    const final = await runAndWait(
      h,
      fullRun(D, [
        user('d-pia', 'pia', { aliases: ['PAUL', 'pia.s', 'P.Smith'] }),
        user('d-quinn', 'quinn', { aliases: ['pia', 'q.x'] }),
        user('d-rex', 'rex', { aliases: ['q.x', 'rex'] }),
      ]),
    );
    expect(final.counts).toMatchObject({ updated: 1, conflicts: 3 });
    expect(await aliasesOf((await byKey('pia'))!.id)).toEqual(['pia.s', 'P.Smith']);
  });
});

describe('names that would look like other names', () => {
  const V = 'dir-visible';

  it('a synced username with invisible or reordering characters is refused per object; the rest of the run applies', async () => {
    const first = await runAndWait(
      h,
      fullRun(V, [
        user('v-alice', 'alice'),
        user('v-zw', 'ali\u200bce'),
        user('v-rlo', '\u202eecila'),
        user('v-mark', '\u0301'),
        // A Persian name with its ZWNJ between two Arabic-script letters is a name.
        user('v-fa', '\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645'),
        user('v-alias', 'vic', { aliases: ['v\u200bic.t', 'victor'] }),
      ]),
    );
    expect(first.status).toBe(RunStatus.COMPLETED);
    expect(first.counts).toMatchObject({ created: 3, errors: 4 });
    const errors = await errorsOf(first.runId);
    expect(errors.map((e) => `${e.code} ${e.externalId}`).sort()).toEqual([
      'INVALID_ATTRIBUTE v-alias',
      'INVALID_ATTRIBUTE v-mark',
      'INVALID_ATTRIBUTE v-rlo',
      'INVALID_ATTRIBUTE v-zw',
    ]);
    expect(errors.find((e) => e.externalId === 'v-zw')?.message).toContain('(U+200B)');
    expect(errors.find((e) => e.externalId === 'v-rlo')?.message).toContain('(U+202E)');
    expect(errors.find((e) => e.externalId === 'v-alias')?.message).toContain(
      'the user is imported without it',
    );
    expect(await aliasesOf((await byKey('vic'))!.id)).toEqual(['victor']);
    const rows = await h.rows<{ external_id: string }>(
      'select external_id from users where directory_id = ? order by external_id',
      [V],
    );
    expect(rows.map((r) => r.external_id)).toEqual(['v-alias', 'v-alice', 'v-fa']);
  });

  it('manual and synced records hold the same lengths: 1,024 characters, not one more', async () => {
    const long = 'L'.repeat(1024);
    const ok = await gql<{ createUser: { displayName: string } }>(
      url,
      `mutation($d: String) { createUser(input: { username: "long.names", displayName: $d }) { displayName } }`,
      { d: long },
    );
    expect(ok.errors).toBeUndefined();
    expect(ok.data?.createUser.displayName).toBe(long);
    const tooLong = await gql(
      url,
      `mutation($d: String) { createUser(input: { username: "longer.names", displayName: $d }) { id } }`,
      { d: `${long}L` },
    );
    expect(tooLong.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(tooLong.errors?.[0]?.message).toContain('displayName: must be at most 1024 characters');
  });

  it('createUser refuses such a username or alias, naming the field', async () => {
    const res = await gql(
      url,
      `mutation { createUser(input: { username: "ali\u200bce", aliases: ["ok.alias", "\u202eecila"] }) { id } }`,
    );
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const fields = (
      res.errors?.[0]?.extensions as { fields?: { field: string; message: string }[] }
    )?.fields;
    expect(fields?.map((f) => f.field)).toEqual(['username', 'aliases[1]']);
    expect(fields?.[0]?.message).toContain('U+200B');
  });
});

describe('per-user limits', () => {
  it('imports the first 8 aliases and 100 phones and reports LIMIT_EXCEEDED every run', async () => {
    const aliases = Array.from({ length: 10 }, (_, i) => `lim.alias${i}`);
    const phones = Array.from({ length: 101 }, (_, i) => ({
      number: `+1415555${String(i).padStart(4, '0')}`,
      kind: 'telephoneNumber',
    }));
    const records = [user('l1', 'limits', { aliases, phones }), user('l2', 'plain')];
    const run = fullRun('dir-limits', records);
    const final = await runAndWait(h, run);
    expect(final.counts).toMatchObject({ created: 2, errors: 2 });
    const errors = await errorsOf(run.runId);
    expect(errors.map((e) => `${e.code} ${e.externalId}`)).toEqual([
      'LIMIT_EXCEEDED l1',
      'LIMIT_EXCEEDED l1',
    ]);
    expect(errors[0]?.message).toContain('"lim.alias8", "lim.alias9"');
    const id = (await byKey('limits'))!.id;
    expect(await aliasesOf(id)).toEqual(aliases.slice(0, 8));
    const [n] = await h.rows<{ n: string }>(
      'select count(*) as n from user_phones where user_id = ?',
      [id],
    );
    expect(Number(n?.n)).toBe(100);

    const again = fullRun('dir-limits', records);
    const second = await runAndWait(h, again);
    expect(second.counts).toMatchObject({ unchanged: 2, errors: 2 });
    expect((await errorsOf(again.runId)).map((e) => e.code)).toEqual([
      'LIMIT_EXCEEDED',
      'LIMIT_EXCEEDED',
    ]);
  });

  it('imports the first 100 groups by name and reports the rest, without churn on the next run', async () => {
    const groups = Array.from({ length: 102 }, (_, i) =>
      group(`gl${i}`, `Team ${String(i).padStart(3, '0')}`),
    );
    const members = Object.fromEntries(groups.map((g) => [g.externalId, ['m1']]));
    members['gl0'] = ['m1', 'm2'];
    const records = [user('m1', 'member'), user('m2', 'other')];
    const run = fullRun('dir-glimit', records, groups, members);
    const final = await runAndWait(h, run);
    expect(final.status).toBe(RunStatus.COMPLETED);
    expect(final.counts).toMatchObject({ created: 2, errors: 1, membershipsAdded: 101 });
    const errors = await errorsOf(run.runId);
    expect(errors.map((e) => `${e.code} ${e.externalId}`)).toEqual(['LIMIT_EXCEEDED m1']);
    expect(errors[0]?.message).toContain('is in 102 groups');
    expect(errors[0]?.message).toContain('"Team 100", "Team 101"');
    const id = (await byKey('member'))!.id;
    const names = await h.rows<{ name: string }>(
      `select g.name from memberships m join groups g on g.id = m.group_id
       where m.user_id = ? order by g.name_key`,
      [id],
    );
    expect(names).toHaveLength(100);
    expect(names.at(-1)?.name).toBe('Team 099');

    const again = fullRun('dir-glimit', records, groups, members);
    const second = await runAndWait(h, again);
    expect(second.counts).toMatchObject({ errors: 1, membershipsAdded: 0, membershipsRemoved: 0 });

    // A single-user sync applies the same limit.
    const one = new RunBuilder('dir-glimit')
      .started(SyncMode.USER, { username: 'member' })
      .users([records[0]!])
      .members(members)
      .completed();
    const u = await runAndWait(h, one);
    expect(u.counts).toMatchObject({ errors: 1, membershipsAdded: 0, membershipsRemoved: 0 });
    expect((await errorsOf(one.runId)).map((e) => e.code)).toEqual(['LIMIT_EXCEEDED']);
  });

  it('a FULL run blocked by the deletion threshold keeps the limit too, and reports it', async () => {
    const dir = 'dir-glimit-blocked';
    const groups = Array.from({ length: 102 }, (_, i) =>
      group(`gb${i}`, `Team ${String(i).padStart(3, '0')}`),
    );
    const others = Array.from({ length: 5 }, (_, i) => user(`o${i}`, `blocked-other-${i}`));
    const first = await runAndWait(h, fullRun(dir, [user('b1', 'blocked-member'), ...others]));
    expect(first.status).toBe(RunStatus.COMPLETED);
    // The others gone at once (5 of 6 users): BLOCKED; b1 observed in 102 groups.
    const run = new RunBuilder(dir)
      .started(SyncMode.FULL, { threshold: { maxCount: 500, maxPercent: 20 } })
      .users([user('b1', 'blocked-member')])
      .groups(groups)
      .members(Object.fromEntries(groups.map((g) => [g.externalId, ['b1']])))
      .completed('c');
    const blocked = await runAndWait(h, run);
    expect(blocked.status).toBe(RunStatus.BLOCKED);
    expect(blocked.counts).toMatchObject({ membershipsAdded: 100, errors: 1 });
    expect((await errorsOf(run.runId)).map((e) => e.code)).toEqual(['LIMIT_EXCEEDED']);
    const [n] = await h.rows<{ n: string }>(
      `select count(*) as n from memberships m join users u on u.id = m.user_id
       where u.directory_id = ? and u.external_id = 'b1'`,
      [dir],
    );
    expect(Number(n?.n)).toBe(100);
  });
});
