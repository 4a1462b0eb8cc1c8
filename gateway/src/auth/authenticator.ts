import type { IncomingMessage } from 'node:http';
import { HttpError, type Logger } from '@dirsync/kit';
import {
  bearerToken,
  SYSTEM_PRINCIPAL,
  type GatewayTokenSigner,
  type Principal,
} from '@dirsync/kit/auth';
import type { OidcVerifier } from './oidc.js';
import { RateLimiter } from './rate-limit.js';

/** Path of the auth service's key check (mirrors @dirsync/auth INTERNAL_ROUTES). */
const AUTHENTICATE_PATH = '/internal/v1/authenticate';
const KEY_PREFIX = 'dsk_';

export interface AuthenticatorOptions {
  /** The auth subgraph URL; its internal routes live beside `/graphql`. */
  authUrl: string;
  signer: GatewayTokenSigner;
  oidc?: OidcVerifier | undefined;
  /** Successful key checks are reused this long (0 = ask every time). */
  keyCacheSeconds: number;
  /** Requests per minute per principal (0 = unlimited). */
  rateLimitPerMinute: number;
  /** Failed authentications per minute per client address before 429. */
  authFailuresPerMinute: number;
  timeoutMs?: number;
  logger: Logger;
}

export interface Authenticator {
  /** The caller of a request, or an HttpError (401, 429, 503). */
  authenticate(req: IncomingMessage): Promise<Principal>;
  /** Forget cached key checks (after a key is revoked through this gateway). */
  forgetKeys(): void;
}

function unauthenticated(message: string): HttpError {
  return new HttpError(401, 'UNAUTHENTICATED', message, {
    'www-authenticate': 'Bearer realm="dirsync"',
  });
}

export function clientAddress(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

/**
 * Every request to the gateway must carry `Authorization: Bearer <credential>`: an API key
 * (`dsk_…`, checked by the auth service, answers cached for `keyCacheSeconds`) or, when OIDC is
 * configured, a JWT from the issuer. Then the principal's rate limit applies.
 */
export function createAuthenticator(opts: AuthenticatorOptions): Authenticator {
  const base = new URL(opts.authUrl);
  const authenticateUrl = new URL(AUTHENTICATE_PATH, base).toString();
  const cache = new Map<string, { principal: Principal; until: number }>();
  const perPrincipal = new RateLimiter(opts.rateLimitPerMinute);
  const failures = new RateLimiter(opts.authFailuresPerMinute);

  async function checkKey(key: string): Promise<Principal> {
    const hit = cache.get(key);
    if (hit && hit.until > Date.now()) return hit.principal;
    cache.delete(key);
    let res: Response;
    try {
      res = await fetch(authenticateUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${await opts.signer.sign(SYSTEM_PRINCIPAL)}`,
        },
        body: JSON.stringify({ key }),
        signal: AbortSignal.timeout(opts.timeoutMs ?? 5_000),
      });
    } catch (err) {
      opts.logger.error({ err: (err as Error).name }, 'auth service unreachable');
      throw new HttpError(503, 'AUTH_UNAVAILABLE', 'cannot check credentials now; try again');
    }
    if (!res.ok) {
      opts.logger.error({ status: res.status }, 'auth service refused the key check');
      throw new HttpError(503, 'AUTH_UNAVAILABLE', 'cannot check credentials now; try again');
    }
    const answer = (await res.json()) as { principal?: Principal; refused?: string };
    if (!answer.principal) {
      const why =
        answer.refused === 'revoked' || answer.refused === 'expired' ? answer.refused : 'unknown';
      throw unauthenticated(why === 'unknown' ? 'API key not recognised' : `API key ${why}`);
    }
    if (opts.keyCacheSeconds > 0) {
      if (cache.size > 10_000) cache.clear();
      cache.set(key, {
        principal: answer.principal,
        until: Date.now() + opts.keyCacheSeconds * 1000,
      });
    }
    return answer.principal;
  }

  async function identify(req: IncomingMessage): Promise<Principal> {
    const token = bearerToken(req.headers.authorization);
    if (!token) {
      throw unauthenticated(
        req.headers.authorization
          ? 'Authorization header must be "Bearer <API key or OIDC token>"'
          : 'authentication required: send "Authorization: Bearer <API key or OIDC token>"',
      );
    }
    if (token.startsWith(KEY_PREFIX)) return checkKey(token);
    if (opts.oidc) return opts.oidc.verify(token);
    throw unauthenticated('not an API key (they start with "dsk_"), and OIDC is not configured');
  }

  return {
    async authenticate(req) {
      let principal: Principal;
      try {
        principal = await identify(req);
      } catch (err) {
        if (err instanceof HttpError && err.status === 401) {
          const wait = failures.take(clientAddress(req));
          if (wait > 0) {
            throw new HttpError(429, 'RATE_LIMITED', 'too many failed authentications', {
              'retry-after': String(wait),
            });
          }
        }
        throw err;
      }
      const wait = perPrincipal.take(principal.id);
      if (wait > 0) {
        throw new HttpError(
          429,
          'RATE_LIMITED',
          `rate limit of ${opts.rateLimitPerMinute} requests a minute exceeded; retry in ${wait} s`,
          { 'retry-after': String(wait) },
          { retryAfterSeconds: wait },
        );
      }
      return principal;
    },
    forgetKeys() {
      cache.clear();
    },
  };
}
