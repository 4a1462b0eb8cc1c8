// Lifecycle events of operators' changes (GraphQL mutations): manual users and administrators.
// Each mutation is one transition, with the principal as `actor` and no run.
import {
  LifecycleEventsSchema,
  Stream,
  UserState,
  entityToken,
  fromBinary,
  streamName,
  transitionToken,
  type LifecycleEvent,
} from '@dirsync/proto';
import { waitFor } from '@dirsync/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fullRun, gql, runAndWait, startHarness, user, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.close());

async function events(): Promise<LifecycleEvent[]> {
  const jsm = await h.nc.jetstreamManager();
  const stream = streamName(Stream.LIFECYCLE, h.ns).name;
  const info = await jsm.streams.info(stream);
  const out: LifecycleEvent[] = [];
  for (let s = info.state.first_seq; s > 0 && s <= info.state.last_seq; s++) {
    const m = await jsm.streams.getMessage(stream, { seq: s });
    if (!m.subject.startsWith(`${h.ns}.dirsync.lifecycle.`)) continue;
    out.push(...fromBinary(LifecycleEventsSchema, m.data).events);
  }
  return out;
}

async function eventsFor(id: string, count: number): Promise<LifecycleEvent[]> {
  return waitFor(
    async () => {
      const mine = (await events()).filter(
        (e) => e.subject.value && 'id' in e.subject.value && e.subject.value.id === id,
      );
      return mine.length >= count ? mine : undefined;
    },
    { timeoutMs: 15_000, message: `${count} lifecycle events of ${id}` },
  );
}

async function ok<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const r = await gql<T>(h.service.url, query, variables, 'OWNER');
  expect(r.errors).toBeUndefined();
  return r.data!;
}

describe('operator changes are lifecycle events', () => {
  it('a manual user: created, updated, disabled, bypass, purged — each with its actor', async () => {
    const { createUser } = await ok<{ createUser: { id: string } }>(
      `mutation { createUser(input: { username: "nina", email: "nina@example.org" }) { id } }`,
    );
    const id = createUser.id;
    await ok(
      `mutation($id: ID!) { updateUser(id: $id, input: { email: "n@example.org" }) { id } }`,
      {
        id,
      },
    );
    await ok(`mutation($id: ID!) { updateUser(id: $id, input: { disabled: true }) { id } }`, {
      id,
    });
    await ok(`mutation($id: ID!) { setUserBypass(id: $id, bypass: true) { id } }`, { id });
    await ok(`mutation($id: ID!) { deleteUser(id: $id) }`, { id });

    const mine = await eventsFor(id, 5);
    expect(mine.map((e) => `${entityToken(e.entity)} ${transitionToken(e.transition)}`)).toEqual([
      'user created',
      'user updated',
      'user disabled',
      'user updated',
      'user purged',
    ]);
    expect(mine.map((e) => e.eventId)).toEqual([
      `user:${id}:1:created`,
      `user:${id}:2:updated`,
      `user:${id}:3:disabled`,
      `user:${id}:4:updated`,
      `user:${id}:5:purged`,
    ]);
    expect(mine.map((e) => e.changedFields)).toEqual([[], ['email'], ['status'], ['bypass'], []]);
    for (const e of mine) {
      expect(e.runId).toBe('');
      expect(e.directoryId).toBe('');
      expect(e.actor).not.toBe('');
    }
    const purged = mine[4]!.subject;
    expect(purged.case === 'user' && purged.value.state).toBe(UserState.PURGED);
    expect(purged.case === 'user' && purged.value.email).toBe('n@example.org');
  });

  it('a sync that claims a manual user: the same user updated, now in the directory', async () => {
    const { createUser } = await ok<{ createUser: { id: string } }>(
      `mutation { createUser(input: { username: "mia", email: "mia@example.org" }) { id } }`,
    );
    const run = fullRun('dir-claim', [user('m1', 'mia')]);
    await runAndWait(h, run);
    const mine = await eventsFor(createUser.id, 2);
    expect(mine.map((e) => e.eventId)).toEqual([
      `user:${createUser.id}:1:created`,
      `user:${createUser.id}:2:updated`,
    ]);
    expect(mine[1]!.changedFields).toContain('directoryId');
    expect(mine[1]!.directoryId).toBe('dir-claim');
    expect(mine[1]!.runId).toBe(run.runId);
  });

  it('a manual administrator: created, updated, purged', async () => {
    const { createAdmin } = await ok<{ createAdmin: { id: string } }>(
      `mutation { createAdmin(input: { email: "root@example.org", role: OWNER }) { id } }`,
    );
    const id = createAdmin.id;
    await ok(`mutation($id: ID!) { updateAdmin(id: $id, input: { role: BILLING }) { id } }`, {
      id,
    });
    await ok(`mutation($id: ID!) { deleteAdmin(id: $id) }`, { id });
    const mine = await eventsFor(id, 3);
    expect(mine.map((e) => e.eventId)).toEqual([
      `admin:${id}:1:created`,
      `admin:${id}:2:updated`,
      `admin:${id}:3:purged`,
    ]);
    expect(mine[1]!.changedFields).toEqual(['role']);
    expect(mine.every((e) => e.actor !== '')).toBe(true);
  });
});
