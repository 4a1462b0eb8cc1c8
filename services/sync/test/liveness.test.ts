import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DirectoryEventSchema,
  ErrorCode,
  RunStatus,
  SYNC_VERDICT_SEQ,
  Stream,
  Subject,
  eventMsgId,
  fromBinary,
  streamName,
  subject,
} from '@dirsync/proto';
import { waitFor } from '@dirsync/testkit';
import { FakeClock, Harness, createDirectory, gqlOk } from './helpers.js';
import type { SyncService } from '../src/index.js';

/**
 * Connector liveness (docs/architecture.md, "Connector liveness"): a run whose connector stops
 * sending heartbeats fails with CONNECTOR_LOST after SYNC_CONNECTOR_LOST_SECONDS, not after the
 * run timeout. The test plays the connector (heartbeats) and identity (RunUpdates) on a fake
 * clock; gateway/test/connector-lost.test.ts kills a real connector process.
 */
const SECOND = 1000;
const SYNC_ALL = `mutation($id: ID!) { syncAll(directoryId: $id) { id status } }`;
const RUN = `query($id: ID!) { run(id: $id) { id status errorCode errorMessage startedAt
  connector { kind instance lastHeartbeatAt publishedAt } } }`;

interface RunView {
  id: string;
  status: string;
  errorCode: string | null;
  errorMessage: string | null;
  startedAt: string | null;
  connector: {
    kind: string;
    instance: string;
    lastHeartbeatAt: string;
    publishedAt: string | null;
  } | null;
}

const h = new Harness();
const clock = new FakeClock();
let sync: SyncService;

beforeAll(async () => {
  await h.setup();
  // The run timeout is far away: what fails runs here is the liveness check.
  sync = await h.start(
    { connectorLostSeconds: 30, runTimeoutSeconds: 3600, replicaId: 'replica-under-test' },
    clock.now,
  );
});
afterAll(() => h.teardown());

const run = async (id: string) => (await gqlOk<{ run: RunView }>(sync.url, RUN, { id })).run;

async function startRun(): Promise<{ runId: string; directoryId: string }> {
  const dir = await createDirectory(sync.url);
  const { syncAll } = await gqlOk<{ syncAll: { id: string } }>(sync.url, SYNC_ALL, { id: dir.id });
  return { runId: syncAll.id, directoryId: dir.id };
}

/** Play connector and identity for a queued run: picked up, then COMPLETED. */
async function completeRun(runId: string, directoryId: string): Promise<void> {
  await h.heartbeat([{ runId, directoryId }]);
  await h.publishUpdate({ runId, directoryId, seq: 1, status: RunStatus.COMPLETED });
  await waitFor(async () => (await run(runId)).status === 'COMPLETED', {
    message: `run ${runId} completed`,
  });
}

/** One liveness pass, then the run as it stands (the timer's passes see the same fake clock). */
async function afterSweep(runId: string): Promise<RunView> {
  await sync.sweepLostConnectors();
  return run(runId);
}

