import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ConnectorHeartbeatReplySchema,
  ConnectorHeartbeatSchema,
  DirectoryEventSchema,
  ErrorCode,
  RunStatus,
  Stream,
  Subject,
  SyncMode,
  create,
  fromBinary,
  streamName,
  subject,
  toBinary,
} from '@dirsync/proto';
import {
  createConnectorWorker,
  createLogger,
  type ConnectorWorker,
  type SourceConnector,
} from '@dirsync/kit';
import { waitFor } from '@dirsync/testkit';
import { FakeClock, Harness, createDirectory, gql, gqlOk } from './helpers.js';
import type { SyncService } from '../src/index.js';

/**
 * Connector presence (docs/architecture.md, "Connector liveness"): connector processes report
 * themselves while idle, every replica sees them, one that stops gracefully is gone at once, and
 * a QUEUED run that no connector of its kind can take fails with NO_CONNECTOR after
 * SYNC_NO_CONNECTOR_SECONDS instead of the run timeout. The sync service runs on a fake clock;
 * connectors are played by the test (heartbeats) or are a real kit worker.
 */
const SECOND = 1000;
const GRACE = 20;
const SYNC_ALL = `mutation($id: ID!) { syncAll(directoryId: $id) { id status } }`;
const SYNC_USER = `mutation($id: ID!, $u: String!) { syncUser(directoryId: $id, username: $u) {
  outcome run { id status errorCode errorMessage } } }`;
const RUN = `query($id: ID!) { run(id: $id) { id status errorCode errorMessage
  connector { kind instance } } }`;
const CONNECTORS = `query($kind: String) { connectors(kind: $kind) { kind instance version startedAt
  firstSeenAt lastSeenAt heartbeatSeconds state runIds } }`;
const DIRECTORY_CONNECTOR = `query($id: ID!) { directory(id: $id) { connector { kind alive
  lastSeenAt instances { instance state } } } }`;

interface ConnectorView {
  kind: string;
  instance: string;
  version: string | null;
  startedAt: string | null;
  firstSeenAt: string;
  lastSeenAt: string;
  heartbeatSeconds: number;
  state: 'ALIVE' | 'STALE';
  runIds: string[];
}

const h = new Harness();
const clock = new FakeClock();
let sync: SyncService;

beforeAll(async () => {
  await h.setup();
  // The run timeout and the connector-lost check are far away: what fails runs here is presence.
  sync = await h.start(
    { noConnectorSeconds: GRACE, runTimeoutSeconds: 3600, connectorLostSeconds: 3600 },
    clock.now,
  );
});
afterAll(() => h.teardown());

const run = async (id: string, url = sync.url) =>
  (
    await gqlOk<{
      run: { id: string; status: string; errorCode: string | null; errorMessage: string | null };
    }>(url, RUN, { id })
  ).run;
const connectors = async (kind?: string, url = sync.url) =>
  (await gqlOk<{ connectors: ConnectorView[] }>(url, CONNECTORS, { kind: kind ?? null }))
    .connectors;
const directoryConnector = async (id: string) =>
  (
    await gqlOk<{
      directory: {
        connector: {
          kind: string;
          alive: boolean;
          lastSeenAt: string | null;
          instances: { instance: string; state: string }[];
        };
      };
    }>(sync.url, DIRECTORY_CONNECTOR, { id })
  ).directory.connector;

/** Play an idle connector process: a heartbeat with presence fields and no run. */
async function presence(
  instanceId: string,
  opts: { kind?: string; stopping?: boolean; startedAtMs?: number } = {},
): Promise<void> {
  const kind = opts.kind ?? 'ldap';
  const message = create(ConnectorHeartbeatSchema, {
    connectorKind: kind,
    instanceId,
    sentAtMs: BigInt(Date.now()),
    startedAtMs: BigInt(opts.startedAtMs ?? Date.parse('2029-12-31T23:00:00Z')),
    version: '1.2.3',
    intervalMs: 5_000,
    stopping: opts.stopping ?? false,
  });
  const reply = await h.nc.request(
    subject(Subject.HEARTBEATS, { connector_kind: kind }, h.ns),
    toBinary(ConnectorHeartbeatSchema, message),
    { timeout: 5_000 },
  );
  fromBinary(ConnectorHeartbeatReplySchema, reply.data);
}

