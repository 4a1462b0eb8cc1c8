import { z } from 'zod';
import { envVars, loadEnv } from '@dirsync/kit';

const optionalInt = (min: number, max: number) =>
  z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.coerce.number().int().min(min).max(max).optional(),
  );

/** Every variable connector-entra reads; see README.md for the table. */
export const envSchema = z.object({
  NATS_URL: envVars.natsUrl,
  NATS_NAMESPACE: envVars.natsNamespace,
  PORT: envVars.port(4104),
  HOST: envVars.host,
  LOG_LEVEL: envVars.logLevel,
  GRAPH_PAGE_SIZE: optionalInt(1, 999),
  GRAPH_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(8),
  CONNECTOR_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(4096).default(64),
  CONNECTOR_BATCH_SIZE: z.coerce.number().int().min(1).max(500).default(500),
  CONFIG_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  CONNECTOR_STOP_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(20_000),
});

export type Env = z.infer<typeof envSchema>;

/** Parse the process environment, or print every problem and exit 1. */
export function loadConnectorEnv(source: Record<string, string | undefined> = process.env): Env {
  return loadEnv('connector-entra', envSchema, source);
}
