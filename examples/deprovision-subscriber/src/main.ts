#!/usr/bin/env node
import { connect } from 'nats';
import { loadEnv } from './env.js';
import { fileVersionStore } from './file-store.js';
import { startSubscriber, type Deprovisioner } from './subscriber.js';

/**
 * The example as a process: logs one JSON line per action, and — when DEPROVISION_WEBHOOK_URL
 * is set — POSTs `{ action, user, event }` there and treats anything but 2xx as a failure to
 * retry (say, your SSO's "revoke sessions" endpoint behind a small adapter).
 *
 *   NATS_URL=nats://127.0.0.1:4222 node examples/deprovision-subscriber/dist/main.js
 */
let e: ReturnType<typeof loadEnv>;
try {
  e = loadEnv();
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(2);
}
const env = {
  natsUrl: e.NATS_URL,
  namespace: e.NATS_NAMESPACE,
  durable: e.DEPROVISION_DURABLE,
  stateFile: e.DEPROVISION_STATE_FILE,
  webhook: e.DEPROVISION_WEBHOOK_URL,
};

const log = (line: Record<string, unknown>) =>
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...line })}\n`);

async function call(action: string, ...[user, event]: Parameters<Deprovisioner['revoke']>) {
  if (!env.webhook) return;
  const res = await fetch(env.webhook, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      action,
      eventId: event.eventId,
      user: {
        id: user.id,
        username: user.username,
        email: user.email,
        directoryId: user.directoryId,
      },
    }),
  });
  if (!res.ok) throw new Error(`webhook answered ${res.status}`);
}

const nc = await connect({ servers: env.natsUrl.split(','), maxReconnectAttempts: -1 });
const subscriber = await startSubscriber({
  nc,
  namespace: env.namespace,
  durable: env.durable,
  store: await fileVersionStore(env.stateFile),
  log,
  deprovisioner: {
    revoke: (user, event) => call('revoke', user, event),
    reinstate: (user, event) => call('reinstate', user, event),
    forget: (user, event) => call('forget', user, event),
  },
});
log({ msg: 'listening', durable: env.durable, namespace: env.namespace });
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void subscriber.stop().then(() => nc.close());
  });
}
await subscriber.done;