describe('connector presence', () => {
  it('lists an idle connector, marks it STALE after three missed intervals, and forgets a stopping one at once', async () => {
    const dir = await createDirectory(sync.url);
    expect(await directoryConnector(dir.id)).toEqual({
      kind: 'ldap',
      alive: false,
      lastSeenAt: null,
      instances: [],
    });
    await presence('idle-1:100:aaa');
    expect(await connectors('ldap')).toEqual([
      {
        kind: 'ldap',
        instance: 'idle-1:100:aaa',
        version: '1.2.3',
        startedAt: '2029-12-31T23:00:00.000Z',
        firstSeenAt: clock.now().toISOString(),
        lastSeenAt: clock.now().toISOString(),
        heartbeatSeconds: 5,
        state: 'ALIVE',
        runIds: [],
      },
    ]);
    expect(await directoryConnector(dir.id)).toMatchObject({ alive: true });

    clock.advance(14 * SECOND);
    expect((await connectors('ldap'))[0]?.state).toBe('ALIVE');
    clock.advance(2 * SECOND); // 16 s > 3 × 5 s without a heartbeat
    expect((await connectors('ldap'))[0]).toMatchObject({
      instance: 'idle-1:100:aaa',
      state: 'STALE',
    });
    expect(await directoryConnector(dir.id)).toMatchObject({
      alive: false,
      instances: [{ instance: 'idle-1:100:aaa', state: 'STALE' }],
    });
    // It reports in again: ALIVE, first seen unchanged.
    const firstSeen = (await connectors('ldap'))[0]!.firstSeenAt;
    await presence('idle-1:100:aaa');
    expect((await connectors('ldap'))[0]).toMatchObject({ state: 'ALIVE', firstSeenAt: firstSeen });

    // A graceful stop: gone at once, not after going stale.
    await presence('idle-1:100:aaa', { stopping: true });
    expect(await connectors('ldap')).toEqual([]);
    expect(await directoryConnector(dir.id)).toMatchObject({ alive: false, instances: [] });

    // Never heard of again for an hour: forgotten.
    await presence('gone-1:1:x', { kind: 'entra' });
    clock.advance(3601 * SECOND);
    await sync.sweepNoConnector();
    expect(await connectors('entra')).toEqual([]);
    expect(await h.sql(`select * from sync.connectors where instance = 'gone-1:1:x'`)).toEqual([]);
  });

  it('is needed by READ only, like the other read queries', async () => {
    const r = await gql<{ connectors: unknown[] }>(
      sync.url,
      '{ connectors { kind } }',
      {},
      'READ_ONLY',
    );
    expect(r.errors).toBeUndefined();
    expect(r.data?.connectors).toEqual(expect.any(Array));
  });
});

