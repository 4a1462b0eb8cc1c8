import { envVars, loadEnv, parseEnv } from '@dirsync/kit';
import { authEnvVars } from '@dirsync/kit/auth';
import { z } from 'zod';

/** Every variable the auth service reads; README.md has the table. */
export const authEnvSchema = z.object({
  DATABASE_URL: envVars.databaseUrl,
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, 'lower-case letters, digits and "_" only')
    .default('auth'),
  PORT: envVars.port(4105),
  HOST: envVars.host,
  LOG_LEVEL: envVars.logLevel,
  DIRSYNC_GATEWAY_PUBLIC_KEY: authEnvVars.gatewayPublicKey,
  AUTH_BOOTSTRAP_KEY_FILE: z
    .string()
    .optional()
    .transform((v) => (v ? v : undefined)),
  AUDIT_RETENTION_DAYS: z.coerce.number().int().min(0).default(365),
});

/** The auth service's configuration, as `createAuthService` takes it. */
export interface AuthConfig {
  databaseUrl: string;
  /** Postgres schema of the service's tables (created if missing). */
  databaseSchema: string;
  /** 0 = any free port (tests). */
  port: number;
  host: string;
  logLevel: string;
  /** The gateway's Ed25519 public key (base64): only requests it signed are answered. */
  gatewayPublicKey: string;
  /**
   * Where the first owner key is written on first start (mode 0600) instead of being printed on
   * stdout. Unset: printed once.
   */
  bootstrapKeyFile?: string | undefined;
  /** Audit entries older than this are deleted (0 = keep for ever). */
  auditRetentionDays: number;
}

function toConfig(env: z.infer<typeof authEnvSchema>): AuthConfig {
  return {
    databaseUrl: env.DATABASE_URL,
    databaseSchema: env.DATABASE_SCHEMA,
    port: env.PORT,
    host: env.HOST,
    logLevel: env.LOG_LEVEL,
    gatewayPublicKey: env.DIRSYNC_GATEWAY_PUBLIC_KEY,
    bootstrapKeyFile: env.AUTH_BOOTSTRAP_KEY_FILE,
    auditRetentionDays: env.AUDIT_RETENTION_DAYS,
  };
}

/** Parse a given environment record (tests); throws listing every problem. */
export function parseAuthEnv(source: Record<string, string | undefined>): AuthConfig {
  const parsed = parseEnv(authEnvSchema, source);
  if (!parsed.ok) throw new Error(`invalid configuration:\n  - ${parsed.problems.join('\n  - ')}`);
  return toConfig(parsed.value);
}

/** Parse `process.env`, or print every problem and exit 1. */
export function loadAuthEnv(): AuthConfig {
  return toConfig(loadEnv('auth', authEnvSchema, process.env));
}
