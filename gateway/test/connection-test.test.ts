// "Test connection" through the gateway: testDirectory and testDirectorySettings against a real
// slapd (the demo directory) and the fake Entra tenant, with every service in process. What the
// console's button and `dirsync directories test` rely on: each step with a stable code and a
// message naming the host, DN, group or permission; settings tested before they are saved (the
// saved password reused); nothing stored; only directory:manage may; no secret in any answer,
// log, message or row (the stack's secret scan).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeGraphAdmin, startFakeGraph, type FakeGraph } from '@dirsync/fake-graph';
import { loadDemo, startSlapd, type Slapd } from '@dirsync/testkit';
import { demoDirectoryInput, startStack, type Stack } from './support/stack.js';

const ENTRA_SECRET = 'conn-test-Entra-Secret~7';
const WRONG_PASSWORD = 'conn-test-Wrong-Password-3';

interface Check {
  name: string;
  target: string | null;
  status: string;
  code: string | null;
  message: string;
}
interface ConnectionTest {
  ok: boolean;
  directoryId: string | null;
  kind: string;
  checks: Check[];
  durationMs: number;
}
const FIELDS =
  'ok directoryId kind durationMs testedAt checks { name target status code message durationMs }';
const summary = (t: ConnectionTest) =>
  t.checks.map((c) => `${c.name}:${c.status}${c.code ? `:${c.code}` : ''}`);
const check = (t: ConnectionTest, name: string, target?: string) => {
  const c = t.checks.find((x) => x.name === name && (target === undefined || x.target === target));
  if (!c) throw new Error(`no ${name} check in ${summary(t).join(', ')}`);
  return c;
};

