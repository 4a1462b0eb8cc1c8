// The service as main.ts wires it: env parsing, health endpoints, a job from dirsync.jobs.entra.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SyncMode } from '@dirsync/proto';
import { createLogger } from '@dirsync/kit';
import {
  observedUsernames,
  startConnectorHarness,
  type ConnectorHarness,
} from '@dirsync/kit/conformance';
import { natsNamespace, natsUrl } from '@dirsync/testkit';
import {
  configFromEnv,
  createEntraConnectorService,
  type EntraConnectorService,
} from '../src/index.js';
import { envSchema, loadConnectorEnv } from '../src/env.js';
import { directoryConfig, newDirectoryId, startFakeTenant, type FakeTenant } from './helpers.js';

describe('connector-entra service', () => {
  let t: FakeTenant;
  let h: ConnectorHarness;
  let service: EntraConnectorService;
  let group: string;

  beforeAll(async () => {
    t = await startFakeTenant();
    const users = await t.admin.addUsers([{ userPrincipalName: 'svc@contoso.example' }]);
    group = String(
      (await t.admin.addGroup({ displayName: 'svc', members: [String(users[0]?.id)] })).id,
    );
    const namespace = natsNamespace();
    h = await startConnectorHarness({ kind: 'entra', natsUrl: natsUrl(), namespace });
    service = createEntraConnectorService(
      {
        ...configFromEnv(
          loadConnectorEnv({ NATS_URL: natsUrl(), NATS_NAMESPACE: namespace, PORT: '0' }),
        ),
        logLevel: 'silent',
      },
      { logger: createLogger('connector-entra', 'silent'), onRunEnd: h.reportOutcome },
    );
    await service.start();
  });

  afterAll(async () => {
    await service?.stop();
    await h?.close();
    await t?.close();
  });

  it('answers /readyz and serves /metrics', async () => {
    const ready = await fetch(`${service.healthUrl}/readyz`);
    expect(await ready.json()).toMatchObject({ status: 'ready', problems: [] });
    const metrics = await (await fetch(`${service.healthUrl}/metrics`)).text();
    expect(metrics).toContain('service="connector-entra"');
  });

  it('takes a job from dirsync.jobs.entra and publishes the run', async () => {
    const id = newDirectoryId();
    h.setConfig(id, directoryConfig(t, [group]));
    const run = await h.run({ directoryId: id, mode: SyncMode.FULL });
    expect(run.outcome.error).toBeUndefined();
    expect(observedUsernames(run)).toEqual(['svc@contoso.example']);
  });
});

describe('env.ts', () => {
  it('parses defaults and reports every bad variable at once', () => {
    expect(envSchema.parse({})).toMatchObject({
      PORT: 4104,
      GRAPH_MAX_ATTEMPTS: 8,
      CONNECTOR_BATCH_SIZE: 500,
    });
    expect(envSchema.parse({}).GRAPH_PAGE_SIZE).toBeUndefined();
    const result = envSchema.safeParse({
      GRAPH_PAGE_SIZE: '1000',
      GRAPH_MAX_ATTEMPTS: '0',
      PORT: 'x',
    });
    expect(result.error?.issues.map((i) => i.path.join('.')).sort()).toEqual([
      'GRAPH_MAX_ATTEMPTS',
      'GRAPH_PAGE_SIZE',
      'PORT',
    ]);
  });
});
