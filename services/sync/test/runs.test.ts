import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ErrorCode,
  FullReadReason,
  RunStatus,
  SYNC_VERDICT_SEQ,
  Subject,
  SyncMode,
  UserOutcome,
  subject,
} from '@dirsync/proto';
import { waitFor } from '@dirsync/testkit';
import type { SyncService } from '../src/index.js';
import {
  BIND_PASSWORD,
  Harness,
  RUN_FIELDS,
  type RunUpdateInit,
  createDirectory,
  gql,
  gqlErr,
  gqlOk,
} from './helpers.js';

const SYNC_ALL = `mutation($id: ID!, $mode: SyncMode) { syncAll(directoryId: $id, mode: $mode) { ${RUN_FIELDS} } }`;
const SYNC_USER = `mutation($id: ID!, $username: String!) {
  syncUser(directoryId: $id, username: $username) { outcome user { id } run { ${RUN_FIELDS} } } }`;
const RUN = `query($id: ID!) { run(id: $id) { ${RUN_FIELDS} errors(first: 100) { totalCount edges { node { externalId sourceLocator code message } } } } }`;

interface RunView {
  id: string;
  status: string;
  mode: string;
  username: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  counts: Record<string, number>;
  errors: {
    totalCount: number;
    edges: { node: { externalId: string; code: string; message: string } }[];
  };
}

const h = new Harness();
let sync: SyncService;

beforeAll(async () => {
  await h.setup();
  sync = await h.start({ syncUserTimeoutSeconds: 20 });
});
afterAll(() => h.teardown());

async function run(id: string): Promise<RunView> {
  return (await gqlOk<{ run: RunView }>(sync.url, RUN, { id })).run;
}

async function startFull(directoryId: string): Promise<string> {
  return (await gqlOk<{ syncAll: { id: string } }>(sync.url, SYNC_ALL, { id: directoryId })).syncAll
    .id;
}

