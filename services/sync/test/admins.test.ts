import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminRole, RunStatus, SyncMode, UserOutcome, type SyncJob } from '@dirsync/proto';
import { waitFor } from '@dirsync/testkit';
import type { SyncService } from '../src/index.js';
import {
  DIRECTORY_FIELDS,
  Harness,
  RUN_FIELDS,
  type RunUpdateInit,
  createDirectory,
  gql,
  gqlErr,
  gqlOk,
} from './helpers.js';

const OWNERS = 'cn=owners,ou=groups,dc=example,dc=org';
const HELPDESK = 'cn=helpdesk,ou=groups,dc=example,dc=org';
const READERS = 'cn=auditors,ou=groups,dc=example,dc=org';

const SYNC_ALL = `mutation($id: ID!, $mode: SyncMode) { syncAll(directoryId: $id, mode: $mode) { ${RUN_FIELDS} } }`;
const SYNC_ADMIN = `mutation($id: ID!, $email: String!) {
  syncAdmin(directoryId: $id, email: $email) { outcome admin { id } run { ${RUN_FIELDS} } } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateDirectoryInput!) {
  updateDirectory(id: $id, input: $input) { ${DIRECTORY_FIELDS} } }`;

interface DirectoryView {
  id: string;
  adminRoles: { role: string; groups: string[] }[];
  adminScheduleIntervalMinutes: number;
  nextAdminRunAt: string | null;
}

const h = new Harness();
let sync: SyncService;

beforeAll(async () => {
  await h.setup();
  sync = await h.start({ syncUserTimeoutSeconds: 20 });
});
afterAll(() => h.teardown());

const withRoles = (adminRoles: unknown) => ({ adminRoles });

/** Play the connector and identity for the ADMIN job of a directory. */
async function answerAdminJob(
  directoryId: string,
  final: Omit<RunUpdateInit, 'runId' | 'seq'>,
): Promise<SyncJob> {
  const { job } = await waitFor(
    async () =>
      (await h.jobs()).find(
        (j) => j.job.directoryId === directoryId && j.job.mode === SyncMode.ADMIN,
      ),
    { message: 'ADMIN job published' },
  );
  await h.requestConfig(directoryId, job.runId);
  await h.publishUpdate({ runId: job.runId, directoryId, seq: 1, status: RunStatus.RUNNING });
  await h.publishUpdate({ runId: job.runId, directoryId, seq: 2, mode: SyncMode.ADMIN, ...final });
  return job;
}

describe('admin role groups', () => {
  it('are stored in role order, sent to the connector, and start the admin schedule', async () => {
    const plain = (await createDirectory(sync.url)) as unknown as DirectoryView;
    expect(plain.adminRoles).toEqual([]);
    expect(plain.adminScheduleIntervalMinutes).toBe(30);
    expect(plain.nextAdminRunAt).toBeNull();

    const dir = (await createDirectory(
      sync.url,
      withRoles([
        { role: 'READ_ONLY', groups: [READERS] },
        { role: 'OWNER', groups: [` ${OWNERS} `] },
        { role: 'HELP_DESK', groups: [HELPDESK] },
      ]),
    )) as unknown as DirectoryView;
    expect(dir.adminRoles).toEqual([
      { role: 'OWNER', groups: [OWNERS] },
      { role: 'HELP_DESK', groups: [HELPDESK] },
      { role: 'READ_ONLY', groups: [READERS] },
    ]);
    expect(dir.nextAdminRunAt).not.toBeNull();

    const reply = await h.requestConfig(dir.id);
    expect(reply.result.case).toBe('config');
    const config = reply.result.case === 'config' ? reply.result.value : undefined;
    expect(config?.adminRoleGroups.map((r) => [r.role, r.groups])).toEqual([
      [AdminRole.OWNER, [OWNERS]],
      [AdminRole.HELP_DESK, [HELPDESK]],
      [AdminRole.READ_ONLY, [READERS]],
    ]);

    // [] turns admin sync off and with it the admin schedule.
    const off = (
      await gqlOk<{ updateDirectory: DirectoryView }>(sync.url, UPDATE, {
        id: dir.id,
        input: { adminRoles: [] },
      })
    ).updateDirectory;
    expect(off.adminRoles).toEqual([]);
    expect(off.nextAdminRunAt).toBeNull();
    const on = (
      await gqlOk<{ updateDirectory: DirectoryView }>(sync.url, UPDATE, {
        id: dir.id,
        input: { adminRoles: [{ role: 'BILLING', groups: [HELPDESK] }] },
      })
    ).updateDirectory;
    expect(on.adminRoles).toEqual([{ role: 'BILLING', groups: [HELPDESK] }]);
    expect(on.nextAdminRunAt).not.toBeNull();
  });

  it('name every bad entry', async () => {
    const r = await gql(
      sync.url,
      `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { id } }`,
      {
        input: {
          name: 'bad admin roles',
          ldap: { url: 'ldap://127.0.0.1:3890', bindDn: 'cn=a,dc=x', baseDn: 'dc=x' },
          bindPassword: 'pw',
          selectedGroups: [OWNERS],
          adminScheduleIntervalMinutes: -1,
          adminRoles: [
            { role: 'OWNER', groups: [OWNERS, 'not a dn'] },
            { role: 'OWNER', groups: [READERS] },
            { role: 'BILLING', groups: [] },
            { role: 'HELP_DESK', groups: [OWNERS.toUpperCase()] },
          ],
        },
      },
    );
    const fields = (r.errors?.[0]?.extensions?.fields ?? []) as { field: string }[];
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(fields.map((f) => f.field).sort()).toEqual([
      'adminRoles[0].groups[1]',
      'adminRoles[1].role',
      'adminRoles[2].groups',
      'adminRoles[3].groups[0]',
      'adminScheduleIntervalMinutes',
    ]);
  });
});

