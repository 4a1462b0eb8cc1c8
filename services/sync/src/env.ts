import { envVars, loadEnv, parseEnv } from '@dirsync/kit';
import { authEnvVars } from '@dirsync/kit/auth';
import { z } from 'zod';

const secretKey = z
  .string({
    error: 'is required: 32 random bytes, base64 (generate one with `openssl rand -base64 32`)',
  })
  .refine((v) => Buffer.from(v, 'base64').length === 32 && /^[A-Za-z0-9+/]+={0,2}$/.test(v), {
    message: 'must be 32 bytes, base64 encoded (generate one with `openssl rand -base64 32`)',
  });

/** Silence after which a run's connector is taken for lost (SYNC_CONNECTOR_LOST_SECONDS). */
export const DEFAULT_CONNECTOR_LOST_SECONDS = 30;

/**
 * How long a QUEUED run waits with no connector of its kind reporting in before it fails with
 * NO_CONNECTOR (SYNC_NO_CONNECTOR_SECONDS).
 */
export const DEFAULT_NO_CONNECTOR_SECONDS = 60;

/**
 * How long a run whose connector has published everything waits for identity before it fails
 * (SYNC_PUBLISHED_RUN_TIMEOUT_SECONDS): long, because identity applies it however late — an
 * outage, a backlog — and a bound, because its events can be lost (a purge, the stream's age
 * limit) and the directory must not stay locked.
 */
export const DEFAULT_PUBLISHED_RUN_TIMEOUT_SECONDS = 3600;

/** How long a replica's hold on an active run lasts without renewal (SYNC_LEASE_SECONDS). */
export const DEFAULT_LEASE_SECONDS = 60;

const previousKeys = z
  .string()
  .default('')
  .transform((v) =>
    v
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean),
  )
  .refine(
    (keys) =>
      keys.every((k) => Buffer.from(k, 'base64').length === 32 && /^[A-Za-z0-9+/]+={0,2}$/.test(k)),
    { message: 'must be 32-byte base64 keys, comma separated' },
  );

const seconds = (def: number, min: number) => z.coerce.number().int().min(min).default(def);

/** Every variable the sync service reads; README.md has the table. */
export const syncEnvSchema = z.object({
  DATABASE_URL: envVars.databaseUrl,
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, 'lower-case letters, digits and "_" only')
    .default('sync'),
  NATS_URL: envVars.natsUrl,
  NATS_NAMESPACE: envVars.natsNamespace,
  PORT: envVars.port(4102),
  HOST: envVars.host,
  LOG_LEVEL: envVars.logLevel,
  DIRSYNC_SECRET_KEY: secretKey,
  DIRSYNC_PREVIOUS_SECRET_KEYS: previousKeys,
  DIRSYNC_GATEWAY_PUBLIC_KEY: authEnvVars.gatewayPublicKey,
  SCHEDULER_ENABLED: envVars.bool(true),
  SCHEDULER_TICK_SECONDS: seconds(15, 1),
  SYNC_RUN_TIMEOUT_SECONDS: seconds(600, 1),
  SYNC_PUBLISHED_RUN_TIMEOUT_SECONDS: seconds(DEFAULT_PUBLISHED_RUN_TIMEOUT_SECONDS, 1),
  SYNC_USER_TIMEOUT_SECONDS: seconds(60, 1),
  SYNC_LEASE_SECONDS: seconds(DEFAULT_LEASE_SECONDS, 3),
  // 0 turns the liveness check off; otherwise at least 2 s (heartbeats come every 1–60 s).
  SYNC_CONNECTOR_LOST_SECONDS: seconds(DEFAULT_CONNECTOR_LOST_SECONDS, 0).refine(
    (v) => v === 0 || v >= 2,
    { message: 'must be 0 (off) or at least 2' },
  ),
  // 0 turns the verdict off; otherwise at least 2 s (connectors report every 1–60 s).
  SYNC_NO_CONNECTOR_SECONDS: seconds(DEFAULT_NO_CONNECTOR_SECONDS, 0).refine(
    (v) => v === 0 || v >= 2,
    { message: 'must be 0 (off) or at least 2' },
  ),
  CONNECTION_TEST_TIMEOUT_SECONDS: seconds(30, 1).pipe(z.number().max(120)),
  SYNC_REPLICA_ID: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,100}$/, 'letters, digits, ".", "_", ":" or "-" (at most 100)')
    .optional(),
});