describe('syncAll', () => {
  it('inserts a QUEUED run and publishes exactly one job with msg id = run id', async () => {
    const dir = await createDirectory(sync.url);
    const before = (await h.jobs()).length;
    const { syncAll } = await gqlOk<{
      syncAll: RunView & { trigger: string; directory: { id: string } };
    }>(sync.url, SYNC_ALL, { id: dir.id });
    expect(syncAll).toMatchObject({
      status: 'QUEUED',
      mode: 'FULL',
      trigger: 'MANUAL',
      directory: { id: dir.id },
    });
    const [row] = await h.sql<{ status: string; directory_id: string }>(
      'select status, directory_id from sync.runs where id = ?',
      [syncAll.id],
    );
    expect(row).toEqual({ status: 'QUEUED', directory_id: dir.id });

    const jobs = await h.jobs();
    expect(jobs.length).toBe(before + 1);
    const mine = jobs.filter((j) => j.job.runId === syncAll.id);
    expect(mine.length).toBe(1);
    expect(mine[0]!.msgId).toBe(syncAll.id);
    expect(mine[0]!.subject).toBe(subject(Subject.JOBS, { connector_kind: 'ldap' }, h.ns));
    expect(mine[0]!.job).toMatchObject({ directoryId: dir.id, mode: SyncMode.FULL, username: '' });
    // Jobs carry no secrets.
    expect(
      Buffer.from(
        JSON.stringify(mine[0]!.job, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)),
      ).toString(),
    ).not.toContain(BIND_PASSWORD);

    const dirView = await gqlOk<{ directory: { lastRun: { id: string } } }>(
      sync.url,
      `query($id: ID!) { directory(id: $id) { lastRun { id } } }`,
      { id: dir.id },
    );
    expect(dirView.directory.lastRun.id).toBe(syncAll.id);
  });

  it('answers RUN_IN_PROGRESS with the active run id while a run is active', async () => {
    const dir = await createDirectory(sync.url);
    const first = await startFull(dir.id);
    const jobsBefore = (await h.jobs()).length;
    const e = await gqlErr(sync.url, SYNC_ALL, { id: dir.id });
    expect(e.code).toBe('RUN_IN_PROGRESS');
    expect(e.extensions.runId).toBe(first);
    const u = await gqlErr(sync.url, SYNC_USER, { id: dir.id, username: 'jdoe' });
    expect(u.code).toBe('RUN_IN_PROGRESS');
    expect((await h.jobs()).length).toBe(jobsBefore);
    const [{ n }] = (await h.sql<{ n: string }>(
      `select count(*) as n from sync.runs where directory_id = ?`,
      [dir.id],
    )) as [{ n: string }];
    expect(Number(n)).toBe(1);
  });

  it('queues a DELTA job when asked for mode DELTA', async () => {
    const dir = await createDirectory(sync.url);
    const { syncAll } = await gqlOk<{ syncAll: { id: string; mode: string } }>(sync.url, SYNC_ALL, {
      id: dir.id,
      mode: 'DELTA',
    });
    expect(syncAll.mode).toBe('DELTA');
    const job = (await h.jobs()).find((j) => j.job.runId === syncAll.id);
    expect(job?.job.mode).toBe(SyncMode.DELTA);
  });

  it('dryRun: the job says so, the run is no last run and moves no schedule, stores no cursor; a would-be block keeps its plan', async () => {
    const dir = await createDirectory(sync.url);
    const first = await startFull(dir.id);
    await h.publishUpdate({
      runId: first,
      directoryId: dir.id,
      seq: 1,
      status: RunStatus.COMPLETED,
      mode: SyncMode.FULL,
      cursor: 'real-cursor',
    });
    await waitFor(async () => (await run(first)).status === 'COMPLETED', { message: 'first' });
    const [sched] = await h.sql<{ next_run_at: Date | null }>(
      'select next_run_at from sync.directories where id = ?',
      [dir.id],
    );

    const { syncAll } = await gqlOk<{ syncAll: { id: string; dryRun: boolean } }>(
      sync.url,
      `mutation($id: ID!) { syncAll(directoryId: $id, dryRun: true) { id dryRun } }`,
      { id: dir.id },
    );
    expect(syncAll.dryRun).toBe(true);
    const job = (await h.jobs()).find((j) => j.job.runId === syncAll.id);
    expect(job?.job).toMatchObject({ mode: SyncMode.FULL, dryRun: true });
    await h.publishUpdate({
      runId: syncAll.id,
      directoryId: dir.id,
      seq: 1,
      status: RunStatus.COMPLETED,
      mode: SyncMode.FULL,
      dryRun: true,
      cursor: 'must-not-be-stored',
      counts: { seen: 3 },
      removals: { users: 900, baseUsers: 1000, reason: 'would remove 900 of 1000 users' },
    });
    const done = await waitFor(
      async () => {
        const r = await gqlOk<{
          run: { status: string; dryRun: boolean; removals: { users: number } | null };
        }>(sync.url, `query($id: ID!) { run(id: $id) { status dryRun removals { users } } }`, {
          id: syncAll.id,
        });
        return r.run.status === 'COMPLETED' ? r.run : undefined;
      },
      { message: 'dry run completed' },
    );
    expect(done).toEqual({ status: 'COMPLETED', dryRun: true, removals: { users: 900 } });
    const [d] = await h.sql<{ cursor: string; last_run_id: string; next_run_at: Date | null }>(
      'select cursor, last_run_id, next_run_at from sync.directories where id = ?',
      [dir.id],
    );
    expect(d).toEqual({
      cursor: 'real-cursor',
      last_run_id: first,
      next_run_at: sched!.next_run_at,
    });

    expect(
      (
        await gqlErr(
          sync.url,
          `mutation($id: ID!) { syncAll(directoryId: $id, mode: ADMIN, dryRun: true) { id } }`,
          {
            id: dir.id,
          },
        )
      ).code,
    ).toBe('BAD_USER_INPUT');
  });

  it('refuses USER mode, unknown and disabled directories', async () => {
    const dir = await createDirectory(sync.url);
    expect((await gqlErr(sync.url, SYNC_ALL, { id: dir.id, mode: 'USER' })).code).toBe(
      'BAD_USER_INPUT',
    );
    expect(
      (await gqlErr(sync.url, SYNC_ALL, { id: '00000000-0000-4000-8000-000000000001' })).code,
    ).toBe('NOT_FOUND');
    expect((await gqlErr(sync.url, SYNC_ALL, { id: 'nope' })).code).toBe('NOT_FOUND');
    const off = await createDirectory(sync.url, { enabled: false });
    expect((await gqlErr(sync.url, SYNC_ALL, { id: off.id })).code).toBe('BAD_USER_INPUT');
  });
});