describe('admin role groups of an Entra ID directory', () => {
  const OWNERS_ID = '0f1e2d3c-4b5a-4968-8776-655443322110';
  const HELPDESK_ID = '1a2b3c4d-5e6f-4a0b-9c1d-2e3f4a5b6c7d';
  const entra = (adminRoles: unknown) => ({
    name: `entra admins ${Math.random().toString(16).slice(2, 8)}`,
    entra: {
      tenantId: '8a0c9b7e-2f41-4d3a-9e55-0c1d2e3f4a5b',
      clientId: '3c9d8e7f-6a5b-4c3d-8e1f-0a9b8c7d6e5f',
    },
    clientSecret: 'entra-admin-secret',
    selectedGroups: [OWNERS_ID],
    adminRoles,
  });
  const CREATE = `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { ${DIRECTORY_FIELDS} } }`;

  it('are group object ids, stored lower case and sent to the connector', async () => {
    const { createDirectory: dir } = await gqlOk<{ createDirectory: DirectoryView }>(
      sync.url,
      CREATE,
      {
        input: entra([
          { role: 'HELP_DESK', groups: [` ${HELPDESK_ID.toUpperCase()} `] },
          { role: 'OWNER', groups: [OWNERS_ID] },
        ]),
      },
    );
    expect(dir.adminRoles).toEqual([
      { role: 'OWNER', groups: [OWNERS_ID] },
      { role: 'HELP_DESK', groups: [HELPDESK_ID] },
    ]);
    expect(dir.nextAdminRunAt).not.toBeNull();
    const reply = await h.requestConfig(dir.id);
    const config = reply.result.case === 'config' ? reply.result.value : undefined;
    expect(config?.kind).toBe('entra');
    expect(config?.adminRoleGroups.map((r) => [r.role, r.groups])).toEqual([
      [AdminRole.OWNER, [OWNERS_ID]],
      [AdminRole.HELP_DESK, [HELPDESK_ID]],
    ]);
    const { syncAll } = await gqlOk<{ syncAll: { id: string; mode: string } }>(sync.url, SYNC_ALL, {
      id: dir.id,
      mode: 'ADMIN',
    });
    expect(syncAll.mode).toBe('ADMIN');
    const job = await answerAdminJob(dir.id, { status: RunStatus.COMPLETED });
    expect(job.runId).toBe(syncAll.id);
  });

  it('name every entry that is not a group object id, or a group given two roles', async () => {
    const r = await gql(sync.url, CREATE, {
      input: entra([
        { role: 'OWNER', groups: [OWNERS_ID, 'cn=owners,ou=groups,dc=example,dc=org'] },
        { role: 'READ_ONLY', groups: [OWNERS_ID.toUpperCase()] },
      ]),
    });
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const fields = (r.errors?.[0]?.extensions?.fields ?? []) as { field: string }[];
    expect(fields.map((f) => f.field).sort()).toEqual([
      'adminRoles[0].groups[1]',
      'adminRoles[1].groups[0]',
    ]);
  });
});

