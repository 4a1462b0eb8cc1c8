import { envVars, loadEnv, parseEnv } from '@dirsync/kit';
import { authEnvVars, isRole, type Role } from '@dirsync/kit/auth';
import { z } from 'zod';
import type { OidcConfig } from './auth/oidc.js';
import type { ConsoleConfig } from './console.js';

const graphqlUrl = (def: string) =>
  z
    .string()
    .default(def)
    .refine((v) => /^https?:\/\/[^/]+/.test(v), { message: 'must be an http(s):// URL' });

const int = (def: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(def);

const optionalUrl = z
  .string()
  .optional()
  .transform((v) => (v ? v : undefined))
  .refine((v) => v === undefined || /^https?:\/\/[^/]+/.test(v), {
    message: 'must be an http(s):// URL',
  });

/** `value=ROLE,value=ROLE`: OIDC claim values that name a role differently. */
const roleMap = z
  .string()
  .default('')
  .transform((v, ctx) => {
    const map: Record<string, Role> = {};
    for (const pair of v
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)) {
      const at = pair.lastIndexOf('=');
      const value = pair.slice(0, at).trim();
      const role = pair
        .slice(at + 1)
        .trim()
        .toUpperCase();
      if (at <= 0 || !isRole(role)) {
        ctx.addIssue({ code: 'custom', message: `"${pair}" is not value=ROLE with a known role` });
        continue;
      }
      map[value] = role;
    }
    return map;
  });

/** Every variable the gateway reads; README.md has the table. */
export const gatewayEnvSchema = z
  .object({
    PORT: envVars.port(4000),
    HOST: envVars.host,
    LOG_LEVEL: envVars.logLevel,
    IDENTITY_URL: graphqlUrl('http://127.0.0.1:4101/graphql'),
    SYNC_URL: graphqlUrl('http://127.0.0.1:4102/graphql'),
    AUTH_URL: graphqlUrl('http://127.0.0.1:4105/graphql'),
    GATEWAY_MODE: z.enum(['production', 'development']).default('production'),
    GATEWAY_DEV_INTROSPECT: envVars.bool(false),
    GATEWAY_MAX_BODY_BYTES: int(262_144, 1024, 64 * 1024 * 1024),
    DIRSYNC_GATEWAY_PRIVATE_KEY: authEnvVars.gatewayPrivateKey,
    GATEWAY_KEY_CACHE_SECONDS: int(5, 0, 300),
    GATEWAY_RATE_LIMIT_PER_MINUTE: int(600, 0, 1_000_000),
    GATEWAY_AUTH_FAILURES_PER_MINUTE: int(30, 0, 1_000_000),
    GATEWAY_MAX_DEPTH: int(12, 2, 100),
    GATEWAY_MAX_COST: int(200_000, 10, 100_000_000),
    GATEWAY_MAX_PAGE_SIZE: int(500, 1, 10_000),
    GATEWAY_MAX_LISTS: int(50, 1, 10_000),
    GATEWAY_REQUEST_TIMEOUT_MS: int(90_000, 100, 3_600_000),
    OIDC_ISSUER: optionalUrl,
    OIDC_AUDIENCE: z
      .string()
      .optional()
      .transform((v) => (v ? v : undefined)),
    OIDC_JWKS_URL: optionalUrl,
    OIDC_ROLE_CLAIM: z.string().min(1).default('roles'),
    OIDC_ROLE_MAP: roleMap,
    OIDC_ALGORITHMS: z
      .string()
      .default('RS256,RS384,RS512,PS256,ES256,ES384,EdDSA')
      .transform((v) =>
        v
          .split(',')
          .map((a) => a.trim())
          .filter(Boolean),
      ),
    GATEWAY_CONSOLE_DIR: z
      .string()
      .optional()
      .transform((v) => (v ? v : undefined)),
    GATEWAY_CONSOLE_OIDC_CLIENT_ID: z
      .string()
      .optional()
      .transform((v) => (v ? v : undefined)),
    GATEWAY_CONSOLE_OIDC_SCOPE: z.string().min(1).default('openid profile email'),
    GATEWAY_CONSOLE_OIDC_TOKEN: z.enum(['access_token', 'id_token']).default('access_token'),
    GATEWAY_CONSOLE_OIDC_AUDIENCE: z
      .string()
      .optional()
      .transform((v) => (v ? v : undefined)),
  })
  .superRefine((env, ctx) => {
    if (env.GATEWAY_CONSOLE_OIDC_CLIENT_ID && !env.OIDC_ISSUER) {
      ctx.addIssue({
        code: 'custom',
        path: ['GATEWAY_CONSOLE_OIDC_CLIENT_ID'],
        message: 'needs OIDC_ISSUER (the console signs in with the issuer the gateway trusts)',
      });
    }
    if (env.OIDC_ISSUER && !env.OIDC_AUDIENCE) {
      ctx.addIssue({
        code: 'custom',
        path: ['OIDC_AUDIENCE'],
        message:
          'is required with OIDC_ISSUER (the client id or API identifier tokens are issued for)',
      });
    }
  });

