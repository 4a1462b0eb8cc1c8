import { HttpError } from '@dirsync/kit';
import { highestRole, isRole, PrincipalKind, type Principal, type Role } from '@dirsync/kit/auth';
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';

/** OIDC bearer tokens: verified against the issuer's JWKS, the role read from a claim. */
export interface OidcConfig {
  issuer: string;
  audience: string;
  /** Default: `jwks_uri` of `<issuer>/.well-known/openid-configuration`. */
  jwksUrl?: string | undefined;
  /** Claim holding the role(s), a dot path for nested claims (`realm_access.roles`). */
  roleClaim: string;
  /** Claim value → role; values not listed are matched to role names (`user-manager` → USER_MANAGER). */
  roleMap: Record<string, Role>;
  algorithms: string[];
}

export interface OidcVerifier {
  verify(token: string): Promise<Principal>;
}

function unauthenticated(message: string): HttpError {
  return new HttpError(401, 'UNAUTHENTICATED', message, {
    'www-authenticate': 'Bearer realm="dirsync", error="invalid_token"',
  });
}

/** A claim value as a role: through the map, else by name ("Read-only" → READ_ONLY). */
export function roleOf(value: string, map: Record<string, Role>): Role | undefined {
  const mapped = map[value];
  if (mapped) return mapped;
  const name = value
    .trim()
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, '_');
  return isRole(name) ? name : undefined;
}

function claimAt(payload: JWTPayload, path: string): unknown {
  let v: unknown = payload;
  for (const part of path.split('.')) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

/** The highest role the claim grants (string, space-separated string or array of strings). */
export function rolesFromClaim(value: unknown, map: Record<string, Role>): Role | undefined {
  const values = Array.isArray(value)
    ? value.filter((v): v is string => typeof v === 'string')
    : typeof value === 'string'
      ? value.split(/[\s,]+/)
      : [];
  return highestRole(values.map((v) => roleOf(v, map)).filter((r): r is Role => r !== undefined));
}

export function createOidcVerifier(config: OidcConfig): OidcVerifier {
  let jwks: ReturnType<typeof createRemoteJWKSet> | undefined;

  async function keySet(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    if (jwks) return jwks;
    let url = config.jwksUrl;
    if (!url) {
      const discovery = `${config.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
      try {
        const res = await fetch(discovery, { signal: AbortSignal.timeout(5_000) });
        const doc = (await res.json()) as { jwks_uri?: unknown };
        if (!res.ok || typeof doc.jwks_uri !== 'string') throw new Error(`HTTP ${res.status}`);
        url = doc.jwks_uri;
      } catch {
        throw new HttpError(503, 'AUTH_UNAVAILABLE', `OIDC discovery failed at ${discovery}`);
      }
    }
    jwks = createRemoteJWKSet(new URL(url), { timeoutDuration: 5_000, cooldownDuration: 30_000 });
    return jwks;
  }

  return {
    async verify(token) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, await keySet(), {
          issuer: config.issuer,
          audience: config.audience,
          algorithms: config.algorithms,
          clockTolerance: 30,
          requiredClaims: ['sub', 'exp'],
        }));
      } catch (err) {
        if (err instanceof HttpError) throw err;
        if (err instanceof errors.JWTExpired) throw unauthenticated('token expired');
        if (err instanceof errors.JWTClaimValidationFailed) {
          if (err.claim === 'iss') throw unauthenticated('token is from another issuer');
          if (err.claim === 'aud') throw unauthenticated('token is not for this audience');
          throw unauthenticated(`token claim "${err.claim}" is invalid`);
        }
        if (err instanceof errors.JWSSignatureVerificationFailed) {
          throw unauthenticated('token signature is invalid');
        }
        if (err instanceof errors.JWKSNoMatchingKey) {
          throw unauthenticated('token is not signed by a key of the issuer');
        }
        if (err instanceof errors.JOSEAlgNotAllowed) {
          throw unauthenticated('token algorithm is not allowed');
        }
        if (err instanceof errors.JWKSTimeout || !(err instanceof errors.JOSEError)) {
          throw new HttpError(503, 'AUTH_UNAVAILABLE', 'cannot reach the OIDC issuer keys now');
        }
        throw unauthenticated('not a valid token');
      }
      const role = rolesFromClaim(claimAt(payload, config.roleClaim), config.roleMap);
      if (!role) {
        throw new HttpError(
          403,
          'FORBIDDEN',
          `token grants no dirsync role (claim "${config.roleClaim}")`,
        );
      }
      const name = ['name', 'email', 'preferred_username']
        .map((c) => payload[c])
        .find((v): v is string => typeof v === 'string' && v.length > 0);
      return {
        id: `oidc:${payload.iss}#${payload.sub}`,
        name: (name ?? payload.sub!).slice(0, 200),
        kind: PrincipalKind.OIDC,
        role,
      };
    },
  };
}
