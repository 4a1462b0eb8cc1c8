import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';

/**
 * An OpenID provider of the test's own on loopback, enough for the console's sign-in: discovery,
 * JWKS, an authorization endpoint that signs the configured person in at once (redirecting back
 * with a code), and a token endpoint that checks the PKCE verifier, the client and the redirect
 * URI before it issues an RS256 access token (for the gateway's audience) and an id token (with
 * the nonce). CORS is open, as a provider allows for single-page clients.
 */
export interface OidcProvider {
  issuer: string;
  /** Claims of whoever signs in next (roles, sub, name). */
  person: Record<string, unknown>;
  /** Token requests refused (a wrong verifier, client or redirect URI), for assertions. */
  refused: string[];
  close(): Promise<void>;
}

interface Grant {
  clientId: string;
  redirectUri: string;
  challenge: string;
  nonce: string;
  person: Record<string, unknown>;
}

export async function startOidcProvider(opts: {
  clientId: string;
  audience: string;
}): Promise<OidcProvider> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'console-test', alg: 'RS256', use: 'sig' };
  const grants = new Map<string, Grant>();
  const provider: OidcProvider = {
    issuer: '',
    person: { sub: 'person-1', name: 'Olivia Operator', roles: ['user-manager'] },
    refused: [],
    close: () => new Promise((r) => server.close(() => r())),
  };

  const sign = (claims: Record<string, unknown>, audience: string, key: CryptoKey) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'console-test' })
      .setIssuer(provider.issuer)
      .setAudience(audience)
      .setSubject(String(claims.sub ?? 'person-1'))
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(key);

  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, {
      'content-type': 'application/json',
      'access-control-allow-origin': '*',
      'cache-control': 'no-store',
    });
    res.end(JSON.stringify(body));
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', provider.issuer);
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'access-control-allow-origin': '*',
        'access-control-allow-methods': 'POST',
        'access-control-allow-headers': 'content-type',
      });
      res.end();
      return;
    }
    if (url.pathname === '/.well-known/openid-configuration') {
      json(res, 200, {
        issuer: provider.issuer,
        authorization_endpoint: `${provider.issuer}/authorize`,
        token_endpoint: `${provider.issuer}/token`,
        jwks_uri: `${provider.issuer}/jwks`,
        response_types_supported: ['code'],
        code_challenge_methods_supported: ['S256'],
      });
      return;
    }
    if (url.pathname === '/jwks') {
      json(res, 200, { keys: [jwk] });
      return;
    }
    if (url.pathname === '/authorize') {
      const q = url.searchParams;
      const redirectUri = q.get('redirect_uri') ?? '';
      if (
        q.get('client_id') !== opts.clientId ||
        q.get('response_type') !== 'code' ||
        q.get('code_challenge_method') !== 'S256'
      ) {
        res.writeHead(400).end('bad authorization request');
        return;
      }
      const code = randomBytes(16).toString('hex');
      grants.set(code, {
        clientId: opts.clientId,
        redirectUri,
        challenge: q.get('code_challenge') ?? '',
        nonce: q.get('nonce') ?? '',
        person: { ...provider.person },
      });
      const back = new URL(redirectUri);
      back.searchParams.set('code', code);
      back.searchParams.set('state', q.get('state') ?? '');
      res.writeHead(302, { location: back.toString() }).end();
      return;
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        void (async () => {
          const form = new URLSearchParams(body);
          const code = form.get('code') ?? '';
          const grant = grants.get(code);
          grants.delete(code); // a code works once
          const verifier = form.get('code_verifier') ?? '';
          const challenge = createHash('sha256').update(verifier).digest('base64url');
          const problem = !grant
            ? 'unknown or used code'
            : form.get('grant_type') !== 'authorization_code'
              ? 'grant_type'
              : form.get('client_id') !== grant.clientId
                ? 'client_id'
                : form.get('redirect_uri') !== grant.redirectUri
                  ? 'redirect_uri'
                  : challenge !== grant.challenge
                    ? 'PKCE verifier'
                    : undefined;
          if (problem || !grant) {
            provider.refused.push(problem ?? 'unknown');
            json(res, 400, { error: 'invalid_grant', error_description: problem });
            return;
          }
          json(res, 200, {
            token_type: 'Bearer',
            expires_in: 600,
            access_token: await sign(grant.person, opts.audience, privateKey),
            id_token: await sign(
              { ...grant.person, nonce: grant.nonce },
              opts.clientId,
              privateKey,
            ),
          });
        })();
      });
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  provider.issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return provider;
}
