// The connector side of liveness (proto liveness.proto) against real NATS: the test answers
// heartbeats in place of the sync service.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ConnectorHeartbeatReplySchema,
  ConnectorHeartbeatSchema,
  ErrorCode,
  RunPhase,
  Subject,
  SyncMode,
  create,
  errorCodeName,
  fromBinary,
  subject,
  toBinary,
  type ConnectorHeartbeat,
} from '@dirsync/proto';
import { randomUUID } from 'node:crypto';
import { connect, type Subscription } from 'nats';
import { startConnectorHarness, type ConnectorHarness } from '../conformance/harness.js';
import type { RunContext, SourceConnector } from './types.js';

type Script = (ctx: RunContext<unknown>) => Promise<void>;
const scripts = new Map<string, Script>();
const beating: SourceConnector<unknown> = {
  kind: 'beating',
  settingsSchema: z.unknown(),
  modes: [SyncMode.FULL],
  async run(ctx) {
    await scripts.get(ctx.directory.directoryId)?.(ctx);
    return {};
  },
};

let n = 0;
function directory(h: ConnectorHarness, script: Script): string {
  const id = `hb${++n}`;
  scripts.set(id, script);
  h.setConfig(id, { settings: {} });
  return id;
}

/** Resolves once `predicate` holds for a heartbeat received (checked on every new one). */
function until(seen: ConnectorHeartbeat[], predicate: (hb: ConnectorHeartbeat[]) => boolean) {
  return new Promise<void>((resolve) => {
    const t = setInterval(() => {
      if (predicate(seen)) {
        clearInterval(t);
        resolve();
      }
    }, 10);
  });
}

describe('connector heartbeats', () => {
  let h: ConnectorHarness;
  let sub: Subscription;
  const seen: ConnectorHeartbeat[] = [];
  /** Run ids the "sync service" answers as ended, from the given heartbeat number on. */
  const ended = new Map<string, number>();

  beforeAll(async () => {
    h = await startConnectorHarness({
      connector: beating,
      heartbeatIntervalMs: 100,
      instanceId: 'test-host:1:abc',
    });
    sub = h.nc.subscribe(subject(Subject.HEARTBEATS, { connector_kind: 'beating' }, h.namespace), {
      callback: (_err, msg) => {
        const hb = fromBinary(ConnectorHeartbeatSchema, msg.data);
        seen.push(hb);
        const count = (runId: string) =>
          seen.filter((x) => x.runs.some((r) => r.runId === runId)).length;
        const endedRunIds = hb.runs
          .map((r) => r.runId)
          .filter((id) => ended.has(id) && count(id) >= ended.get(id)!);
        msg.respond(
          toBinary(
            ConnectorHeartbeatReplySchema,
            create(ConnectorHeartbeatReplySchema, { endedRunIds }),
          ),
        );
      },
    });
  });

  afterAll(async () => {
    sub?.unsubscribe();
    await h?.close();
  });

  const phasesOf = (runId: string) =>
    seen.flatMap((hb) => hb.runs.filter((r) => r.runId === runId).map((r) => r.phase));

  it('reports a run at pickup, every interval while it reads, then PUBLISHED once', async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const dir = directory(h, async ({ sink }) => {
      await sink.user({ externalId: 'u1', username: 'u1' });
      await released;
    });
    const runId = await h.publishJob({ directoryId: dir });
    // Several READING heartbeats while the connector is busy reading.
    await until(seen, () => phasesOf(runId).filter((p) => p === RunPhase.READING).length >= 3);
    release();
    const outcome = await h.waitForRun(runId);
    expect(outcome.status).toBe('completed');
    await until(seen, () => phasesOf(runId).includes(RunPhase.PUBLISHED));

    const first = seen.find((hb) => hb.runs.some((r) => r.runId === runId))!;
    expect(first).toMatchObject({ connectorKind: 'beating', instanceId: 'test-host:1:abc' });
    expect(first.runs[0]).toMatchObject({ directoryId: dir, phase: RunPhase.READING });
    const published = seen
      .flatMap((hb) => hb.runs)
      .find((r) => r.runId === runId && r.phase === RunPhase.PUBLISHED)!;
    expect(published.publishedSeq).toBe(outcome.lastSeq);
    // Once answered, the run is not reported again: the next run's last report (the check
    // before its RunCompleted) names only that run.
    const other = directory(h, async () => undefined);
    const next = await h.run({ directoryId: other });
    const lastOfNext = seen
      .filter((hb) => hb.runs.some((r) => r.runId === next.runId && r.phase === RunPhase.READING))
      .at(-1)!;
    expect(lastOfNext.runs.map((r) => r.runId)).toEqual([next.runId]);
  });

  it('drops a job whose run has already ended, before publishing anything', async () => {
    const dead = directory(h, async () => {
      throw new Error('must not run');
    });
    const deadRun = '01111111-2222-4333-8444-555555555555';
    ended.set(deadRun, 1); // e.g. it timed out while it waited in the queue
    await h.publishJob({ directoryId: dead, runId: deadRun });
    // Jobs are taken one at a time: once the next job's run is over, the first was handled.
    const next = directory(h, async () => undefined);
    const r = await h.run({ directoryId: next });
    expect(phasesOf(deadRun)).toEqual([RunPhase.READING]);
    expect(r.outcome.status).toBe('completed');
    expect(await h.readEvents(dead)).toEqual([]);
  });

  it('stops a run the sync service reports ended while it reads, with RunFailed', async () => {
    const dir = directory(h, async ({ signal }) => {
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
    });
    const runId = '11111111-2222-4333-8444-555555555555';
    ended.set(runId, 3); // active at pickup, ended two heartbeats later
    const r = await h.run({ directoryId: dir, runId });
    expect(r.completed).toBeUndefined();
    expect(errorCodeName(r.failed?.error?.code ?? ErrorCode.UNSPECIFIED)).toBe('INTERNAL');
    expect(r.failed?.error?.message).toContain('already ended this run');
  });

  it('does not complete a run the sync service ended meanwhile: RunFailed instead', async () => {
    const dir = directory(h, async ({ sink }) => {
      await sink.user({ externalId: 'u1', username: 'u1' });
    });
    const runId = '21111111-2222-4333-8444-555555555555';
    ended.set(runId, 2); // the check before RunCompleted is its second report
    const r = await h.run({ directoryId: dir, runId });
    expect(r.completed).toBeUndefined();
    expect(r.failed?.error?.message).toContain('already ended this run');
  });
});