describe('a run no connector can take', () => {
  it('keeps waiting while a connector of its kind reports in (busy), then fails NO_CONNECTOR once none has for the grace', async () => {
    const dir = await createDirectory(sync.url);
    const { syncAll } = await gqlOk<{ syncAll: { id: string } }>(sync.url, SYNC_ALL, {
      id: dir.id,
    });
    // A connector of the kind is alive but busy elsewhere: the job waits behind other runs.
    for (let i = 0; i < 6; i++) {
      await presence('busy-1:200:bbb');
      clock.advance(5 * SECOND);
      expect(await sync.sweepNoConnector()).toEqual([]);
    }
    expect((await run(syncAll.id)).status).toBe('QUEUED'); // 30 s queued, grace 20 s
    // It falls silent (crashed): NO_CONNECTOR once nothing has reported in for the grace.
    clock.advance((GRACE - 6) * SECOND); // 19 s since its last heartbeat
    expect(await sync.sweepNoConnector()).toEqual([]);
    clock.advance(2 * SECOND);
    // (The replica's own timer sweeps on the same clock and may be first.)
    await sync.sweepNoConnector();
    const failed = await waitFor(
      async () => {
        const v = await run(syncAll.id);
        return v.status === 'FAILED' ? v : undefined;
      },
      { message: 'the run failed' },
    );
    expect(failed).toMatchObject({ status: 'FAILED', errorCode: 'NO_CONNECTOR' });
    expect(failed.errorMessage).toContain(
      `no connector-ldap process has reported in the last ${GRACE} s`,
    );
    expect(failed.errorMessage).toContain('start services/connector-ldap');
    expect(failed.errorMessage).toContain('nobody was removed');
    const metrics = await (await fetch(new URL('/metrics', sync.url))).text();
    expect(metrics).toMatch(/dirsync_runs_finished_total\{[^}]*error_code="NO_CONNECTOR"/);
    // A late config request for it (a connector that took its job anyway) is refused.
    const reply = await h.requestConfig(dir.id, syncAll.id);
    expect(reply.result.case).toBe('error');
    expect(reply.result.case === 'error' && reply.result.value.code).toBe(ErrorCode.NO_CONNECTOR);
  });

  it('answers syncUser at once with FAILED / NO_CONNECTOR instead of waiting', async () => {
    const dir = await createDirectory(sync.url);
    clock.advance((GRACE + 1) * SECOND); // every ldap connector heard of is silent for the grace
    const started = Date.now();
    const { syncUser } = await gqlOk<{
      syncUser: {
        outcome: string;
        run: { status: string; errorCode: string; errorMessage: string };
      };
    }>(sync.url, SYNC_USER, { id: dir.id, u: 'ada' });
    expect(syncUser.outcome).toBe('FAILED');
    expect(syncUser.run).toMatchObject({ status: 'FAILED', errorCode: 'NO_CONNECTOR' });
    expect(syncUser.run.errorMessage).toContain('no connector-ldap process');
    // Not the syncUser timeout (30 s here).
    expect(Date.now() - started).toBeLessThan(15 * SECOND);
  });
});

