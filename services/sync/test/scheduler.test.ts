import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunStatus, SyncMode } from '@dirsync/proto';
import { waitFor } from '@dirsync/testkit';
import type { SyncService } from '../src/index.js';
import { FakeClock, Harness, createDirectory, directoryInput, gql, gqlOk } from './helpers.js';

const MINUTE = 60_000;
const h = new Harness();
const clock = new FakeClock();
let a: SyncService;
let b: SyncService;

beforeAll(async () => {
  await h.setup();
  // Two replicas sharing the database and the clock; ticks are driven by the test.
  a = await h.start({}, clock.now);
  b = await h.start({}, clock.now);
});
afterAll(() => h.teardown());

async function runsOf(
  directoryId: string,
): Promise<{ id: string; status: string; trigger: string }[]> {
  return h.sql(
    'select id, status, trigger from sync.runs where directory_id = ? order by queued_at',
    [directoryId],
  );
}

async function complete(url: string, runId: string, directoryId: string): Promise<void> {
  await h.publishUpdate({ runId, directoryId, seq: 1, status: RunStatus.COMPLETED });
  await waitFor(
    async () =>
      (
        await gqlOk<{ run: { status: string } }>(
          url,
          `query($id: ID!) { run(id: $id) { status } }`,
          { id: runId },
        )
      ).run.status === 'COMPLETED',
    { message: `run ${runId} completed` },
  );
}

describe('scheduler', () => {
  it('starts one FULL run per interval, however often it ticks', async () => {
    const dir = await createDirectory(a.url, { scheduleIntervalMinutes: 1 });
    const off = await createDirectory(a.url, { scheduleIntervalMinutes: 0 });
    const disabled = await createDirectory(a.url, { scheduleIntervalMinutes: 1, enabled: false });

    // Not due before one interval has passed since creation.
    clock.advance(30_000);
    expect(await a.schedulerTick()).toEqual([]);

    clock.advance(31_000); // t = 61 s
    const first = await a.schedulerTick();
    const runs1 = await runsOf(dir.id);
    expect(runs1.map((r) => [r.status, r.trigger])).toEqual([['QUEUED', 'SCHEDULE']]);
    expect(first).toContain(runs1[0]!.id);
    await complete(a.url, runs1[0]!.id, dir.id);

    // A second tick inside the same interval (the run finished meanwhile) starts nothing.
    clock.advance(30_000); // t = 91 s
    expect(await a.schedulerTick()).toEqual([]);
    expect(await b.schedulerTick()).toEqual([]);
    expect((await runsOf(dir.id)).length).toBe(1);

    clock.advance(31_000); // t = 122 s: the next interval
    await b.schedulerTick();
    expect((await runsOf(dir.id)).length).toBe(2);
    expect((await runsOf(off.id)).length).toBe(0);
    expect((await runsOf(disabled.id)).length).toBe(0);
    const [, second] = await runsOf(dir.id);
    await complete(a.url, second!.id, dir.id);
  });

  it('skips a directory whose run is still active, and runs it once that run ends', async () => {
    const dir = await createDirectory(a.url, { scheduleIntervalMinutes: 1 });
    const manual = (
      await gqlOk<{ syncAll: { id: string } }>(
        a.url,
        `mutation($id: ID!) { syncAll(directoryId: $id) { id } }`,
        {
          id: dir.id,
        },
      )
    ).syncAll.id;
    clock.advance(2 * MINUTE);
    // (Directories of other tests in this file may be due too; look at this one only.)
    await a.schedulerTick();
    expect((await runsOf(dir.id)).length).toBe(1);
    await complete(a.url, manual, dir.id);
    await a.schedulerTick();
    const runs = await runsOf(dir.id);
    expect(runs.map((r) => r.trigger)).toEqual(['MANUAL', 'SCHEDULE']);
    await complete(a.url, runs[1]!.id, dir.id);
  });

  it('two replicas ticking together start exactly one run per due directory', async () => {
    const dirs = [];
    for (let i = 0; i < 8; i++)
      dirs.push(await createDirectory(a.url, { scheduleIntervalMinutes: 1 }));
    clock.advance(2 * MINUTE);
    for (let round = 0; round < 3; round++) {
      const [ra, rb] = await Promise.all([a.schedulerTick(), b.schedulerTick()]);
      const started = [...ra, ...rb];
      expect(new Set(started).size).toBe(started.length);
    }
    for (const d of dirs) {
      const runs = await runsOf(d.id);
      expect(runs.length).toBe(1);
      expect(runs[0]!.status).toBe('QUEUED');
    }
    const active = await h.sql<{ n: string }>(
      `select count(*) as n from sync.runs where status in ('QUEUED', 'RUNNING')
         group by directory_id having count(*) > 1`,
    );
    expect(active).toEqual([]);
  });

  it('reschedules when the interval changes', async () => {
    const dir = await createDirectory(a.url, { scheduleIntervalMinutes: 0 });
    clock.advance(10 * MINUTE);
    await a.schedulerTick();
    expect((await runsOf(dir.id)).length).toBe(0);
    const u = await gqlOk<{ updateDirectory: { nextRunAt: string } }>(
      a.url,
      `mutation($id: ID!) { updateDirectory(id: $id, input: { scheduleIntervalMinutes: 5 }) { nextRunAt } }`,
      { id: dir.id },
    );
    expect(new Date(u.updateDirectory.nextRunAt).getTime()).toBe(
      clock.now().getTime() + 5 * MINUTE,
    );
    clock.advance(5 * MINUTE);
    await a.schedulerTick();
    expect((await runsOf(dir.id)).length).toBe(1);
  });
});

