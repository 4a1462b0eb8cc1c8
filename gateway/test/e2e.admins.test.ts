// Admin sync end to end through the gateway, against a real OpenLDAP slapd, a real Samba AD
// domain controller and a fake Entra ID tenant (Microsoft Graph over verified HTTPS):
// administrators come from the directory's role groups, matched by e-mail, with the highest of
// their roles; syncAdmin brings one; a person in no role group any more goes to pending
// deletion; synced administrators are read-only through the API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeGraphAdmin, startFakeGraph, type FakeGraph } from '@dirsync/fake-graph';
import {
  formatLdifEntry,
  startSambaAd,
  startSlapd,
  type SambaAd,
  type Slapd,
} from '@dirsync/testkit';
import { waitForRun, type Stack, startStack } from './support/stack.js';

/** Who is where: Owners is nested in Helpdesk, so bob is OWNER and HELP_DESK. */
const PEOPLE = ['ada', 'bob', 'cy', 'dan', 'eve'] as const;
type Person = (typeof PEOPLE)[number];
const GROUP_MEMBERS: Record<string, Person[]> = {
  Owners: ['bob'],
  Helpdesk: ['ada'],
  Readers: ['ada', 'cy'],
  Staff: [...PEOPLE],
};
/** cy has no e-mail: it cannot be an administrator. eve is disabled where the source can say so. */
const hasMail = (p: Person) => p !== 'cy';

/** What the test needs from a source: its directory input and a way to move people. */
interface Source {
  readonly name: string;
  /** E-mail domain, distinct per source: e-mails are unique across dirsync. */
  readonly domain: string;
  /** Whether the source can disable an account (eve is disabled in it). */
  readonly disables: boolean;
  start(): Promise<void>;
  directoryInput(): Record<string, unknown>;
  groupDn(group: string): string;
  /** Add people to / remove them from a group, as an administrator would. */
  change(group: string, op: 'add' | 'delete', people: Person[]): Promise<void>;
  dispose(): Promise<void>;
}

/** An LDIF change record adding members to (or deleting them from) a group. */
const memberChange = (group: string, op: 'add' | 'delete', members: string[]) =>
  `dn: ${group}\nchangetype: modify\n${op}: member\n${members.map((m) => `member: ${m}`).join('\n')}\n-\n`;

const email = (s: Source, p: Person) =>
  p === 'bob' ? `Bob@${s.domain.toUpperCase()}` : `${p}@${s.domain}`;

function openLdap(): Source {
  let slapd: Slapd | undefined;
  const cur = () => {
    if (!slapd) throw new Error('slapd not started');
    return slapd;
  };
  const groupDn = (g: string) => `cn=${g},${cur().groupsDn}`;
  const personDn = (p: string) => `uid=${p},${cur().peopleDn}`;
  const source: Source = {
    name: 'OpenLDAP',
    domain: 'ldap.example.org',
    disables: false,
    async start() {
      const suffix = 'dc=example,dc=org';
      const people = `ou=people,${suffix}`;
      const groups = `ou=groups,${suffix}`;
      const entries = [
        ...PEOPLE.map((p) =>
          formatLdifEntry({
            dn: `uid=${p},${people}`,
            attributes: {
              objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
              uid: [p],
              cn: [p],
              sn: [`${p[0]!.toUpperCase()}${p.slice(1)}`],
              givenName: [p],
              displayName: [`${p} (OpenLDAP)`],
              ...(hasMail(p) ? { mail: [email(source, p)] } : {}),
            },
          }),
        ),
        ...Object.entries(GROUP_MEMBERS).map(([g, members]) =>
          formatLdifEntry({
            dn: `cn=${g},${groups}`,
            attributes: {
              objectClass: ['top', 'groupOfNames'],
              cn: [g],
              member: [
                ...members.map((m) => `uid=${m},${people}`),
                ...(g === 'Helpdesk' ? [`cn=Owners,${groups}`] : []),
              ],
            },
          }),
        ),
      ];
      slapd = await startSlapd({ name: 'e2e-admins', ldif: entries.join('\n\n') + '\n' });
    },
    directoryInput() {
      const s = cur();
      return {
        ldap: {
          url: s.url,
          bindDn: s.rootDn,
          baseDn: s.suffix,
          userBaseDn: s.peopleDn,
          groupBaseDn: s.groupsDn,
        },
        bindPassword: s.rootPassword,
      };
    },
    groupDn,
    async change(group, op, people) {
      await cur().modify(memberChange(groupDn(group), op, people.map(personDn)));
    },
    async dispose() {
      await slapd?.dispose();
    },
  };
  return source;
}