describe('a real connector worker', () => {
  const ran: string[] = [];
  const fake: SourceConnector<unknown> = {
    kind: 'ldap',
    settingsSchema: z.unknown(),
    modes: [SyncMode.FULL, SyncMode.USER],
    async run(ctx) {
      ran.push(ctx.job.runId);
      await ctx.sink.user({ externalId: 'u1', username: 'ada' });
      return {};
    },
  };
  let worker: ConnectorWorker | undefined;
  afterAll(async () => {
    await worker?.stop();
  });

  it('coming up within the grace takes the queued job and runs it; jobs of NO_CONNECTOR runs are dropped', async () => {
    // Earlier tests left jobs of runs that failed NO_CONNECTOR in the queue.
    const failedRuns = await h.sql<{ id: string }>(
      `select id from sync.runs where error_code = 'NO_CONNECTOR'`,
    );
    expect(failedRuns.length).toBeGreaterThanOrEqual(2);
    const dir = await createDirectory(sync.url);
    const { syncAll } = await gqlOk<{ syncAll: { id: string } }>(sync.url, SYNC_ALL, {
      id: dir.id,
    });
    clock.advance((GRACE - 5) * SECOND); // within the grace

    worker = createConnectorWorker({
      connector: fake,
      nc: h.nc,
      namespace: h.ns,
      logger: createLogger('connector-ldap', 'silent'),
      heartbeatIntervalMs: 200,
      version: '0.0.1-test',
    });
    await worker.start();
    const instance = worker.instanceId;
    // Its presence, idle or not.
    await waitFor(async () => (await connectors('ldap')).some((c) => c.instance === instance), {
      message: 'the worker is listed',
    });
    const picked = await waitFor(
      async () => {
        const v = await gqlOk<{
          run: { status: string; connector: { instance: string } | null };
        }>(sync.url, RUN, { id: syncAll.id });
        return v.run.connector?.instance === instance ? v.run : undefined;
      },
      { message: 'the worker picked the run up' },
    );
    expect(picked.status).toBe('RUNNING');
    // It published the run's events to its end.
    const jsm = await h.nc.jetstreamManager();
    await waitFor(
      async () => {
        const last = await jsm.streams
          .getMessage(streamName(Stream.EVENTS, h.ns).name, {
            last_by_subj: subject(Subject.EVENTS, { directory_id: dir.id }, h.ns),
          })
          .catch(() => undefined);
        return last && fromBinary(DirectoryEventSchema, last.data).body.case === 'runCompleted';
      },
      { message: 'RunCompleted published' },
    );
    // Every queued job was taken: the ended runs' jobs were dropped without reading.
    await waitFor(
      async () => {
        const info = await jsm.consumers.info(h.jobsStream(), 'connector-ldap');
        return info.num_pending === 0 && info.num_ack_pending === 0;
      },
      { message: 'the job queue is empty' },
    );
    expect(ran).toEqual([syncAll.id]);
    for (const r of failedRuns) expect((await run(r.id)).status).toBe('FAILED');
    const events = await jsm.streams.info(streamName(Stream.EVENTS, h.ns).name, {
      subjects_filter: '>',
    });
    const subjects = Object.keys(events.state.subjects ?? {});
    expect(subjects).toEqual([subject(Subject.EVENTS, { directory_id: dir.id }, h.ns)]);

    // Past the grace the picked-up run is not failed; identity's update completes it.
    clock.advance((GRACE + 5) * SECOND);
    expect(await sync.sweepNoConnector()).toEqual([]);
    await h.publishUpdate({
      runId: syncAll.id,
      directoryId: dir.id,
      seq: 1,
      status: RunStatus.COMPLETED,
    });
    await waitFor(async () => (await run(syncAll.id)).status === 'COMPLETED', {
      message: 'the run completed',
    });
    // Idle again: listed ALIVE with no run, its version and start.
    await waitFor(
      async () => {
        const c = (await connectors('ldap')).find((x) => x.instance === instance);
        return c?.state === 'ALIVE' && c.runIds.length === 0;
      },
      { message: 'the idle worker is ALIVE' },
    );
    expect((await connectors('ldap')).find((x) => x.instance === instance)).toMatchObject({
      version: '0.0.1-test',
      startedAt: expect.any(String),
    });
  });

  it('is gone from the list at once when it stops gracefully', async () => {
    const instance = worker!.instanceId;
    await worker!.stop();
    worker = undefined;
    await waitFor(async () => !(await connectors('ldap')).some((c) => c.instance === instance), {
      message: 'the stopped worker is not listed',
    });
  });
});

describe('two sync replicas', () => {
  it('agree on which connectors are present, whichever recorded the heartbeat', async () => {
    const other = await h.start(
      { noConnectorSeconds: GRACE, runTimeoutSeconds: 3600, connectorLostSeconds: 3600 },
      clock.now,
    );
    // Heartbeats go to one replica of the queue group each.
    for (let i = 0; i < 6; i++) await presence(`replica-test-${i}:1:r`, { kind: 'entra' });
    const a = await connectors('entra');
    expect(a.map((c) => c.instance).sort()).toEqual(
      [0, 1, 2, 3, 4, 5].map((i) => `replica-test-${i}:1:r`),
    );
    expect(await connectors('entra', other.url)).toEqual(a);
    // A run started on one replica is failed NO_CONNECTOR by the other's sweep just the same.
    const dir = await createDirectory(sync.url);
    const { syncAll } = await gqlOk<{ syncAll: { id: string } }>(sync.url, SYNC_ALL, {
      id: dir.id,
    });
    clock.advance((GRACE + 1) * SECOND);
    await other.sweepNoConnector();
    await waitFor(async () => (await run(syncAll.id, other.url)).status === 'FAILED', {
      message: 'the run failed',
    });
    expect(await run(syncAll.id)).toMatchObject({ status: 'FAILED', errorCode: 'NO_CONNECTOR' });
  });
});
