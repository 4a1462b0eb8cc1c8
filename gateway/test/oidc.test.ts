import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { GatewayConfig, GatewayService } from '../src/index.js';
import { startStack, type GraphQLResult, type Stack } from './support/stack.js';

// An identity provider of the tests' own on loopback: discovery document and JWKS.
let idp: http.Server;
let issuer = '';
let signingKey: CryptoKey;
let otherKey: CryptoKey;
let jwksRequests = 0;
const KID = 'test-key-1';

let stack: Stack;
let gateway: GatewayService;

async function token(
  claims: Record<string, unknown>,
  opts: {
    key?: CryptoKey;
    issuer?: string;
    audience?: string;
    expires?: string | number;
    alg?: string;
  } = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: opts.alg ?? 'RS256', kid: KID })
    .setIssuer(opts.issuer ?? issuer)
    .setAudience(opts.audience ?? 'dirsync-api')
    .setSubject((claims.sub as string | undefined) ?? 'user-1')
    .setIssuedAt()
    .setExpirationTime(opts.expires ?? '5m')
    .sign(opts.key ?? signingKey);
}

function oidcConfig(
  overrides: Partial<NonNullable<GatewayConfig['oidc']>> = {},
): GatewayConfig['oidc'] {
  return {
    issuer,
    audience: 'dirsync-api',
    roleClaim: 'roles',
    roleMap: {},
    algorithms: ['RS256', 'ES256'],
    ...overrides,
  };
}

const gatewayWith = (overrides: Partial<GatewayConfig>): Promise<GatewayService> =>
  stack.startGateway(overrides);

async function call(url: string, bearer: string, query: string) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, body: (await res.json()) as GraphQLResult };
}

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  signingKey = pair.privateKey;
  otherKey = (await generateKeyPair('RS256')).privateKey;
  const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: KID, alg: 'RS256', use: 'sig' };
  idp = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/openid-configuration') {
      res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/keys` }));
    } else if (req.url === '/keys') {
      jwksRequests++;
      res.end(JSON.stringify({ keys: [jwk] }));
    } else {
      res.statusCode = 404;
      res.end('{}');
    }
  });
  await new Promise<void>((r) => idp.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
  stack = await startStack();
  gateway = await gatewayWith({ oidc: oidcConfig() });
});

afterAll(async () => {
  await stack?.stop();
  await new Promise((r) => idp?.close(r));
});

describe('OIDC bearer tokens', () => {
  it('a token from the issuer authenticates, with the role from its claim', async () => {
    const r = await call(
      gateway.url,
      await token({
        sub: 'u-42',
        email: 'ops@example.org',
        roles: ['dirsync-user', 'User Manager'],
      }),
      '{ viewer { id name kind role } }',
    );
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data?.viewer).toEqual({
      id: `oidc:${issuer}#u-42`,
      name: 'ops@example.org',
      kind: 'OIDC',
      role: 'USER_MANAGER',
    });
    expect(jwksRequests).toBeGreaterThan(0);
  });

  it('the role decides, as for keys: a read-only token may not create directories', async () => {
    const r = await call(
      gateway.url,
      await token({ roles: 'read-only' }),
      `mutation { createDirectory(input: { name: "oidc", ldap: { url: "ldap://127.0.0.1:1", bindDn: "cn=a", baseDn: "dc=a" }, bindPassword: "oidc-password", selectedGroups: ["cn=g,dc=a"] }) { id } }`,
    );
    expect(r.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(
      (await stack.gql<{ directories: { totalCount: number } }>('{ directories { totalCount } }'))
        .directories.totalCount,
    ).toBe(0);
  });

  it.each([
    [
      'from another issuer',
      () => token({ roles: ['owner'] }, { issuer: 'https://evil.example' }),
      'token is from another issuer',
    ],
    [
      'with a bad signature',
      () => token({ roles: ['owner'] }, { key: otherKey }),
      'token signature is invalid',
    ],
    [
      'expired',
      () => token({ roles: ['owner'] }, { expires: Math.floor(Date.now() / 1000) - 120 }),
      'token expired',
    ],
    [
      'for another audience',
      () => token({ roles: ['owner'] }, { audience: 'another-api' }),
      'token is not for this audience',
    ],
  ])('a token %s is refused with 401', async (_what, make, message) => {
    const r = await call(gateway.url, await make(), '{ viewer { id } }');
    expect(r.status).toBe(401);
    expect(r.body.errors?.[0]).toMatchObject({ message, extensions: { code: 'UNAUTHENTICATED' } });
  });

  it('a token with an algorithm that is not allowed, or none, is refused', async () => {
    const hs = await new SignJWT({ roles: ['owner'] })
      .setProtectedHeader({ alg: 'HS256', kid: KID })
      .setIssuer(issuer)
      .setAudience('dirsync-api')
      .setSubject('x')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('a-shared-secret-that-is-long-enough'));
    expect((await call(gateway.url, hs, '{ viewer { id } }')).status).toBe(401);
    const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    const body = Buffer.from(
      JSON.stringify({
        iss: issuer,
        aud: 'dirsync-api',
        sub: 'x',
        exp: 9_999_999_999,
        roles: ['owner'],
      }),
    ).toString('base64url');
    expect((await call(gateway.url, `${header}.${body}.`, '{ viewer { id } }')).status).toBe(401);
  });

  it('a valid token without a dirsync role is refused with 403', async () => {
    const r = await call(
      gateway.url,
      await token({ roles: ['billing', 'phishing-manager'] }),
      '{ viewer { id } }',
    );
    expect(r.status).toBe(403);
    expect(r.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('maps nested claims and custom values through OIDC_ROLE_MAP; the highest role wins', async () => {
    const g = await gatewayWith({
      oidc: oidcConfig({
        roleClaim: 'realm_access.roles',
        roleMap: { 'dirsync-admins': 'OWNER' },
        jwksUrl: `${issuer}/keys`,
      }),
    });
    const r = await call(
      g.url,
      await token({ realm_access: { roles: ['help-desk', 'dirsync-admins'] } }),
      '{ viewer { role } apiKeys { totalCount } }',
    );
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data?.viewer).toEqual({ role: 'OWNER' });
  });

  it('API keys keep working next to OIDC', async () => {
    const r = await call(gateway.url, stack.key, '{ viewer { kind } }');
    expect(r.body.data?.viewer).toEqual({ kind: 'API_KEY' });
  });

  it('a mutation is refused when the audit log cannot be written, and changes nothing', async () => {
    // OIDC needs no auth service to authenticate, so this gateway can run with a dead one.
    const g = await gatewayWith({
      oidc: oidcConfig(),
      subgraphUrls: { ...stack.gatewayConfig.subgraphUrls, auth: 'http://127.0.0.1:9/graphql' },
    });
    const r = await call(
      g.url,
      await token({ roles: ['owner'] }),
      `mutation { createDirectory(input: { name: "unaudited", ldap: { url: "ldap://127.0.0.1:1", bindDn: "cn=a", baseDn: "dc=a" }, bindPassword: "unaudited-password", selectedGroups: ["cn=g,dc=a"] }) { id } }`,
    );
    expect(r.status).toBe(503);
    expect(r.body.errors?.[0]?.extensions?.code).toBe('AUDIT_UNAVAILABLE');
    const { directories } = await stack.gql<{ directories: { nodes: { name: string }[] } }>(
      '{ directories { nodes { name } } }',
    );
    expect(directories.nodes.map((d) => d.name)).not.toContain('unaudited');
  });
});
