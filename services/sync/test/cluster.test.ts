import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, RunStatus, SYNC_VERDICT_SEQ } from '@dirsync/proto';
import { TEST_GATEWAY_KEYS, waitFor } from '@dirsync/testkit';
import { FakeClock, Harness, SECRET_KEY, createDirectory, gqlOk } from './helpers.js';

/**
 * Several replicas of the sync service on one database: schedules run once per interval
 * whatever the number of replicas, and a replica that dies does not leave its directory locked.
 */
const MINUTE = 60_000;
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const SYNC_ALL = `mutation($id: ID!) { syncAll(directoryId: $id) { id status } }`;
const RUN = `query($id: ID!) { run(id: $id) { id status errorCode errorMessage } }`;

const h = new Harness();
beforeAll(() => h.setup());
afterAll(() => h.teardown());

interface RunRow {
  id: string;
  status: string;
  lease_owner: string | null;
  /** Epoch milliseconds. */
  lease_expires_at: number | null;
}

async function runRow(id: string): Promise<RunRow> {
  const [row] = await h.sql<Omit<RunRow, 'lease_expires_at'> & { lease_expires_at: string | null }>(
    'select id, status, lease_owner, lease_expires_at from sync.runs where id = ?',
    [id],
  );
  if (!row) throw new Error(`no run ${id}`);
  return {
    ...row,
    lease_expires_at: row.lease_expires_at ? Date.parse(row.lease_expires_at) : null,
  };
}

async function runsOf(directoryId: string): Promise<{ id: string; status: string }[]> {
  return h.sql('select id, status from sync.runs where directory_id = ? order by queued_at', [
    directoryId,
  ]);
}

async function complete(url: string, runId: string, directoryId: string): Promise<void> {
  await h.publishUpdate({ runId, directoryId, seq: 1, status: RunStatus.COMPLETED });
  await waitFor(
    async () =>
      (await gqlOk<{ run: { status: string } }>(url, RUN, { id: runId })).run.status ===
      'COMPLETED',
    { message: `run ${runId} completed` },
  );
}

describe('two replicas with their schedulers running', () => {
  it('start three runs in three intervals, not six', async () => {
    const clock = new FakeClock();
    const options = { schedulerEnabled: true, schedulerTickSeconds: 1 };
    const a = await h.start(options, clock.now);
    const b = await h.start(options, clock.now);
    const dir = await createDirectory(a.url, { scheduleIntervalMinutes: 1 });
    // Both replicas have ticked at least twice since `since`.
    const bothTicked = (since: [number, number]) =>
      waitFor(() => a.schedulerPasses >= since[0] + 2 && b.schedulerPasses >= since[1] + 2, {
        message: 'both schedulers ticked twice',
      });

    for (let interval = 1; interval <= 3; interval++) {
      clock.advance(MINUTE);
      const runs = await waitFor(
        async () => {
          const r = await runsOf(dir.id);
          return r.length >= interval ? r : undefined;
        },
        { message: `run of interval ${interval}` },
      );
      const run = runs[interval - 1]!;
      await complete(a.url, run.id, dir.id);
      // Ticks after the run ended, on both replicas, in the same interval: nothing more starts.
      await bothTicked([a.schedulerPasses, b.schedulerPasses]);
      expect((await runsOf(dir.id)).length).toBe(interval);
    }
    expect((await runsOf(dir.id)).map((r) => r.status)).toEqual([
      'COMPLETED',
      'COMPLETED',
      'COMPLETED',
    ]);
    await a.stop();
    await b.stop();
  });
});

