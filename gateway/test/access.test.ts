import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createGatewayTokenSigner,
  generateGatewayKeyPair,
  PrincipalKind,
  ROLES,
  type Role,
} from '@dirsync/kit/auth';
import { waitFor } from '@dirsync/testkit';
import { startStack, type Client, type GraphQLResult, type Stack } from './support/stack.js';

// Who may do what, written out independently of the kit's table: if someone changes the table
// by mistake, this file says so.
const ALLOWED: Record<string, readonly Role[]> = {
  createDirectory: ['OWNER'],
  updateDirectory: ['OWNER'],
  deleteDirectory: ['OWNER'],
  testDirectory: ['OWNER'],
  testDirectorySettings: ['OWNER'],
  syncAll: ['OWNER', 'ADMINISTRATOR', 'USER_MANAGER'],
  syncUser: ['OWNER', 'ADMINISTRATOR', 'USER_MANAGER', 'HELP_DESK'],
  syncAdmin: ['OWNER', 'ADMINISTRATOR', 'USER_MANAGER'],
  createAdmin: ['OWNER'],
  updateAdmin: ['OWNER'],
  deleteAdmin: ['OWNER'],
  createUser: ['OWNER', 'ADMINISTRATOR', 'USER_MANAGER'],
  updateUser: ['OWNER', 'ADMINISTRATOR', 'USER_MANAGER'],
  deleteUser: ['OWNER', 'ADMINISTRATOR', 'USER_MANAGER'],
  setUserBypass: ['OWNER', 'ADMINISTRATOR', 'USER_MANAGER'],
  restoreUser: ['OWNER', 'ADMINISTRATOR', 'USER_MANAGER'],
  purgeUser: ['OWNER', 'ADMINISTRATOR'],
  approveRun: ['OWNER'],
  rejectRun: ['OWNER'],
  createApiKey: ['OWNER'],
  revokeApiKey: ['OWNER'],
  apiKeys: ['OWNER'],
  auditLog: ['OWNER'],
};

const UNREACHABLE_LDAP = {
  url: 'ldap://127.0.0.1:1',
  bindDn: 'cn=admin,dc=example,dc=org',
  baseDn: 'dc=example,dc=org',
  userBaseDn: 'ou=people,dc=example,dc=org',
};

let stack: Stack;
const clients = {} as Record<Role, Client>;
let directoryId = '';
let victimKeyId = '';
let manualAdminId = '';
let manualUserId = '';

async function post(url: string, headers: Record<string, string>, query: string) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, body: (await res.json()) as GraphQLResult, headers: res.headers };
}

const code = (r: GraphQLResult) => r.errors?.[0]?.extensions?.code;

beforeAll(async () => {
  stack = await startStack();
  for (const role of ROLES) clients[role] = await stack.client(role);
  const { createDirectory } = await stack.gql<{ createDirectory: { id: string } }>(
    `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { id } }`,
    {
      input: {
        name: 'Guarded',
        ldap: UNREACHABLE_LDAP,
        bindPassword: 'guarded-bind-password',
        selectedGroups: ['cn=staff,ou=groups,dc=example,dc=org'],
      },
    },
  );
  directoryId = createDirectory.id;
  const victim = await stack.gql<{ createApiKey: { apiKey: { id: string } } }>(
    `mutation { createApiKey(input: { name: "victim", role: READ_ONLY }) { apiKey { id } } }`,
  );
  victimKeyId = victim.createApiKey.apiKey.id;
  const manual = await stack.gql<{ createAdmin: { id: string } }>(
    `mutation { createAdmin(input: { email: "kept@example.org", role: HELP_DESK }) { id } }`,
  );
  manualAdminId = manual.createAdmin.id;
  const manualUser = await stack.gql<{ createUser: { id: string } }>(
    `mutation { createUser(input: { username: "kept.user" }) { id } }`,
  );
  manualUserId = manualUser.createUser.id;
});

afterAll(async () => {
  await stack?.stop();
});

/** What the owner sees, to prove that a denied request changed nothing. */
async function snapshot() {
  return stack.gql(
    `query($id: ID!) {
       directories { totalCount nodes { id name enabled } }
       directory(id: $id) { name scheduleIntervalMinutes }
       runs { totalCount }
       apiKeys(includeRevoked: true) { totalCount nodes { id status } }
       admins { totalCount nodes { id email role status } }
       users { totalCount nodes { id username status bypass firstName } }
     }`,
    { id: directoryId },
  );
}