describe('connection tests through the gateway', () => {
  let stack: Stack;
  let slapd: Slapd;
  let fake: FakeGraph;
  let admin: FakeGraphAdmin;
  let ldapId: string;
  const demo = loadDemo();
  const selected = demo.directory.selectedGroups;

  async function testDirectory(id: string): Promise<ConnectionTest> {
    const r = await stack.gql<{ testDirectory: ConnectionTest }>(
      `mutation($id: ID!) { testDirectory(id: $id) { ${FIELDS} } }`,
      { id },
    );
    return r.testDirectory;
  }
  async function testSettings(input: Record<string, unknown>): Promise<ConnectionTest> {
    const r = await stack.gql<{ testDirectorySettings: ConnectionTest }>(
      `mutation($input: TestDirectorySettingsInput!) { testDirectorySettings(input: $input) { ${FIELDS} } }`,
      { input },
    );
    return r.testDirectorySettings;
  }

  beforeAll(async () => {
    [stack, slapd, fake] = await Promise.all([
      startStack(),
      startSlapd({ ldif: demo.ldif }),
      startFakeGraph(),
    ]);
    admin = new FakeGraphAdmin(fake.url, fake.caPem);
    const { createDirectory } = await stack.gql<{ createDirectory: { id: string } }>(
      `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { id } }`,
      { input: demoDirectoryInput(slapd) },
    );
    ldapId = createDirectory.id;
  }, 120_000);

  afterAll(async () => {
    await fake?.close();
    await slapd?.dispose();
    await stack?.stop();
  });

  describe('LDAP', () => {
    it('testDirectory: all good, every step says what it found', async () => {
      const t = await testDirectory(ldapId);
      expect(t.ok).toBe(true);
      expect(t.directoryId).toBe(ldapId);
      expect(t.kind).toBe('LDAP');
      expect(t.checks.filter((c) => c.status === 'FAILED')).toEqual([]);
      const server = slapd.url.replace('ldap://', '');
      expect(check(t, 'REACH').target).toBe(server);
      expect(check(t, 'BIND').message).toBe(`bound as "${slapd.rootDn}" on ${server}`);
      for (const dn of selected) expect(check(t, 'GROUP', dn).status).toBe('OK');
      expect(check(t, 'SEARCH').message).toMatch(/^read 5 users under/);
      expect(check(t, 'TLS').status).toBe('SKIPPED');
    });

    it('testDirectorySettings before creating: a missing group and a wrong base DN, nothing stored', async () => {
      const input = demoDirectoryInput(slapd);
      const missing = `cn=no-such-group,${demo.directory.ldap.groupBaseDn as string}`;
      const t = await testSettings({
        // a base DN that holds the user and group bases (the API refuses one that does not) but
        // is no entry on the server
        ldap: { ...(input.ldap as object), baseDn: 'dc=org' },
        bindPassword: slapd.rootPassword,
        selectedGroups: [selected[0], missing],
        mapping: input.mapping,
      });
      expect(t.ok).toBe(false);
      expect(t.directoryId).toBeNull();
      expect(check(t, 'BASE_DN')).toMatchObject({
        status: 'FAILED',
        code: 'BASE_DN_NOT_FOUND',
        target: 'dc=org',
      });
      expect(check(t, 'GROUP', selected[0]).status).toBe('OK');
      expect(check(t, 'GROUP', missing)).toMatchObject({
        status: 'FAILED',
        code: 'GROUP_NOT_FOUND',
      });
      expect(check(t, 'GROUP', missing).message).toContain(missing);
      const { directories } = await stack.gql<{ directories: { nodes: unknown[] } }>(
        '{ directories { nodes { id } } }',
      );
      expect(directories.nodes).toHaveLength(1);
    });

    it('testDirectorySettings of a saved directory reuses its password; a wrong one fails BIND', async () => {
      const reused = await testSettings({ directoryId: ldapId, selectedGroups: [selected[1]] });
      expect(reused.ok).toBe(true);
      expect(reused.checks.filter((c) => c.name === 'GROUP').map((c) => c.target)).toEqual([
        selected[1],
      ]);
      const wrong = await testSettings({ directoryId: ldapId, bindPassword: WRONG_PASSWORD });
      expect(wrong.ok).toBe(false);
      expect(check(wrong, 'BIND')).toMatchObject({ status: 'FAILED', code: 'INVALID_CREDENTIALS' });
      expect(check(wrong, 'BIND').message).toContain(slapd.rootDn);
      expect(check(wrong, 'BASE_DN').status).toBe('SKIPPED');
      // the saved directory still binds: a test stores nothing
      expect((await testDirectory(ldapId)).ok).toBe(true);
    });

    it('invalid settings answer BAD_USER_INPUT naming the fields, as createDirectory does', async () => {
      const r = await stack.gqlRaw(
        `mutation($input: TestDirectorySettingsInput!) { testDirectorySettings(input: $input) { ok } }`,
        { input: { ldap: { url: 'http://x' }, bindPassword: WRONG_PASSWORD } },
      );
      expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      const fields = (r.errors?.[0]?.extensions?.fields as { field: string }[]).map((f) => f.field);
      expect(fields).toEqual(expect.arrayContaining(['ldap.url', 'ldap.bindDn', 'ldap.baseDn']));
    });

    it('an unknown directory is NOT_FOUND', async () => {
      const r = await stack.gqlRaw(
        `mutation { testDirectory(id: "00000000-0000-4000-8000-000000000000") { ok } }`,
      );
      expect(r.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    });

    it('needs directory:manage: a user manager and a read-only key are FORBIDDEN', async () => {
      for (const role of ['USER_MANAGER', 'READ_ONLY'] as const) {
        const client = await stack.client(role);
        const r = await client.gqlRaw(`mutation($id: ID!) { testDirectory(id: $id) { ok } }`, {
          id: ldapId,
        });
        expect(r.errors?.[0]?.extensions?.code, role).toBe('FORBIDDEN');
        const s = await client.gqlRaw(
          `mutation($input: TestDirectorySettingsInput!) { testDirectorySettings(input: $input) { ok } }`,
          { input: { directoryId: ldapId, ldap: { url: 'ldap://attacker.example:389' } } },
        );
        expect(s.errors?.[0]?.extensions?.code, role).toBe('FORBIDDEN');
      }
    });
  });

  describe('Entra ID', () => {
    let clientId: string;
    let staff: string;
    const entra = (cid: string) => ({
      tenantId: fake.tenantId,
      clientId: cid,
      loginUrl: fake.url,
      graphUrl: fake.url,
      tlsCaPem: fake.caPem,
    });

    beforeAll(async () => {
      clientId = (await admin.registerApp({ secrets: [ENTRA_SECRET] })).clientId;
      const [u] = await admin.addUsers([{ userPrincipalName: 'ada@contoso.example' }]);
      const [g] = await admin.addGroups([{ displayName: 'Staff' }]);
      staff = String(g?.id);
      await admin.addMembers(staff, [String(u?.id)]);
    });

    it('all good: token, Graph, both permissions, the group', async () => {
      const { createDirectory } = await stack.gql<{ createDirectory: { id: string } }>(
        `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { id } }`,
        {
          input: {
            name: 'Contoso',
            entra: entra(clientId),
            clientSecret: ENTRA_SECRET,
            selectedGroups: [staff],
            scheduleIntervalMinutes: 0,
          },
        },
      );
      const t = await testDirectory(createDirectory.id);
      expect(summary(t)).toEqual([
        'SETTINGS:OK',
        'TOKEN:OK',
        'API:OK',
        'PERMISSION:OK',
        'PERMISSION:OK',
        'GROUP:OK',
      ]);
      expect(check(t, 'GROUP', staff).message).toBe(
        `found the group "Staff" in tenant ${fake.tenantId}`,
      );
      expect(check(t, 'TOKEN').message).toContain(clientId);
    });

    it('bad secret: TOKEN fails with INVALID_CREDENTIALS, the rest is skipped', async () => {
      const t = await testSettings({
        entra: entra(clientId),
        clientSecret: 'conn-test-not-the-secret',
        selectedGroups: [staff],
      });
      expect(summary(t)).toEqual([
        'SETTINGS:OK',
        'TOKEN:FAILED:INVALID_CREDENTIALS',
        'API:SKIPPED',
        'PERMISSION:SKIPPED',
        'PERMISSION:SKIPPED',
        'GROUP:SKIPPED',
      ]);
      expect(check(t, 'TOKEN').message).toMatch(/client secret is not valid \(AADSTS7000215\)/);
    });

    it('missing permission: PERMISSION names GroupMember.Read.All; missing group: GROUP_NOT_FOUND', async () => {
      const limited = (
        await admin.registerApp({ secrets: [ENTRA_SECRET], permissions: ['User.Read.All'] })
      ).clientId;
      const t = await testSettings({
        entra: entra(limited),
        clientSecret: ENTRA_SECRET,
        selectedGroups: [staff],
      });
      expect(check(t, 'PERMISSION', 'User.Read.All').status).toBe('OK');
      const p = check(t, 'PERMISSION', 'GroupMember.Read.All');
      expect(p).toMatchObject({ status: 'FAILED', code: 'INSUFFICIENT_ACCESS' });
      expect(p.message).toContain('GroupMember.Read.All');
      expect(check(t, 'GROUP').status).toBe('SKIPPED');

      const gone = '0f1e2d3c-4b5a-4968-8776-655443322110';
      const g = await testSettings({
        entra: entra(clientId),
        clientSecret: ENTRA_SECRET,
        selectedGroups: [staff, gone],
      });
      expect(check(g, 'GROUP', staff).status).toBe('OK');
      expect(check(g, 'GROUP', gone)).toMatchObject({ status: 'FAILED', code: 'GROUP_NOT_FOUND' });
      expect(check(g, 'GROUP', gone).message).toBe(
        `selected group "${gone}" does not exist in tenant ${fake.tenantId}`,
      );
    });

    it('no connector of the kind running: CONNECTOR_UNAVAILABLE', async () => {
      await stack.entra.stop();
      const r = await stack.gqlRaw(
        `mutation($input: TestDirectorySettingsInput!) { testDirectorySettings(input: $input) { ok } }`,
        { input: { entra: entra(clientId), clientSecret: ENTRA_SECRET, selectedGroups: [staff] } },
      );
      expect(r.errors?.[0]?.extensions?.code).toBe('CONNECTOR_UNAVAILABLE');
      expect(r.errors?.[0]?.message).toMatch(/no entra connector is running/);
    });
  });

  it('no password in any answer (also checked for logs, streams and rows at stop)', () => {
    stack.secretScanner.add('the wrong bind password', WRONG_PASSWORD);
    stack.secretScanner.add('the Entra secret', ENTRA_SECRET);
  });
});