describe('config requests', () => {
  it('return the decrypted configuration to a connector', async () => {
    const dir = await createDirectory(sync.url, {
      mapping: {
        custom: [{ name: 'costCenter', attribute: 'departmentNumber' }],
        aliases: ['mail'],
      },
      defaultRegion: 'DE',
      restoreWindowDays: 3,
    });
    const reply = await h.requestConfig(dir.id);
    expect(reply.result.case).toBe('config');
    if (reply.result.case !== 'config') return;
    const c = reply.result.value;
    expect(c.directoryId).toBe(dir.id);
    expect(c.kind).toBe('ldap');
    expect(c.secrets).toEqual({ bindPassword: BIND_PASSWORD });
    expect(JSON.parse(c.settingsJson)).toMatchObject({
      url: 'ldap://127.0.0.1:3890',
      bindDn: 'cn=admin,dc=example,dc=org',
      baseDn: 'dc=example,dc=org',
      pageSize: 1000,
    });
    expect(c.settingsJson).not.toContain(BIND_PASSWORD);
    expect(c.selectedGroups).toEqual(['cn=staff,ou=groups,dc=example,dc=org']);
    expect(c.mapping).toMatchObject({
      username: 'uid',
      aliases: ['mail'],
      email: 'mail',
      custom: { costCenter: 'departmentNumber' },
    });
    expect(c.defaultRegion).toBe('DE');
    expect(c.cursor).toBe('');
    expect(c.policy?.restoreWindowDays).toBe(3);
  });

  it('answer DIRECTORY_NOT_FOUND for unknown and disabled directories', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000002', 'garbage']) {
      const r = await h.requestConfig(id);
      expect(r.result.case).toBe('error');
      if (r.result.case === 'error')
        expect(r.result.value.code).toBe(ErrorCode.DIRECTORY_NOT_FOUND);
    }
    const off = await createDirectory(sync.url, { enabled: false });
    const r = await h.requestConfig(off.id);
    expect(r.result.case === 'error' && r.result.value.code).toBe(ErrorCode.DIRECTORY_NOT_FOUND);
  });

  it('mark the run as picked up', async () => {
    const dir = await createDirectory(sync.url);
    const runId = await startFull(dir.id);
    await h.requestConfig(dir.id, runId);
    const r = await run(runId);
    expect(r.status).toBe('RUNNING');
    expect((r as unknown as { startedAt: string | null }).startedAt).not.toBeNull();
  });
});