describe('run leases', () => {
  it('a replica that stops gracefully hands its active run to another', async () => {
    const a = await h.start({ leaseSeconds: 3, replicaId: 'graceful-a' });
    const b = await h.start({ leaseSeconds: 3, replicaId: 'graceful-b' });
    const dir = await createDirectory(a.url);
    const run = (await gqlOk<{ syncAll: { id: string } }>(a.url, SYNC_ALL, { id: dir.id })).syncAll;
    expect((await runRow(run.id)).lease_owner).toBe('graceful-a');
    await a.stop();
    expect((await runRow(run.id)).lease_owner).toBeNull();
    expect(await b.maintainLeases()).toEqual([]);
    expect(await runRow(run.id)).toMatchObject({ status: 'QUEUED', lease_owner: 'graceful-b' });
    await complete(b.url, run.id, dir.id);
    await b.stop();
  });

  it("a killed replica's lease expires, its run is failed and the directory is free again", async () => {
    if (!existsSync(MAIN)) {
      throw new Error(`${MAIN} is missing: build first (npm run build -w @dirsync/sync)`);
    }
    const b = await h.start({ leaseSeconds: 3, replicaId: 'survivor-b' });
    const a = await spawnReplica('doomed-a', 3);
    try {
      const dir = await createDirectory(b.url);
      const run = (await gqlOk<{ syncAll: { id: string } }>(a.url, SYNC_ALL, { id: dir.id }))
        .syncAll;
      // A connector takes the job: the run is RUNNING, led by replica A.
      const reported = { runId: run.id, directoryId: dir.id };
      await h.heartbeat([reported]);
      await h.requestConfig(dir.id, run.id);
      const first = await runRow(run.id);
      expect(first).toMatchObject({ status: 'RUNNING', lease_owner: 'doomed-a' });

      // While A lives it renews its lease, and B leaves the run alone.
      await waitFor(
        async () => (await runRow(run.id)).lease_expires_at! > first.lease_expires_at! + 500,
        { message: 'replica A renewed its lease' },
      );
      expect(await b.maintainLeases()).toEqual([]);

      a.process.kill('SIGKILL');
      await a.exited;
      const failed = await waitFor(
        async () => {
          // The connector is alive and keeps reporting the run (B answers): the replica is to
          // blame, not the connector.
          await h.heartbeat([reported]);
          const r = (
            await gqlOk<{ run: { status: string; errorCode: string; errorMessage: string } }>(
              b.url,
              RUN,
              { id: run.id },
            )
          ).run;
          return r.status === 'FAILED' ? r : undefined;
        },
        { timeoutMs: 15_000, message: 'the dead replica’s run failed' },
      );
      expect(failed.errorCode).toBe('LEASE_EXPIRED');
      expect(failed.errorMessage).toContain('"doomed-a"');
      // The connector hears that its run has ended, and stops reading it.
      expect(await h.heartbeat([reported])).toEqual([run.id]);

      // Not locked: the directory syncs again at once.
      const next = (
        await gqlOk<{ syncAll: { id: string; status: string } }>(b.url, SYNC_ALL, {
          id: dir.id,
        })
      ).syncAll;
      expect(next.status).toBe('QUEUED');
      // Identity is told, in order after whatever the connector published: it fails the run too
      // and ignores the connector's later events (a run failed here removes nobody there).
      const verdict = await h.lastEvent(dir.id);
      expect(verdict).toMatchObject({ runId: run.id, seq: SYNC_VERDICT_SEQ });
      expect(verdict.body.case === 'runFailed' && verdict.body.value.error?.code).toBe(
        ErrorCode.LEASE_EXPIRED,
      );
      await complete(b.url, next.id, dir.id);
      expect((await runRow(run.id)).status).toBe('FAILED');
    } finally {
      if (a.process.exitCode === null) a.process.kill('SIGKILL');
      await b.stop();
    }
  });

  it("a killed replica's run whose connector published everything is adopted, and identity ends it", async () => {
    const b = await h.start({ leaseSeconds: 3, replicaId: 'adopter-b' });
    const a = await spawnReplica('doomed-p', 3);
    try {
      const dir = await createDirectory(b.url);
      const run = (await gqlOk<{ syncAll: { id: string } }>(a.url, SYNC_ALL, { id: dir.id }))
        .syncAll;
      const reported = { runId: run.id, directoryId: dir.id };
      await h.heartbeat([reported]);
      // The connector's terminal event is in the stream: the outcome is identity's now.
      await h.heartbeat([{ ...reported, published: true }]);
      a.process.kill('SIGKILL');
      await a.exited;
      const adopted = await waitFor(
        async () => {
          expect(await b.maintainLeases()).toEqual([]);
          const r = await runRow(run.id);
          return r.lease_owner === 'adopter-b' ? r : undefined;
        },
        { timeoutMs: 15_000, message: 'replica B adopted the run' },
      );
      expect(adopted.status).toBe('RUNNING');
      // Identity, however late, applies the run: what it committed is what the run did.
      await complete(b.url, run.id, dir.id);
    } finally {
      if (a.process.exitCode === null) a.process.kill('SIGKILL');
      await b.stop();
    }
  });
});

/** A sync replica in a process of its own (built `dist/main.js`), to be killed for real. */
async function spawnReplica(
  replicaId: string,
  leaseSeconds: number,
): Promise<{ process: ChildProcess; url: string; exited: Promise<void> }> {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: h.db.url,
      NATS_URL: h.config().natsUrl,
      NATS_NAMESPACE: h.ns,
      PORT: '0',
      LOG_LEVEL: 'info',
      DIRSYNC_SECRET_KEY: SECRET_KEY,
      DIRSYNC_GATEWAY_PUBLIC_KEY: TEST_GATEWAY_KEYS.publicKey,
      SCHEDULER_ENABLED: 'false',
      SYNC_LEASE_SECONDS: String(leaseSeconds),
      SYNC_REPLICA_ID: replicaId,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let output = '';
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let buffer = '';
    child.stdout?.on('data', (d: Buffer) => {
      buffer += d.toString();
      for (;;) {
        const nl = buffer.indexOf('\n');
        if (nl < 0) break;
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        output += `${line}\n`;
        try {
          const entry = JSON.parse(line) as { msg?: string; url?: string };
          if (entry.msg === 'sync service started' && entry.url) resolve(entry.url);
        } catch {
          // not a log line
        }
      }
    });
    child.once('exit', (code) =>
      reject(new Error(`sync replica exited (${code}) before starting:\n${output}`)),
    );
  });
  return { process: child, url, exited };
}
