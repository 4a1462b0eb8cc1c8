import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminRole, ErrorCode, RunStatus, SyncMode, UserOutcome } from '@dirsync/proto';
import {
  RunBuilder,
  admin,
  gql,
  runAndWait,
  startHarness,
  user,
  type AdminInit,
  type Harness,
} from './harness.js';

/**
 * Admin sync in identity: ADMIN runs observe administrators (matched by e-mail, highest role
 * wins), a full admin run moves the unobserved ones to pending deletion, a run for one e-mail
 * touches only that one; manual administrators are editable, synced ones are not.
 */
let h: Harness;
let url: string;

// A directory id as sync makes them (a UUID: filters refuse anything else).
const DIR = 'ad000000-0000-4000-8000-000000000001';
const OTHER = 'dir-admins-other';

const ADMIN_FIELDS = `id email role roles firstName lastName displayName status synced externalId
  sourceLocator syncedAt pendingDeletionAt purgeAfter directory { id }`;

interface AdminView {
  id: string;
  email: string;
  role: string;
  roles: string[];
  displayName: string | null;
  status: string;
  synced: boolean;
  externalId: string | null;
  pendingDeletionAt: string | null;
  purgeAfter: string | null;
  directory: { id: string } | null;
}

beforeAll(async () => {
  h = await startHarness();
  url = h.service.url;
});
afterAll(() => h?.close());

function adminRun(directoryId: string, admins: AdminInit[][], email = ''): RunBuilder {
  const run = new RunBuilder(directoryId).started(SyncMode.ADMIN, { email });
  for (const batch of admins) run.admins(batch);
  return run.completed();
}

async function byEmail(email: string): Promise<AdminView | null> {
  const r = await gql<{ adminByEmail: AdminView | null }>(
    url,
    `query($e: String!) { adminByEmail(email: $e) { ${ADMIN_FIELDS} } }`,
    { e: email },
  );
  expect(r.errors).toBeUndefined();
  return r.data!.adminByEmail;
}

async function adminRows(): Promise<unknown[]> {
  return h.rows('select * from admins order by email_key');
}

