// The connection test of the Entra connector against the fake tenant (the real @azure/identity
// and Graph client over verified HTTPS): token, Graph, each permission, each group, with the
// code a run would fail with; the secret never in an answer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AdminRole,
  CheckName,
  CheckStatus,
  errorCodeName,
  type ConnectionCheck,
} from '@dirsync/proto';
import type { ConnectorHarness, HarnessConfig } from '@dirsync/kit/conformance';
import { directoryConfig, entraHarness, startFakeTenant, type FakeTenant } from './helpers.js';

const summary = (checks: ConnectionCheck[]) =>
  checks.map(
    (c) =>
      `${CheckName[c.name]}:${CheckStatus[c.status]}${c.status === CheckStatus.FAILED ? `:${errorCodeName(c.code)}` : ''}`,
  );
const find = (checks: ConnectionCheck[], name: CheckName, target?: string) => {
  const c = checks.find((x) => x.name === name && (target === undefined || x.target === target));
  if (!c) throw new Error(`no ${CheckName[name]} check in ${summary(checks).join(', ')}`);
  return c;
};

describe('connection test: Entra ID (fake tenant)', () => {
  let t: FakeTenant;
  let h: ConnectorHarness;
  let staff: string;
  let admins: string;

  async function test(config: HarnessConfig): Promise<ConnectionCheck[]> {
    const reply = await h.testConnection(config, { directoryId: 'dir-entra-check' });
    if (reply.outcome.case !== 'result') throw new Error(`no result: ${JSON.stringify(reply)}`);
    for (const c of reply.outcome.value.checks) expect(c.message).not.toContain(t.secret);
    return reply.outcome.value.checks;
  }

  beforeAll(async () => {
    [t, h] = await Promise.all([startFakeTenant(), entraHarness()]);
    const [u] = await t.admin.addUsers([{ userPrincipalName: 'ada@contoso.example' }]);
    const [g, a] = await t.admin.addGroups([{ displayName: 'Staff' }, { displayName: 'IT' }]);
    staff = String(g?.id);
    admins = String(a?.id);
    await t.admin.addMembers(staff, [String(u?.id)]);
  });
  afterAll(async () => {
    await h?.close();
    await t?.close();
  });

  it('all good: token, Graph, both permissions, the groups', async () => {
    const checks = await test(
      directoryConfig(t, [staff], {
        adminRoleGroups: [{ role: AdminRole.HELP_DESK, groups: [admins] }],
      }),
    );
    expect(summary(checks)).toEqual([
      'SETTINGS:OK',
      'TOKEN:OK',
      'API:OK',
      'PERMISSION:OK',
      'PERMISSION:OK',
      'GROUP:OK',
      'ADMIN_GROUP:OK',
    ]);
    expect(find(checks, CheckName.TOKEN).message).toContain(`app ${t.app.clientId}`);
    expect(find(checks, CheckName.GROUP, staff).message).toBe(
      `found the group "Staff" in tenant ${t.fake.tenantId}`,
    );
  });

  it('bad secret: TOKEN fails with INVALID_CREDENTIALS, nothing else is tried', async () => {
    const checks = await test(
      directoryConfig(t, [staff], { secrets: { clientSecret: 'not-the-secret-at-all' } }),
    );
    expect(summary(checks)).toEqual([
      'SETTINGS:OK',
      'TOKEN:FAILED:INVALID_CREDENTIALS',
      'API:SKIPPED',
      'PERMISSION:SKIPPED',
      'PERMISSION:SKIPPED',
      'GROUP:SKIPPED',
    ]);
    expect(find(checks, CheckName.TOKEN).message).toMatch(
      /the client secret is not valid \(AADSTS7000215\)/,
    );
  });

  it('a missing permission is named (403); the groups are then not tried', async () => {
    const secret = 'limited-app-secret-1';
    const limited = await t.admin.registerApp({
      secrets: [secret],
      permissions: ['User.Read.All'],
    });
    const checks = await test(
      directoryConfig(t, [staff], {
        secrets: { clientSecret: secret },
        settings: { clientId: limited.clientId },
      }),
    );
    expect(summary(checks)).toEqual([
      'SETTINGS:OK',
      'TOKEN:OK',
      'API:OK',
      'PERMISSION:OK',
      'PERMISSION:FAILED:INSUFFICIENT_ACCESS',
      'GROUP:SKIPPED',
    ]);
    const p = find(checks, CheckName.PERMISSION, 'GroupMember.Read.All');
    expect(p.message).toContain('GroupMember.Read.All');
    expect(p.message).toContain(limited.clientId);

    const noUsers = await t.admin.registerApp({
      secrets: [secret],
      permissions: ['GroupMember.Read.All'],
    });
    const u = await test(
      directoryConfig(t, [staff], {
        secrets: { clientSecret: secret },
        settings: { clientId: noUsers.clientId },
      }),
    );
    expect(find(u, CheckName.API).status).toBe(CheckStatus.OK);
    expect(errorCodeName(find(u, CheckName.PERMISSION, 'User.Read.All').code)).toBe(
      'INSUFFICIENT_ACCESS',
    );
    expect(find(u, CheckName.GROUP, staff).status).toBe(CheckStatus.OK);
  });

  it('a missing group is GROUP_NOT_FOUND naming it; the others pass', async () => {
    const gone = '0f1e2d3c-4b5a-4968-8776-655443322110';
    const checks = await test(directoryConfig(t, [staff, gone]));
    expect(find(checks, CheckName.GROUP, staff).status).toBe(CheckStatus.OK);
    const g = find(checks, CheckName.GROUP, gone);
    expect(errorCodeName(g.code)).toBe('GROUP_NOT_FOUND');
    expect(g.message).toBe(`selected group "${gone}" does not exist in tenant ${t.fake.tenantId}`);
  });

  it('a CA that did not sign the certificate: TOKEN fails with TLS_ERROR', async () => {
    const other = await startFakeTenant();
    try {
      const checks = await test(
        directoryConfig(t, [staff], { settings: { tlsCaPem: other.fake.caPem } }),
      );
      const tok = find(checks, CheckName.TOKEN);
      expect(errorCodeName(tok.code)).toBe('TLS_ERROR');
      expect(tok.message).toContain(new URL(t.fake.url).host);
    } finally {
      await other.close();
    }
  });
});