describe('RunUpdates', () => {
  it('record live counts, errors and the final status; COMPLETED stores the cursor', async () => {
    const dir = await createDirectory(sync.url);
    const runId = await startFull(dir.id);
    await h.publishUpdate({
      runId,
      directoryId: dir.id,
      seq: 1,
      status: RunStatus.RUNNING,
      counts: { seen: 500, created: 400, unchanged: 100, errors: 2 },
      errors: [
        {
          externalId: 'e1',
          sourceLocator: 'uid=a,ou=people,dc=example,dc=org',
          code: ErrorCode.MISSING_USERNAME,
          message: 'no uid',
        },
        {
          externalId: 'e2',
          sourceLocator: 'uid=b,ou=people,dc=example,dc=org',
          code: ErrorCode.INVALID_PHONE,
          message: 'bad phone\u0000',
        },
      ],
    });
    const live = await waitFor(
      async () => {
        const r = await run(runId);
        return r.counts.seen === 500 ? r : undefined;
      },
      { message: 'live counts' },
    );
    expect(live.status).toBe('RUNNING');
    expect(live.counts).toMatchObject({ seen: 500, created: 400, unchanged: 100, errors: 2 });
    expect(live.errors.totalCount).toBe(2);
    expect(live.errors.edges.map((e) => e.node.code)).toEqual([
      'MISSING_USERNAME',
      'INVALID_PHONE',
    ]);

    // The same update applied again (re-published under another msg id): nothing doubles.
    await h.publishUpdate(
      {
        runId,
        directoryId: dir.id,
        seq: 1,
        status: RunStatus.RUNNING,
        counts: { seen: 500, created: 400, unchanged: 100, errors: 2 },
        errors: [
          {
            externalId: 'e1',
            sourceLocator: 'x',
            code: ErrorCode.MISSING_USERNAME,
            message: 'no uid',
          },
          {
            externalId: 'e2',
            sourceLocator: 'y',
            code: ErrorCode.INVALID_PHONE,
            message: 'bad phone',
          },
        ],
      },
      `${runId}:u:1:again`,
    );
    await h.publishUpdate({
      runId,
      directoryId: dir.id,
      seq: 3,
      status: RunStatus.RUNNING,
      counts: { seen: 900, created: 700, unchanged: 200, errors: 3 },
      errors: [
        {
          externalId: 'e3',
          sourceLocator: 'z',
          code: ErrorCode.DUPLICATE_USERNAME,
          message: 'dup',
        },
      ],
    });
    await waitFor(async () => (await run(runId)).counts.seen === 900, { message: 'seq 3 applied' });
    // An older update arriving late: its errors count, its counts do not.
    await h.publishUpdate({
      runId,
      directoryId: dir.id,
      seq: 2,
      status: RunStatus.RUNNING,
      counts: { seen: 700, created: 600, errors: 3 },
      errors: [
        {
          externalId: 'e2b',
          sourceLocator: 'w',
          code: ErrorCode.INVALID_ATTRIBUTE,
          message: 'late',
        },
      ],
    });
    await waitFor(async () => (await run(runId)).errors.totalCount === 4, {
      message: 'late errors recorded',
    });
    const afterStale = await run(runId);
    expect(afterStale.counts).toMatchObject({ seen: 900, created: 700, unchanged: 200 });
    expect(afterStale.errors.edges.map((e) => e.node.externalId)).toEqual([
      'e1',
      'e2',
      'e2b',
      'e3',
    ]);
    const [{ seq }] = (await h.sql<{ seq: string }>(
      'select update_seq as seq from sync.runs where id = ?',
      [runId],
    )) as [{ seq: string }];
    expect(Number(seq)).toBe(3);

    await h.publishUpdate({
      runId,
      directoryId: dir.id,
      seq: 4,
      status: RunStatus.COMPLETED,
      mode: SyncMode.FULL,
      counts: {
        seen: 1000,
        created: 800,
        unchanged: 200,
        pendingDeletion: 5,
        errors: 4,
        groupsSeen: 3,
      },
      cursor: 'csn-20300101000000Z',
    });
    const done = await waitFor(
      async () => {
        const r = await run(runId);
        return r.status === 'COMPLETED' ? r : undefined;
      },
      { message: 'completed' },
    );
    expect(done.counts).toMatchObject({ seen: 1000, pendingDeletion: 5, groupsSeen: 3 });
    expect((done as unknown as { finishedAt: string }).finishedAt).not.toBeNull();
    expect((done as unknown as { durationMs: number }).durationMs).toBeGreaterThanOrEqual(0);
    const [d] = await h.sql<{ cursor: string }>(
      'select cursor from sync.directories where id = ?',
      [dir.id],
    );
    expect(d!.cursor).toBe('csn-20300101000000Z');
    const cfg = await h.requestConfig(dir.id);
    expect(cfg.result.case === 'config' && cfg.result.value.cursor).toBe('csn-20300101000000Z');

    // A finished run stays finished.
    await h.publishUpdate({ runId, directoryId: dir.id, seq: 5, status: RunStatus.FAILED });
    const marker = await startFull(dir.id); // the directory is free again
    await h.publishUpdate({
      runId: marker,
      directoryId: dir.id,
      seq: 1,
      status: RunStatus.RUNNING,
      counts: { seen: 1 },
    });
    await waitFor(async () => (await run(marker)).counts.seen === 1, {
      message: 'later update applied',
    });
    expect((await run(runId)).status).toBe('COMPLETED');
  });

  it('records how a completed DELTA run read, why it read in full, and the entries it read', async () => {
    const dir = await createDirectory(sync.url);
    const { syncAll } = await gqlOk<{ syncAll: { id: string } }>(sync.url, SYNC_ALL, {
      id: dir.id,
      mode: 'DELTA',
    });
    await h.publishUpdate({
      runId: syncAll.id,
      directoryId: dir.id,
      seq: 1,
      status: RunStatus.COMPLETED,
      mode: SyncMode.DELTA,
      readMode: SyncMode.FULL,
      fullReadReason: FullReadReason.NO_CURSOR,
      counts: { seen: 3, entriesRead: 17 },
      cursor: 'first-cursor',
    });
    const done = await waitFor(
      async () => {
        const r = await run(syncAll.id);
        return r.status === 'COMPLETED' ? r : undefined;
      },
      { message: 'completed' },
    );
    expect(done).toMatchObject({
      mode: 'DELTA',
      readMode: 'FULL',
      fullReadReason: 'NO_CURSOR',
      counts: { seen: 3, entriesRead: 17 },
    });
    const [d] = await h.sql<{ cursor: string }>(
      'select cursor from sync.directories where id = ?',
      [dir.id],
    );
    expect(d!.cursor).toBe('first-cursor');
  });

  it('FAILED records the error and does not store the cursor', async () => {
    const dir = await createDirectory(sync.url);
    const ok = await startFull(dir.id);
    await h.publishUpdate({
      runId: ok,
      directoryId: dir.id,
      seq: 1,
      status: RunStatus.COMPLETED,
      cursor: 'good',
    });
    await waitFor(async () => (await run(ok)).status === 'COMPLETED', {
      message: 'first run completed',
    });
    const bad = await startFull(dir.id);
    await h.publishUpdate({
      runId: bad,
      directoryId: dir.id,
      seq: 1,
      status: RunStatus.FAILED,
      error: { code: ErrorCode.INVALID_CREDENTIALS, message: 'the server refused the bind DN' },
      cursor: 'must-not-be-stored',
    });
    const failed = await waitFor(
      async () => {
        const r = await run(bad);
        return r.status === 'FAILED' ? r : undefined;
      },
      { message: 'failed' },
    );
    expect(failed.errorCode).toBe('INVALID_CREDENTIALS');
    expect(failed.errorMessage).toBe('the server refused the bind DN');
    const [d] = await h.sql<{ cursor: string }>(
      'select cursor from sync.directories where id = ?',
      [dir.id],
    );
    expect(d!.cursor).toBe('good');
  });

  it('lists runs by directory and status, newest first', async () => {
    const dir = await createDirectory(sync.url);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const id = await startFull(dir.id);
      ids.push(id);
      await h.publishUpdate({ runId: id, directoryId: dir.id, seq: 1, status: RunStatus.FAILED });
      await waitFor(async () => (await run(id)).status === 'FAILED', {
        message: `run ${i} failed`,
      });
    }
    const data = await gqlOk<{
      runs: { totalCount: number; edges: { node: { id: string } }[] };
      directory: { runs: { totalCount: number; edges: { node: { id: string } }[] } };
    }>(
      sync.url,
      `query($id: ID!) {
        runs(directoryId: $id, status: [FAILED], first: 10) { totalCount edges { node { id } } }
        directory(id: $id) { runs(first: 2) { totalCount edges { node { id } } } }
      }`,
      { id: dir.id },
    );
    expect(data.runs.totalCount).toBe(3);
    expect(data.runs.edges.map((e) => e.node.id)).toEqual([...ids].reverse());
    expect(data.directory.runs.totalCount).toBe(3);
    expect(data.directory.runs.edges.map((e) => e.node.id)).toEqual([ids[2], ids[1]]);
    const none = await gqlOk<{ runs: { totalCount: number } }>(
      sync.url,
      `query($id: ID!) { runs(directoryId: $id, status: [RUNNING]) { totalCount } }`,
      { id: dir.id },
    );
    expect(none.runs.totalCount).toBe(0);

    // By the short id the console shows: a unique prefix finds its run, with or without the
    // directory; the prefix of no run finds none; what cannot start a UUID is refused.
    const byPrefix = async (prefix: string) =>
      (
        await gqlOk<{ runs: { totalCount: number; edges: { node: { id: string } }[] } }>(
          sync.url,
          `query($p: String!) { runs(idPrefix: $p, first: 10) { totalCount edges { node { id } } } }`,
          { p: prefix },
        )
      ).runs;
    for (const id of ids) {
      const found = await byPrefix(id.slice(0, 8).toUpperCase());
      expect(found.edges.map((e) => e.node.id)).toContain(id);
      expect(found.edges.every((e) => e.node.id.startsWith(id.slice(0, 8)))).toBe(true);
    }
    expect((await byPrefix(ids[0]!)).edges.map((e) => e.node.id)).toEqual([ids[0]]);
    const other = ids[0]!.startsWith('0') ? 'f' : '0';
    const unknown = `${other}${ids[0]!.slice(1, 8)}-0000-0000-0000-000000000000`.slice(0, 36);
    expect((await byPrefix(unknown)).totalCount).toBe(0);
    const bad = await gqlErr(sync.url, `{ runs(idPrefix: "3f2a9c1b07") { totalCount } }`);
    expect(bad.code).toBe('BAD_USER_INPUT');
    expect(bad.extensions.fields).toEqual([{ field: 'idPrefix', message: expect.any(String) }]);

    // A malformed directory id is the caller's mistake; a well-formed unknown one has no runs.
    const badDir = await gqlErr(sync.url, '{ runs(directoryId: "zzz") { totalCount } }');
    expect(badDir.code).toBe('BAD_USER_INPUT');
    expect(badDir.extensions.argumentName).toBe('directoryId');
    expect(badDir.extensions.fields).toEqual([
      { field: 'directoryId', message: expect.any(String) },
    ]);
    const noRuns = await gqlOk<{ runs: { totalCount: number } }>(
      sync.url,
      '{ runs(directoryId: "00000000-0000-4000-8000-000000000000") { totalCount } }',
    );
    expect(noRuns.runs.totalCount).toBe(0);
  });

  it("a directory's runs by mode and dry run: its last user sync and its last dry run", async () => {
    const dir = await createDirectory(sync.url);
    const start = async (mode: string, dryRun = false) => {
      const { syncAll } = await gqlOk<{ syncAll: { id: string } }>(
        sync.url,
        `mutation($id: ID!, $mode: SyncMode, $dryRun: Boolean) {
           syncAll(directoryId: $id, mode: $mode, dryRun: $dryRun) { id } }`,
        { id: dir.id, mode, dryRun },
      );
      await h.publishUpdate({
        runId: syncAll.id,
        directoryId: dir.id,
        seq: 1,
        status: RunStatus.FAILED,
      });
      await waitFor(async () => (await run(syncAll.id)).status === 'FAILED', {
        message: `${mode} run failed`,
      });
      return syncAll.id;
    };
    const full = await start('FULL');
    const delta = await start('DELTA');
    const dry = await start('FULL', true);
    const ids = async (args: string) =>
      (
        await gqlOk<{ directory: { runs: { nodes: { id: string }[] } } }>(
          sync.url,
          `query($id: ID!) { directory(id: $id) { runs(${args}) { nodes { id } } } }`,
          { id: dir.id },
        )
      ).directory.runs.nodes.map((r) => r.id);
    expect(await ids('first: 1, mode: [FULL, DELTA], dryRun: false')).toEqual([delta]);
    expect(await ids('mode: [FULL]')).toEqual([dry, full]);
    expect(await ids('mode: [FULL], dryRun: false')).toEqual([full]);
    expect(await ids('dryRun: true')).toEqual([dry]);
    expect(await ids('mode: [ADMIN]')).toEqual([]);
    expect(await ids('mode: [DELTA], status: [COMPLETED]')).toEqual([]);
  });
});

