// The kit's connector conformance suite against the fake Entra tenant, through the real
// @azure/identity credential and Microsoft Graph client.
import { randomUUID } from 'node:crypto';
import {
  runConnectorConformance,
  type FixtureUser,
  type SourceFixture,
} from '@dirsync/kit/conformance';
import { freePort, natsNamespace, natsUrl } from '@dirsync/testkit';
import { createEntraConnector } from '../src/index.js';
import { TEST_RETRY, entraSettings, startFakeTenant, type FakeTenant } from './helpers.js';

let tenant: FakeTenant | undefined;
const userIds = new Map<string, string>();
const groupIds = new Map<string, string>();

const current = (): FakeTenant => {
  if (!tenant) throw new Error('fake tenant not started');
  return tenant;
};

/** A fixture user as Graph properties; the username lives in onPremisesSamAccountName. */
function properties(u: Partial<Omit<FixtureUser, 'key'>>): Record<string, unknown> {
  const p: Record<string, unknown> = {};
  if (u.username !== undefined) p.onPremisesSamAccountName = u.username;
  if (u.email !== undefined) p.mail = u.email;
  if (u.firstName !== undefined) p.givenName = u.firstName;
  if (u.lastName !== undefined) p.surname = u.lastName;
  if (u.displayName !== undefined) p.displayName = u.displayName;
  if (u.phones !== undefined) p.businessPhones = u.phones;
  return p;
}

runConnectorConformance({
  name: 'entra (fake Microsoft Graph)',
  connector: () => createEntraConnector({ retry: TEST_RETRY }),
  natsUrl: natsUrl(),
  namespace: natsNamespace(),
  async setup() {
    tenant = await startFakeTenant();
  },
  async seed(f: SourceFixture) {
    const { admin } = current();
    await admin.reset();
    userIds.clear();
    groupIds.clear();
    const created = await admin.addUsers(
      f.users.map((u) => ({ userPrincipalName: `${u.key}@fixture.example`, ...properties(u) })),
    );
    f.users.forEach((u, i) => userIds.set(u.key, String(created[i]?.id)));
    const groups = await admin.addGroups(f.groups.map((g) => ({ displayName: g.name })));
    f.groups.forEach((g, i) => groupIds.set(g.key, String(groups[i]?.id)));
    for (const g of f.groups) {
      const ids = [
        ...(g.members ?? []).map((k) => userIds.get(k) as string),
        ...(g.groups ?? []).map((k) => groupIds.get(k) as string),
      ];
      if (ids.length > 0) await admin.addMembers(groupIds.get(g.key) as string, ids);
    }
  },
  async mutate(mutations) {
    const { admin } = current();
    for (const m of mutations) {
      if (m.op === 'addMember') {
        await admin.addMembers(groupIds.get(m.group) as string, [userIds.get(m.user) as string]);
      } else if (m.op === 'removeMember') {
        await admin.removeMember(groupIds.get(m.group) as string, userIds.get(m.user) as string);
      } else if (m.op === 'deleteUser') {
        await admin.deleteUser(userIds.get(m.user) as string);
      } else if (m.op === 'removeSubgroup') {
        await admin.removeMember(
          groupIds.get(m.group) as string,
          groupIds.get(m.subgroup) as string,
        );
      } else {
        await admin.updateUser(userIds.get(m.user) as string, properties(m.changes));
      }
    }
  },
  async directoryConfig({ selectedGroups, failure }) {
    const t = current();
    const down = failure === 'unreachable' ? `https://127.0.0.1:${await freePort()}` : undefined;
    return {
      settings: entraSettings(t, down ? { loginUrl: down, graphUrl: down } : {}),
      secrets: {
        clientSecret: failure === 'bad-credentials' ? 'definitely-Wrong-secret' : t.secret,
      },
      selectedGroups: selectedGroups.map((k) => groupIds.get(k) ?? randomUUID()),
      mapping: {
        username: 'onPremisesSamAccountName',
        email: 'mail',
        firstName: 'givenName',
        lastName: 'surname',
        displayName: 'displayName',
        phones: ['businessPhones'],
      },
    };
  },
  // Role groups are group object ids, translated from fixture keys like selected groups.
  admins: true,
  delta: {
    // Graph forgets the state behind delta links (after 7 days, or on a reset): 400
    // syncStateNotFound for every link issued so far.
    async rejectedCursor(valid) {
      await current().admin.expireDeltaLinks();
      return valid;
    },
  },
  invalidSettings: () => ({
    settings: { tenantId: 'not a tenant!', clientId: 'nope', pageSize: 0 },
    fields: ['tenantId', 'clientId', 'pageSize'],
  }),
  async teardown() {
    await tenant?.close();
  },
});