function sambaAd(): Source {
  const BASE = 'DC=example,DC=test';
  const USERS = `OU=People,${BASE}`;
  const GROUPS = `OU=Groups,${BASE}`;
  let ad: SambaAd | undefined;
  const cur = () => {
    if (!ad) throw new Error('samba not started');
    return ad;
  };
  const groupDn = (g: string) => `CN=${g},${GROUPS}`;
  const personDn = (p: string) => `CN=${p},${USERS}`;
  const source: Source = {
    name: 'Samba AD',
    domain: 'ad.example.test',
    disables: true,
    async start() {
      const records = [
        `dn: ${USERS}\nchangetype: add\nobjectClass: organizationalUnit\n`,
        `dn: ${GROUPS}\nchangetype: add\nobjectClass: organizationalUnit\n`,
        ...PEOPLE.map((p) =>
          [
            `dn: ${personDn(p)}`,
            'changetype: add',
            'objectClass: user',
            `sAMAccountName: ${p}`,
            // 0x200 normal account, 0x20 no password required, 0x2 disabled
            `userAccountControl: ${p === 'eve' ? 546 : 544}`,
            `givenName: ${p}`,
            `displayName: ${p} (AD)`,
            ...(hasMail(p) ? [`mail: ${email(source, p)}`] : []),
            '',
          ].join('\n'),
        ),
        ...Object.entries(GROUP_MEMBERS).map(([g, members]) =>
          [
            `dn: ${groupDn(g)}\nchangetype: add\nobjectClass: group\n`,
            `dn: ${groupDn(g)}`,
            'changetype: modify',
            'add: member',
            ...members.map((m) => `member: ${personDn(m)}`),
            '-',
            '',
          ].join('\n'),
        ),
        `dn: ${groupDn('Helpdesk')}\nchangetype: modify\nadd: member\nmember: ${groupDn('Owners')}\n-\n`,
      ];
      ad = await startSambaAd({ name: 'e2e-admins-ad', fixture: records.join('\n') });
    },
    directoryInput() {
      const s = cur();
      return {
        ldap: {
          url: s.url,
          profile: 'activedirectory',
          startTls: true,
          tlsCaPem: s.caPem,
          bindDn: s.adminDn,
          baseDn: BASE,
          userBaseDn: USERS,
          groupBaseDn: GROUPS,
        },
        bindPassword: s.adminPassword,
      };
    },
    groupDn,
    async change(group, op, people) {
      await cur().modify(memberChange(groupDn(group), op, people.map(personDn)));
    },
    async dispose() {
      await ad?.dispose();
    },
  };
  return source;
}

/** Entra: role groups are group object ids; Owners is nested in Helpdesk as elsewhere. */
function entraId(): Source {
  const SECRET = 'e2e-Entra-Admins~Secret';
  let fake: FakeGraph | undefined;
  let admin: FakeGraphAdmin | undefined;
  let clientId = '';
  const ids: Record<string, string> = {};
  const cur = () => {
    if (!fake || !admin) throw new Error('fake tenant not started');
    return { fake, admin };
  };
  const idOf = (key: string) => {
    const id = ids[key];
    if (!id) throw new Error(`no object ${key} in the fake tenant`);
    return id;
  };
  const source: Source = {
    name: 'Entra ID',
    domain: 'entra.example.net',
    disables: true,
    async start() {
      fake = await startFakeGraph();
      admin = new FakeGraphAdmin(fake.url, fake.caPem);
      clientId = (await admin.registerApp({ secrets: [SECRET] })).clientId;
      const users = await admin.addUsers(
        PEOPLE.map((p) => ({
          userPrincipalName: `${p}@contoso.example`,
          givenName: p,
          displayName: `${p} (Entra)`,
          accountEnabled: p !== 'eve',
          ...(hasMail(p) ? { mail: email(source, p) } : {}),
        })),
      );
      PEOPLE.forEach((p, i) => (ids[p] = String(users[i]?.id)));
      const names = Object.keys(GROUP_MEMBERS);
      const groups = await admin.addGroups(names.map((displayName) => ({ displayName })));
      names.forEach((g, i) => (ids[g] = String(groups[i]?.id)));
      for (const [g, members] of Object.entries(GROUP_MEMBERS)) {
        await admin.addMembers(idOf(g), [
          ...members.map(idOf),
          ...(g === 'Helpdesk' ? [idOf('Owners')] : []),
        ]);
      }
    },
    directoryInput() {
      const { fake: f } = cur();
      return {
        entra: {
          tenantId: f.tenantId,
          clientId,
          loginUrl: f.url,
          graphUrl: f.url,
          tlsCaPem: f.caPem,
        },
        clientSecret: SECRET,
      };
    },
    groupDn: idOf,
    async change(group, op, people) {
      const { admin: a } = cur();
      if (op === 'add') await a.addMembers(idOf(group), people.map(idOf));
      else for (const p of people) await a.removeMember(idOf(group), idOf(p));
    },
    async dispose() {
      admin?.close();
      await fake?.close();
    },
  };
  return source;
}