describe('a run whose connector stops sending heartbeats', () => {
  it('fails with CONNECTOR_LOST naming the connector, and the directory syncs again', async () => {
    const r = await startRun();
    expect((await run(r.runId)).connector).toBeNull();
    // Pickup: the first heartbeat makes the run RUNNING, and the run names its connector.
    expect(await h.heartbeat([r], { instanceId: 'ldap-host:4242:abc' })).toEqual([]);
    expect(await run(r.runId)).toMatchObject({
      status: 'RUNNING',
      startedAt: expect.any(String),
      connector: {
        kind: 'ldap',
        instance: 'ldap-host:4242:abc',
        lastHeartbeatAt: clock.now().toISOString(),
        publishedAt: null,
      },
    });

    clock.advance(20 * SECOND);
    expect(await h.heartbeat([r], { instanceId: 'ldap-host:4242:abc' })).toEqual([]);
    expect((await run(r.runId)).connector?.lastHeartbeatAt).toBe(clock.now().toISOString());
    clock.advance(25 * SECOND); // 45 s since pickup, 25 s since the last heartbeat
    expect((await afterSweep(r.runId)).status).toBe('RUNNING');

    clock.advance(10 * SECOND); // 35 s of silence: the connector is lost
    const failed = await waitFor(
      async () => {
        const v = await afterSweep(r.runId);
        return v.status === 'FAILED' ? v : undefined;
      },
      { message: 'the run failed' },
    );
    expect(failed.errorCode).toBe('CONNECTOR_LOST');
    expect(failed.errorMessage).toContain('the ldap connector "ldap-host:4242:abc"');
    expect(failed.errorMessage).toContain('none for 30 s');
    expect(failed.errorMessage).toContain('Nobody was removed');
    // The sync replica is not to blame and is not named.
    expect(failed.errorMessage).not.toContain('replica-under-test');

    // Identity is told in order on the directory's events subject: a RunFailed of the sync
    // service's own, so it ends the run too and ignores whatever of it arrives later.
    const jsm = await h.nc.jetstreamManager();
    const last = await jsm.streams.getMessage(streamName(Stream.EVENTS, h.ns).name, {
      last_by_subj: subject(Subject.EVENTS, { directory_id: r.directoryId }, h.ns),
    });
    const verdict = fromBinary(DirectoryEventSchema, last.data);
    expect(last.header?.get('Nats-Msg-Id')).toBe(eventMsgId(r.runId, SYNC_VERDICT_SEQ));
    expect(verdict).toMatchObject({
      runId: r.runId,
      directoryId: r.directoryId,
      seq: SYNC_VERDICT_SEQ,
    });
    expect(verdict.body.case).toBe('runFailed');
    expect(verdict.body.case === 'runFailed' && verdict.body.value.error).toMatchObject({
      code: ErrorCode.CONNECTOR_LOST,
      message: failed.errorMessage,
    });

    // A late heartbeat (the connector was only cut off) hears that its run has ended, and the
    // directory syncs again at once.
    expect(await h.heartbeat([r])).toEqual([r.runId]);
    const next = (
      await gqlOk<{ syncAll: { id: string; status: string } }>(sync.url, SYNC_ALL, {
        id: r.directoryId,
      })
    ).syncAll;
    expect(next.status).toBe('QUEUED');
    expect((await run(r.runId)).status).toBe('FAILED');
    // Identity's progress on the failed run changes nothing…
    await h.publishUpdate({
      runId: r.runId,
      directoryId: r.directoryId,
      seq: 2,
      status: RunStatus.RUNNING,
      counts: { seen: 3 },
    });
    // …but should identity end it otherwise (the connector's RunCompleted reached the stream just
    // before the verdict), its outcome is what happened, and is recorded over the verdict.
    await h.publishUpdate({
      runId: r.runId,
      directoryId: r.directoryId,
      seq: 3,
      status: RunStatus.COMPLETED,
    });
    const overruled = await waitFor(
      async () => {
        const v = await run(r.runId);
        return v.status === 'COMPLETED' ? v : undefined;
      },
      { message: "identity's outcome recorded" },
    );
    expect(overruled).toMatchObject({ errorCode: null, errorMessage: null });

    const metrics = await (await fetch(new URL('/metrics', sync.url))).text();
    expect(metrics).toMatch(/dirsync_connectors_lost_total\{[^}]*connector="ldap"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/dirsync_runs_finished_total\{[^}]*error_code="CONNECTOR_LOST"/);
    // Leave the directory free for nothing else: end the queued run.
    await completeRun(next.id, r.directoryId);
  });

  it('is alive while identity reports progress (a RunUpdate counts as liveness)', async () => {
    const r = await startRun();
    await h.heartbeat([r]);
    clock.advance(25 * SECOND);
    await h.publishUpdate({
      runId: r.runId,
      directoryId: r.directoryId,
      seq: 1,
      status: RunStatus.RUNNING,
      counts: { seen: 500 },
    });
    await waitFor(
      async () =>
        (
          await h.sql<{ update_seq: string }>('select update_seq from sync.runs where id = ?', [
            r.runId,
          ])
        )[0]?.update_seq === '1',
      { message: 'the update was applied' },
    );
    clock.advance(25 * SECOND); // 50 s without a heartbeat, 25 s since identity's update
    expect((await afterSweep(r.runId)).status).toBe('RUNNING');
    clock.advance(10 * SECOND);
    const failed = await waitFor(
      async () => {
        const v = await afterSweep(r.runId);
        return v.status === 'FAILED' ? v : undefined;
      },
      { message: 'the run failed' },
    );
    expect(failed.errorCode).toBe('CONNECTOR_LOST');
  });
});

