// ADMIN runs against a fake Entra tenant: administrators from role groups (group object ids,
// transitive members), the roles of every role group, disabled accounts, paging and throttling
// in a role group, one e-mail as an OData literal (quotes, `+`, `&`), missing groups and
// permissions. The scenarios every connector shares are in the conformance suite.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AdminRole, ErrorCode, SyncMode } from '@dirsync/proto';
import type { CollectedRun, ConnectorHarness } from '@dirsync/kit/conformance';
import {
  codeOf,
  directoryConfig,
  entraHarness,
  newDirectoryId,
  startFakeTenant,
  type FakeTenant,
} from './helpers.js';

describe('connector-entra ADMIN runs', () => {
  let t: FakeTenant;
  let h: ConnectorHarness;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    t = await startFakeTenant();
    h = await entraHarness({ batchSize: 50 });
    const users = await t.admin.addUsers([
      {
        userPrincipalName: 'ada@contoso.example',
        mail: 'Ada@Contoso.example',
        givenName: 'Ada',
        surname: 'Lovelace',
        displayName: 'Ada Lovelace',
        businessPhones: ['+1 415 555 0100'],
      },
      {
        userPrincipalName: 'bob@contoso.example',
        mail: 'bob+it@contoso.example',
        displayName: 'Bob',
        accountEnabled: false,
      },
      {
        userPrincipalName: 'ciaran@contoso.example',
        mail: "o'brien&co@contoso.example",
        displayName: "Ciarán O'Brien",
      },
      { userPrincipalName: 'nomail@contoso.example', displayName: 'No Mail' },
      { userPrincipalName: 'staff@contoso.example', mail: 'staff@contoso.example' },
      ...Array.from({ length: 12 }, (_v, i) => ({
        userPrincipalName: `desk${String(i).padStart(2, '0')}@contoso.example`,
        mail: `desk${String(i).padStart(2, '0')}@contoso.example`,
      })),
    ]);
    for (const u of users) ids[String(u.userPrincipalName).split('@')[0] as string] = String(u.id);
    const [owners, admins, nested, desk] = await t.admin.addGroups([
      { displayName: 'dirsync owners' },
      { displayName: 'dirsync administrators' },
      { displayName: 'nested in administrators' },
      { displayName: 'help desk' },
    ]);
    Object.assign(ids, {
      owners: String(owners?.id),
      admins: String(admins?.id),
      nested: String(nested?.id),
      desk: String(desk?.id),
    });
    await t.admin.addMembers(ids.owners as string, [ids.ada as string]);
    // administrators ⊃ nested ⊃ bob, ciaran, nomail; ada is an administrator too (and owner).
    await t.admin.addMembers(ids.admins as string, [ids.ada as string, ids.nested as string]);
    await t.admin.addMembers(ids.nested as string, [
      ids.bob as string,
      ids.ciaran as string,
      ids.nomail as string,
    ]);
    await t.admin.addMembers(
      ids.desk as string,
      Object.keys(ids)
        .filter((k) => k.startsWith('desk') && k !== 'desk')
        .map((k) => ids[k] as string),
    );
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    await t?.close();
  });

  beforeEach(async () => {
    await t.admin.clearFaults();
  });

  const ROLES = () => [
    { role: AdminRole.OWNER, groups: [ids.owners as string] },
    { role: AdminRole.ADMINISTRATOR, groups: [(ids.admins as string).toUpperCase()] },
    { role: AdminRole.HELP_DESK, groups: [ids.desk as string] },
  ];

  const adminRun = (
    opts: {
      email?: string;
      roles?: { role: AdminRole; groups: string[] }[];
      overrides?: Parameters<typeof directoryConfig>[2];
    } = {},
  ) => {
    const id = newDirectoryId();
    h.setConfig(
      id,
      directoryConfig(t, [ids.admins as string], {
        adminRoleGroups: opts.roles ?? ROLES(),
        ...opts.overrides,
      }),
    );
    return h.run({
      directoryId: id,
      mode: SyncMode.ADMIN,
      ...(opts.email !== undefined ? { email: opts.email } : {}),
    });
  };

  const byEmail = (run: CollectedRun) =>
    new Map(run.admins.map((a) => [a.email.toLowerCase(), a] as const));

  describe('every administrator', () => {
    let run: CollectedRun;
    beforeAll(async () => {
      await t.admin.clearStats();
      run = await adminRun({ overrides: { settings: { pageSize: 5 } } });
    });

    it('observes the transitive members of every role group once, with all their roles', () => {
      expect(run.outcome.error).toBeUndefined();
      const admins = byEmail(run);
      expect(admins.size).toBe(15);
      expect(admins.get('ada@contoso.example')).toMatchObject({
        externalId: ids.ada,
        email: 'Ada@Contoso.example',
        role: AdminRole.OWNER,
        roles: [AdminRole.OWNER, AdminRole.ADMINISTRATOR],
        firstName: 'Ada',
        lastName: 'Lovelace',
        displayName: 'Ada Lovelace',
        disabled: false,
        sourceLocator: 'ada@contoso.example',
      });
      // Through the nested group; accountEnabled: false is a disabled administrator.
      expect(admins.get('bob+it@contoso.example')).toMatchObject({
        role: AdminRole.ADMINISTRATOR,
        disabled: true,
      });
      expect(admins.get('desk11@contoso.example')?.roles).toEqual([AdminRole.HELP_DESK]);
      expect(admins.has('staff@contoso.example')).toBe(false);
      expect(run.users).toEqual([]);
      expect(run.groups).toEqual([]);
    });

    it('reports a role group member without mail as MISSING_EMAIL', () => {
      const missing = run.objectErrors.filter((e) => e.code === ErrorCode.MISSING_EMAIL);
      expect(missing.map((e) => e.externalId)).toEqual([ids.nomail]);
    });

    it('pages the role groups through @odata.nextLink, selecting only admin properties', async () => {
      const log = (await t.admin.stats()).log
        .filter((l) => l.url.includes('/transitiveMembers/'))
        .map((l) => new URL(`https://fake${l.url}`).searchParams);
      // help desk: 12 members in pages of 5.
      expect(log.filter((q) => q.has('$skiptoken')).length).toBeGreaterThanOrEqual(2);
      for (const q of log) {
        const select = q.get('$select')?.split(',') ?? [];
        expect(select).toEqual(expect.arrayContaining(['id', 'accountEnabled', 'mail']));
        expect(select).not.toContain('businessPhones');
      }
      expect(run.completed?.entriesRead).toBeGreaterThanOrEqual(3 + 16);
    });

    it('returns no cursor: an ADMIN run leaves the delta links alone', () => {
      expect(run.completed?.cursor).toBe('');
    });
  });

  it('survives 429 with Retry-After in the middle of a role group', async () => {
    await t.admin.addFault({
      match: `/groups/${ids.desk}/transitiveMembers`,
      skip: 1,
      count: 2,
      status: 429,
      retryAfterSeconds: 0,
    });
    const run = await adminRun({ overrides: { settings: { pageSize: 5 } } });
    expect(run.outcome.error).toBeUndefined();
    expect(run.admins).toHaveLength(15);
  });

  describe('one e-mail', () => {
    it('finds the person by the mapped e-mail property, ignoring case, with every role', async () => {
      const run = await adminRun({ email: 'ADA@contoso.EXAMPLE' });
      expect(run.outcome.error).toBeUndefined();
      expect(run.admins.map((a) => [a.externalId, a.role, a.roles])).toEqual([
        [ids.ada, AdminRole.OWNER, [AdminRole.OWNER, AdminRole.ADMINISTRATOR]],
      ]);
    });

    it('sends the e-mail as a literal: quotes, plus and ampersand survive', async () => {
      for (const [email, id] of [
        ['bob+it@contoso.example', ids.bob],
        ["o'brien&co@contoso.example", ids.ciaran],
      ] as const) {
        const run = await adminRun({ email });
        expect(run.outcome.error, email).toBeUndefined();
        expect(
          run.admins.map((a) => [a.externalId, a.role]),
          email,
        ).toEqual([[id, AdminRole.ADMINISTRATOR]]);
      }
      const injected = await adminRun({ email: "x' or mail eq 'staff@contoso.example" });
      expect(injected.outcome.status).toBe('completed');
      expect(injected.admins).toEqual([]);
    });

    it('observes nobody for a person in no role group, or nobody at all', async () => {
      for (const email of ['staff@contoso.example', 'nobody@contoso.example']) {
        const run = await adminRun({ email });
        expect(run.outcome.status, email).toBe('completed');
        expect(run.admins, email).toEqual([]);
        expect(run.objectErrors, email).toEqual([]);
      }
    });

    it('matches on the mapping’s e-mail property (here userPrincipalName)', async () => {
      const run = await adminRun({
        email: 'bob@contoso.example',
        overrides: { mapping: { email: 'userPrincipalName' } },
      });
      expect(run.admins.map((a) => [a.externalId, a.email])).toEqual([
        [ids.bob, 'bob@contoso.example'],
      ]);
    });
  });

  describe('failures', () => {
    it('a role group that does not exist is GROUP_NOT_FOUND naming it, for one e-mail too', async () => {
      const ghost = '0f1e2d3c-4b5a-4968-8776-655443322110';
      for (const email of [undefined, 'ada@contoso.example']) {
        const run = await adminRun({
          email,
          roles: [...ROLES(), { role: AdminRole.BILLING, groups: [ghost] }],
        });
        expect(codeOf(run)).toBe('GROUP_NOT_FOUND');
        expect(run.failed?.error?.message).toContain(ghost);
        expect(run.admins).toEqual([]);
      }
    });

    it('a role group that is not an object id is CONFIG_INVALID', async () => {
      const run = await adminRun({
        roles: [{ role: AdminRole.OWNER, groups: ['cn=owners,ou=groups,dc=example,dc=org'] }],
      });
      expect(codeOf(run)).toBe('CONFIG_INVALID');
    });

    it('no role group at all is CONFIG_INVALID', async () => {
      const run = await adminRun({ roles: [] });
      expect(codeOf(run)).toBe('CONFIG_INVALID');
      expect(run.failed?.error?.message).toContain('adminRoles');
    });

    it('a missing permission is INSUFFICIENT_ACCESS naming it', async () => {
      const secret = 'users-only-admin-Secret';
      const app = await t.admin.registerApp({ secrets: [secret], permissions: ['User.Read.All'] });
      const run = await adminRun({
        overrides: { settings: { clientId: app.clientId }, secrets: { clientSecret: secret } },
      });
      expect(codeOf(run)).toBe('INSUFFICIENT_ACCESS');
      expect(run.failed?.error?.message).toContain('GroupMember.Read.All');
      expect(run.admins).toEqual([]);
    });
  });
});