describe('a full admin run', () => {
  it('creates administrators, matched by e-mail, with the highest of their roles', async () => {
    const final = await runAndWait(
      h,
      adminRun(DIR, [
        [
          admin('u-ada', 'Ada@Example.org', AdminRole.HELP_DESK),
          admin('u-bob', 'bob@example.org', AdminRole.BILLING, { disabled: true }),
          admin('u-cy', 'cy@example.org', AdminRole.READ_ONLY),
        ],
        // The same person again in a later batch, from a more privileged group.
        [admin('u-ada', 'ada@example.org', AdminRole.OWNER)],
      ]),
    );
    expect(final.status).toBe(RunStatus.COMPLETED);
    expect(final.counts).toMatchObject({
      adminsSeen: 4,
      adminsCreated: 3,
      adminsUpdated: 1,
      adminsDisabled: 1,
      seen: 0,
      created: 0,
    });
    const ada = await byEmail('ADA@example.org');
    expect(ada).toMatchObject({
      email: 'ada@example.org',
      role: 'OWNER',
      roles: ['OWNER', 'HELP_DESK'],
      status: 'ACTIVE',
      synced: true,
      externalId: 'u-ada',
      directory: { id: DIR },
    });
    expect((await byEmail('bob@example.org'))?.status).toBe('DISABLED');
    // An ADMIN run never touches users.
    expect(await h.rows('select 1 from users where directory_id = ?', [DIR])).toEqual([]);
  });

  it('moves administrators in no role group to pending deletion, and restores them', async () => {
    const before = await byEmail('cy@example.org');
    const final = await runAndWait(
      h,
      adminRun(DIR, [
        [
          admin('u-ada', 'ada@example.org', AdminRole.OWNER, {
            roles: [AdminRole.OWNER, AdminRole.HELP_DESK],
          }),
          admin('u-bob', 'bob@example.org', AdminRole.ADMINISTRATOR),
        ],
      ]),
    );
    expect(final.counts).toMatchObject({
      adminsSeen: 2,
      adminsUnchanged: 1,
      adminsUpdated: 1,
      adminsPendingDeletion: 1,
    });
    const cy = await byEmail('cy@example.org');
    expect(cy).toMatchObject({ id: before!.id, status: 'PENDING_DELETION' });
    const window = Date.parse(cy!.purgeAfter!) - Date.parse(cy!.pendingDeletionAt!);
    expect(Math.round(window / 86_400_000)).toBe(7);
    expect(await byEmail('bob@example.org')).toMatchObject({
      role: 'ADMINISTRATOR',
      status: 'ACTIVE',
    });

    const back = await runAndWait(
      h,
      adminRun(DIR, [
        [
          admin('u-ada', 'ada@example.org', AdminRole.OWNER, {
            roles: [AdminRole.OWNER, AdminRole.HELP_DESK],
          }),
          admin('u-bob', 'bob@example.org', AdminRole.ADMINISTRATOR),
          admin('u-cy', 'cy@example.org', AdminRole.READ_ONLY),
        ],
      ]),
    );
    expect(back.counts).toMatchObject({ adminsRestored: 1, adminsUnchanged: 2 });
    expect(await byEmail('cy@example.org')).toMatchObject({
      id: before!.id,
      status: 'ACTIVE',
      purgeAfter: null,
    });
  });

  it('reports records without a usable e-mail and leaves other directories’ admins alone', async () => {
    await runAndWait(h, adminRun(OTHER, [[admin('o-dee', 'dee@example.org', AdminRole.OWNER)]]));
    const dee = await byEmail('dee@example.org');
    const final = await runAndWait(
      h,
      adminRun(DIR, [
        [
          admin('u-ada', 'ada@example.org', AdminRole.OWNER, {
            roles: [AdminRole.OWNER, AdminRole.HELP_DESK],
          }),
          admin('u-bob', 'bob@example.org', AdminRole.ADMINISTRATOR),
          admin('u-cy', 'cy@example.org', AdminRole.READ_ONLY),
          admin('u-nomail', '', AdminRole.OWNER),
          admin('u-dee', 'DEE@example.org', AdminRole.READ_ONLY),
        ],
      ]),
    );
    const updates = await h.updates(final.runId);
    const errors = updates.flatMap((u) => u.update.errors);
    expect(errors.map((e) => [e.code, e.externalId])).toEqual([
      [ErrorCode.MISSING_EMAIL, 'u-nomail'],
      [ErrorCode.ADMIN_CONFLICT, 'u-dee'],
    ]);
    expect(final.counts?.errors).toBe(2);
    expect(await byEmail('dee@example.org')).toEqual(dee);
  });
});

describe('a run for one e-mail', () => {
  it('touches only that administrator', async () => {
    const others = (await adminRows()).filter(
      (r) => (r as { email_key: string }).email_key !== 'bob@example.org',
    );
    const final = await runAndWait(
      h,
      adminRun(
        DIR,
        [[admin('u-bob', 'Bob@example.org', AdminRole.USER_MANAGER)]],
        'BOB@example.org',
      ),
    );
    expect(final.adminOutcome).toBe(UserOutcome.UPDATED);
    const bob = await byEmail('bob@example.org');
    expect(final.adminId).toBe(bob!.id);
    expect(bob?.role).toBe('USER_MANAGER');
    expect(final.userOutcome).toBe(UserOutcome.UNSPECIFIED);
    expect(
      (await adminRows()).filter(
        (r) => (r as { email_key: string }).email_key !== 'bob@example.org',
      ),
    ).toEqual(others);
  });

  it('an unknown e-mail is NOT_FOUND and changes nothing', async () => {
    const before = await adminRows();
    const final = await runAndWait(h, adminRun(DIR, [], 'nobody@example.org'));
    expect(final).toMatchObject({
      status: RunStatus.COMPLETED,
      adminOutcome: UserOutcome.NOT_FOUND,
      adminId: '',
    });
    expect(await adminRows()).toEqual(before);
    // Another directory's administrator is unknown to this directory too.
    const other = await runAndWait(h, adminRun(DIR, [], 'dee@example.org'));
    expect(other.adminOutcome).toBe(UserOutcome.NOT_FOUND);
    expect(await adminRows()).toEqual(before);
  });

  it('a known administrator the source no longer has goes to pending deletion', async () => {
    const final = await runAndWait(h, adminRun(DIR, [], 'cy@example.org'));
    const cy = await byEmail('cy@example.org');
    expect(final).toMatchObject({
      adminOutcome: UserOutcome.PENDING_DELETION,
      adminId: cy!.id,
      counts: expect.objectContaining({ adminsPendingDeletion: 1 }) as unknown,
    });
    expect(cy?.status).toBe('PENDING_DELETION');
    expect((await byEmail('ada@example.org'))?.status).toBe('ACTIVE');
  });
});