/** Each mutation (and owner-only query) as a client sends it. */
const OPERATIONS: Record<string, () => [string, Record<string, unknown>]> = {
  createDirectory: () => [
    `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { id } }`,
    {
      input: {
        name: `Another ${Math.random()}`,
        ldap: UNREACHABLE_LDAP,
        bindPassword: 'another-bind-password',
        selectedGroups: ['cn=staff,ou=groups,dc=example,dc=org'],
      },
    },
  ],
  updateDirectory: () => [
    `mutation($id: ID!) { updateDirectory(id: $id, input: { scheduleIntervalMinutes: 45 }) { id } }`,
    { id: directoryId },
  ],
  deleteDirectory: () => [`mutation($id: ID!) { deleteDirectory(id: $id) }`, { id: directoryId }],
  testDirectory: () => [
    `mutation($id: ID!) { testDirectory(id: $id) { ok } }`,
    { id: directoryId },
  ],
  // the stored password sent to a host of the caller's choosing: owners only
  testDirectorySettings: () => [
    `mutation($input: TestDirectorySettingsInput!) { testDirectorySettings(input: $input) { ok } }`,
    { input: { directoryId, ldap: { url: 'ldap://127.0.0.1:2' } } },
  ],
  syncAll: () => [`mutation($id: ID!) { syncAll(directoryId: $id) { id } }`, { id: directoryId }],
  syncUser: () => [
    `mutation($id: ID!) { syncUser(directoryId: $id, username: "alice") { outcome } }`,
    { id: directoryId },
  ],
  syncAdmin: () => [
    `mutation($id: ID!) { syncAdmin(directoryId: $id, email: "ada@example.org") { outcome } }`,
    { id: directoryId },
  ],
  createAdmin: () => [
    `mutation { createAdmin(input: { email: "sneaky-${Math.random()}@example.org", role: OWNER }) { id } }`,
    {},
  ],
  updateAdmin: () => [
    `mutation($id: ID!) { updateAdmin(id: $id, input: { role: OWNER }) { id } }`,
    { id: manualAdminId },
  ],
  deleteAdmin: () => [`mutation($id: ID!) { deleteAdmin(id: $id) }`, { id: manualAdminId }],
  createUser: () => [
    `mutation { createUser(input: { username: "sneaky-${Math.random()}" }) { id } }`,
    {},
  ],
  updateUser: () => [
    `mutation($id: ID!) { updateUser(id: $id, input: { firstName: "Sneaky" }) { id } }`,
    { id: manualUserId },
  ],
  deleteUser: () => [`mutation($id: ID!) { deleteUser(id: $id) }`, { id: manualUserId }],
  setUserBypass: () => [
    `mutation($id: ID!) { setUserBypass(id: $id, bypass: true) { id } }`,
    { id: manualUserId },
  ],
  // Nobody is pending deletion here: an allowed caller gets NOT_FOUND, never FORBIDDEN.
  restoreUser: () => [
    `mutation($id: ID!) { restoreUser(id: $id) { id } }`,
    { id: '00000000-0000-4000-8000-000000000001' },
  ],
  purgeUser: () => [
    `mutation($id: ID!) { purgeUser(id: $id) }`,
    { id: '00000000-0000-4000-8000-000000000001' },
  ],
  // No run is blocked here: the owner gets NOT_FOUND, everyone else FORBIDDEN.
  approveRun: () => [
    `mutation($id: ID!) { approveRun(runId: $id) { id } }`,
    { id: '00000000-0000-4000-8000-000000000002' },
  ],
  rejectRun: () => [
    `mutation($id: ID!) { rejectRun(runId: $id) { id } }`,
    { id: '00000000-0000-4000-8000-000000000002' },
  ],
  createApiKey: () => [
    `mutation { createApiKey(input: { name: "sneaky", role: OWNER }) { key } }`,
    {},
  ],
  revokeApiKey: () => [`mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, { id: victimKeyId }],
  apiKeys: () => [`{ apiKeys { totalCount } }`, {}],
  auditLog: () => [`{ auditLog { totalCount } }`, {}],
};

describe('authorisation', () => {
  it.each(ROLES.filter((r) => r !== 'OWNER'))(
    '%s: every operation it lacks answers FORBIDDEN and changes nothing',
    async (role) => {
      for (const [name, op] of Object.entries(OPERATIONS)) {
        if (ALLOWED[name]!.includes(role)) continue;
        const before = await snapshot();
        const [query, variables] = op();
        const r = await clients[role].gqlRaw(query, variables);
        expect(code(r), `${role} ${name}`).toBe('FORBIDDEN');
        expect(r.errors?.[0]?.message).toContain(role);
        expect(await snapshot(), `${role} ${name} changed something`).toEqual(before);
      }
    },
  );

  it.each(ROLES)('%s: every operation it has is not refused', async (role) => {
    for (const [name, op] of Object.entries(OPERATIONS)) {
      const destructive = ['deleteDirectory', 'revokeApiKey', 'deleteAdmin', 'deleteUser'].includes(
        name,
      );
      if (!ALLOWED[name]!.includes(role) || destructive) {
        continue;
      }
      const [query, variables] = op();
      const r = await clients[role].gqlRaw(query, variables);
      // A run may already be active (RUN_IN_PROGRESS): allowed, just not now.
      expect(['FORBIDDEN', 'UNAUTHENTICATED'], `${role} ${name}`).not.toContain(code(r));
    }
  });

  it('every role reads users, groups, directories and runs', async () => {
    for (const role of ROLES) {
      const r = await clients[role].gqlRaw(
        `{ users { totalCount } groups { totalCount } directories { totalCount } runs { totalCount }
           viewer { role kind permissions } }`,
      );
      expect(r.errors, role).toBeUndefined();
      expect(r.data?.viewer).toMatchObject({ role, kind: 'API_KEY' });
    }
  });

  it('the owner deletes what it may (last, as it removes the directory)', async () => {
    const r = await stack.gqlRaw(
      `mutation($id: ID!) { revokeApiKey(id: $id) { status revokedBy } }`,
      { id: victimKeyId },
    );
    expect(r.data?.revokeApiKey).toMatchObject({ status: 'REVOKED' });
    await waitFor(
      async () => {
        const d = await stack.gqlRaw(`mutation($id: ID!) { deleteDirectory(id: $id) }`, {
          id: directoryId,
        });
        return code(d) === 'RUN_IN_PROGRESS' ? undefined : d;
      },
      { timeoutMs: 30_000, message: 'no active run left' },
    ).then((d) => expect(d.data).toEqual({ deleteDirectory: true }));
  });
});

describe('authentication', () => {
  it('refuses requests without credentials, with another scheme, or an unknown key', async () => {
    const variants: Record<string, string>[] = [
      {},
      { authorization: 'Basic YWRtaW46YWRtaW4=' },
      { authorization: 'Bearer dsk_AAAAAAAAAAAA_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
      { authorization: 'Bearer dsk_nonsense' },
      { authorization: 'Bearer not-a-key-nor-a-jwt' },
    ];
    for (const headers of variants) {
      const r = await post(stack.gatewayUrl, headers, '{ users { totalCount } }');
      expect(r.status, JSON.stringify(headers)).toBe(401);
      expect(code(r.body)).toBe('UNAUTHENTICATED');
      expect(r.headers.get('www-authenticate')).toContain('Bearer');
      expect(r.body.data).toBeUndefined();
    }
  });

  it('a key of the right shape but the wrong secret is refused like an unknown one', async () => {
    const real = clients.READ_ONLY.key;
    const forged = `${real.slice(0, real.lastIndexOf('_') + 1)}${'A'.repeat(43)}`;
    const r = await post(stack.gatewayUrl, { authorization: `Bearer ${forged}` }, '{ __typename }');
    expect(r.status).toBe(401);
    expect(r.body.errors?.[0]?.message).toBe('API key not recognised');
  });

  it('a revoked key stops working at once', async () => {
    const c = await stack.client('USER_MANAGER', { name: 'to revoke' });
    expect((await c.gqlRaw('{ viewer { name } }')).data).toEqual({ viewer: { name: 'to revoke' } });
    const { apiKeys } = await stack.gql<{ apiKeys: { nodes: { id: string; name: string }[] } }>(
      '{ apiKeys(first: 500) { nodes { id name } } }',
    );
    const id = apiKeys.nodes.find((k) => k.name === 'to revoke')!.id;
    await stack.gql(`mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, { id });
    const r = await post(stack.gatewayUrl, { authorization: `Bearer ${c.key}` }, '{ __typename }');
    expect(r.status).toBe(401);
    expect(r.body.errors?.[0]).toMatchObject({
      message: 'API key revoked',
      extensions: { code: 'UNAUTHENTICATED' },
    });
  });

  it('an expired key stops working', async () => {
    const c = await stack.client('READ_ONLY', { expiresAt: new Date(Date.now() + 1_500) });
    expect(code(await c.gqlRaw('{ viewer { id } }'))).toBeUndefined();
    const r = await waitFor(
      async () => {
        const x = await post(
          stack.gatewayUrl,
          { authorization: `Bearer ${c.key}` },
          '{ __typename }',
        );
        return x.status === 401 ? x : undefined;
      },
      { timeoutMs: 10_000, message: 'key expired' },
    );
    expect(r.body.errors?.[0]?.message).toBe('API key expired');
  });

  it('keys are shown once: listings carry the prefix, never the key or its hash', async () => {
    const created = await stack.gql<{
      createApiKey: { key: string; apiKey: { id: string; prefix: string; status: string } };
    }>(`mutation { createApiKey(input: { name: "once", role: HELP_DESK }) {
          key apiKey { id prefix status } } }`);
    const { key, apiKey } = created.createApiKey;
    expect(key).toMatch(/^dsk_[A-Za-z0-9_-]{12}_[A-Za-z0-9_-]{43}$/);
    expect(key.startsWith(apiKey.prefix)).toBe(true);
    expect(apiKey.status).toBe('ACTIVE');
    const listing = JSON.stringify(
      await stack.gql(
        '{ apiKeys(first: 500, includeRevoked: true) { nodes { id name role prefix status createdAt createdBy expiresAt revokedAt revokedBy lastUsedAt } } }',
      ),
    );
    expect(listing).toContain(apiKey.prefix);
    expect(listing).not.toContain(key.slice(apiKey.prefix.length));
  });

  it('bad key input names every field', async () => {
    const r = await stack.gqlRaw(
      `mutation { createApiKey(input: { name: "  ", role: READ_ONLY, expiresAt: "2001-01-01T00:00:00Z" }) { key } }`,
    );
    expect(code(r)).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0]?.extensions?.fields).toEqual([
      { field: 'name', message: expect.any(String) },
      { field: 'expiresAt', message: 'must be in the future' },
    ]);
  });
});