describe('admin schedule', () => {
  const ROLES = [{ role: 'OWNER', groups: ['cn=owners,ou=groups,dc=example,dc=org'] }];

  async function runsWithEmail(directoryId: string) {
    return h.sql<{ id: string; mode: string; email: string | null; trigger: string }>(
      'select id, mode, email, trigger from sync.runs where directory_id = ? order by queued_at',
      [directoryId],
    );
  }

  it('starts full admin runs on its own interval, only with role groups', async () => {
    const dir = await createDirectory(a.url, {
      scheduleIntervalMinutes: 0,
      adminScheduleIntervalMinutes: 1,
      adminRoles: ROLES,
    });
    const none = await createDirectory(a.url, {
      scheduleIntervalMinutes: 0,
      adminScheduleIntervalMinutes: 1,
    });
    clock.advance(61_000);
    await a.schedulerTick();
    const runs = await runsWithEmail(dir.id);
    expect(runs.map((r) => [r.mode, r.email, r.trigger])).toEqual([['ADMIN', null, 'SCHEDULE']]);
    expect((await runsWithEmail(none.id)).length).toBe(0);
    const job = (await h.jobs()).find((j) => j.job.runId === runs[0]!.id);
    expect(job?.job).toMatchObject({ mode: SyncMode.ADMIN, email: '' });
    await complete(a.url, runs[0]!.id, dir.id);
  });

  it('runs FULL and ADMIN due together one after the other, FULL first', async () => {
    const dir = await createDirectory(a.url, {
      scheduleIntervalMinutes: 1,
      adminScheduleIntervalMinutes: 1,
      adminRoles: ROLES,
    });
    clock.advance(61_000);
    await Promise.all([a.schedulerTick(), b.schedulerTick()]);
    const [full, ...none] = await runsWithEmail(dir.id);
    expect([full!.mode, none]).toEqual(['FULL', []]);
    await complete(a.url, full!.id, dir.id);
    await Promise.all([a.schedulerTick(), b.schedulerTick()]);
    // (The fake clock stood still: both runs have the same queued_at.)
    const admin = (await runsWithEmail(dir.id)).filter((r) => r.id !== full!.id);
    expect(admin.map((r) => r.mode)).toEqual(['ADMIN']);
    await complete(a.url, admin[0]!.id, dir.id);
    // Both have moved on to their next slot: nothing more in this interval.
    await Promise.all([a.schedulerTick(), b.schedulerTick()]);
    expect((await runsWithEmail(dir.id)).length).toBe(2);
  });

  it('keeps the cadence: a late tick or a waiting run does not shift the next slot', async () => {
    const dir = await createDirectory(a.url, { scheduleIntervalMinutes: 10 });
    const [created] = await h.sql<{ next_run_at: string }>(
      'select next_run_at from sync.directories where id = ?',
      [dir.id],
    );
    const due = Date.parse(created!.next_run_at);
    clock.advance(10 * MINUTE + 4 * MINUTE); // 4 minutes late
    await a.schedulerTick();
    const [run] = await runsOf(dir.id);
    const [after] = await h.sql<{ next_run_at: string }>(
      'select next_run_at from sync.directories where id = ?',
      [dir.id],
    );
    expect(Date.parse(after!.next_run_at)).toBe(due + 10 * MINUTE);
    await complete(a.url, run!.id, dir.id);
  });
});