/** The gateway's configuration, as `createGatewayService` takes it. */
export interface GatewayConfig {
  /** 0 = any free port (tests). */
  port: number;
  host: string;
  logLevel: string;
  /** Subgraph endpoints by subgraph name (the names in the supergraph). */
  subgraphUrls: { identity: string; sync: string; auth: string };
  /** production: no introspection, no sandbox page. development: both. */
  mode: 'production' | 'development';
  /**
   * Compose at start by introspecting the running subgraphs instead of serving the committed
   * supergraph. Local development only: a subgraph change then needs no `npm run supergraph`.
   */
  devIntrospect: boolean;
  /** Larger request bodies are refused with 413. */
  maxBodyBytes: number;
  /** Ed25519 seed (base64) that signs the identity handed to the subgraphs. */
  privateKey: string;
  /** How long a successful API key check is reused (a revoked key works at most this long). */
  keyCacheSeconds: number;
  /** Requests per minute per principal; 0 = unlimited. */
  rateLimitPerMinute: number;
  /** Failed authentications per minute per client address; 0 = unlimited. */
  authFailuresPerMinute: number;
  limits: {
    maxDepth: number;
    maxCost: number;
    maxPageSize: number;
    maxLists: number;
  };
  /** A request that has not been answered in this time answers TIMEOUT. */
  requestTimeoutMs: number;
  oidc?: OidcConfig | undefined;
  /** Serve the admin console at `/` (absent: not served). */
  console?: ConsoleConfig | undefined;
}

function toConfig(env: z.infer<typeof gatewayEnvSchema>): GatewayConfig {
  return {
    port: env.PORT,
    host: env.HOST,
    logLevel: env.LOG_LEVEL,
    subgraphUrls: { identity: env.IDENTITY_URL, sync: env.SYNC_URL, auth: env.AUTH_URL },
    mode: env.GATEWAY_MODE,
    devIntrospect: env.GATEWAY_DEV_INTROSPECT,
    maxBodyBytes: env.GATEWAY_MAX_BODY_BYTES,
    privateKey: env.DIRSYNC_GATEWAY_PRIVATE_KEY,
    keyCacheSeconds: env.GATEWAY_KEY_CACHE_SECONDS,
    rateLimitPerMinute: env.GATEWAY_RATE_LIMIT_PER_MINUTE,
    authFailuresPerMinute: env.GATEWAY_AUTH_FAILURES_PER_MINUTE,
    limits: {
      maxDepth: env.GATEWAY_MAX_DEPTH,
      maxCost: env.GATEWAY_MAX_COST,
      maxPageSize: env.GATEWAY_MAX_PAGE_SIZE,
      maxLists: env.GATEWAY_MAX_LISTS,
    },
    requestTimeoutMs: env.GATEWAY_REQUEST_TIMEOUT_MS,
    oidc:
      env.OIDC_ISSUER && env.OIDC_AUDIENCE
        ? {
            issuer: env.OIDC_ISSUER,
            audience: env.OIDC_AUDIENCE,
            jwksUrl: env.OIDC_JWKS_URL,
            roleClaim: env.OIDC_ROLE_CLAIM,
            roleMap: env.OIDC_ROLE_MAP,
            algorithms: env.OIDC_ALGORITHMS,
          }
        : undefined,
    console: env.GATEWAY_CONSOLE_DIR
      ? {
          dir: env.GATEWAY_CONSOLE_DIR,
          oidc:
            env.OIDC_ISSUER && env.GATEWAY_CONSOLE_OIDC_CLIENT_ID
              ? {
                  issuer: env.OIDC_ISSUER,
                  clientId: env.GATEWAY_CONSOLE_OIDC_CLIENT_ID,
                  scope: env.GATEWAY_CONSOLE_OIDC_SCOPE,
                  token: env.GATEWAY_CONSOLE_OIDC_TOKEN,
                  audience: env.GATEWAY_CONSOLE_OIDC_AUDIENCE,
                }
              : undefined,
        }
      : undefined,
  };
}

/** Parse a given environment record (tests); throws listing every problem. */
export function parseGatewayEnv(source: Record<string, string | undefined>): GatewayConfig {
  const parsed = parseEnv(gatewayEnvSchema as never, source);
  if (!parsed.ok) throw new Error(`invalid configuration:\n  - ${parsed.problems.join('\n  - ')}`);
  return toConfig(parsed.value as z.infer<typeof gatewayEnvSchema>);
}

/** Parse `process.env`, or print every problem and exit 1. */
export function loadGatewayEnv(): GatewayConfig {
  return toConfig(
    loadEnv('gateway', gatewayEnvSchema as never, process.env) as z.infer<typeof gatewayEnvSchema>,
  );
}
