import { envVars, loadEnv, parseEnv } from '@dirsync/kit';
import { z } from 'zod';

const graphqlUrl = (def: string) =>
  z
    .string()
    .default(def)
    .refine((v) => /^https?:\/\/[^/]+/.test(v), { message: 'must be an http(s):// URL' });

/** Every variable the gateway reads; README.md has the table. */
export const gatewayEnvSchema = z.object({
  PORT: envVars.port(4000),
  HOST: envVars.host,
  LOG_LEVEL: envVars.logLevel,
  IDENTITY_URL: graphqlUrl('http://127.0.0.1:4101/graphql'),
  SYNC_URL: graphqlUrl('http://127.0.0.1:4102/graphql'),
  GATEWAY_DEV_INTROSPECT: envVars.bool(false),
  GATEWAY_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(262_144),
});

/** The gateway's configuration, as `createGatewayService` takes it. */
export interface GatewayConfig {
  /** 0 = any free port (tests). */
  port: number;
  host: string;
  logLevel: string;
  /** Subgraph endpoints by subgraph name (the names in the supergraph). */
  subgraphUrls: { identity: string; sync: string };
  /**
   * Compose at start by introspecting the running subgraphs instead of serving the committed
   * supergraph. Local development only: a subgraph change then needs no `npm run supergraph`.
   */
  devIntrospect: boolean;
  /** Larger request bodies are refused with 413. */
  maxBodyBytes: number;
}

function toConfig(env: z.infer<typeof gatewayEnvSchema>): GatewayConfig {
  return {
    port: env.PORT,
    host: env.HOST,
    logLevel: env.LOG_LEVEL,
    subgraphUrls: { identity: env.IDENTITY_URL, sync: env.SYNC_URL },
    devIntrospect: env.GATEWAY_DEV_INTROSPECT,
    maxBodyBytes: env.GATEWAY_MAX_BODY_BYTES,
  };
}

/** Parse a given environment record (tests); throws listing every problem. */
export function parseGatewayEnv(source: Record<string, string | undefined>): GatewayConfig {
  const parsed = parseEnv(gatewayEnvSchema, source);
  if (!parsed.ok) throw new Error(`invalid configuration:\n  - ${parsed.problems.join('\n  - ')}`);
  return toConfig(parsed.value);
}

/** Parse `process.env`, or print every problem and exit 1. */
export function loadGatewayEnv(): GatewayConfig {
  return toConfig(loadEnv('gateway', gatewayEnvSchema, process.env));
}
