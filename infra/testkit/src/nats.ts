import { randomBytes } from 'node:crypto';
import type { NatsConnection } from 'nats';

/** The NATS server tests use: `DIRSYNC_TEST_NATS_URL` or nats://127.0.0.1:4222. */
export function natsUrl(): string {
  return process.env.DIRSYNC_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
}

/**
 * A fresh namespace for one test file: `t` + 8 hex chars. Pass it to the proto package's
 * `streamName(…, ns)` / `subject(…, ns)`, which prefix streams with `${ns}_` and subjects with
 * `${ns}.`, so files sharing a NATS server never see each other's messages.
 */
export function natsNamespace(): string {
  return `t${randomBytes(4).toString('hex')}`;
}

/**
 * Delete every JetStream stream whose name starts with `${ns}_` (the streams of one namespace)
 * and return their names. Refuses an empty namespace, which would match other deployments'
 * streams. Streams that vanish meanwhile are ignored.
 */
export async function deleteNamespaceStreams(nc: NatsConnection, ns: string): Promise<string[]> {
  if (!ns) throw new Error('deleteNamespaceStreams: empty namespace');
  const jsm = await nc.jetstreamManager();
  const names: string[] = [];
  for await (const name of jsm.streams.names()) {
    if (name.startsWith(`${ns}_`)) names.push(name);
  }
  const deleted: string[] = [];
  for (const name of names) {
    try {
      await jsm.streams.delete(name);
      deleted.push(name);
    } catch (err) {
      if (!/stream not found/i.test(String(err))) throw err;
    }
  }
  return deleted;
}
