// The fake on its own, over real HTTPS: what it promises clients (Microsoft's documented token,
// paging, delta, throttling and error behaviour), so connector tests can rely on it.
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeGraphAdmin, startFakeGraph, type FakeGraph } from '../src/index.js';

type Json = Record<string, unknown>;

describe('fake Microsoft Graph tenant', () => {
  let fake: FakeGraph;
  let admin: FakeGraphAdmin;
  let agent: https.Agent;
  let clientId: string;
  let token: string;
  const SECRET = 'fake-Test-Secret';

  function request(
    method: string,
    path: string,
    opts: { body?: string; headers?: Record<string, string>; auth?: boolean } = {},
  ): Promise<{ status: number; headers: Record<string, unknown>; json: Json }> {
    const url = path.startsWith('https://') ? path : `${fake.url}${path}`;
    return new Promise((resolve, reject) => {
      const req = https.request(
        url,
        {
          method,
          agent,
          headers: {
            ...(opts.auth === false ? {} : { authorization: `Bearer ${token}` }),
            ...opts.headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              json: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Json,
            }),
          );
        },
      );
      req.on('error', reject);
      req.end(opts.body);
    });
  }

  const tokenRequest = (form: Record<string, string>) =>
    request('POST', `/${fake.tenantId}/oauth2/v2.0/token`, {
      auth: false,
      body: new URLSearchParams(form).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });

  /** Every page of a delta round from `url`; the value lists and the final delta link. */
  async function round(url: string): Promise<{ pages: Json[][]; deltaLink: string }> {
    const pages: Json[][] = [];
    let next: string | undefined = url;
    for (;;) {
      const res = await request('GET', next);
      expect(res.status).toBe(200);
      pages.push(res.json.value as Json[]);
      if (res.json['@odata.deltaLink'])
        return { pages, deltaLink: String(res.json['@odata.deltaLink']) };
      next = String(res.json['@odata.nextLink']);
    }
  }

  beforeAll(async () => {
    fake = await startFakeGraph({ settings: { deltaPageSize: 3, deltaMembersPerEntry: 2 } });
    agent = new https.Agent({ ca: fake.caPem, keepAlive: true });
    admin = new FakeGraphAdmin(fake.url, fake.caPem);
    clientId = (await admin.registerApp({ secrets: [SECRET] })).clientId;
    const res = await tokenRequest({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: SECRET,
      scope: 'https://graph.microsoft.com/.default',
    });
    token = String(res.json.access_token);
  });

  afterAll(async () => {
    agent?.destroy();
    admin?.close();
    await fake?.close();
  });

  describe('token endpoint', () => {
    it('issues a bearer token for the right secret, with an expiry', async () => {
      expect(token.split('.')).toHaveLength(3);
      const meta = await request('GET', `/${fake.tenantId}/v2.0/.well-known/openid-configuration`, {
        auth: false,
      });
      expect(meta.json.token_endpoint).toBe(`${fake.url}/${fake.tenantId}/oauth2/v2.0/token`);
    });

    it('answers Entra errors with AADSTS codes', async () => {
      const base = {
        grant_type: 'client_credentials',
        scope: 'https://graph.microsoft.com/.default',
      };
      const bad = await tokenRequest({ ...base, client_id: clientId, client_secret: 'nope' });
      expect([bad.status, bad.json.error, bad.json.error_codes]).toEqual([
        401,
        'invalid_client',
        [7000215],
      ]);
      const unknown = await tokenRequest({
        ...base,
        client_id: '00000000-0000-4000-8000-000000000000',
        client_secret: 'x',
      });
      expect(unknown.json.error_codes).toEqual([700016]);
      const scope = await tokenRequest({
        ...base,
        scope: 'User.Read',
        client_id: clientId,
        client_secret: SECRET,
      });
      expect(scope.json.error).toBe('invalid_scope');
    });
  });

  describe('collections', () => {
    let groupId: string;
    beforeAll(async () => {
      const users = await admin.addUsers(
        Array.from({ length: 7 }, (_v, i) => ({
          userPrincipalName: `p${i}@contoso.example`,
          displayName: `P ${i}`,
        })),
      );
      groupId = String(
        (await admin.addGroup({ displayName: 'paged', members: users.map((u) => String(u.id)) }))
          .id,
      );
    });

    it('pages with $top and @odata.nextLink, keeping the query', async () => {
      const seen: string[] = [];
      let url: string | undefined =
        `/v1.0/groups/${groupId}/transitiveMembers/microsoft.graph.user?$select=id,displayName&$top=3`;
      let pages = 0;
      while (url) {
        const res = await request('GET', url);
        pages++;
        for (const u of res.json.value as Json[]) {
          expect(Object.keys(u).sort()).toEqual(['@odata.type', 'displayName', 'id']);
          seen.push(String(u.displayName));
        }
        url = res.json['@odata.nextLink'] as string | undefined;
      }
      expect(pages).toBe(3);
      expect(seen).toHaveLength(7);
    });

    it('refuses an unknown $select property and a $top over 999, naming them', async () => {
      const sel = await request('GET', '/v1.0/users?$select=id,costCentre');
      expect(sel.status).toBe(400);
      expect((sel.json.error as Json).message).toContain('costCentre');
      expect((await request('GET', '/v1.0/users?$top=1000')).status).toBe(400);
    });

    it('filters with eq, ignoring case, and 404s an unknown group', async () => {
      const res = await request(
        'GET',
        `/v1.0/users?$filter=${encodeURIComponent("userPrincipalName eq 'P3@CONTOSO.example'")}`,
      );
      expect((res.json.value as Json[]).map((u) => u.displayName)).toEqual(['P 3']);
      const missing = await request('GET', '/v1.0/groups/00000000-0000-4000-8000-000000000000');
      expect([missing.status, (missing.json.error as Json).code]).toEqual([
        404,
        'Request_ResourceNotFound',
      ]);
    });

    it('filters on an advanced-only property only in an advanced query, with @odata.count', async () => {
      await admin.addUser({
        userPrincipalName: 'sam@contoso.example',
        onPremisesSamAccountName: 'psam',
      });
      const filter = encodeURIComponent("onPremisesSamAccountName eq 'PSAM'");
      const plain = await request('GET', `/v1.0/users?$filter=${filter}`);
      expect([plain.status, (plain.json.error as Json).code]).toEqual([
        400,
        'Request_UnsupportedQuery',
      ]);
      expect((plain.json.error as Json).message).toContain('onPremisesSamAccountName');
      // Both advanced query parameters are needed: $count=true alone, or the header alone, is not one.
      expect((await request('GET', `/v1.0/users?$filter=${filter}&$count=true`)).status).toBe(400);
      const headerOnly = await request('GET', `/v1.0/users?$filter=${filter}`, {
        headers: { ConsistencyLevel: 'eventual' },
      });
      expect(headerOnly.status).toBe(400);
      const advanced = await request('GET', `/v1.0/users?$filter=${filter}&$count=true`, {
        headers: { ConsistencyLevel: 'eventual' },
      });
      expect(advanced.status).toBe(200);
      expect(advanced.json['@odata.count']).toBe(1);
      expect(advanced.json.value).toHaveLength(1);
      // A property that filters by default works either way.
      const upn = encodeURIComponent("userPrincipalName eq 'p3@contoso.example'");
      expect((await request('GET', `/v1.0/users?$filter=${upn}`)).status).toBe(200);
    });

    it('401 without a valid token, 403 without the permission', async () => {
      const none = await request('GET', '/v1.0/users', { auth: false });
      expect([none.status, (none.json.error as Json).code]).toEqual([
        401,
        'InvalidAuthenticationToken',
      ]);
      expect(none.headers['www-authenticate']).toBeDefined();
      const app = await admin.registerApp({ secrets: ['s'], permissions: ['User.Read.All'] });
      const t = await tokenRequest({
        grant_type: 'client_credentials',
        client_id: app.clientId,
        client_secret: 's',
        scope: 'https://graph.microsoft.com/.default',
      });
      const denied = await request('GET', `/v1.0/groups/${groupId}`, {
        headers: { authorization: `Bearer ${String(t.json.access_token)}` },
      });
      expect([denied.status, (denied.json.error as Json).code]).toEqual([
        403,
        'Authorization_RequestDenied',
      ]);
    });

    it('throttles on demand with Retry-After, then answers', async () => {
      await admin.addFault({ match: '/v1.0/users', count: 1, status: 429, retryAfterSeconds: 7 });
      const throttled = await request('GET', '/v1.0/users');
      expect([
        throttled.status,
        throttled.headers['retry-after'],
        (throttled.json.error as Json).code,
      ]).toEqual([429, '7', 'TooManyRequests']);
      expect((await request('GET', '/v1.0/users')).status).toBe(200);
    });
  });

  describe('delta', () => {
    it('an initial round lists everything; a big group repeats across entries and pages', async () => {
      const { pages, deltaLink } = await round('/v1.0/groups/delta?$select=displayName,members');
      expect(pages.length).toBeGreaterThan(1);
      const paged = pages.flat().filter((g) => g.displayName === 'paged');
      expect(paged.length).toBe(4); // 7 members, 2 per entry
      const members = new Set(
        paged.flatMap((g) => (g['members@delta'] as Json[]).map((m) => m.id)),
      );
      expect(members.size).toBe(7);
      expect(deltaLink).toContain('$deltatoken=');
    });

    it('then reports only changes: changed properties, @removed with its reason, members@delta', async () => {
      const latest = await request(
        'GET',
        '/v1.0/users/delta?$deltatoken=latest&$select=displayName,mail',
      );
      expect(latest.json.value).toEqual([]);
      const link = String(latest.json['@odata.deltaLink']);
      const [a, b, c] = await admin.addUsers([
        { userPrincipalName: 'da@contoso.example', displayName: 'A' },
        { userPrincipalName: 'db@contoso.example', displayName: 'B' },
        { userPrincipalName: 'dc@contoso.example', displayName: 'C' },
      ]);
      const first = await round(link);
      expect(
        first.pages
          .flat()
          .map((u) => u.displayName)
          .sort(),
      ).toEqual(['A', 'B', 'C']);
      await admin.updateUser(String(a?.id), { mail: 'a@contoso.example' });
      await admin.deleteUser(String(b?.id));
      await admin.deleteUser(String(c?.id), { hard: true });
      const second = await round(first.deltaLink);
      expect(second.pages.flat()).toEqual(
        expect.arrayContaining([
          { id: a?.id, mail: 'a@contoso.example' },
          { id: b?.id, '@removed': { reason: 'changed' } },
          { id: c?.id, '@removed': { reason: 'deleted' } },
        ]),
      );
      expect(second.pages.flat()).toHaveLength(3);
    });

    it('an expired link is 400 syncStateNotFound; a reset one is 410 with a Location to start over', async () => {
      const { deltaLink } = await round('/v1.0/users/delta?$select=displayName');
      await admin.expireDeltaLinks();
      const expired = await request('GET', deltaLink);
      expect([expired.status, (expired.json.error as Json).code]).toEqual([
        400,
        'syncStateNotFound',
      ]);
      const fresh = await round('/v1.0/users/delta?$select=displayName');
      await admin.resetDeltaLinks();
      const gone = await request('GET', fresh.deltaLink);
      expect([gone.status, (gone.json.error as Json).code]).toEqual([410, 'resyncRequired']);
      expect(String(gone.headers.location)).toContain('/v1.0/users/delta');
    });
  });
});
