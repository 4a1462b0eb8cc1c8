// The kit's connector conformance suite against a real slapd.
import {
  runConnectorConformance,
  type FixtureUser,
  type SourceFixture,
} from '@dirsync/kit/conformance';
import {
  formatLdifEntry,
  freePort,
  natsNamespace,
  natsUrl,
  startSlapd,
  waitFor,
  type Slapd,
} from '@dirsync/testkit';
import { createLdapConnector, escapeFilterValue } from '../src/index.js';
import { GROUPS, PEOPLE } from './helpers.js';

let slapd: Slapd | undefined;
let fixture: SourceFixture = { users: [], groups: [] };
const userDn = (key: string) => `cn=${key},${PEOPLE}`;
const groupDn = (key: string) => {
  const g = fixture.groups.find((x) => x.key === key);
  return `cn=${g?.name ?? key},${GROUPS}`;
};

function userAttributes(u: Omit<FixtureUser, 'key'> & { key?: string }, key: string) {
  const attributes: Record<string, string[]> = {
    objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
    cn: [key],
    sn: [u.lastName ?? key],
  };
  if (u.username) attributes.uid = [u.username];
  if (u.firstName) attributes.givenName = [u.firstName];
  if (u.displayName) attributes.displayName = [u.displayName];
  if (u.email) attributes.mail = [u.email];
  if (u.phones?.length) attributes.telephoneNumber = u.phones;
  return attributes;
}

function fixtureLdif(f: SourceFixture): string {
  const entries = [
    ...f.users.map((u) =>
      formatLdifEntry({ dn: userDn(u.key), attributes: userAttributes(u, u.key) }),
    ),
    ...f.groups.map((g) =>
      formatLdifEntry({
        dn: groupDn(g.key),
        attributes: {
          objectClass: ['top', 'groupOfNames'],
          cn: [g.name],
          member: [...(g.members ?? []).map(userDn), ...(g.groups ?? []).map(groupDn)],
        },
      }),
    ),
  ];
  return entries.join('\n\n') + '\n';
}

const current = (): Slapd => {
  if (!slapd) throw new Error('slapd not started');
  return slapd;
};

runConnectorConformance({
  name: 'ldap (OpenLDAP slapd)',
  connector: () => createLdapConnector(),
  natsUrl: natsUrl(),
  namespace: natsNamespace(),
  async seed(f) {
    fixture = f;
    await slapd?.dispose();
    slapd = await startSlapd({ name: 'conformance', ldif: fixtureLdif(f) });
  },
  async mutate(mutations) {
    const records: string[] = [];
    for (const m of mutations) {
      if (m.op === 'addMember' || m.op === 'removeMember') {
        records.push(
          `dn: ${groupDn(m.group)}\nchangetype: modify\n${m.op === 'addMember' ? 'add' : 'delete'}: member\nmember: ${userDn(m.user)}\n`,
        );
      } else if (m.op === 'deleteUser') {
        records.push(`dn: ${userDn(m.user)}\nchangetype: delete\n`);
      } else if (m.op === 'removeSubgroup') {
        records.push(
          `dn: ${groupDn(m.group)}\nchangetype: modify\ndelete: member\nmember: ${groupDn(m.subgroup)}\n`,
        );
      } else {
        const lines = [`dn: ${userDn(m.user)}`, 'changetype: modify'];
        const attrs = userAttributes(m.changes, m.user);
        const changed: Record<string, string[] | undefined> = {
          uid: m.changes.username !== undefined ? attrs.uid : undefined,
          givenName: m.changes.firstName !== undefined ? attrs.givenName : undefined,
          sn: m.changes.lastName !== undefined ? attrs.sn : undefined,
          displayName: m.changes.displayName !== undefined ? attrs.displayName : undefined,
          mail: m.changes.email !== undefined ? attrs.mail : undefined,
          telephoneNumber: m.changes.phones !== undefined ? attrs.telephoneNumber : undefined,
        };
        for (const [name, values] of Object.entries(changed)) {
          if (!values) continue;
          lines.push(`replace: ${name}`, ...values.map((v) => `${name}: ${v}`), '-');
        }
        records.push(lines.join('\n') + '\n');
      }
    }
    await current().modify(records.join('\n'));
    // refint takes a deleted entry out of its groups in the background, just after the delete.
    for (const m of mutations) {
      if (m.op !== 'deleteUser') continue;
      const filter = `(member=${escapeFilterValue(userDn(m.user))})`;
      await waitFor(async () => (await current().search(GROUPS, filter, ['1.1'])).length === 0, {
        message: `refint removed ${m.user} from its groups`,
      });
    }
  },
  async directoryConfig({ selectedGroups, failure }) {
    const s = current();
    const url = failure === 'unreachable' ? `ldap://127.0.0.1:${await freePort()}` : s.url;
    return {
      settings: {
        url,
        bindDn: s.rootDn,
        baseDn: s.suffix,
        userBaseDn: s.peopleDn,
        groupBaseDn: s.groupsDn,
        timeoutMs: 5_000,
      },
      secrets: {
        bindPassword: failure === 'bad-credentials' ? 'definitely-Wrong-pass' : s.rootPassword,
      },
      selectedGroups: selectedGroups.map(groupDn),
      mapping: {
        username: 'uid',
        email: 'mail',
        firstName: 'givenName',
        lastName: 'sn',
        displayName: 'displayName',
        phones: ['telephoneNumber'],
      },
    };
  },
  admins: true,
  delta: {
    // A cursor from the future: what a cursor looks like to a server restored from a backup.
    rejectedCursor: (valid) =>
      valid.replace(/:[^:]*$/, ':29991231235959.999999Z#000000#000#000000'),
  },
  invalidSettings: () => ({
    settings: { url: 'http://127.0.0.1:1', bindDn: '', baseDn: 'dc=example,dc=org', pageSize: 0 },
    fields: ['url', 'bindDn', 'pageSize'],
  }),
  teardown: async () => {
    await slapd?.dispose();
  },
});
