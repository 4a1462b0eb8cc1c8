// Reading a fake Entra tenant end to end: nested groups, disabled users, paging, throttling in the
// middle of paging, token refresh, permissions, credentials (secret and certificate), TLS.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SyncMode } from '@dirsync/proto';
import {
  memberUsernames,
  observedUsernames,
  type CollectedRun,
  type ConnectorHarness,
} from '@dirsync/kit/conformance';
import { createClientCertificate, createTestCa } from '@dirsync/fake-graph';
import {
  codeOf,
  directoryConfig,
  entraHarness,
  newDirectoryId,
  startFakeTenant,
  type FakeTenant,
} from './helpers.js';

describe('connector-entra against a fake tenant', () => {
  let t: FakeTenant;
  let h: ConnectorHarness;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    t = await startFakeTenant();
    h = await entraHarness({ batchSize: 50 });
    const users = await t.admin.addUsers([
      {
        userPrincipalName: 'Ada.Lovelace@contoso.example',
        givenName: 'Ada',
        surname: 'Lovelace',
        displayName: 'Ada Lovelace',
        mail: 'ada@contoso.example',
        mobilePhone: '+44 20 7946 0001',
        businessPhones: ['(415) 555-0100'],
      },
      { userPrincipalName: 'bob@contoso.example', givenName: 'Bob', accountEnabled: false },
      { userPrincipalName: "o'brien@contoso.example", givenName: 'Ciarán', surname: "O'Brien" },
      { userPrincipalName: 'dora@contoso.example', givenName: 'Dora' },
      { userPrincipalName: 'outsider@contoso.example', givenName: 'Otto' },
      ...Array.from({ length: 25 }, (_v, i) => ({
        userPrincipalName: `bulk${String(i).padStart(2, '0')}@contoso.example`,
      })),
    ]);
    for (const u of users) ids[String(u.userPrincipalName).split('@')[0] as string] = String(u.id);
    const [eng, platform, infra, others, all] = await t.admin.addGroups([
      { displayName: 'Engineering', description: 'Builds things' },
      { displayName: 'Platform' },
      { displayName: 'Infra' },
      { displayName: 'Others' },
      { displayName: 'Everyone' },
    ]);
    Object.assign(ids, {
      eng: String(eng?.id),
      platform: String(platform?.id),
      infra: String(infra?.id),
      others: String(others?.id),
      all: String(all?.id),
    });
    // Engineering ⊃ Platform ⊃ Infra (three levels); Infra nests Engineering back (a cycle).
    await t.admin.addMembers(ids.eng as string, [
      ids['Ada.Lovelace'] as string,
      ids.platform as string,
    ]);
    await t.admin.addMembers(ids.platform as string, [ids.bob as string, ids.infra as string]);
    await t.admin.addMembers(ids.infra as string, [
      ids["o'brien"] as string,
      ids['Ada.Lovelace'] as string,
      ids.eng as string,
    ]);
    await t.admin.addMembers(ids.others as string, [ids.outsider as string]);
    await t.admin.addMembers(
      ids.all as string,
      Object.keys(ids)
        .filter((k) => k.startsWith('bulk'))
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

  const full = (selected: string[], overrides: Parameters<typeof directoryConfig>[2] = {}) => {
    const id = newDirectoryId();
    h.setConfig(id, directoryConfig(t, selected, overrides));
    return h.run({ directoryId: id, mode: SyncMode.FULL });
  };

  describe('FULL', () => {
    let run: CollectedRun;
    beforeAll(async () => {
      run = await full([ids.eng as string]);
    });

    it('observes the transitive members of nested groups, each once', () => {
      expect(run.outcome.error).toBeUndefined();
      expect(observedUsernames(run)).toEqual([
        'Ada.Lovelace@contoso.example',
        'bob@contoso.example',
        "o'brien@contoso.example",
      ]);
      expect(run.groups.map((g) => g.name).sort()).toEqual(['Engineering', 'Infra', 'Platform']);
    });

    it('reports transitive memberships per group, cycles included', () => {
      const all = [
        'Ada.Lovelace@contoso.example',
        'bob@contoso.example',
        "o'brien@contoso.example",
      ];
      expect(memberUsernames(run, 'Engineering')).toEqual(all);
      expect(memberUsernames(run, 'Platform')).toEqual(all);
      expect(memberUsernames(run, 'Infra')).toEqual(all);
    });

    it('maps Graph properties: id as external id, names, mail, phones, accountEnabled', () => {
      const ada = run.users.find((u) => u.username === 'Ada.Lovelace@contoso.example');
      expect(ada).toMatchObject({
        externalId: ids['Ada.Lovelace'],
        email: 'ada@contoso.example',
        firstName: 'Ada',
        lastName: 'Lovelace',
        displayName: 'Ada Lovelace',
        disabled: false,
      });
      expect(ada?.phones.map((p) => [p.kind, p.number])).toEqual([
        ['businessPhones', '+14155550100'],
        ['mobilePhone', '+442079460001'],
      ]);
      const bob = run.users.find((u) => u.username === 'bob@contoso.example');
      expect(bob?.disabled).toBe(true);
      expect(run.groups.find((g) => g.name === 'Engineering')?.description).toBe('Builds things');
    });

    it('returns the users and groups delta links, taken before reading, as the cursor', () => {
      const cursor = JSON.parse(run.completed?.cursor ?? '{}') as Record<string, string>;
      expect(cursor.v).toBe(1);
      expect(cursor.users).toMatch(
        new RegExp(`^${t.fake.url}/v1\\.0/users/delta\\?\\$deltatoken=`),
      );
      expect(cursor.groups).toMatch(
        new RegExp(`^${t.fake.url}/v1\\.0/groups/delta\\?\\$deltatoken=`),
      );
    });

    it('follows @odata.nextLink to the end, every $select keeping the id', async () => {
      await t.admin.clearStats();
      const paged = await full([ids.all as string], { settings: { pageSize: 4 } });
      expect(paged.users).toHaveLength(25);
      const log = (await t.admin.stats()).log
        .filter((l) => l.url.includes('transitiveMembers'))
        .map((l) => new URL(`https://fake${l.url}`).searchParams);
      expect(log.filter((q) => q.has('$skiptoken')).length).toBeGreaterThanOrEqual(6);
      for (const q of log) expect(q.get('$select')?.split(',')).toContain('id');
    });
  });

  describe('throttling and transient failures', () => {
    it('survives 429 with Retry-After in the middle of paging', async () => {
      await t.admin.addFault({
        match: 'transitiveMembers/microsoft.graph.user',
        skip: 2,
        count: 2,
        status: 429,
        retryAfterSeconds: 1,
      });
      const started = Date.now();
      const run = await full([ids.all as string], { settings: { pageSize: 5 } });
      expect(run.outcome.error).toBeUndefined();
      expect(run.users).toHaveLength(25);
      expect(new Set(run.users.map((u) => u.externalId)).size).toBe(25);
      expect((await t.admin.stats()).faultsServed).toBeGreaterThanOrEqual(2);
      expect(Date.now() - started).toBeGreaterThanOrEqual(2_000); // Retry-After honoured twice
    });

    it('backs off on 503 and 504 without Retry-After', async () => {
      await t.admin.addFault({ match: 'transitiveMembers', skip: 1, count: 3, status: 503 });
      await t.admin.addFault({ match: 'transitiveMembers', skip: 0, count: 1, status: 504 });
      const run = await full([ids.all as string], { settings: { pageSize: 5 } });
      expect(run.outcome.error).toBeUndefined();
      expect(run.users).toHaveLength(25);
    });

    it('fails with SOURCE_UNAVAILABLE when throttling never stops, removing nobody', async () => {
      await t.admin.addFault({
        match: 'transitiveMembers',
        skip: 1,
        count: 1000,
        status: 429,
        retryAfterSeconds: 0,
      });
      const run = await full([ids.all as string], { settings: { pageSize: 5 } });
      expect(codeOf(run)).toBe('SOURCE_UNAVAILABLE');
      expect(run.failed?.error?.message).toContain('429');
      expect(run.completed).toBeUndefined();
    });

    it('refreshes the token once after a 401, then goes on', async () => {
      await t.admin.clearStats();
      await t.admin.addFault({ match: 'transitiveMembers', skip: 1, count: 1, status: 401 });
      const run = await full([ids.eng as string]);
      expect(run.outcome.error).toBeUndefined();
      expect(run.users).toHaveLength(3);
      expect((await t.admin.stats()).tokensIssued).toBe(2);
    });

    it('fails with INVALID_CREDENTIALS when Graph refuses the fresh token too', async () => {
      await t.admin.addFault({ match: 'transitiveMembers', count: 2, status: 401 });
      const run = await full([ids.eng as string]);
      expect(codeOf(run)).toBe('INVALID_CREDENTIALS');
    });
  });

  describe('credentials and permissions', () => {
    it('a wrong client secret is INVALID_CREDENTIALS naming the app, not the secret', async () => {
      const run = await full([ids.eng as string], { secrets: { clientSecret: 'wrong-Secret-1' } });
      expect(codeOf(run)).toBe('INVALID_CREDENTIALS');
      expect(run.failed?.error?.message).toContain(t.app.clientId);
      expect(run.failed?.error?.message).toContain('AADSTS7000215');
      expect(run.failed?.error?.message).not.toContain('wrong-Secret-1');
    });

    it('an unknown application id is INVALID_CREDENTIALS', async () => {
      const run = await full([ids.eng as string], {
        settings: { clientId: '00000000-0000-4000-8000-000000000001' },
      });
      expect(codeOf(run)).toBe('INVALID_CREDENTIALS');
      expect(run.failed?.error?.message).toContain('AADSTS700016');
    });

    it('a missing permission is INSUFFICIENT_ACCESS naming it', async () => {
      const secret = 'users-only-Secret';
      const app = await t.admin.registerApp({ secrets: [secret], permissions: ['User.Read.All'] });
      const run = await full([ids.eng as string], {
        settings: { clientId: app.clientId },
        secrets: { clientSecret: secret },
      });
      expect(codeOf(run)).toBe('INSUFFICIENT_ACCESS');
      expect(run.failed?.error?.message).toContain('GroupMember.Read.All');
    });

    it('authenticates with a certificate (client assertion)', async () => {
      const cert = await createClientCertificate();
      const app = await t.admin.registerApp({ certificates: [cert.certPem] });
      const run = await full([ids.eng as string], {
        settings: { clientId: app.clientId, credential: 'clientCertificate' },
        secrets: { clientCertificate: `${cert.keyPem}\n${cert.certPem}` },
      });
      expect(run.outcome.error).toBeUndefined();
      expect(run.users).toHaveLength(3);
    });

    it('a certificate not registered on the app is INVALID_CREDENTIALS', async () => {
      const [registered, other] = await Promise.all([
        createClientCertificate(),
        createClientCertificate(),
      ]);
      const app = await t.admin.registerApp({ certificates: [registered.certPem] });
      const run = await full([ids.eng as string], {
        settings: { clientId: app.clientId, credential: 'clientCertificate' },
        secrets: { clientCertificate: `${other.keyPem}\n${other.certPem}` },
      });
      expect(codeOf(run)).toBe('INVALID_CREDENTIALS');
      expect(run.failed?.error?.message).not.toContain('PRIVATE KEY');
    });

    it('verifies the server certificate: another CA is TLS_ERROR', async () => {
      const stranger = await createTestCa('someone else');
      const run = await full([ids.eng as string], { settings: { tlsCaPem: stranger.certPem } });
      expect(codeOf(run)).toBe('TLS_ERROR');
    });
  });

  describe('USER mode', () => {
    const user = (username: string) => {
      const id = newDirectoryId();
      h.setConfig(id, directoryConfig(t, [ids.eng as string]));
      return h.run({ directoryId: id, mode: SyncMode.USER, username });
    };

    it('finds a user by userPrincipalName, ignoring case, with its groups', async () => {
      const run = await user('ada.lovelace@CONTOSO.example');
      expect(run.outcome.error).toBeUndefined();
      expect(run.users.map((u) => u.externalId)).toEqual([ids['Ada.Lovelace']]);
      expect(run.groups.map((g) => g.name).sort()).toEqual(['Engineering', 'Infra', 'Platform']);
    });

    it('escapes quotes: a name with an apostrophe is a literal', async () => {
      const run = await user("o'brien@contoso.example");
      expect(run.users.map((u) => u.lastName)).toEqual(["O'Brien"]);
      const injected = await user("x' or userPrincipalName eq 'bob@contoso.example");
      expect(injected.outcome.error).toBeUndefined();
      expect(injected.users).toHaveLength(0);
    });

    it('observes nobody for a user outside the selected groups', async () => {
      const run = await user('outsider@contoso.example');
      expect(run.outcome.status).toBe('completed');
      expect(run.users).toHaveLength(0);
    });
  });

  describe('configuration', () => {
    it('refuses a username property Entra usernames cannot come from', async () => {
      const run = await full([ids.eng as string], { mapping: { username: 'displayName' } });
      expect(codeOf(run)).toBe('CONFIG_INVALID');
      expect(run.failed?.error?.message).toContain('onPremisesSamAccountName');
    });

    it('a property Graph does not know is CONFIG_INVALID naming it', async () => {
      const run = await full([ids.eng as string], { mapping: { custom: { cost: 'costCentre' } } });
      expect(codeOf(run)).toBe('CONFIG_INVALID');
      expect(run.failed?.error?.message).toContain('costCentre');
    });

    it('a selected group that is not an object id is CONFIG_INVALID', async () => {
      const run = await full(['Engineering']);
      expect(codeOf(run)).toBe('CONFIG_INVALID');
    });
  });
});
