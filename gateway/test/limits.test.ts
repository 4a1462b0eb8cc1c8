import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayConfig, GatewayService } from '../src/index.js';
import { startStack, type Client, type GraphQLResult, type Stack } from './support/stack.js';

let stack: Stack;

/** Another gateway in front of the stack's subgraphs, with some settings changed. */
const gatewayWith = (overrides: Partial<GatewayConfig>): Promise<GatewayService> =>
  stack.startGateway(overrides);

async function post(url: string, key: string | undefined, body: unknown, accept?: string) {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(accept ? { accept } : {}),
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as GraphQLResult };
}

const code = (r: GraphQLResult) => r.errors?.[0]?.extensions?.code;

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack?.stop();
});

describe('query limits', () => {
  it('refuses an operation nested deeper than GATEWAY_MAX_DEPTH', async () => {
    const ok = await stack.gqlRaw(
      `{ users(first: 1) { nodes { groups(first: 1) { nodes { members(first: 1) { nodes {
         directory { lastRun { counts { seen } } } } } } } } } }`,
    );
    expect(ok.errors).toBeUndefined();
    const deep = await post(stack.gatewayUrl, stack.key, {
      query: `{ users(first: 1) { nodes { groups(first: 1) { nodes { members(first: 1) { nodes {
         groups(first: 1) { nodes { members(first: 1) { nodes { directory { lastRun { counts { seen } } } } } } } } } } } } } }`,
    });
    expect(deep.status).toBe(400);
    expect(deep.body.errors?.[0]?.extensions).toMatchObject({
      code: 'QUERY_TOO_DEEP',
      maxDepth: 12,
    });
    expect(deep.body.data).toBeUndefined();
  });

  it('counts depth through fragments', async () => {
    const r = await stack.gqlRaw(
      `fragment M on Group { members(first: 1) { nodes { groups(first: 1) { nodes { ...N } } } } }
       fragment N on Group { members(first: 1) { nodes { groups(first: 1) { nodes {
         members(first: 1) { nodes { username } } } } } } }
       { groups(first: 1) { nodes { ...M } } }`,
    );
    expect(code(r)).toBe('QUERY_TOO_DEEP');
  });

  it('refuses an operation whose pages multiply beyond GATEWAY_MAX_COST', async () => {
    const r = await post(stack.gatewayUrl, stack.key, {
      query: `{ users(first: 500) { nodes { groups(first: 500) { nodes { members(first: 500) { nodes { username } } } } } } }`,
    });
    expect(r.status).toBe(400);
    expect(r.body.errors?.[0]?.extensions).toMatchObject({
      code: 'QUERY_TOO_COMPLEX',
      maxCost: 200_000,
    });
    // The same shape with modest pages is fine.
    const small = await stack.gqlRaw(
      `{ users(first: 50) { nodes { groups(first: 20) { nodes { members(first: 20) { nodes { username } } } } } } }`,
    );
    expect(small.errors).toBeUndefined();
  });

  it('counts aliases: many copies of a cheap field add up', async () => {
    const copies = Array.from({ length: 500 }, (_, i) => `u${i}: users(first: 500) { totalCount }`);
    const r = await stack.gqlRaw(`{ ${copies.join(' ')} }`);
    expect(code(r)).toBe('QUERY_TOO_COMPLEX');
  });

  it('caps the number of lists: empty pages still cost a query each', async () => {
    // 3,000 aliased `first: 0` searches cost almost nothing by page size, yet each is a search
    // and a count in Postgres (about a minute of database work for one request, measured).
    const copies = Array.from(
      { length: 3000 },
      (_, i) => `a${i}: users(first: 0, filter: { search: "q${i}" }) { totalCount }`,
    );
    const r = await stack.gqlRaw(`{ ${copies.join(' ')} }`);
    expect(code(r)).toBe('QUERY_TOO_COMPLEX');
    expect(r.errors?.[0]?.extensions).toMatchObject({ lists: 3000, maxLists: 50 });
    const fifty = Array.from({ length: 50 }, (_, i) => `a${i}: users(first: 0) { totalCount }`);
    expect((await stack.gqlRaw(`{ ${fifty.join(' ')} }`)).errors).toBeUndefined();
    const nested = await stack.gqlRaw(`{ u51: users(first: 0) { totalCount } ${fifty.join(' ')} }`);
    expect(code(nested)).toBe('QUERY_TOO_COMPLEX');
  });

  it('caps the page size everywhere, literal or variable', async () => {
    for (const [query, variables] of [
      ['{ users(first: 501) { totalCount } }', {}],
      ['query($n: Int) { runs(first: $n) { totalCount } }', { n: 100_000 }],
      ['{ groups(first: 1) { nodes { members(first: 9999) { totalCount } } } }', {}],
    ] as const) {
      const r = await stack.gqlRaw(query, variables);
      expect(code(r), query).toBe('BAD_USER_INPUT');
      expect(r.errors?.[0]?.message).toMatch(/first: at most 500/);
    }
  });

  it('refuses request bodies over GATEWAY_MAX_BODY_BYTES with 413', async () => {
    const r = await post(stack.gatewayUrl, stack.key, {
      query: '{ __typename }',
      variables: { pad: 'x'.repeat(300 * 1024) },
    });
    expect(r.status).toBe(413);
    expect(code(r.body)).toBe('PAYLOAD_TOO_LARGE');
  });
});