describe('connector-entra $filter lookups (USER runs)', () => {
  let t: FakeTenant;
  let h: ConnectorHarness;

  beforeAll(async () => {
    t = await startFakeTenant();
    h = await entraHarness();
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    await t?.close();
  });

  it('finds a username with + and & (the $filter literal is percent-encoded)', async () => {
    const [plus, amp] = await t.admin.addUsers([
      { userPrincipalName: 'ada+test@contoso.example' },
      { userPrincipalName: 'r&d@contoso.example' },
    ]);
    const [group] = await t.admin.addGroups([{ displayName: 'Staff' }]);
    await t.admin.addMembers(String(group?.id), [String(plus?.id), String(amp?.id)]);
    for (const [username, id] of [
      ['ada+test@contoso.example', plus?.id],
      ['r&d@contoso.example', amp?.id],
    ] as const) {
      const dir = newDirectoryId();
      h.setConfig(dir, directoryConfig(t, [String(group?.id)]));
      const run = await h.run({ directoryId: dir, mode: SyncMode.USER, username });
      expect(run.outcome.error, username).toBeUndefined();
      expect(
        run.users.map((u) => u.externalId),
        username,
      ).toEqual([id]);
    }
  });

  it('uses an advanced query (ConsistencyLevel + $count) only for a property that needs one', async () => {
    const [sam] = await t.admin.addUsers([
      { userPrincipalName: 'jdoe@contoso.example', onPremisesSamAccountName: 'JDoe' },
    ]);
    const [group] = await t.admin.addGroups([{ displayName: 'SAM staff' }]);
    await t.admin.addMembers(String(group?.id), [String(sam?.id)]);
    const lookups = async (username: string, mapping: Record<string, string>) => {
      await t.admin.clearStats();
      const dir = newDirectoryId();
      h.setConfig(dir, directoryConfig(t, [String(group?.id)], { mapping }));
      const run = await h.run({ directoryId: dir, mode: SyncMode.USER, username });
      expect(run.outcome.error, username).toBeUndefined();
      expect(run.users.map((u) => u.externalId)).toEqual([sam?.id]);
      return (await t.admin.stats()).log
        .filter((l) => l.url.startsWith('/v1.0/users?'))
        .map((l) => new URL(`https://fake${l.url}`).searchParams.get('$count'));
    };
    // Graph filters onPremisesSamAccountName only in advanced queries (400 otherwise).
    expect(await lookups('jdoe', { username: 'onPremisesSamAccountName' })).toEqual(['true']);
    expect(await lookups('JDOE@contoso.example', {})).toEqual([null]);
  });
});
