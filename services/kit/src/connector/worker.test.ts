// The worker's own behaviour, with scriptable in-test connectors against real NATS: graceful
// stop, abort after the grace period, error translation, secret scrubbing, the kit's
// normalisation and message size limits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ErrorCode,
  FullReadReason,
  RemovalReason,
  Stream,
  SyncMode,
  errorCodeName,
  streamName,
} from '@dirsync/proto';
import { DirsyncError } from '../errors.js';
import {
  startConnectorHarness,
  type CollectedRun,
  type ConnectorHarness,
} from '../conformance/harness.js';
import { MAX_ALIASES } from './normalize.js';
import { CursorRejectedError, type RunContext, type SourceConnector } from './types.js';

type Script = (ctx: RunContext<unknown>) => Promise<{ cursor?: string } | void>;

const PASSWORD = 'S3cret-Password-42';
const scripts = new Map<string, Script>();
const scripted: SourceConnector<unknown> = {
  kind: 'scripted',
  settingsSchema: z.unknown(),
  modes: [SyncMode.FULL, SyncMode.USER],
  offersDelta: true,
  async run(ctx) {
    const script = scripts.get(ctx.directory.directoryId);
    if (!script) throw new Error(`no script for ${ctx.directory.directoryId}`);
    return (await script(ctx)) ?? {};
  },
};