describe('observations of the wrong kind', () => {
  it('are ignored: ADMIN runs write no user, other runs no administrator', async () => {
    const mixed = 'dir-admins-mixed';
    const run = new RunBuilder(mixed)
      .started(SyncMode.ADMIN)
      .users([user('x1', 'sneaky')])
      .admins([admin('x1', 'mixed@example.org', AdminRole.READ_ONLY)])
      .completed();
    await runAndWait(h, run);
    expect(await h.rows('select 1 from users where directory_id = ?', [mixed])).toEqual([]);
    expect((await byEmail('mixed@example.org'))?.role).toBe('READ_ONLY');
    const full = new RunBuilder(mixed).started(SyncMode.FULL);
    full.admins([admin('x2', 'intruder@example.org', AdminRole.OWNER)]);
    const final = await runAndWait(h, full.users([user('u1', 'plain')]).completed());
    expect(final.counts?.created).toBe(1);
    expect(await byEmail('intruder@example.org')).toBeNull();
    // A FULL run leaves the directory's administrators alone.
    expect((await byEmail('mixed@example.org'))?.status).toBe('ACTIVE');
  });
});

describe('GraphQL', () => {
  it('lists administrators with filters, a page at a time', async () => {
    const q = `query($f: AdminFilter, $after: String) {
      admins(first: 2, after: $after, filter: $f) { totalCount nodes { email role status synced }
        pageInfo { hasNextPage endCursor } } }`;
    type Page = {
      admins: {
        totalCount: number;
        nodes: { email: string; role: string; status: string; synced: boolean }[];
        pageInfo: { hasNextPage: boolean; endCursor: string | null };
      };
    };
    const emails: string[] = [];
    let after: string | null = null;
    for (;;) {
      const r: { data?: Page } = await gql<Page>(url, q, { f: { directoryId: DIR }, after });
      emails.push(...r.data!.admins.nodes.map((n) => n.email.toLowerCase()));
      if (!r.data!.admins.pageInfo.hasNextPage) break;
      after = r.data!.admins.pageInfo.endCursor;
    }
    expect(emails).toEqual(['ada@example.org', 'bob@example.org', 'cy@example.org']);
    const owners = await gql<Page>(url, q, { f: { role: ['OWNER'], synced: true } });
    expect(owners.data!.admins.nodes.map((n) => n.email.toLowerCase())).toEqual([
      'ada@example.org',
      'dee@example.org',
    ]);
    const pending = await gql<Page>(url, q, { f: { status: ['PENDING_DELETION'], search: 'CY' } });
    expect(pending.data!.admins.totalCount).toBe(1);
  });
});