describe('syncUser', () => {
  /** Play connector + identity: answer the USER job of this directory with a final RunUpdate. */
  async function answerJob(directoryId: string, final: Omit<RunUpdateInit, 'runId' | 'seq'>) {
    const job = await waitFor(
      async () =>
        (await h.jobs()).find(
          (j) => j.job.directoryId === directoryId && j.job.mode === SyncMode.USER,
        ),
      {
        message: 'USER job published',
      },
    );
    await h.publishUpdate({ runId: job.job.runId, directoryId, seq: 1, status: RunStatus.RUNNING });
    await h.publishUpdate({ runId: job.job.runId, directoryId, seq: 2, ...final });
    return job.job;
  }

  it('resolves with the outcome and the user from the final RunUpdate', async () => {
    const dir = await createDirectory(sync.url);
    const pending = gql<{
      syncUser: { outcome: string; user: { id: string } | null; run: RunView };
    }>(sync.url, SYNC_USER, { id: dir.id, username: 'jdoe' });
    const job = await answerJob(dir.id, {
      status: RunStatus.COMPLETED,
      mode: SyncMode.USER,
      userOutcome: UserOutcome.CREATED,
      userId: 'user-123',
      counts: { seen: 1, created: 1 },
    });
    expect(job.username).toBe('jdoe');
    const r = await pending;
    expect(r.errors).toBeUndefined();
    expect(r.data!.syncUser).toMatchObject({
      outcome: 'CREATED',
      user: { id: 'user-123' },
      run: {
        id: job.runId,
        status: 'COMPLETED',
        mode: 'USER',
        username: 'jdoe',
        counts: { created: 1 },
      },
    });
  });

  it('passes special characters through and reports NOT_FOUND', async () => {
    const dir = await createDirectory(sync.url);
    const username = 'a*)(uid=*)\\\u0000b';
    const pending = gql<{ syncUser: { outcome: string; user: unknown; run: RunView } }>(
      sync.url,
      SYNC_USER,
      {
        id: dir.id,
        username,
      },
    );
    const job = await answerJob(dir.id, {
      status: RunStatus.COMPLETED,
      mode: SyncMode.USER,
      userOutcome: UserOutcome.NOT_FOUND,
    });
    expect(job.username).toBe(username);
    const r = await pending;
    expect(r.data!.syncUser.outcome).toBe('NOT_FOUND');
    expect(r.data!.syncUser.user).toBeNull();
    expect(r.data!.syncUser.run.username).toBe(username);
  });

  it('reports a FAILED run as outcome FAILED with its error code', async () => {
    const dir = await createDirectory(sync.url);
    const pending = gql<{ syncUser: { outcome: string; run: RunView } }>(sync.url, SYNC_USER, {
      id: dir.id,
      username: 'jdoe',
    });
    await answerJob(dir.id, {
      status: RunStatus.FAILED,
      error: { code: ErrorCode.SOURCE_UNREACHABLE, message: 'connect ECONNREFUSED' },
    });
    const r = await pending;
    expect(r.data!.syncUser.outcome).toBe('FAILED');
    expect(r.data!.syncUser.run.errorCode).toBe('SOURCE_UNREACHABLE');
  });

  it('validates the username', async () => {
    const dir = await createDirectory(sync.url);
    for (const username of ['', '   ', 'a\nb', 'x'.repeat(257)]) {
      const e = await gqlErr(sync.url, SYNC_USER, { id: dir.id, username });
      expect(e.code).toBe('BAD_USER_INPUT');
      expect(e.message).toContain('username');
    }
    expect(
      (
        await gqlErr(sync.url, SYNC_USER, {
          id: '00000000-0000-4000-8000-000000000003',
          username: 'x',
        })
      ).code,
    ).toBe('NOT_FOUND');
  });
});

