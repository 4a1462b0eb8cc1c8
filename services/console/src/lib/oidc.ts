import type { OidcPageConfig } from './config.js';
import type { Credential } from './session.js';

/**
 * OIDC sign-in for the console: authorization code flow with PKCE (RFC 7636, S256) as a public
 * client — the page holds no client secret. The gateway verifies the resulting token like any
 * OIDC bearer token (issuer, audience, expiry, algorithm, role claim; docs/security.md), so the
 * console gains no power a script with the same token would not have.
 *
 * 1. `beginSignIn` makes a random verifier, state and nonce, keeps them in sessionStorage and
 *    navigates to the authorization endpoint with `code_challenge=S256(verifier)`.
 * 2. The provider redirects to `<origin>/oidc/callback?code=…&state=…`; `completeSignIn` checks
 *    the state, posts the code with the verifier to the token endpoint (CORS, as the provider
 *    allows for SPA clients), checks the id token's nonce, and returns the credential.
 */

const PENDING_KEY = 'dirsync.console.oidc';

interface Pending {
  state: string;
  nonce: string;
  verifier: string;
  returnTo: string;
}

export const CALLBACK_PATH = '/oidc/callback';

function base64url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** 32 random bytes, base64url (43 characters: a valid PKCE verifier). */
export function randomToken(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** The S256 code challenge of a verifier. */
export async function codeChallenge(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

export function redirectUri(origin: string = location.origin): string {
  return `${origin}${CALLBACK_PATH}`;
}

/** The authorization request URL (exported for tests). */
export async function authorizationUrl(
  config: OidcPageConfig,
  p: { state: string; nonce: string; verifier: string; redirectUri: string },
): Promise<string> {
  const url = new URL(config.authorizationEndpoint);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', config.clientId);
  url.searchParams.set('redirect_uri', p.redirectUri);
  url.searchParams.set('scope', config.scope);
  url.searchParams.set('state', p.state);
  url.searchParams.set('nonce', p.nonce);
  url.searchParams.set('code_challenge', await codeChallenge(p.verifier));
  url.searchParams.set('code_challenge_method', 'S256');
  if (config.audience) {
    url.searchParams.set('audience', config.audience);
    url.searchParams.set('resource', config.audience);
  }
  return url.toString();
}

export async function beginSignIn(config: OidcPageConfig, returnTo: string): Promise<void> {
  const pending: Pending = {
    state: randomToken(),
    nonce: randomToken(),
    verifier: randomToken(),
    returnTo,
  };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  location.assign(await authorizationUrl(config, { ...pending, redirectUri: redirectUri() }));
}

/** The payload of a JWT, unverified (the gateway verifies; this reads `exp` and `nonce`). */
export function jwtPayload(token: string): Record<string, unknown> | undefined {
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    const binary = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

export class OidcSignInError extends Error {
  override name = 'OidcSignInError';
}

/** Finish the sign-in from the callback's query string; returns the credential and where to go. */
export async function completeSignIn(
  config: OidcPageConfig,
  search: string,
  fetchImpl: typeof fetch = fetch,
): Promise<{ credential: Credential; returnTo: string }> {
  const params = new URLSearchParams(search);
  const raw = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  const error = params.get('error');
  if (error) {
    throw new OidcSignInError(
      `the provider refused the sign-in: ${error}${params.get('error_description') ? ` (${params.get('error_description')})` : ''}`,
    );
  }
  if (!raw) throw new OidcSignInError('no sign-in was started in this tab; start again');
  const pending = JSON.parse(raw) as Pending;
  if (params.get('state') !== pending.state) {
    throw new OidcSignInError('the answer does not belong to the sign-in this tab started');
  }
  const code = params.get('code');
  if (!code) throw new OidcSignInError('the provider sent no authorization code');
  const res = await fetchImpl(config.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri(),
      client_id: config.clientId,
      code_verifier: pending.verifier,
    }).toString(),
  });
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) {
    throw new OidcSignInError(
      `the token endpoint answered ${res.status}${typeof body.error === 'string' ? `: ${body.error}` : ''}`,
    );
  }
  const idToken = typeof body.id_token === 'string' ? body.id_token : undefined;
  if (idToken) {
    const claims = jwtPayload(idToken);
    if (claims?.nonce !== undefined && claims.nonce !== pending.nonce) {
      throw new OidcSignInError('the id token was not issued for this sign-in (nonce)');
    }
  }
  const token = config.token === 'id_token' ? idToken : body.access_token;
  if (typeof token !== 'string' || !token) {
    throw new OidcSignInError(`the token endpoint returned no ${config.token}`);
  }
  const exp = jwtPayload(token)?.exp;
  const expiresIn = typeof body.expires_in === 'number' ? body.expires_in : undefined;
  const expiresAt =
    typeof exp === 'number' ? exp * 1000 : expiresIn ? Date.now() + expiresIn * 1000 : undefined;
  return {
    credential: {
      kind: 'OIDC',
      token,
      ...(expiresAt ? { expiresAt } : {}),
      ...(idToken ? { idToken } : {}),
    },
    returnTo: pending.returnTo.startsWith('/') ? pending.returnTo : '/',
  };
}

/** The provider's sign-out URL, when it has one. */
export function endSessionUrl(
  config: OidcPageConfig,
  idToken: string | undefined,
): string | undefined {
  if (!config.endSessionEndpoint) return undefined;
  const url = new URL(config.endSessionEndpoint);
  if (idToken) url.searchParams.set('id_token_hint', idToken);
  url.searchParams.set('client_id', config.clientId);
  url.searchParams.set('post_logout_redirect_uri', `${location.origin}/`);
  return url.toString();
}