describe('syncAll(mode: ADMIN)', () => {
  it('queues a full admin run: an ADMIN job without e-mail', async () => {
    const dir = await createDirectory(sync.url, withRoles([{ role: 'OWNER', groups: [OWNERS] }]));
    const { syncAll } = await gqlOk<{ syncAll: { id: string; mode: string; email: null } }>(
      sync.url,
      SYNC_ALL,
      { id: dir.id, mode: 'ADMIN' },
    );
    expect(syncAll).toMatchObject({ mode: 'ADMIN', email: null });
    const job = await answerAdminJob(dir.id, {
      status: RunStatus.COMPLETED,
      counts: { adminsSeen: 3, adminsCreated: 2, adminsPendingDeletion: 1 },
    });
    expect(job).toMatchObject({ runId: syncAll.id, email: '' });
    await waitFor(
      async () =>
        (
          await gqlOk<{ run: { status: string; counts: Record<string, number> } }>(
            sync.url,
            `query($id: ID!) { run(id: $id) { ${RUN_FIELDS} } }`,
            { id: syncAll.id },
          )
        ).run.counts.adminsCreated === 2,
      { message: 'admin counts recorded' },
    );
    // A full admin run moves the admin schedule, not the FULL one.
    const [row] = await h.sql<{ next_run_at: string; next_admin_run_at: string }>(
      'select next_run_at, next_admin_run_at from sync.directories where id = ?',
      [dir.id],
    );
    expect(Date.parse(row!.next_admin_run_at)).toBeGreaterThan(Date.parse(row!.next_run_at));
  });

  it('is refused without admin role groups', async () => {
    const dir = await createDirectory(sync.url);
    const e = await gqlErr(sync.url, SYNC_ALL, { id: dir.id, mode: 'ADMIN' });
    expect(e.code).toBe('BAD_USER_INPUT');
    expect(e.message).toContain('no admin role groups');
  });
});

describe('syncAdmin', () => {
  it('waits for the run and answers the outcome and the admin', async () => {
    const dir = await createDirectory(sync.url, withRoles([{ role: 'OWNER', groups: [OWNERS] }]));
    const pending = gql<{
      syncAdmin: { outcome: string; admin: { id: string } | null; run: Record<string, unknown> };
    }>(sync.url, SYNC_ADMIN, { id: dir.id, email: ' Ada@Example.org ' });
    const job = await answerAdminJob(dir.id, {
      status: RunStatus.COMPLETED,
      adminOutcome: UserOutcome.CREATED,
      adminId: 'admin-1',
      counts: { adminsSeen: 1, adminsCreated: 1 },
    });
    expect(job.email).toBe('Ada@Example.org');
    const r = await pending;
    expect(r.errors).toBeUndefined();
    expect(r.data!.syncAdmin).toMatchObject({
      outcome: 'CREATED',
      admin: { id: 'admin-1' },
      run: { mode: 'ADMIN', email: 'Ada@Example.org', status: 'COMPLETED' },
    });
  });

  it('answers NOT_FOUND without an admin', async () => {
    const dir = await createDirectory(sync.url, withRoles([{ role: 'OWNER', groups: [OWNERS] }]));
    const pending = gql<{ syncAdmin: { outcome: string; admin: unknown } }>(sync.url, SYNC_ADMIN, {
      id: dir.id,
      email: 'nobody@example.org',
    });
    await answerAdminJob(dir.id, {
      status: RunStatus.COMPLETED,
      adminOutcome: UserOutcome.NOT_FOUND,
    });
    expect((await pending).data!.syncAdmin).toMatchObject({ outcome: 'NOT_FOUND', admin: null });
  });

  it('validates the e-mail and the directory', async () => {
    const dir = await createDirectory(sync.url, withRoles([{ role: 'OWNER', groups: [OWNERS] }]));
    for (const email of ['', 'no-at-sign', 'a b@example.org', `x\u0001@example.org`]) {
      const e = await gqlErr(sync.url, SYNC_ADMIN, { id: dir.id, email });
      expect(e.code).toBe('BAD_USER_INPUT');
      expect((e.extensions.fields as { field: string }[])[0]!.field).toBe('email');
    }
    const plain = await createDirectory(sync.url);
    expect((await gqlErr(sync.url, SYNC_ADMIN, { id: plain.id, email: 'a@b.c' })).code).toBe(
      'BAD_USER_INPUT',
    );
    expect(
      (
        await gqlErr(sync.url, SYNC_ADMIN, {
          id: '00000000-0000-4000-8000-000000000009',
          email: 'a@b.c',
        })
      ).code,
    ).toBe('NOT_FOUND');
    // Nothing was queued by any of these.
    expect((await h.jobs()).filter((j) => j.job.directoryId === dir.id)).toEqual([]);
  });
});
