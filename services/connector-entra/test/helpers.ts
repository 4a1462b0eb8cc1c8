// Shared fixtures of connector-entra's integration tests: a fake Entra tenant (the real
// @azure/identity and Graph client against it over verified HTTPS), harnesses wired to the
// real connector, and the directory configuration for the fake.
import { randomUUID } from 'node:crypto';
import { ErrorCode, errorCodeName } from '@dirsync/proto';
import type { EntraSettings } from '@dirsync/kit';
import {
  startConnectorHarness,
  type CollectedRun,
  type ConnectorHarness,
  type HarnessConfig,
} from '@dirsync/kit/conformance';
import {
  FakeGraphAdmin,
  startFakeGraph,
  type AppRegistration,
  type FakeGraph,
} from '@dirsync/fake-graph';
import { natsNamespace, natsUrl } from '@dirsync/testkit';
import { createEntraConnector, type EntraConnectorOptions } from '../src/index.js';

/** Back-off short enough for tests; Retry-After from the fake is honoured as sent. */
export const TEST_RETRY = { baseDelayMs: 5, maxDelayMs: 50 } as const;

export interface FakeTenant {
  fake: FakeGraph;
  admin: FakeGraphAdmin;
  app: AppRegistration;
  secret: string;
  close(): Promise<void>;
}

/** A fake tenant with one app registration (User.Read.All + GroupMember.Read.All). */
export async function startFakeTenant(): Promise<FakeTenant> {
  const fake = await startFakeGraph();
  const admin = new FakeGraphAdmin(fake.url, fake.caPem);
  const secret = `secret-${randomUUID()}`;
  const app = await admin.registerApp({ secrets: [secret] });
  return {
    fake,
    admin,
    app,
    secret,
    async close() {
      admin.close();
      await fake.close();
    },
  };
}

export function entraSettings(
  t: FakeTenant,
  overrides: Partial<EntraSettings> = {},
): Partial<EntraSettings> {
  return {
    tenantId: t.fake.tenantId,
    clientId: t.app.clientId,
    loginUrl: t.fake.url,
    graphUrl: t.fake.url,
    tlsCaPem: t.fake.caPem,
    timeoutMs: 5_000,
    ...overrides,
  };
}

/** The harness config for the fake tenant with the given groups (object ids) selected. */
export function directoryConfig(
  t: FakeTenant,
  selectedGroups: string[],
  overrides: Partial<HarnessConfig> & { settings?: Partial<EntraSettings> } = {},
): HarnessConfig {
  return {
    defaultRegion: 'US',
    ...overrides,
    settings: entraSettings(t, overrides.settings),
    secrets: overrides.secrets ?? { clientSecret: t.secret },
    selectedGroups,
    mapping: overrides.mapping ?? {},
  };
}

export async function entraHarness(
  opts: { batchSize?: number; connector?: EntraConnectorOptions } = {},
): Promise<ConnectorHarness> {
  return startConnectorHarness({
    connector: createEntraConnector({ retry: TEST_RETRY, ...opts.connector }),
    natsUrl: natsUrl(),
    namespace: natsNamespace(),
    batchSize: opts.batchSize,
  });
}

let counter = 0;
/** A fresh directory id per test, so events of different tests never share a subject. */
export function newDirectoryId(): string {
  counter++;
  return `dir-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

/** The run's failure code by name (`UNSPECIFIED` when it did not fail). */
export const codeOf = (run: CollectedRun): string =>
  errorCodeName(run.failed?.error?.code ?? ErrorCode.UNSPECIFIED);