interface AdminView {
  id: string;
  email: string;
  role: string;
  roles: string[];
  status: string;
  synced: boolean;
  displayName: string | null;
  purgeAfter: string | null;
  directory: { id: string; name: string } | null;
}
const ADMIN_FIELDS = `id email role roles status synced displayName purgeAfter directory { id name }`;
const SYNC_ADMIN = `mutation($id: ID!, $email: String!) {
  syncAdmin(directoryId: $id, email: $email) {
    outcome run { id status mode email counts { adminsSeen } } admin { ${ADMIN_FIELDS} } } }`;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

describe.each([openLdap(), sambaAd(), entraId()])('admin sync from $name', (source) => {
  let dirId = '';

  async function adminRun(): Promise<{
    status: string;
    counts: Record<string, number>;
    errors: { nodes: { code: string }[] };
  }> {
    const { syncAll } = await stack.gql<{ syncAll: { id: string } }>(
      `mutation($id: ID!) { syncAll(directoryId: $id, mode: ADMIN) { id } }`,
      { id: dirId },
    );
    await waitForRun(stack, syncAll.id, 120_000);
    const { run } = await stack.gql<{
      run: {
        status: string;
        counts: Record<string, number>;
        errors: { nodes: { code: string }[] };
      };
    }>(
      `query($id: ID!) { run(id: $id) { status errors { nodes { code } }
         counts { seen adminsSeen adminsCreated adminsUpdated adminsUnchanged adminsPendingDeletion adminsRestored errors } } }`,
      { id: syncAll.id },
    );
    return run;
  }

  async function admins(): Promise<AdminView[]> {
    const { admins } = await stack.gql<{ admins: { nodes: AdminView[] } }>(
      `query($dir: ID!) { admins(first: 100, filter: { directoryId: $dir }) { nodes { ${ADMIN_FIELDS} } } }`,
      { dir: dirId },
    );
    return admins.nodes;
  }

  async function syncAdmin(address: string) {
    const { syncAdmin } = await stack.gql<{
      syncAdmin: {
        outcome: string;
        run: { status: string; email: string };
        admin: AdminView | null;
      };
    }>(SYNC_ADMIN, { id: dirId, email: address });
    return syncAdmin;
  }

  beforeAll(async () => {
    await source.start();
    const { createDirectory } = await stack.gql<{ createDirectory: { id: string } }>(
      `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { id } }`,
      {
        input: {
          name: `admins ${source.name}`,
          ...source.directoryInput(),
          selectedGroups: [source.groupDn('Staff')],
          scheduleIntervalMinutes: 0,
          adminRoles: [
            { role: 'OWNER', groups: [source.groupDn('Owners')] },
            { role: 'HELP_DESK', groups: [source.groupDn('Helpdesk')] },
            { role: 'READ_ONLY', groups: [source.groupDn('Readers')] },
          ],
        },
      },
    );
    dirId = createDirectory.id;
  }, 180_000);
  afterAll(() => source.dispose());

  it('imports the role groups’ people, matched by e-mail, each with the highest role', async () => {
    const run = await adminRun();
    expect(run.status).toBe('COMPLETED');
    expect(run.counts).toMatchObject({ adminsSeen: 2, adminsCreated: 2, seen: 0, errors: 1 });
    // cy is in Readers but has no e-mail.
    expect(run.errors.nodes.map((e) => e.code)).toEqual(['MISSING_EMAIL']);
    expect((await admins()).map((a) => ({ email: a.email, role: a.role, roles: a.roles }))).toEqual(
      [
        { email: email(source, 'ada'), role: 'HELP_DESK', roles: ['HELP_DESK', 'READ_ONLY'] },
        { email: email(source, 'bob'), role: 'OWNER', roles: ['OWNER', 'HELP_DESK'] },
      ],
    );
    const [ada] = await admins();
    expect(ada).toMatchObject({
      status: 'ACTIVE',
      synced: true,
      directory: { id: dirId, name: `admins ${source.name}` },
    });
    // An ADMIN run imports no user.
    const { users } = await stack.gql<{ users: { totalCount: number } }>(
      `query($dir: ID!) { users(filter: { directoryId: $dir }) { totalCount } }`,
      { dir: dirId },
    );
    expect(users.totalCount).toBe(0);
  });

  it('refuses to change or delete a synced administrator (READ_ONLY)', async () => {
    const before = await admins();
    const bob = before.find((a) => a.role === 'OWNER')!;
    for (const [query, variables] of [
      [
        `mutation($id: ID!) { updateAdmin(id: $id, input: { role: READ_ONLY }) { id } }`,
        { id: bob.id },
      ],
      [`mutation($id: ID!) { deleteAdmin(id: $id) }`, { id: bob.id }],
    ] as const) {
      const r = await stack.gqlRaw(query, variables);
      expect(r.errors?.[0]?.extensions?.code).toBe('READ_ONLY');
    }
    expect(await admins()).toEqual(before);
  });

  it('syncAdmin of an e-mail no role group has answers NOT_FOUND and changes nothing', async () => {
    const before = await admins();
    for (const address of [`nobody@${source.domain}`, email(source, 'dan')]) {
      const r = await syncAdmin(address);
      expect(r).toMatchObject({ outcome: 'NOT_FOUND', admin: null, run: { status: 'COMPLETED' } });
    }
    expect(await admins()).toEqual(before);
  });

  it('syncAdmin brings one administrator, taking over a manual one with the same e-mail', async () => {
    const { createAdmin } = await stack.gql<{ createAdmin: AdminView }>(
      `mutation($input: CreateAdminInput!) { createAdmin(input: $input) { ${ADMIN_FIELDS} } }`,
      { input: { email: email(source, 'eve'), role: 'BILLING' } },
    );
    expect(createAdmin.synced).toBe(false);
    await source.change('Readers', 'add', ['eve']);
    const r = await syncAdmin(email(source, 'eve').toUpperCase());
    expect(r.outcome).toBe('UPDATED');
    expect(r.admin).toMatchObject({
      id: createAdmin.id,
      email: email(source, 'eve'),
      role: 'READ_ONLY',
      synced: true,
      status: source.disables ? 'DISABLED' : 'ACTIVE',
      directory: { id: dirId },
    });
  });

  it('a person in no role group any more loses admin: pending deletion, restorable', async () => {
    const ada = (await admins()).find((a) => a.email === email(source, 'ada'))!;
    await source.change('Helpdesk', 'delete', ['ada']);
    await source.change('Readers', 'delete', ['ada']);
    const run = await adminRun();
    expect(run.counts).toMatchObject({ adminsPendingDeletion: 1, adminsUnchanged: 2 });
    const gone = (await admins()).find((a) => a.id === ada.id)!;
    expect(gone.status).toBe('PENDING_DELETION');
    const days = (Date.parse(gone.purgeAfter!) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.9);
    expect(days).toBeLessThanOrEqual(7);

    await source.change('Readers', 'add', ['ada']);
    const back = await syncAdmin(email(source, 'ada'));
    expect(back.outcome).toBe('RESTORED');
    expect(back.admin).toMatchObject({ id: ada.id, status: 'ACTIVE', role: 'READ_ONLY' });
  });
});
