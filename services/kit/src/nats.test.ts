// serveRequests against real NATS: the request/reply loop sync's config and heartbeat responders
// and identity's run-decision responder share.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { connect, type NatsConnection } from 'nats';
import { serveRequests } from './nats.js';
import { createLogger } from './logger.js';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const enc = new TextEncoder();
const dec = new TextDecoder();

describe('#serveRequests()', () => {
  let nc: NatsConnection;
  const logger = createLogger('nats-test', 'silent');

  beforeAll(async () => {
    nc = await connect({ servers: NATS_URL });
  });
  afterAll(async () => {
    await nc.close();
  });

  it('answers each request, a failure with onError’s reply, and silence when there is none', async () => {
    const subj = `test.responder.${randomUUID()}`;
    const responder = serveRequests({
      nc,
      subject: `${subj}.*`,
      queue: 'q',
      logger,
      what: 'test request',
      answer: async (msg) => {
        const word = dec.decode(msg.data);
        if (word === 'boom') throw new Error('boom');
        if (word === 'quiet') return undefined;
        return enc.encode(word.toUpperCase());
      },
      onError: (_err, msg) => enc.encode(`failed ${msg.subject.split('.').pop()}`),
    });
    try {
      const ok = await nc.request(`${subj}.a`, enc.encode('hello'), { timeout: 2000 });
      expect(dec.decode(ok.data)).toBe('HELLO');
      const failed = await nc.request(`${subj}.b`, enc.encode('boom'), { timeout: 2000 });
      expect(dec.decode(failed.data)).toBe('failed b');
      await expect(
        nc.request(`${subj}.c`, enc.encode('quiet'), { timeout: 300 }),
      ).rejects.toThrow();
    } finally {
      await responder.stop();
    }
  });

  it('without onError a failure is not answered, and the loop goes on', async () => {
    const subj = `test.responder.${randomUUID()}`;
    const responder = serveRequests({
      nc,
      subject: subj,
      queue: 'q',
      logger,
      what: 'test request',
      answer: async (msg) => {
        if (dec.decode(msg.data) === 'boom') throw new Error('boom');
        return msg.data;
      },
    });
    try {
      await expect(nc.request(subj, enc.encode('boom'), { timeout: 300 })).rejects.toThrow();
      const ok = await nc.request(subj, enc.encode('next'), { timeout: 2000 });
      expect(dec.decode(ok.data)).toBe('next');
    } finally {
      await responder.stop();
    }
  });

  it('stop() answers the request in hand, then takes no more', async () => {
    const subj = `test.responder.${randomUUID()}`;
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const inHand = new Promise<void>((r) => (started = r));
    const responder = serveRequests({
      nc,
      subject: subj,
      queue: 'q',
      logger,
      what: 'test request',
      answer: async (msg) => {
        started();
        await held;
        return msg.data;
      },
    });
    const first = nc.request(subj, enc.encode('first'), { timeout: 5000 });
    await inHand;
    const stopped = responder.stop();
    release();
    expect(dec.decode((await first).data)).toBe('first');
    await stopped;
    await expect(nc.request(subj, enc.encode('late'), { timeout: 300 })).rejects.toThrow();
  });
});
