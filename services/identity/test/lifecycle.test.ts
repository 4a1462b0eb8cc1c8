import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fullRun, gql, runAndWait, startHarness, user, type Harness } from './harness.js';

/**
 * The user lifecycle as operators see it: statuses (the source disables and enables, an
 * operator's bypass survives syncs and comes back after a source disable), manual users
 * (create / update / delete; synced users are READ_ONLY), names unique across dirsync.
 */
let h: Harness;
let url: string;

beforeAll(async () => {
  h = await startHarness();
  url = h.service.url;
});
afterAll(() => h?.close());

const USER_FIELDS = `id username status bypass synced directoryId externalId email firstName
  lastName displayName aliases phones { number kind } directory { id }`;

interface UserView {
  id: string;
  username: string;
  status: string;
  bypass: boolean;
  synced: boolean;
  directoryId: string | null;
  externalId: string | null;
  email: string | null;
  firstName: string | null;
  aliases: string[];
  phones: { number: string; kind: string }[];
  directory: { id: string } | null;
}

type GqlError = { message: string; extensions?: { code?: string; fields?: unknown } };

async function byName(username: string, directoryId?: string): Promise<UserView | null> {
  const r = await gql<{ userByUsername: UserView | null }>(
    url,
    `query($u: String!, $d: ID) { userByUsername(username: $u, directoryId: $d) { ${USER_FIELDS} } }`,
    { u: username, d: directoryId ?? null },
  );
  expect(r.errors).toBeUndefined();
  return r.data!.userByUsername;
}

async function mutate<T>(
  query: string,
  variables: Record<string, unknown> = {},
  role: Parameters<typeof gql>[3] = 'OWNER',
): Promise<{ data?: T; errors?: GqlError[] }> {
  return gql<T>(url, query, variables, role);
}

async function setBypass(id: string, bypass: boolean): Promise<UserView> {
  const r = await mutate<{ setUserBypass: UserView }>(
    `mutation($id: ID!, $b: Boolean!) { setUserBypass(id: $id, bypass: $b) { ${USER_FIELDS} } }`,
    { id, b: bypass },
  );
  expect(r.errors).toBeUndefined();
  return r.data!.setUserBypass;
}

