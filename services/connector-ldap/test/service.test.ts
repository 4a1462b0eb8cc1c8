// The whole service in process (as main.ts wires it): health endpoints, a job end to end,
// graceful stop.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SyncMode } from '@dirsync/proto';
import { createLogger } from '@dirsync/kit';
import {
  observedUsernames,
  startConnectorHarness,
  type ConnectorHarness,
} from '@dirsync/kit/conformance';
import { natsNamespace, natsUrl, startSlapd, type Slapd } from '@dirsync/testkit';
import { createLdapConnectorService, type LdapConnectorService } from '../src/index.js';
import { loadConnectorEnv, envSchema } from '../src/env.js';
import { GROUPS, PEOPLE, directoryConfig, group, ldif, newDirectoryId, person } from './helpers.js';

const ALL = `cn=all,${GROUPS}`;

describe('connector-ldap service', () => {
  let slapd: Slapd;
  let h: ConnectorHarness;
  let service: LdapConnectorService;

  beforeAll(async () => {
    slapd = await startSlapd({
      name: 'service',
      ldif: ldif(
        person({ uid: 'alice' }),
        person({ uid: 'bob' }),
        group('all', [`uid=alice,${PEOPLE}`, `uid=bob,${PEOPLE}`]),
      ),
    });
    const namespace = natsNamespace();
    h = await startConnectorHarness({ kind: 'ldap', natsUrl: natsUrl(), namespace });
    service = createLdapConnectorService(
      { natsUrl: natsUrl(), natsNamespace: namespace, port: 0, host: '127.0.0.1', batchSize: 1 },
      { logger: createLogger('connector-ldap', 'silent'), onRunEnd: h.reportOutcome },
    );
    await service.start();
  });

  afterAll(async () => {
    await service?.stop();
    await h?.close();
    await slapd?.dispose();
  });

  it('answers /healthz and /readyz separately', async () => {
    const health = await fetch(`${service.healthUrl}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${service.healthUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', problems: [] });
  });

  it('takes a job from dirsync.jobs.ldap and publishes the run', async () => {
    const id = newDirectoryId();
    h.setConfig(id, directoryConfig(slapd, [ALL]));
    const run = await h.run({ directoryId: id, mode: SyncMode.FULL });
    expect(run.outcome.error).toBeUndefined();
    expect(observedUsernames(run)).toEqual(['alice', 'bob']);
    // batchSize 1 from the service config: one user per message.
    expect(run.events.filter((e) => e.body.case === 'users')).toHaveLength(2);
  });

  it('stops: drains the worker and closes the HTTP server', async () => {
    await service.stop();
    expect(service.worker?.problems()).toContain('the connector worker is stopping');
    const res = await fetch(`${service.healthUrl}/readyz`).catch(() => undefined);
    expect(res).toBeUndefined(); // the HTTP server is closed
  });
});

describe('env.ts', () => {
  it('parses defaults', () => {
    const env = envSchema.parse({});
    expect(env).toMatchObject({
      NATS_URL: 'nats://127.0.0.1:4222',
      NATS_NAMESPACE: '',
      PORT: 4103,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      CONNECTOR_MAX_IN_FLIGHT: 64,
      CONNECTOR_BATCH_SIZE: 500,
      CONFIG_TIMEOUT_MS: 10_000,
      CONNECTOR_STOP_GRACE_MS: 20_000,
    });
    expect(env.LDAP_PAGE_SIZE).toBeUndefined();
  });

  it('reports every bad variable at once', () => {
    const result = envSchema.safeParse({
      PORT: 'eighty',
      LDAP_PAGE_SIZE: '0',
      CONNECTOR_BATCH_SIZE: '501',
      NATS_URL: 'http://x',
    });
    expect(result.success).toBe(false);
    const paths = result.error?.issues.map((i) => i.path.join('.')).sort();
    expect(paths).toEqual(['CONNECTOR_BATCH_SIZE', 'LDAP_PAGE_SIZE', 'NATS_URL', 'PORT']);
  });

  it('accepts an empty LDAP_PAGE_SIZE as unset', () => {
    expect(loadConnectorEnv({ LDAP_PAGE_SIZE: '' }).LDAP_PAGE_SIZE).toBeUndefined();
    expect(loadConnectorEnv({ LDAP_PAGE_SIZE: '250' }).LDAP_PAGE_SIZE).toBe(250);
  });
});
