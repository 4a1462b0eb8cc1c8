// The kit's connector conformance suite against a real Samba AD domain controller (the
// Active Directory profile).
import {
  runConnectorConformance,
  type FixtureUser,
  type SourceFixture,
} from '@dirsync/kit/conformance';
import { freePort, natsNamespace, natsUrl, startSambaAd, type SambaAd } from '@dirsync/testkit';
import { createLdapConnector } from '../src/index.js';

const BASE = 'DC=example,DC=test';
const PEOPLE = `OU=People,${BASE}`;
const GROUPS = `OU=Groups,${BASE}`;

let ad: SambaAd | undefined;
let fixture: SourceFixture = { users: [], groups: [] };
const userDn = (key: string) => `CN=${key},${PEOPLE}`;
const groupDn = (key: string) => {
  const g = fixture.groups.find((x) => x.key === key);
  return `CN=${g?.name ?? key},${GROUPS}`;
};

/** AD attributes of a fixture user; usernames are userPrincipalName (absent for one user). */
function attributes(u: Partial<Omit<FixtureUser, 'key'>>): Record<string, string[]> {
  const a: Record<string, string[]> = {};
  if (u.username !== undefined) a.userPrincipalName = [u.username];
  if (u.firstName !== undefined) a.givenName = [u.firstName];
  if (u.lastName !== undefined) a.sn = [u.lastName];
  if (u.displayName !== undefined) a.displayName = [u.displayName];
  if (u.email !== undefined) a.mail = [u.email];
  // telephoneNumber is single-valued in AD; further numbers go to otherTelephone
  if (u.phones?.length) {
    a.telephoneNumber = [u.phones[0] as string];
    if (u.phones.length > 1) a.otherTelephone = u.phones.slice(1);
  }
  return a;
}

const lines = (attrs: Record<string, string[]>) =>
  Object.entries(attrs).flatMap(([k, vs]) => vs.map((v) => `${k}: ${v}`));

function fixtureLdif(f: SourceFixture): string {
  const records = [
    `dn: ${PEOPLE}\nchangetype: add\nobjectClass: organizationalUnit\n`,
    `dn: ${GROUPS}\nchangetype: add\nobjectClass: organizationalUnit\n`,
    ...f.users.map((u) =>
      [
        `dn: ${userDn(u.key)}`,
        'changetype: add',
        'objectClass: user',
        `sAMAccountName: ${u.key}`,
        'userAccountControl: 544',
        ...lines(attributes(u)),
        '',
      ].join('\n'),
    ),
    // groups first without members (nesting refers to groups added later)
    ...f.groups.map((g) => `dn: ${groupDn(g.key)}\nchangetype: add\nobjectClass: group\n`),
    ...f.groups
      .filter((g) => (g.members?.length ?? 0) + (g.groups?.length ?? 0) > 0)
      .map((g) =>
        [
          `dn: ${groupDn(g.key)}`,
          'changetype: modify',
          'add: member',
          ...(g.members ?? []).map((m) => `member: ${userDn(m)}`),
          ...(g.groups ?? []).map((m) => `member: ${groupDn(m)}`),
          '-',
          '',
        ].join('\n'),
      ),
  ];
  return records.join('\n');
}

const current = (): SambaAd => {
  if (!ad) throw new Error('samba not started');
  return ad;
};

runConnectorConformance({
  name: 'ldap (Active Directory profile, Samba AD)',
  connector: () => createLdapConnector(),
  natsUrl: natsUrl(),
  namespace: natsNamespace(),
  runTimeoutMs: 120_000,
  async seed(f) {
    fixture = f;
    await ad?.dispose();
    ad = await startSambaAd({ name: 'conformance-ad', fixture: fixtureLdif(f) });
  },
  async mutate(mutations) {
    const records: string[] = [];
    for (const m of mutations) {
      if (m.op === 'addMember' || m.op === 'removeMember') {
        records.push(
          `dn: ${groupDn(m.group)}\nchangetype: modify\n${m.op === 'addMember' ? 'add' : 'delete'}: member\nmember: ${userDn(m.user)}\n-\n`,
        );
      } else if (m.op === 'removeSubgroup') {
        records.push(
          `dn: ${groupDn(m.group)}\nchangetype: modify\ndelete: member\nmember: ${groupDn(m.subgroup)}\n-\n`,
        );
      } else if (m.op === 'deleteUser') {
        records.push(`dn: ${userDn(m.user)}\nchangetype: delete\n`);
      } else {
        const changes = lines(attributes(m.changes))
          .map((line) => {
            const name = line.slice(0, line.indexOf(':'));
            return `replace: ${name}\n${line}\n-`;
          })
          .join('\n');
        records.push(`dn: ${userDn(m.user)}\nchangetype: modify\n${changes}\n`);
      }
    }
    await current().modify(records.join('\n'));
  },
  async directoryConfig({ selectedGroups, failure }) {
    const s = current();
    const url = failure === 'unreachable' ? `ldap://127.0.0.1:${await freePort()}` : s.url;
    return {
      settings: {
        url,
        profile: 'activedirectory',
        startTls: failure !== 'unreachable',
        tlsCaPem: s.caPem,
        allowPlainLdap: failure === 'unreachable',
        bindDn: s.adminDn,
        baseDn: BASE,
        userBaseDn: PEOPLE,
        groupBaseDn: GROUPS,
        timeoutMs: 10_000,
      },
      secrets: {
        bindPassword: failure === 'bad-credentials' ? 'definitely-Wrong-pass1' : s.adminPassword,
      },
      selectedGroups: selectedGroups.map(groupDn),
      mapping: {
        username: 'userPrincipalName',
        email: 'mail',
        firstName: 'givenName',
        lastName: 'sn',
        displayName: 'displayName',
        phones: ['telephoneNumber', 'otherTelephone'],
      },
    };
  },
  admins: true,
  invalidSettings: () => ({
    settings: {
      url: 'http://127.0.0.1:1',
      profile: 'activedirectory',
      bindDn: '',
      baseDn: BASE,
      pageSize: 0,
    },
    fields: ['url', 'bindDn', 'pageSize'],
  }),
  delta: {
    // a cursor from the same DC after a restore from backup: another invocationId
    rejectedCursor: (valid) =>
      JSON.stringify({
        ...JSON.parse(valid),
        invocationId: '00000000-0000-0000-0000-000000000000',
      }),
  },
  teardown: async () => {
    await ad?.dispose();
  },
});