describe('statuses', () => {
  const dir = 'dir-status';
  const crew = [user('s1', 'sara'), user('s2', 'tom'), user('s3', 'una')];

  it('keeps an operator bypass through syncs that change the user', async () => {
    await runAndWait(h, fullRun(dir, crew));
    const sara = (await byName('sara', dir))!;
    expect(sara.status).toBe('ACTIVE');
    expect(await setBypass(sara.id, true)).toMatchObject({ status: 'BYPASS', bypass: true });

    const changed = crew.map((u) => (u.externalId === 's1' ? { ...u, firstName: 'Sarah' } : u));
    const final = await runAndWait(h, fullRun(dir, changed));
    expect(final.counts).toMatchObject({ updated: 1, unchanged: 2 });
    expect(await byName('sara', dir)).toMatchObject({
      id: sara.id,
      firstName: 'Sarah',
      status: 'BYPASS',
      bypass: true,
    });
    crew.splice(0, crew.length, ...changed);
  });

  it('disabled in the source → DISABLED; enabled again → the status before (BYPASS, ACTIVE)', async () => {
    const off = crew.map((u) => (u.externalId !== 's3' ? { ...u, disabled: true } : u));
    const disabled = await runAndWait(h, fullRun(dir, off));
    expect(disabled.counts).toMatchObject({ updated: 2, disabled: 2, enabled: 0 });
    expect(await byName('sara', dir)).toMatchObject({ status: 'DISABLED', bypass: true });
    expect(await byName('tom', dir)).toMatchObject({ status: 'DISABLED', bypass: false });

    // An unchanged sync keeps them disabled.
    const again = await runAndWait(h, fullRun(dir, off));
    expect(again.counts).toMatchObject({ unchanged: 3, disabled: 0, enabled: 0 });

    const on = await runAndWait(h, fullRun(dir, crew));
    expect(on.counts).toMatchObject({ updated: 2, enabled: 2, disabled: 0 });
    expect(await byName('sara', dir)).toMatchObject({ status: 'BYPASS', bypass: true });
    expect(await byName('tom', dir)).toMatchObject({ status: 'ACTIVE', bypass: false });
  });

  it('a bypass user removed, then disabled and enabled, ends BYPASS again', async () => {
    const gone = await runAndWait(h, fullRun(dir, crew.slice(1)));
    expect(gone.counts?.pendingDeletion).toBe(1);
    expect(await byName('sara', dir)).toMatchObject({ status: 'PENDING_DELETION', bypass: true });
    // Comes back disabled: disabled (the source says so); then enabled: bypass.
    const disabledBack = crew.map((u) => (u.externalId === 's1' ? { ...u, disabled: true } : u));
    const back = await runAndWait(h, fullRun(dir, disabledBack));
    expect(back.counts).toMatchObject({ restored: 1 });
    expect(await byName('sara', dir)).toMatchObject({ status: 'DISABLED', bypass: true });
    await runAndWait(h, fullRun(dir, crew));
    expect(await byName('sara', dir)).toMatchObject({ status: 'BYPASS', bypass: true });
  });

  it('clearing the bypass makes the user ACTIVE, and a disabled user stays DISABLED', async () => {
    const sara = (await byName('sara', dir))!;
    expect(await setBypass(sara.id, false)).toMatchObject({ status: 'ACTIVE', bypass: false });
    await runAndWait(h, fullRun(dir, crew));
    expect(await byName('sara', dir)).toMatchObject({ status: 'ACTIVE', bypass: false });

    const off = crew.map((u) => (u.externalId === 's2' ? { ...u, disabled: true } : u));
    await runAndWait(h, fullRun(dir, off));
    const tom = (await byName('tom', dir))!;
    // Bypass set while disabled: the source still decides; the bypass shows once enabled.
    expect(await setBypass(tom.id, true)).toMatchObject({ status: 'DISABLED', bypass: true });
    await runAndWait(h, fullRun(dir, crew));
    expect(await byName('tom', dir)).toMatchObject({ status: 'BYPASS', bypass: true });
  });

  it('setUserBypass needs user:manage, and an unknown id is NOT_FOUND', async () => {
    const una = (await byName('una', dir))!;
    const denied = await mutate(
      `mutation($id: ID!) { setUserBypass(id: $id, bypass: true) { id } }`,
      { id: una.id },
      'HELP_DESK',
    );
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await byName('una', dir))?.status).toBe('ACTIVE');
    const ok = await mutate<{ setUserBypass: UserView }>(
      `mutation($id: ID!) { setUserBypass(id: $id, bypass: true) { status } }`,
      { id: una.id },
      'USER_MANAGER',
    );
    expect(ok.data?.setUserBypass.status).toBe('BYPASS');
    const missing = await mutate(
      `mutation { setUserBypass(id: "00000000-0000-4000-8000-000000000000", bypass: true) { id } }`,
    );
    expect(missing.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});

describe('manual users', () => {
  const dir = 'dir-manual';
  let manualId: string;

  it('creates a manual user with aliases and phones (E.164)', async () => {
    const r = await mutate<{ createUser: UserView }>(
      `mutation($i: CreateUserInput!) { createUser(input: $i) { ${USER_FIELDS} } }`,
      {
        i: {
          username: '  Maria ',
          email: 'maria@example.org',
          firstName: 'Maria',
          aliases: ['m.lopez', 'M.LOPEZ', 'maria'],
          phones: [{ number: '+1 415 555 0199', kind: 'mobile' }],
        },
      },
    );
    expect(r.errors).toBeUndefined();
    expect(r.data!.createUser).toMatchObject({
      username: 'Maria',
      status: 'ACTIVE',
      bypass: false,
      synced: false,
      directoryId: null,
      externalId: null,
      directory: null,
      // Repeats (by NFC + case) and the username itself are not separate aliases.
      aliases: ['m.lopez'],
      phones: [{ number: '+14155550199', kind: 'mobile' }],
    });
    manualId = r.data!.createUser.id;
  });

  it('refuses a username or alias any user already has (NFC, case-insensitive): CONFLICT', async () => {
    await runAndWait(
      h,
      fullRun(dir, [user('z1', 'Zo\u00eb', { aliases: ['zoe.alias'] }), user('a1', 'anna')]),
    );
    for (const [input, field] of [
      [{ username: 'Zoe\u0308' }, 'username'], // decomposed ë against the composed one
      [{ username: 'ANNA' }, 'username'],
      [{ username: 'ZOE.ALIAS' }, 'username'], // another user's alias
      [{ username: 'fresh', aliases: ['Anna'] }, 'aliases[0]'],
      [{ username: 'fresh', aliases: ['m.Lopez'] }, 'aliases[0]'], // the manual user's alias
    ] as const) {
      const r = await mutate(`mutation($i: CreateUserInput!) { createUser(input: $i) { id } }`, {
        i: input,
      });
      expect(r.errors?.[0]?.extensions?.code, JSON.stringify(input)).toBe('CONFLICT');
      expect(r.errors?.[0]?.extensions).toMatchObject({ field });
    }
    expect(await byName('fresh')).toBeNull();
  });

  it('validates every field at once: BAD_USER_INPUT lists them', async () => {
    const r = await mutate(`mutation($i: CreateUserInput!) { createUser(input: $i) { id } }`, {
      i: {
        username: ' ',
        phones: [{ number: '415 555 0100' }],
        aliases: Array.from({ length: 9 }, (_, i) => `a${i}`),
      },
    });
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const fields = (r.errors?.[0]?.extensions?.fields as { field: string }[]).map((f) => f.field);
    expect(fields).toEqual(expect.arrayContaining(['username', 'aliases', 'phones[0].number']));
  });

  it('updates a manual user; names stay unique', async () => {
    const r = await mutate<{ updateUser: UserView }>(
      `mutation($id: ID!, $i: UpdateUserInput!) { updateUser(id: $id, input: $i) { ${USER_FIELDS} } }`,
      {
        id: manualId,
        i: {
          firstName: null,
          email: 'maria.lopez@example.org',
          aliases: ['mlopez'],
          disabled: true,
        },
      },
    );
    expect(r.errors).toBeUndefined();
    expect(r.data!.updateUser).toMatchObject({
      username: 'Maria',
      firstName: null,
      email: 'maria.lopez@example.org',
      aliases: ['mlopez'],
      status: 'DISABLED',
    });
    const taken = await mutate(
      `mutation($id: ID!) { updateUser(id: $id, input: { username: "ANNA" }) { id } }`,
      { id: manualId },
    );
    expect(taken.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    // Its own old alias is free for itself.
    const own = await mutate<{ updateUser: UserView }>(
      `mutation($id: ID!) { updateUser(id: $id, input: { username: "M.Lopez", disabled: false }) { username status } }`,
      { id: manualId },
    );
    expect(own.errors).toBeUndefined();
    expect(own.data!.updateUser).toEqual({ username: 'M.Lopez', status: 'ACTIVE' });
  });

  it('answers READ_ONLY for a synced user’s fields and deletion, and changes nothing', async () => {
    const anna = (await byName('anna', dir))!;
    expect(anna.synced).toBe(true);
    const upd = await mutate(
      `mutation($id: ID!) { updateUser(id: $id, input: { firstName: "Hacked", disabled: true }) { id } }`,
      { id: anna.id },
    );
    expect(upd.errors?.[0]?.extensions).toMatchObject({
      code: 'READ_ONLY',
      fields: ['firstName', 'disabled'],
    });
    const del = await mutate(`mutation($id: ID!) { deleteUser(id: $id) }`, { id: anna.id });
    expect(del.errors?.[0]?.extensions?.code).toBe('READ_ONLY');
    expect(await byName('anna', dir)).toMatchObject({
      id: anna.id,
      firstName: 'anna',
      status: 'ACTIVE',
    });
  });

  it('deletes a manual user with its aliases and phones; user:manage is required', async () => {
    const denied = await mutate(
      `mutation($id: ID!) { deleteUser(id: $id) }`,
      { id: manualId },
      'READ_ONLY',
    );
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const r = await mutate<{ deleteUser: boolean }>(`mutation($id: ID!) { deleteUser(id: $id) }`, {
      id: manualId,
    });
    expect(r.data?.deleteUser).toBe(true);
    expect(await byName('M.Lopez')).toBeNull();
    const left = await h.rows<{ n: string }>(
      `select (select count(*) from user_aliases where user_id = ?)
            + (select count(*) from user_phones where user_id = ?) as n`,
      [manualId, manualId],
    );
    expect(Number(left[0]?.n)).toBe(0);
  });
});
