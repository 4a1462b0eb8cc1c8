import { describe, expect, it } from 'vitest';
import { authorizationUrl, codeChallenge, jwtPayload, randomToken } from './oidc.js';
import type { OidcPageConfig } from './config.js';

const config: OidcPageConfig = {
  issuer: 'https://idp.example',
  clientId: 'dirsync-console',
  scope: 'openid profile email',
  token: 'access_token',
  authorizationEndpoint: 'https://idp.example/authorize',
  tokenEndpoint: 'https://idp.example/token',
};

describe('PKCE', () => {
  it('computes the S256 challenge of RFC 7636 appendix B', async () => {
    expect(await codeChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
  });

  it('makes verifiers of 43 base64url characters, different every time', () => {
    const a = randomToken();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(randomToken()).not.toBe(a);
  });

  it('asks for a code with the challenge, state and nonce', async () => {
    const url = new URL(
      await authorizationUrl(
        { ...config, audience: 'api://dirsync' },
        {
          state: 's1',
          nonce: 'n1',
          verifier: 'v'.repeat(43),
          redirectUri: 'https://c/oidc/callback',
        },
      ),
    );
    expect(url.origin + url.pathname).toBe('https://idp.example/authorize');
    const q = Object.fromEntries(url.searchParams);
    expect(q).toMatchObject({
      response_type: 'code',
      client_id: 'dirsync-console',
      redirect_uri: 'https://c/oidc/callback',
      scope: 'openid profile email',
      state: 's1',
      nonce: 'n1',
      code_challenge_method: 'S256',
      audience: 'api://dirsync',
    });
    expect(q.code_challenge).toBe(await codeChallenge('v'.repeat(43)));
  });

  it('reads a JWT payload with non-ASCII claims', () => {
    const payload = Buffer.from(JSON.stringify({ name: 'Jürgen', exp: 5 })).toString('base64url');
    expect(jwtPayload(`x.${payload}.y`)).toEqual({ name: 'Jürgen', exp: 5 });
    expect(jwtPayload('garbage')).toBeUndefined();
  });
});