describe('delta schedule', () => {
  async function runs(directoryId: string) {
    return h.sql<{ id: string; mode: string; trigger: string; status: string }>(
      'select id, mode, trigger, status from sync.runs where directory_id = ? order by queued_at, mode',
      [directoryId],
    );
  }

  it('is on by default, every 5 minutes', async () => {
    const dir = await gqlOk<{
      createDirectory: { deltaIntervalMinutes: number; nextDeltaRunAt: string };
    }>(
      a.url,
      `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { deltaIntervalMinutes nextDeltaRunAt } }`,
      { input: directoryInput() },
    );
    expect(dir.createDirectory.deltaIntervalMinutes).toBe(5);
    expect(Date.parse(dir.createDirectory.nextDeltaRunAt)).toBe(clock.now().getTime() + 5 * MINUTE);
  });

  it('starts DELTA runs on their own interval between FULL runs, FULL first when both are due', async () => {
    const dir = await createDirectory(a.url, {
      scheduleIntervalMinutes: 4,
      deltaIntervalMinutes: 1,
    });
    clock.advance(61_000);
    await a.schedulerTick();
    const [first] = await runs(dir.id);
    expect([first!.mode, first!.trigger]).toEqual(['DELTA', 'SCHEDULE']);
    const job = (await h.jobs()).find((j) => j.job.runId === first!.id);
    expect(job?.job.mode).toBe(SyncMode.DELTA);
    // Due again while its run is active: nothing starts (one run per directory at a time).
    clock.advance(MINUTE);
    await Promise.all([a.schedulerTick(), b.schedulerTick()]);
    expect(await runs(dir.id)).toHaveLength(1);
    await complete(a.url, first!.id, dir.id);
    await a.schedulerTick();
    expect((await runs(dir.id)).map((r) => r.mode)).toEqual(['DELTA', 'DELTA']);
    await complete(a.url, (await runs(dir.id))[1]!.id, dir.id);
    // t = 4 min: FULL and DELTA are both due; FULL goes first, DELTA once it has ended.
    clock.advance(2 * MINUTE);
    await Promise.all([a.schedulerTick(), b.schedulerTick()]);
    const third = (await runs(dir.id)).slice(2);
    expect(third.map((r) => r.mode)).toEqual(['FULL']);
    await complete(a.url, third[0]!.id, dir.id);
    const before = new Set((await runs(dir.id)).map((r) => r.id));
    await a.schedulerTick();
    // (The fake clock stood still: compare by id, not by queued_at.)
    const after = (await runs(dir.id)).filter((r) => !before.has(r.id));
    expect(after.map((r) => r.mode)).toEqual(['DELTA']);
  });

  it('0 turns it off, and a change of interval reschedules it', async () => {
    const dir = await createDirectory(a.url, {
      scheduleIntervalMinutes: 0,
      deltaIntervalMinutes: 0,
    });
    clock.advance(10 * MINUTE);
    await a.schedulerTick();
    expect(await runs(dir.id)).toHaveLength(0);
    const u = await gqlOk<{
      updateDirectory: { deltaIntervalMinutes: number; nextDeltaRunAt: string };
    }>(
      a.url,
      `mutation($id: ID!) { updateDirectory(id: $id, input: { deltaIntervalMinutes: 2 }) { deltaIntervalMinutes nextDeltaRunAt } }`,
      { id: dir.id },
    );
    expect(u.updateDirectory.deltaIntervalMinutes).toBe(2);
    expect(Date.parse(u.updateDirectory.nextDeltaRunAt)).toBe(clock.now().getTime() + 2 * MINUTE);
    clock.advance(2 * MINUTE);
    await a.schedulerTick();
    expect((await runs(dir.id)).map((r) => r.mode)).toEqual(['DELTA']);
    const bad = await gql(
      a.url,
      `mutation($id: ID!) { updateDirectory(id: $id, input: { deltaIntervalMinutes: -1 }) { id } }`,
      { id: dir.id },
    );
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