describe('connector presence', () => {
  it('reports itself while idle, with its start, version and interval, and says stopping last', async () => {
    const seen: ConnectorHeartbeat[] = [];
    let h: ConnectorHarness | undefined;
    const kind = 'idle';
    const idle: SourceConnector<unknown> = { ...beating, kind };
    // Subscribed before the worker starts: its very first heartbeat is its presence.
    const ns = `hbp${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const nc = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' });
    const sub = nc.subscribe(subject(Subject.HEARTBEATS, { connector_kind: kind }, ns), {
      callback: (_err, msg) => {
        seen.push(fromBinary(ConnectorHeartbeatSchema, msg.data));
        msg.respond(
          toBinary(ConnectorHeartbeatReplySchema, create(ConnectorHeartbeatReplySchema, {})),
        );
      },
    });
    try {
      const before = Date.now();
      h = await startConnectorHarness({
        connector: idle,
        namespace: ns,
        heartbeatIntervalMs: 100,
        instanceId: 'idle-host:2:def',
        version: '9.8.7',
      });
      // No job at all: it still reports, every interval.
      await until(seen, (hbs) => hbs.length >= 3);
      for (const hb of seen.slice(0, 3)) {
        expect(hb).toMatchObject({
          connectorKind: kind,
          instanceId: 'idle-host:2:def',
          version: '9.8.7',
          intervalMs: 100,
          stopping: false,
          runs: [],
        });
        expect(Number(hb.startedAtMs)).toBeGreaterThanOrEqual(before);
        expect(Number(hb.startedAtMs)).toBeLessThanOrEqual(Date.now());
      }
      await h.close();
      h = undefined;
      // The last one says it is stopping, so the sync service forgets it at once.
      expect(seen.at(-1)).toMatchObject({ instanceId: 'idle-host:2:def', stopping: true });
      expect(seen.filter((hb) => hb.stopping)).toHaveLength(1);
    } finally {
      await h?.close();
      sub.unsubscribe();
      await nc.close();
    }
  });
});