describe('subgraphs trust only the gateway', () => {
  const query = '{ directories { totalCount } }';
  const principal = { id: 'key:x', name: 'x', kind: PrincipalKind.API_KEY, role: 'OWNER' as Role };

  it('refuse requests without a gateway token, or with an API key', async () => {
    for (const url of [stack.sync.url, stack.identity.url, stack.auth.url]) {
      expect((await post(url, {}, '{ __typename }')).status, url).toBe(401);
      const withKey = await post(url, { authorization: `Bearer ${stack.key}` }, '{ __typename }');
      expect(withKey.status, url).toBe(401);
      expect(code(withKey.body)).toBe('UNAUTHENTICATED');
    }
  });

  it('refuse tokens signed by another key, and expired ones', async () => {
    const other = createGatewayTokenSigner(generateGatewayKeyPair().privateKey);
    const forged = await post(
      stack.sync.url,
      { authorization: `Bearer ${await other.sign(principal)}` },
      query,
    );
    expect(forged.status).toBe(401);
    expect(forged.body.errors?.[0]?.message).toBe('not a valid gateway token');
    const short = createGatewayTokenSigner(stack.gatewayConfig.privateKey, { ttlSeconds: -60 });
    const expired = await post(
      stack.sync.url,
      { authorization: `Bearer ${await short.sign(principal)}` },
      query,
    );
    expect(expired.status).toBe(401);
    expect(expired.body.errors?.[0]?.message).toBe('gateway token expired');
  });

  it('guard each field themselves, whatever reaches them', async () => {
    const signer = createGatewayTokenSigner(stack.gatewayConfig.privateKey);
    const readOnly = { ...principal, role: 'READ_ONLY' as Role };
    const r = await post(
      stack.sync.url,
      { authorization: `Bearer ${await signer.sign(readOnly)}` },
      `mutation { createDirectory(input: { name: "direct", ldap: { url: "ldap://127.0.0.1:1", bindDn: "cn=a", baseDn: "dc=a", userBaseDn: "dc=a" }, bindPassword: "p", selectedGroups: ["cn=g,dc=a"] }) { id } }`,
    );
    expect(code(r.body)).toBe('FORBIDDEN');
    const internal = await post(
      stack.auth.url.replace('/graphql', '/internal/v1/authenticate'),
      { authorization: `Bearer ${await signer.sign(principal)}` },
      '',
    );
    expect(internal.status).toBe(403);
  });
});