describe('manual administrators', () => {
  const CREATE = `mutation($input: CreateAdminInput!) { createAdmin(input: $input) { ${ADMIN_FIELDS} } }`;
  const UPDATE = `mutation($id: ID!, $input: UpdateAdminInput!) { updateAdmin(id: $id, input: $input) { ${ADMIN_FIELDS} } }`;
  const DELETE = `mutation($id: ID!) { deleteAdmin(id: $id) }`;

  it('are created, changed and deleted through the API', async () => {
    const created = await gql<{ createAdmin: AdminView }>(url, CREATE, {
      input: { email: ' Eve@Example.org ', role: 'HELP_DESK', displayName: 'Eve' },
    });
    expect(created.errors).toBeUndefined();
    const eve = created.data!.createAdmin;
    expect(eve).toMatchObject({
      email: 'Eve@Example.org',
      role: 'HELP_DESK',
      roles: ['HELP_DESK'],
      status: 'ACTIVE',
      synced: false,
      directory: null,
      externalId: null,
    });
    const changed = await gql<{ updateAdmin: AdminView }>(url, UPDATE, {
      id: eve.id,
      input: { role: 'BILLING', disabled: true, displayName: null },
    });
    expect(changed.data!.updateAdmin).toMatchObject({
      role: 'BILLING',
      status: 'DISABLED',
      displayName: null,
    });
    const taken = await gql(url, CREATE, { input: { email: 'EVE@example.org', role: 'OWNER' } });
    expect(taken.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    const bad = await gql(url, CREATE, {
      input: { email: 'not-an-address', role: 'OWNER', firstName: 'a\u0001b' },
    });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(
      ((bad.errors?.[0]?.extensions as { fields?: { field: string }[] }).fields ?? []).map(
        (f) => f.field,
      ),
    ).toEqual(['email', 'firstName']);
    const deleted = await gql<{ deleteAdmin: boolean }>(url, DELETE, { id: eve.id });
    expect(deleted.data!.deleteAdmin).toBe(true);
    expect(await byEmail('eve@example.org')).toBeNull();
  });

  it('synced ones refuse changes and deletion with READ_ONLY', async () => {
    const ada = await byEmail('ada@example.org');
    const before = await adminRows();
    for (const [query, variables] of [
      [UPDATE, { id: ada!.id, input: { role: 'READ_ONLY' } }],
      [DELETE, { id: ada!.id }],
    ] as const) {
      const r = await gql(url, query, variables);
      expect(r.errors?.[0]?.extensions?.code).toBe('READ_ONLY');
      expect(r.errors?.[0]?.message).toContain(DIR);
    }
    expect(await adminRows()).toEqual(before);
  });

  it('are taken over by a sync that finds their e-mail in a role group', async () => {
    const created = await gql<{ createAdmin: AdminView }>(url, CREATE, {
      input: { email: 'fay@example.org', role: 'READ_ONLY' },
    });
    const fay = created.data!.createAdmin;
    const final = await runAndWait(
      h,
      adminRun(
        OTHER,
        [[admin('o-fay', 'fay@example.org', AdminRole.ADMINISTRATOR)]],
        'fay@example.org',
      ),
    );
    expect(final.adminOutcome).toBe(UserOutcome.UPDATED);
    expect(await byEmail('fay@example.org')).toMatchObject({
      id: fay.id,
      role: 'ADMINISTRATOR',
      synced: true,
      directory: { id: OTHER },
    });
  });

  it('need the admin:manage permission', async () => {
    const r = await gql(
      url,
      `mutation { createAdmin(input: { email: "gus@example.org", role: OWNER }) { id } }`,
      {},
      'ADMINISTRATOR',
    );
    expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await byEmail('gus@example.org')).toBeNull();
  });
});

describe('the purge job', () => {
  it('deletes administrators whose restore window has passed, and nobody else', async () => {
    const cy = await byEmail('cy@example.org');
    expect(cy?.status).toBe('PENDING_DELETION');
    const others = (await adminRows()).length - 1;
    expect(await h.service.purgeExpired()).toBe(0);
    await h.rows(`update admins set purge_after = now() - interval '1 second' where id = ?`, [
      cy!.id,
    ]);
    expect(await h.service.purgeExpired()).toBe(1);
    expect(await byEmail('cy@example.org')).toBeNull();
    expect((await adminRows()).length).toBe(others);
  });
});