describe('rate limits', () => {
  it('allows GATEWAY_RATE_LIMIT_PER_MINUTE requests per key, then 429 with Retry-After', async () => {
    const g = await gatewayWith({ rateLimitPerMinute: 5 });
    const a = await stack.client('READ_ONLY', { name: 'limited a' });
    const b = await stack.client('READ_ONLY', { name: 'limited b' });
    for (let i = 0; i < 5; i++) {
      expect((await post(g.url, a.key, { query: '{ __typename }' })).status).toBe(200);
    }
    const limited = await post(g.url, a.key, { query: '{ __typename }' });
    expect(limited.status).toBe(429);
    expect(code(limited.body)).toBe('RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Another key has its own budget.
    expect((await post(g.url, b.key, { query: '{ __typename }' })).status).toBe(200);
  });

  it('slows down guessing: failed authentications per address are limited too', async () => {
    const g = await gatewayWith({ authFailuresPerMinute: 3 });
    const bad = 'dsk_AAAAAAAAAAAA_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    for (let i = 0; i < 3; i++)
      expect((await post(g.url, bad, { query: '{ __typename }' })).status).toBe(401);
    expect((await post(g.url, bad, { query: '{ __typename }' })).status).toBe(429);
  });
});

describe('timeouts', () => {
  it('a subgraph that does not answer in GATEWAY_REQUEST_TIMEOUT_MS fails the request with TIMEOUT', async () => {
    // An LDAP server that accepts connections and never answers: syncUser waits on it.
    const sockets = new Set<net.Socket>();
    const blackhole = net.createServer((s) => sockets.add(s));
    await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', r));
    const port = (blackhole.address() as net.AddressInfo).port;
    try {
      const { createDirectory } = await stack.gql<{ createDirectory: { id: string } }>(
        `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { id } }`,
        {
          input: {
            name: 'Black hole',
            ldap: {
              url: `ldap://127.0.0.1:${port}`,
              bindDn: 'cn=admin,dc=example,dc=org',
              baseDn: 'dc=example,dc=org',
              timeoutMs: 20_000,
            },
            bindPassword: 'blackhole-password',
            selectedGroups: ['cn=staff,ou=groups,dc=example,dc=org'],
          },
        },
      );
      const g = await gatewayWith({ requestTimeoutMs: 500 });
      const started = Date.now();
      const r = await post(g.url, stack.key, {
        query: `mutation($id: ID!) { syncUser(directoryId: $id, username: "alice") { outcome } }`,
        variables: { id: createDirectory.id },
      });
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(code(r.body)).toBe('TIMEOUT');
    } finally {
      for (const s of sockets) s.destroy();
      blackhole.close();
    }
  });
});

describe('production and development mode', () => {
  it('production: no introspection, no sandbox page', async () => {
    const r = await post(stack.gatewayUrl, stack.key, { query: '{ __schema { types { name } } }' });
    expect(r.body.data ?? undefined).toBeUndefined();
    expect(r.body.errors?.[0]?.message).toMatch(/introspection/i);
    const page = await fetch(stack.gatewayUrl, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(401);
    const withKey = await fetch(stack.gatewayUrl, {
      headers: { accept: 'text/html', authorization: `Bearer ${stack.key}` },
    });
    expect(await withKey.text()).not.toMatch(/<html/i);
  });

  it('development: introspection for authenticated callers, the sandbox page without', async () => {
    const g = await gatewayWith({ mode: 'development' });
    const client: Client = stack.clientFor(stack.key, g.url);
    const r = await client.gqlRaw('{ __schema { queryType { name } } }');
    expect(r.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    expect(
      (await post(g.url, undefined, { query: '{ __schema { queryType { name } } }' })).status,
    ).toBe(401);
    const page = await fetch(g.url, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<html/i);
  });
});
