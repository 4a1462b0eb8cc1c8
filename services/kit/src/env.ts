import { z } from 'zod';

/**
 * Parse configuration from an environment-like record. Every problem is collected and reported
 * at once (variable name + what is wrong), so an operator fixes all of them in one go.
 */
export function parseEnv<S extends z.ZodObject>(
  schema: S,
  source: Record<string, string | undefined>,
): { ok: true; value: z.infer<S> } | { ok: false; problems: string[] } {
  const result = schema.safeParse(source);
  if (result.success) return { ok: true, value: result.data };
  const problems = result.error.issues.map((issue) => {
    const key = issue.path.join('.') || '(root)';
    return `${key}: ${issue.message}`;
  });
  return { ok: false, problems };
}

/**
 * Parse the process environment or exit(1) after printing every problem. Only a service's
 * `env.ts` calls this.
 */
export function loadEnv<S extends z.ZodObject>(
  service: string,
  schema: S,
  source: Record<string, string | undefined>,
): z.infer<S> {
  const parsed = parseEnv(schema, source);
  if (parsed.ok) return parsed.value;
  process.stderr.write(
    `${service}: invalid configuration:\n${parsed.problems.map((p) => `  - ${p}`).join('\n')}\n`,
  );
  process.exit(1);
}

/** Reusable variable schemas, so every service spells and validates them the same way. */
export const envVars = {
  natsUrl: z
    .string()
    .default('nats://127.0.0.1:4222')
    .refine((v) => v.split(',').every((u) => /^(nats|tls|ws|wss):\/\//.test(u.trim())), {
      message: 'must be nats:// or tls:// URL(s), comma separated',
    }),
  natsNamespace: z
    .string()
    .regex(/^[A-Za-z0-9_-]*$/, 'letters, digits, "_" or "-" only')
    .default(''),
  databaseUrl: z
    .string()
    .default('postgres://postgres@127.0.0.1:5432/dirsync')
    .refine((v) => /^postgres(ql)?:\/\//.test(v), { message: 'must be a postgres:// URL' }),
  port: (def: number) => z.coerce.number().int().min(0).max(65535).default(def),
  host: z.string().default('127.0.0.1'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  bool: (def: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'])
      .default(def ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
};

/** An optional integer variable: unset or "" → undefined. */
export const optionalIntVar = (min: number, max: number) =>
  z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.coerce.number().int().min(min).max(max).optional(),
  );

/**
 * The variables every connector process reads (its `env.ts` adds its own): NATS, the health
 * server, and the kit's worker knobs. See a connector's README for the table.
 */
export const connectorEnvShape = (port: number) => ({
  NATS_URL: envVars.natsUrl,
  NATS_NAMESPACE: envVars.natsNamespace,
  PORT: envVars.port(port),
  HOST: envVars.host,
  LOG_LEVEL: envVars.logLevel,
  CONNECTOR_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(4096).default(64),
  CONNECTOR_BATCH_SIZE: z.coerce.number().int().min(1).max(500).default(500),
  CONFIG_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  CONNECTOR_STOP_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(20_000),
  // Liveness (proto liveness.proto): keep well under the sync service's SYNC_CONNECTOR_LOST_SECONDS.
  CONNECTOR_HEARTBEAT_SECONDS: z.coerce.number().int().min(1).max(60).default(5),
  CONNECTOR_INSTANCE_ID: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,100}$/, 'letters, digits, ".", "_", ":" or "-" (at most 100)')
    .optional(),
});