describe('run timeout', () => {
  it('fails runs nobody picked up, and runs whose connector stopped reporting', async () => {
    const clockStart = Date.now();
    let offset = 0;
    const now = () => new Date(clockStart + offset);
    const s = await h.start({ runTimeoutSeconds: 60, syncUserTimeoutSeconds: 1 }, now);
    const a = await createDirectory(s.url);
    const b = await createDirectory(s.url);
    const idle = (await gqlOk<{ syncAll: { id: string } }>(s.url, SYNC_ALL, { id: a.id })).syncAll
      .id;
    const busy = (await gqlOk<{ syncAll: { id: string } }>(s.url, SYNC_ALL, { id: b.id })).syncAll
      .id;
    await h.requestConfig(b.id, busy);
    expect(await s.sweepTimeouts()).not.toContain(idle);
    offset = 61_000;
    // (Active runs left by earlier tests in this database time out too.)
    expect(await s.sweepTimeouts()).toEqual(expect.arrayContaining([idle, busy]));
    const ri = (await gqlOk<{ run: RunView }>(s.url, RUN, { id: idle })).run;
    const rb = (await gqlOk<{ run: RunView }>(s.url, RUN, { id: busy })).run;
    expect(ri).toMatchObject({ status: 'FAILED', errorCode: 'RUN_TIMEOUT' });
    expect(ri.errorMessage).toContain('no connector picked the job up');
    expect(rb).toMatchObject({ status: 'FAILED', errorCode: 'RUN_TIMEOUT' });
    expect(rb.errorMessage).toContain('stopped reporting');
    // The picked-up run is failed in identity too (a verdict after whatever its connector
    // published); the one nobody picked up needs none: nothing of it was read.
    const verdict = await h.lastEvent(b.id);
    expect(verdict).toMatchObject({ runId: busy, seq: SYNC_VERDICT_SEQ });
    expect(verdict.body.case === 'runFailed' && verdict.body.value.error?.code).toBe(
      ErrorCode.RUN_TIMEOUT,
    );
    await expect(h.lastEvent(a.id)).rejects.toThrow();
    // Progress identity reports late does not revive a timed-out run.
    await h.publishUpdate({
      runId: busy,
      directoryId: b.id,
      seq: 1,
      status: RunStatus.RUNNING,
      counts: { seen: 3 },
    });
    const next = (await gqlOk<{ syncAll: { id: string } }>(s.url, SYNC_ALL, { id: b.id })).syncAll
      .id;
    await h.publishUpdate({
      runId: next,
      directoryId: b.id,
      seq: 1,
      status: RunStatus.RUNNING,
      counts: { seen: 7 },
    });
    await waitFor(
      async () => (await gqlOk<{ run: RunView }>(s.url, RUN, { id: next })).run.counts.seen === 7,
      {
        message: 'later update applied',
      },
    );
    expect((await gqlOk<{ run: RunView }>(s.url, RUN, { id: busy })).run.status).toBe('FAILED');
  });

  it('syncUser answers TIMEOUT with the run id when nothing reports', async () => {
    const s = await h.start({ syncUserTimeoutSeconds: 1 });
    const dir = await createDirectory(s.url);
    const e = await gqlErr(s.url, SYNC_USER, { id: dir.id, username: 'slow' });
    expect(e.code).toBe('TIMEOUT');
    expect(typeof e.extensions.runId).toBe('string');
    const r = (await gqlOk<{ run: RunView }>(s.url, RUN, { id: e.extensions.runId })).run;
    expect(r.status).toBe('QUEUED');
  });
});