describe('a run whose connector is not lost', () => {
  it('waits for identity once the connector reported its terminal event PUBLISHED', async () => {
    const r = await startRun();
    await h.heartbeat([r]);
    clock.advance(3 * SECOND);
    expect(await h.heartbeat([{ ...r, published: true }])).toEqual([]);
    expect((await run(r.runId)).connector?.publishedAt).toBe(clock.now().toISOString());
    // The connector has moved on; identity is busy with a backlog (or down) for two hours: the
    // run is identity's to end — it will apply what is in the stream, removals included, however
    // late — so neither the liveness check nor the run timeout fails it.
    clock.advance(50 * 60 * SECOND);
    expect((await afterSweep(r.runId)).status).toBe('RUNNING');
    expect(await sync.sweepTimeouts()).not.toContain(r.runId);
    expect((await run(r.runId)).status).toBe('RUNNING');
    await h.publishUpdate({
      runId: r.runId,
      directoryId: r.directoryId,
      seq: 1,
      status: RunStatus.COMPLETED,
    });
    await waitFor(async () => (await run(r.runId)).status === 'COMPLETED', {
      message: 'the run completed',
    });
  });

  it('fails after the published-run timeout (events lost: the directory is not locked), and records what identity does later', async () => {
    const r = await startRun();
    await h.heartbeat([{ ...r, published: true }]);
    clock.advance(3601 * SECOND);
    expect(await sync.sweepTimeouts()).toContain(r.runId);
    const failed = await run(r.runId);
    expect(failed).toMatchObject({ status: 'FAILED', errorCode: 'RUN_TIMEOUT' });
    expect(failed.errorMessage).toContain('identity has not applied it for 3600 s');
    // The directory syncs again.
    const next = (
      await gqlOk<{ syncAll: { id: string; status: string } }>(sync.url, SYNC_ALL, {
        id: r.directoryId,
      })
    ).syncAll;
    expect(next.status).toBe('QUEUED');
    // Identity is told (a verdict after the connector's events); should it apply the run anyway,
    // its outcome stands.
    expect(await h.lastEvent(r.directoryId)).toMatchObject({
      runId: r.runId,
      seq: SYNC_VERDICT_SEQ,
    });
    await h.publishUpdate({
      runId: r.runId,
      directoryId: r.directoryId,
      seq: 4,
      status: RunStatus.COMPLETED,
    });
    await waitFor(async () => (await run(r.runId)).status === 'COMPLETED', {
      message: "identity's outcome recorded",
    });
    await completeRun(next.id, r.directoryId);
  });

  it('keeps only the run timeout when no connector ever sent a heartbeat for it', async () => {
    const r = await startRun();
    // Picked up the old way (config request only), or still QUEUED: no heartbeat, no verdict.
    await h.requestConfig(r.directoryId, r.runId);
    clock.advance(5 * 60 * SECOND);
    expect((await afterSweep(r.runId)).status).toBe('RUNNING');
    const queued = await startRun();
    expect((await afterSweep(queued.runId)).status).toBe('QUEUED');
    for (const x of [r, queued]) {
      await h.publishUpdate({
        runId: x.runId,
        directoryId: x.directoryId,
        seq: 1,
        status: RunStatus.COMPLETED,
      });
      await waitFor(async () => (await run(x.runId)).status === 'COMPLETED', {
        message: 'the run completed',
      });
    }
  });

  it('answers heartbeats of finished, unknown and mismatched runs as ended', async () => {
    const r = await startRun();
    const unknown = { runId: randomUUID(), directoryId: r.directoryId };
    const notAnId = { runId: 'x', directoryId: 'y' };
    expect((await h.heartbeat([r, unknown, notAnId])).sort()).toEqual(
      [unknown.runId, notAnId.runId].sort(),
    );
    // The run is of another directory than the heartbeat says: not recorded.
    expect(await h.heartbeat([{ runId: r.runId, directoryId: randomUUID() }])).toEqual([r.runId]);
    await h.publishUpdate({
      runId: r.runId,
      directoryId: r.directoryId,
      seq: 1,
      status: RunStatus.COMPLETED,
    });
    await waitFor(async () => (await run(r.runId)).status === 'COMPLETED', {
      message: 'the run completed',
    });
    expect(await h.heartbeat([r])).toEqual([r.runId]);
  });
});
