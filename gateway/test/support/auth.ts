import type { Logger } from '@dirsync/kit';
import { createAuthService, type AuthService } from '@dirsync/auth';
import type { GatewayConfig } from '../../src/index.js';

/** Start an auth service on a test database; resolves with it and the first owner key it issued. */
export async function startTestAuthService(opts: {
  databaseUrl: string;
  gatewayPublicKey: string;
  logger: Logger;
  logLevel: string;
}): Promise<{ auth: AuthService; ownerKey: string }> {
  let ownerKey = '';
  const auth = createAuthService(
    {
      databaseUrl: opts.databaseUrl,
      databaseSchema: 'auth',
      port: 0,
      host: '127.0.0.1',
      logLevel: opts.logLevel,
      gatewayPublicKey: opts.gatewayPublicKey,
      auditRetentionDays: 0,
    },
    {
      logger: opts.logger,
      onBootstrapKey: (key) => {
        ownerKey = key;
      },
    },
  );
  await auth.start();
  if (!ownerKey) throw new Error('the auth service did not create the first owner key');
  return { auth, ownerKey };
}

/**
 * A gateway configuration for tests: in front of the given subgraphs, production mode, every key
 * checked with the auth service (no cache, so a revoked key fails at once), no rate limits (tests
 * poll quickly; the limits have their own tests).
 */
export function testGatewayConfig(
  base: { subgraphUrls: GatewayConfig['subgraphUrls']; privateKey: string; logLevel: string },
  overrides: Partial<GatewayConfig> = {},
): GatewayConfig {
  return {
    port: 0,
    host: '127.0.0.1',
    mode: 'production',
    devIntrospect: false,
    maxBodyBytes: 262_144,
    keyCacheSeconds: 0,
    rateLimitPerMinute: 0,
    authFailuresPerMinute: 0,
    limits: { maxDepth: 12, maxCost: 200_000, maxPageSize: 500, maxLists: 50 },
    requestTimeoutMs: 90_000,
    ...base,
    ...overrides,
  };
}