let n = 0;
function directory(script: Script): string {
  const id = `d${++n}`;
  scripts.set(id, script);
  return id;
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const codeOf = (run: CollectedRun) =>
  errorCodeName(run.failed?.error?.code ?? ErrorCode.UNSPECIFIED);
const user = (i: number, extra: Record<string, unknown> = {}) => ({
  externalId: `id-${i}`,
  username: `user${i}`,
  sourceLocator: `uid=user${i}`,
  ...extra,
});

describe('connector worker', () => {
  let h: ConnectorHarness;

  beforeAll(async () => {
    h = await startConnectorHarness({ connector: scripted, batchSize: 10, stopGraceMs: 300 });
  });

  afterAll(async () => {
    await h?.close();
  });

  const run = async (
    script: Script,
    job: { mode?: SyncMode; username?: string } = {},
    cursor = '',
  ) => {
    const id = directory(script);
    h.setConfig(id, {
      settings: {},
      secrets: { password: PASSWORD },
      defaultRegion: 'US',
      cursor,
    });
    return h.run({ directoryId: id, ...job });
  };
  const delta = (script: Script, cursor = 'stored-cursor') =>
    run(script, { mode: SyncMode.DELTA }, cursor);

  it('returns the connector cursor in RunCompleted', async () => {
    const r = await run(async () => ({ cursor: 'csn-42' }));
    expect(r.completed?.cursor).toBe('csn-42');
    expect(r.events.map((e) => e.body.case)).toEqual(['runStarted', 'runCompleted']);
  });

  it('fails a run with the code of a DirsyncError, scrubbing secrets from its message', async () => {
    const r = await run(async () => {
      throw new DirsyncError(ErrorCode.SOURCE_ERROR, `server said: bad password ${PASSWORD}`);
    });
    expect(codeOf(r)).toBe('SOURCE_ERROR');
    expect(r.failed?.error?.message).toBe('server said: bad password [redacted]');
  });

  it('fails an unexpected error as INTERNAL without its (possibly sensitive) text', async () => {
    const r = await run(async () => {
      throw new TypeError(`cannot read property of undefined near ${PASSWORD}`);
    });
    expect(codeOf(r)).toBe('INTERNAL');
    expect(r.failed?.error?.message).not.toContain('cannot read');
    expect(r.failed?.error?.message).not.toContain(PASSWORD);
  });

  it('publishes the observations read before a failure, then RunFailed last', async () => {
    const r = await run(async ({ sink }) => {
      for (let i = 0; i < 25; i++) await sink.user(user(i));
      throw new DirsyncError(ErrorCode.SOURCE_UNAVAILABLE, 'connection lost');
    });
    expect(r.users).toHaveLength(25);
    expect(r.events.at(-1)?.body.case).toBe('runFailed');
    expect(r.events.map((e) => e.seq)).toEqual(r.events.map((_e, i) => i + 1));
  });

  it('refuses a mode the connector does not support', async () => {
    const r = await run(async () => undefined, { mode: SyncMode.ADMIN });
    expect(codeOf(r)).toBe('CONFIG_INVALID');
    expect(r.failed?.error?.message).toContain('ADMIN');
  });

  it('drops empty values, trims, de-duplicates aliases and limits them', async () => {
    const aliases = [
      ' a0 ',
      'A0',
      'user1',
      '',
      ...Array.from({ length: MAX_ALIASES + 2 }, (_v, i) => `a${i}`),
    ];
    const r = await run(async ({ sink }) => {
      await sink.user(
        user(1, {
          aliases,
          email: '  ',
          firstName: ' Ann ',
          customAttributes: { x: '', y: ' v ' },
        }),
      );
    });
    const u = r.users[0];
    expect(u?.aliases).toEqual(Array.from({ length: MAX_ALIASES }, (_v, i) => `a${i}`));
    expect(u?.email).toBe('');
    expect(u?.firstName).toBe('Ann');
    expect(u?.customAttributes).toEqual({ y: 'v' });
    expect(r.objectErrors.map((e) => errorCodeName(e.code))).toEqual(['LIMIT_EXCEEDED']);
  });

  it('reports duplicate usernames (case- and NFC-insensitive) and drops their memberships', async () => {
    const r = await run(async ({ sink }) => {
      await sink.user(user(1, { username: 'Jos\u00e9' }));
      await sink.user(user(2, { username: 'JOSE\u0301' }));
      await sink.user(user(1, { username: 'other' })); // same external id again: ignored
      await sink.members('g', ['id-1', 'id-2', 'id-1']);
    });
    expect(r.users.map((u) => u.externalId)).toEqual(['id-1']);
    expect(r.objectErrors.map((e) => [errorCodeName(e.code), e.externalId])).toEqual([
      ['DUPLICATE_USERNAME', 'id-2'],
    ]);
    expect([...(r.memberships.get('g') ?? [])]).toEqual(['id-1']);
  });

  it('in USER mode observes only the requested user, whatever the connector hands over', async () => {
    const r = await run(
      async ({ sink }) => {
        await sink.user(user(1, { username: 'alice' }));
        await sink.user(user(2, { username: 'ALICE ' }));
        await sink.user(user(3, { username: 'bob' }));
      },
      { mode: SyncMode.USER, username: 'Alice' },
    );
    expect(r.users.map((u) => u.externalId)).toEqual(['id-1']);
  });

  describe('DELTA jobs', () => {
    it('reads from the stored cursor in DELTA mode', async () => {
      const seen: [SyncMode, string][] = [];
      const r = await delta(async (ctx) => {
        seen.push([ctx.mode, ctx.directory.cursor]);
        ctx.countEntriesRead?.(2);
        return { cursor: 'next' };
      });
      expect(seen).toEqual([[SyncMode.DELTA, 'stored-cursor']]);
      expect(r.completed).toMatchObject({
        readMode: SyncMode.DELTA,
        fullReadReason: FullReadReason.UNSPECIFIED,
        entriesRead: 2,
        cursor: 'next',
      });
    });

    it('without a stored cursor reads in full (NO_CURSOR)', async () => {
      const seen: [SyncMode, string][] = [];
      const r = await delta(async (ctx) => {
        seen.push([ctx.mode, ctx.directory.cursor]);
        return { cursor: 'first' };
      }, ' ');
      expect(seen).toEqual([[SyncMode.FULL, '']]);
      expect(r.started?.mode).toBe(SyncMode.DELTA);
      expect(r.completed).toMatchObject({
        readMode: SyncMode.FULL,
        fullReadReason: FullReadReason.NO_CURSOR,
        cursor: 'first',
      });
    });

    it('gives every read the stored cursor as storedCursor; `cursor` only to a DELTA read', async () => {
      const seen: [SyncMode, string, string][] = [];
      const record: Script = async (ctx) => {
        seen.push([ctx.mode, ctx.directory.cursor, ctx.directory.storedCursor]);
        if (ctx.mode === SyncMode.DELTA) throw new CursorRejectedError('no state for it');
        return { cursor: 'fresh' };
      };
      await delta(record);
      await run(record, { mode: SyncMode.FULL }, 'stored-cursor');
      expect(seen).toEqual([
        [SyncMode.DELTA, 'stored-cursor', 'stored-cursor'],
        [SyncMode.FULL, '', 'stored-cursor'],
        [SyncMode.FULL, '', 'stored-cursor'],
      ]);
    });

    it('falls back to a full read in the same run when the connector rejects the cursor', async () => {
      const modes: SyncMode[] = [];
      const r = await delta(async ({ mode, sink, countEntriesRead }) => {
        modes.push(mode);
        countEntriesRead?.(3);
        await sink.user(user(1));
        if (mode === SyncMode.DELTA) throw new CursorRejectedError('the change log was trimmed');
        await sink.user(user(2));
        return { cursor: 'fresh' };
      });
      expect(modes).toEqual([SyncMode.DELTA, SyncMode.FULL]);
      expect(r.outcome.status).toBe('completed');
      expect(r.users.map((u) => u.externalId)).toEqual(['id-1', 'id-2']);
      expect(r.completed).toMatchObject({
        readMode: SyncMode.FULL,
        fullReadReason: FullReadReason.CURSOR_REJECTED,
        entriesRead: 6,
        cursor: 'fresh',
        usersObserved: 2,
      });
      expect(r.events.map((e) => e.seq)).toEqual(r.events.map((_e, i) => i + 1));
      expect(r.events.filter((e) => e.body.case === 'runStarted')).toHaveLength(1);
    });

    it('falls back once: a rejection during the full read fails the run', async () => {
      const r = await delta(async () => {
        throw new CursorRejectedError('always');
      });
      expect(codeOf(r)).toBe('CURSOR_REJECTED');
      expect(r.completed).toBeUndefined();
    });

    it('batches removals and membership deltas; an observation beats a removal', async () => {
      const r = await delta(async ({ sink }) => {
        await sink.user(user(1));
        await sink.removeUser({ externalId: 'id-1', reason: 'outOfScope' });
        for (let i = 2; i < 26; i++) {
          await sink.removeUser({
            externalId: `id-${i}`,
            reason: i % 2 ? 'deleted' : 'outOfScope',
          });
        }
        await sink.removeUser({ externalId: 'id-2', reason: 'deleted' }); // twice: once
        await sink.removeGroup({ externalId: 'g-old', reason: 'deleted', sourceLocator: 'cn=old' });
        const many = Array.from({ length: 15 }, (_v, i) => `m-${i}`);
        await sink.membershipDelta('g', { added: many, removed: ['id-2', 'id-2'] });
        await sink.membershipDelta('g', { removed: ['m-0'] });
      });
      expect(r.outcome.status).toBe('completed');
      expect(r.userRemovals.map((x) => x.externalId)).toEqual(
        Array.from({ length: 24 }, (_v, i) => `id-${i + 2}`),
      );
      expect(r.userRemovals[0]?.reason).toBe(RemovalReason.OUT_OF_SCOPE);
      expect(r.userRemovals[1]?.reason).toBe(RemovalReason.DELETED);
      expect(r.groupRemovals.map((g) => [g.externalId, g.sourceLocator])).toEqual([
        ['g-old', 'cn=old'],
      ]);
      const g = r.membershipDeltas.get('g');
      expect([...(g?.added ?? [])]).toHaveLength(14);
      expect([...(g?.removed ?? [])].sort()).toEqual(['id-2', 'm-0']);
      for (const e of r.events) {
        const b = e.body;
        if (b.case === 'userRemovals') expect(b.value.users.length).toBeLessThanOrEqual(10);
        if (b.case === 'membershipDeltas') {
          const n = b.value.groups.reduce(
            (sum, c) => sum + c.addedUserExternalIds.length + c.removedUserExternalIds.length,
            0,
          );
          expect(n).toBeLessThanOrEqual(10);
        }
      }
      expect(r.completed).toMatchObject({ usersRemoved: 24, groupsRemoved: 1 });
    });

    it('drops added memberships of users it refused', async () => {
      const r = await delta(async ({ sink }) => {
        await sink.user(user(1, { username: '' }));
        await sink.membershipDelta('g', { added: ['id-1', 'id-7'] });
      });
      expect([...(r.membershipDeltas.get('g')?.added ?? [])]).toEqual(['id-7']);
    });

    it('fails the run when a user is both added to and removed from a group in one call', async () => {
      const r = await delta(async ({ sink }) => {
        await sink.membershipDelta('g', { added: ['a'], removed: ['a'] });
      });
      expect(codeOf(r)).toBe('INTERNAL');
    });

    it('refuses removals and deltas outside DELTA mode', async () => {
      const full = await run(async ({ sink }) => {
        await sink.removeUser({ externalId: 'x', reason: 'deleted' });
      });
      expect(codeOf(full)).toBe('INTERNAL');
      expect(full.userRemovals).toHaveLength(0);
      const noCursor = await delta(async ({ sink }) => {
        await sink.membershipDelta('g', { added: ['a'] });
      }, '');
      expect(codeOf(noCursor)).toBe('INTERNAL');
    });
  });

  it('splits messages by size as well as by count, staying under the broker limit', async () => {
    const big = 'x'.repeat(1000);
    const custom = Object.fromEntries(Array.from({ length: 30 }, (_v, i) => [`c${i}`, big]));
    const r = await run(async ({ sink }) => {
      for (let i = 0; i < 40; i++) await sink.user(user(i, { customAttributes: custom }));
    });
    expect(r.users).toHaveLength(40);
    const max = h.nc.info?.max_payload ?? 1024 * 1024;
    for (const p of r.payloads) expect(p.length).toBeLessThan(max);
    const userMessages = r.events.filter((e) => e.body.case === 'users');
    expect(userMessages.length).toBeGreaterThan(4); // 40 users, batch 10: size forced more
  });
});

describe('a connector without delta', () => {
  it('serves DELTA jobs with full reads (DELTA_UNSUPPORTED) and never passes the cursor', async () => {
    const seen: [SyncMode, string][] = [];
    const plain: SourceConnector<unknown> = {
      kind: 'plain',
      settingsSchema: z.unknown(),
      async run(ctx) {
        seen.push([ctx.mode, ctx.directory.cursor]);
        return {};
      },
    };
    const h = await startConnectorHarness({ connector: plain });
    try {
      h.setConfig('p1', { settings: {}, cursor: 'left-over' });
      const r = await h.run({ directoryId: 'p1', mode: SyncMode.DELTA });
      expect(seen).toEqual([[SyncMode.FULL, '']]);
      expect(r.completed).toMatchObject({
        readMode: SyncMode.FULL,
        fullReadReason: FullReadReason.DELTA_UNSUPPORTED,
        cursor: '',
      });
    } finally {
      await h.close();
    }
  });
});

describe('graceful stop', () => {
  it('lets the run in hand finish, then stops taking jobs', async () => {
    const h = await startConnectorHarness({ connector: scripted, stopGraceMs: 10_000 });
    try {
      const gate = deferred();
      const entered = deferred();
      const id = directory(async ({ sink }) => {
        entered.resolve();
        await gate.promise;
        await sink.user(user(1));
      });
      h.setConfig(id, { settings: {} });
      const runId = await h.publishJob({ directoryId: id });
      await entered.promise;
      const stopped = h.worker?.stop();
      gate.resolve();
      await stopped;
      const outcome = await h.waitForRun(runId, 5_000);
      expect(outcome.status).toBe('completed');
      expect(outcome.usersObserved).toBe(1);

      // A job published now stays queued for the next worker.
      const later = directory(async () => undefined);
      h.setConfig(later, { settings: {} });
      await h.publishJob({ directoryId: later });
      const jsm = await h.nc.jetstreamManager();
      const info = await jsm.streams.info(streamName(Stream.JOBS, h.namespace).name);
      expect(info.state.messages).toBe(1);
    } finally {
      await h.close();
    }
  });

  it('aborts a run that outlives the grace period and publishes RunFailed', async () => {
    const h = await startConnectorHarness({ connector: scripted, stopGraceMs: 200 });
    try {
      const entered = deferred();
      let sawAbort = false;
      const id = directory(async ({ signal, sink }) => {
        await sink.user(user(1));
        entered.resolve();
        signal.addEventListener('abort', () => (sawAbort = true));
        await new Promise(() => undefined); // a source that never answers
      });
      h.setConfig(id, { settings: {} });
      const runId = await h.publishJob({ directoryId: id });
      await entered.promise;
      await h.worker?.stop();
      const outcome = await h.waitForRun(runId, 5_000);
      expect(outcome.status).toBe('failed');
      expect(outcome.error?.code).toBe('INTERNAL');
      expect(sawAbort).toBe(true);
      const events = (await h.readEvents(id)).map((e) => e.event.body.case);
      expect(events).toEqual(['runStarted', 'users', 'runFailed']);
    } finally {
      await h.close();
    }
  });
});
