// The whole identity service on a private NATS server that this file stops and starts (never the
// shared one): operators keep changing users while NATS is down — the GraphQL API only needs
// Postgres — and every change's lifecycle event is published once, in order, when NATS is back.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  LifecycleEventsSchema,
  Stream,
  entityToken,
  fromBinary,
  streamName,
  transitionToken,
  type LifecycleEvent,
} from '@dirsync/proto';
import { freePort, waitFor } from '@dirsync/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, startHarness, type Harness } from './harness.js';
import { PrivateNats } from './private-nats.js';

let nats: PrivateNats;
let storeDir: string;
let h: Harness;

beforeAll(async () => {
  storeDir = await mkdtemp(join(tmpdir(), 'identity-outage-nats-'));
  nats = new PrivateNats(await freePort(), storeDir);
  await nats.start();
  h = await startHarness({ natsUrl: nats.url, outboxPollMs: 100 });
});

afterAll(async () => {
  // Up again (a no-op when it is) so that the harness can delete its streams.
  await nats?.start().catch(() => undefined);
  await h?.close();
  await nats?.stop();
  if (storeDir) await rm(storeDir, { recursive: true, force: true });
});

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

async function ok<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const r = await gql<T>(h.service.url, query, variables, 'OWNER');
  expect(r.errors).toBeUndefined();
  return r.data!;
}

describe('NATS down while identity commits', () => {
  it('keeps every event and publishes each once, in order, when NATS is back', async () => {
    await nats.stop();
    const { createUser } = await ok<{ createUser: { id: string } }>(
      `mutation { createUser(input: { username: "olga", email: "olga@example.org" }) { id } }`,
    );
    const id = createUser.id;
    await ok(`mutation($id: ID!) { updateUser(id: $id, input: { disabled: true }) { id } }`, {
      id,
    });
    await ok(`mutation($id: ID!) { updateUser(id: $id, input: { disabled: false }) { id } }`, {
      id,
    });
    await ok(`mutation { createAdmin(input: { email: "olga@example.org", role: OWNER }) { id } }`);
    await ok(`mutation($id: ID!) { deleteUser(id: $id) }`, { id });
    // Committed; nothing published: the rows wait in the outbox.
    expect(await h.service.outbox.pending()).toBe(5);

    await nats.start();
    await waitFor(async () => (await h.service.outbox.pending()) === 0, {
      timeoutMs: 30_000,
      message: 'outbox drained after NATS came back',
    });
    const all = await events();
    expect(all.map((e) => `${entityToken(e.entity)} ${transitionToken(e.transition)}`)).toEqual([
      'user created',
      'user disabled',
      'user enabled',
      'admin created',
      'user purged',
    ]);
    expect(all.filter((e) => e.subject.case === 'user').map((e) => e.eventId)).toEqual([
      `user:${id}:1:created`,
      `user:${id}:2:disabled`,
      `user:${id}:3:enabled`,
      `user:${id}:4:purged`,
    ]);
    // Drained again (a relay that lost its marks): the server drops every re-publish.
    await h.db.sql.exec('update outbox set published_at = null');
    await h.service.outbox.drain();
    expect((await events()).map((e) => e.eventId)).toEqual(all.map((e) => e.eventId));
  });
});