/** The sync service's configuration, as `createSyncService` takes it. */
export interface SyncConfig {
  databaseUrl: string;
  /** Postgres schema holding the service's tables (created if missing). */
  databaseSchema: string;
  natsUrl: string;
  /** Prefix of every stream and subject (see proto `Namespace`). */
  natsNamespace: string;
  /** 0 = any free port (tests). */
  port: number;
  host: string;
  logLevel: string;
  /** AES-256-GCM key (32 bytes, base64) that encrypts directory secrets at rest. */
  secretKey: string;
  /**
   * Older keys that still decrypt (rotation): secrets under them are re-encrypted with `secretKey`
   * at start. Default none.
   */
  previousSecretKeys?: string[];
  /** The gateway's Ed25519 public key (base64): only requests it signed are answered. */
  gatewayPublicKey: string;
  schedulerEnabled: boolean;
  schedulerTickSeconds: number;
  runTimeoutSeconds: number;
  /**
   * Seconds a run whose connector has published its terminal event may wait for identity to apply
   * it (identity down, a backlog, its events lost) before it fails with RUN_TIMEOUT; default 3600.
   */
  publishedRunTimeoutSeconds?: number;
  syncUserTimeoutSeconds: number;
  /** Seconds a replica's lease on an active run lasts unless renewed (default 60). */
  leaseSeconds?: number;
  /**
   * Seconds without a heartbeat from a run's connector (and without progress from identity)
   * after which the run fails with CONNECTOR_LOST; 0 = off (default 30).
   */
  connectorLostSeconds?: number;
  /**
   * Seconds a QUEUED run waits while no connector of its kind reports in before it fails with
   * NO_CONNECTOR; 0 = off (default 60).
   */
  noConnectorSeconds?: number;
  /** This replica's name in run leases (default: host name, pid and a random suffix). */
  replicaId?: string;
  /** How long a connection test (testDirectory) may take, 1–120 s (default 30). */
  connectionTestTimeoutSeconds?: number;
}

function toConfig(env: z.infer<typeof syncEnvSchema>): SyncConfig {
  return {
    databaseUrl: env.DATABASE_URL,
    databaseSchema: env.DATABASE_SCHEMA,
    natsUrl: env.NATS_URL,
    natsNamespace: env.NATS_NAMESPACE,
    port: env.PORT,
    host: env.HOST,
    logLevel: env.LOG_LEVEL,
    secretKey: env.DIRSYNC_SECRET_KEY,
    previousSecretKeys: env.DIRSYNC_PREVIOUS_SECRET_KEYS,
    gatewayPublicKey: env.DIRSYNC_GATEWAY_PUBLIC_KEY,
    schedulerEnabled: env.SCHEDULER_ENABLED,
    schedulerTickSeconds: env.SCHEDULER_TICK_SECONDS,
    runTimeoutSeconds: env.SYNC_RUN_TIMEOUT_SECONDS,
    publishedRunTimeoutSeconds: env.SYNC_PUBLISHED_RUN_TIMEOUT_SECONDS,
    syncUserTimeoutSeconds: env.SYNC_USER_TIMEOUT_SECONDS,
    leaseSeconds: env.SYNC_LEASE_SECONDS,
    connectorLostSeconds: env.SYNC_CONNECTOR_LOST_SECONDS,
    noConnectorSeconds: env.SYNC_NO_CONNECTOR_SECONDS,
    connectionTestTimeoutSeconds: env.CONNECTION_TEST_TIMEOUT_SECONDS,
    ...(env.SYNC_REPLICA_ID ? { replicaId: env.SYNC_REPLICA_ID } : {}),
  };
}

/** Parse a given environment record (tests); throws listing every problem. */
export function parseSyncEnv(source: Record<string, string | undefined>): SyncConfig {
  const parsed = parseEnv(syncEnvSchema, source);
  if (!parsed.ok) throw new Error(`invalid configuration:\n  - ${parsed.problems.join('\n  - ')}`);
  return toConfig(parsed.value);
}

/** Parse `process.env`, or print every problem and exit 1. */
export function loadSyncEnv(): SyncConfig {
  return toConfig(loadEnv('sync', syncEnvSchema, process.env));
}
