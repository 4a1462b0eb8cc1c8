import { envVars, loadEnv } from '@dirsync/kit';
import { authEnvVars } from '@dirsync/kit/auth';
import { z } from 'zod';
import type { IdentityConfig } from './config.js';

/** Every variable the identity service reads; the README has the table. */
export const identityEnvSchema = z.object({
  DATABASE_URL: envVars.databaseUrl,
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'lower-case letters, digits and "_", starting with a letter')
    .default('identity'),
  NATS_URL: envVars.natsUrl,
  NATS_NAMESPACE: envVars.natsNamespace,
  PORT: envVars.port(4101),
  HOST: envVars.host,
  LOG_LEVEL: envVars.logLevel,
  DIRSYNC_GATEWAY_PUBLIC_KEY: authEnvVars.gatewayPublicKey,
  OUTBOX_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(500),
  DATABASE_POOL_MAX: z.coerce.number().int().min(2).max(100).default(10),
  EVENT_MAX_DELIVERIES: z.coerce.number().int().min(1).max(100).default(5),
  EVENT_RETRY_DELAY_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
  PURGE_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(86_400).default(60),
  RUN_HISTORY_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
});

export function loadIdentityConfig(
  source: Record<string, string | undefined> = process.env,
): IdentityConfig {
  const env = loadEnv('identity', identityEnvSchema, source);
  return {
    databaseUrl: env.DATABASE_URL,
    databaseSchema: env.DATABASE_SCHEMA,
    databasePoolMax: env.DATABASE_POOL_MAX,
    natsUrl: env.NATS_URL,
    natsNamespace: env.NATS_NAMESPACE,
    port: env.PORT,
    host: env.HOST,
    logLevel: env.LOG_LEVEL,
    gatewayPublicKey: env.DIRSYNC_GATEWAY_PUBLIC_KEY,
    outboxPollMs: env.OUTBOX_POLL_MS,
    eventMaxDeliveries: env.EVENT_MAX_DELIVERIES,
    eventRetryDelayMs: env.EVENT_RETRY_DELAY_MS,
    purgeIntervalSeconds: env.PURGE_INTERVAL_SECONDS,
    runHistoryRetentionDays: env.RUN_HISTORY_RETENTION_DAYS,
  };
}
