// The Active Directory profile against a real Samba AD domain controller: objectGUID/objectSid,
// ranged member retrieval, nesting and cycles (checked against the server's own
// LDAP_MATCHING_RULE_IN_CHAIN), primary groups, hostile DNs, disabled/expired accounts, paging,
// referrals from the domain root, TLS. One DC for the file, its fixture loaded once and cached.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BerWriter, Control } from 'ldapts';
import { SyncMode, errorCodeName, ErrorCode } from '@dirsync/proto';
import type { LdapSettings } from '@dirsync/kit';
import {
  memberUsernames,
  observedUsernames,
  type CollectedRun,
  type ConnectorHarness,
  type HarnessConfig,
} from '@dirsync/kit/conformance';
import { startSambaAd, type SambaAd } from '@dirsync/testkit';
import { ldapHarness, newDirectoryId } from './helpers.js';

const BASE = 'DC=example,DC=test';
const PEOPLE = `OU=People,${BASE}`;
const BULK = `OU=Bulk,${BASE}`;
const GROUPS = `OU=Groups,${BASE}`;
const BIG_SIZE = 3000;
const HOSTILE_CN = 'Smith\\, Zoë\\+Ann Ünal';
const HOSTILE_DN = `CN=${HOSTILE_CN},${PEOPLE}`;
const dnOf = (cn: string, ou = PEOPLE) => `CN=${cn},${ou}`;
const groupDn = (cn: string) => `CN=${cn},${GROUPS}`;
const bulkName = (i: number) => `bulk${String(i).padStart(4, '0')}`;
const FILETIME_EPOCH = 116_444_736_000_000_000n;
const filetime = (d: Date) => String(BigInt(d.getTime()) * 10_000n + FILETIME_EPOCH);

function user(cn: string, sam: string, extra: string[] = [], ou = PEOPLE): string {
  return [
    `dn: CN=${cn},${ou}`,
    'changetype: add',
    'objectClass: user',
    `sAMAccountName: ${sam}`,
    // NORMAL_ACCOUNT | PASSWD_NOTREQD: enabled without a password
    'userAccountControl: 544',
    ...extra,
    '',
  ].join('\n');
}

function group(cn: string, members: string[], extra: string[] = []): string {
  const lines = [`dn: ${groupDn(cn)}`, 'changetype: add', 'objectClass: group', ...extra, ''];
  if (members.length === 0) return lines.join('\n');
  return (
    lines.join('\n') +
    '\n' +
    [
      `dn: ${groupDn(cn)}`,
      'changetype: modify',
      'add: member',
      ...members.map((m) => `member: ${m}`),
      '-',
      '',
    ].join('\n')
  );
}

/** The domain: 3,000 bulk users in one big group (one modify with 3,000 values), and the rest. */
function fixture(): string {
  const past = filetime(new Date('2020-01-01T00:00:00Z'));
  const future = filetime(new Date('2099-01-01T00:00:00Z'));
  const records = [
    `dn: ${PEOPLE}\nchangetype: add\nobjectClass: organizationalUnit\n`,
    `dn: ${BULK}\nchangetype: add\nobjectClass: organizationalUnit\n`,
    `dn: ${GROUPS}\nchangetype: add\nobjectClass: organizationalUnit\n`,
    user('Alice Archer', 'alice', [
      'userPrincipalName: alice.archer@example.test',
      'mail: Alice.Archer@example.test',
      'givenName: Alice',
      'sn: Archer',
      'displayName: Alice Archer',
      'telephoneNumber: +1 415 555 0100',
    ]),
    user('Bob Baker', 'bob', ['mail: bob@example.test']),
    user('Carol Expired', 'carol', [`accountExpires: ${past}`]),
    user('Dave Later', 'dave', [`accountExpires: ${future}`]),
    user('Erin Never', 'erin', ['accountExpires: 0']),
    user(HOSTILE_CN, 'zoe'),
    user('Cy One', 'cy1'),
    user('Cy Two', 'cy2'),
    user('Cy Three', 'cy3'),
    user('Prim Only', 'prim'),
    user('Outsider', 'outsider'),
    ...Array.from({ length: BIG_SIZE }, (_v, i) => user(bulkName(i), bulkName(i), [], BULK)),
    group('Staff', [dnOf('Alice Archer'), dnOf('Bob Baker'), dnOf('Carol Expired')]),
    group('Étrangers\\, Ltd\\+Co', [HOSTILE_DN, dnOf('Dave Later'), dnOf('Erin Never')]),
    group(
      'Big',
      Array.from({ length: BIG_SIZE }, (_v, i) => dnOf(bulkName(i), BULK)),
    ),
    // Cycle A ∋ B ∋ C ∋ A, each with its own user; Outer ∋ A.
    group('Cycle A', [dnOf('Cy One')]),
    group('Cycle B', [dnOf('Cy Two'), groupDn('Cycle A')]),
    group('Cycle C', [dnOf('Cy Three'), groupDn('Cycle B')]),
    `dn: ${groupDn('Cycle A')}\nchangetype: modify\nadd: member\nmember: ${groupDn('Cycle C')}\n-\n`,
    group('Outer', [groupDn('Cycle A')]),
    group('Prim Group', [dnOf('Prim Only')]),
    group('Unrelated', [dnOf('Outsider')]),
  ];
  return records.join('\n');
}

/** The extended-DN control (string form): DNs come back as `<GUID=…>;<SID=…>;CN=…`. */
class ExtendedDnControl extends Control {
  constructor() {
    super('1.2.840.113556.1.4.529');
  }
  override writeControl(writer: BerWriter): void {
    const value = new BerWriter();
    value.startSequence();
    value.writeInt(1);
    value.endSequence();
    writer.writeBuffer(value.buffer, 0x04);
  }
}

let ad: SambaAd;
let h: ConnectorHarness;
let primGroupRid = 0;

function adSettings(overrides: Partial<LdapSettings> = {}): Partial<LdapSettings> {
  return {
    url: ad.url,
    profile: 'activedirectory',
    allowPlainLdap: true,
    bindDn: ad.adminDn,
    baseDn: BASE,
    // most tests need no bulk users; those that do widen the bases
    userBaseDn: PEOPLE,
    groupBaseDn: GROUPS,
    timeoutMs: 20_000,
    ...overrides,
  };
}

function adConfig(
  selectedGroups: string[],
  overrides: Partial<HarnessConfig> & { settings?: Partial<LdapSettings> } = {},
): HarnessConfig {
  return {
    defaultRegion: 'US',
    ...overrides,
    settings: adSettings(overrides.settings),
    secrets: overrides.secrets ?? { bindPassword: ad.adminPassword },
    selectedGroups,
    mapping: overrides.mapping ?? {},
  };
}

async function run(
  config: HarnessConfig,
  job: { mode?: SyncMode; username?: string } = {},
  harness = h,
): Promise<CollectedRun> {
  const directoryId = newDirectoryId();
  harness.setConfig(directoryId, config);
  return harness.run({ directoryId, ...job }, { timeoutMs: 120_000 });
}

const code = (r: CollectedRun) =>
  r.failed?.error?.code === undefined ? undefined : errorCodeName(r.failed.error.code);

/** The server's own answer: People in `dn` through any nesting (IN_CHAIN), by sAMAccountName. */
async function inChain(dn: string): Promise<string[]> {
  const entries = await ad.search(
    PEOPLE,
    `(&(objectCategory=person)(objectClass=user)(memberOf:1.2.840.113556.1.4.1941:=${dn}))`,
    ['sAMAccountName'],
  );
  return entries.map((e) => String(e.sAMAccountName).toLowerCase()).sort();
}

beforeAll(async () => {
  ad = await startSambaAd({ name: 'ad-profile', fixture: fixture() });
  // Primary group: join the group, make it primary (AD then drops the user from its `member`).
  const [g] = await ad.search(groupDn('Prim Group'), '(objectClass=*)', ['objectSid'], {
    scope: 'base',
  });
  const sid = g?.objectSid as Buffer;
  primGroupRid = sid.readUInt32LE(sid.length - 4);
  await ad.modify(
    `dn: ${dnOf('Prim Only')}\nchangetype: modify\nreplace: primaryGroupID\nprimaryGroupID: ${primGroupRid}\n-\n`,
  );
  h = await ldapHarness({ batchSize: 500 });
}, 300_000);

afterAll(async () => {
  await h?.close();
  await ad?.dispose();
});

describe('Active Directory profile (Samba AD)', () => {
  describe('identity', () => {
    let full: CollectedRun;
    beforeAll(async () => {
      full = await run(
        adConfig([groupDn('Staff')], {
          mapping: { custom: { sid: 'objectSid', guid: 'objectGUID' } },
        }),
      );
    });

    it('uses sAMAccountName as the username by default', () => {
      expect(full.outcome.status).toBe('completed');
      expect(observedUsernames(full)).toEqual(['alice', 'bob', 'carol']);
    });

    it('takes the external id from the binary objectGUID, in the canonical form the server shows', async () => {
      const [entry] = await ad.search(PEOPLE, '(sAMAccountName=alice)', ['sAMAccountName'], {
        controls: [new ExtendedDnControl()],
      });
      const guid = /<GUID=([0-9a-f-]{36})>/i.exec(entry?.dn ?? '')?.[1]?.toLowerCase();
      const sid = /<SID=(S-1-5-[0-9-]+)>/.exec(entry?.dn ?? '')?.[1];
      expect(guid).toBeDefined();
      const alice = full.users.find((u) => u.username === 'alice');
      expect(alice?.externalId).toBe(guid);
      // objectSid and objectGUID as mapped attributes: text forms, never UTF-8 mojibake
      expect(alice?.customAttributes.sid).toBe(sid);
      expect(alice?.customAttributes.guid).toBe(guid);
      expect(full.objectErrors.filter((e) => e.code === ErrorCode.INVALID_ATTRIBUTE)).toEqual([]);
    });

    it('maps the admin-relevant attributes (mail, names, phones)', () => {
      const alice = full.users.find((u) => u.username === 'alice');
      expect(alice).toMatchObject({
        email: 'Alice.Archer@example.test',
        firstName: 'Alice',
        lastName: 'Archer',
        displayName: 'Alice Archer',
      });
      expect(alice?.phones.map((p) => p.number)).toEqual(['+14155550100']);
    });

    it('takes userPrincipalName or mail as the username by choice', async () => {
      const upn = await run(
        adConfig([groupDn('Staff')], { mapping: { username: 'userPrincipalName' } }),
      );
      expect(upn.users.find((u) => u.email === 'Alice.Archer@example.test')?.username).toBe(
        'alice.archer@example.test',
      );
      // bob and carol have no UPN: reported, not imported
      expect(upn.objectErrors.filter((e) => e.code === ErrorCode.MISSING_USERNAME)).toHaveLength(2);
      const mail = await run(adConfig([groupDn('Staff')], { mapping: { username: 'mail' } }));
      expect(observedUsernames(mail)).toEqual(['Alice.Archer@example.test', 'bob@example.test']);
    });
  });

  describe('status', () => {
    let full: CollectedRun;
    beforeAll(async () => {
      full = await run(adConfig([groupDn('Staff'), groupDn('Étrangers\\, Ltd\\+Co')]));
    });
    const disabled = (r: CollectedRun, name: string) =>
      r.users.find((u) => u.username === name)?.disabled;

    it('an accountExpires in the past disables; in the future, 0 and "never" do not', () => {
      expect(disabled(full, 'carol')).toBe(true);
      expect(disabled(full, 'dave')).toBe(false);
      expect(disabled(full, 'erin')).toBe(false);
      expect(disabled(full, 'alice')).toBe(false); // accountExpires 0x7FFFFFFFFFFFFFFF
    });

    it('disabled (ACCOUNTDISABLE) then re-enabled follows userAccountControl', async () => {
      const uac = async (value: number) =>
        ad.modify(
          `dn: ${dnOf('Bob Baker')}\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: ${value}\n-\n`,
        );
      expect(disabled(full, 'bob')).toBe(false);
      await uac(546);
      expect(disabled(await run(adConfig([groupDn('Staff')])), 'bob')).toBe(true);
      await uac(544);
      expect(disabled(await run(adConfig([groupDn('Staff')])), 'bob')).toBe(false);
    });
  });

  describe('membership', () => {
    it('imports a 3,000-member group whole (the server returns it unranged)', async () => {
      const r = await run(
        adConfig([groupDn('Big')], { settings: { userBaseDn: BULK, pageSize: 500 } }),
      );
      expect(r.outcome.status).toBe('completed');
      expect(r.users).toHaveLength(BIG_SIZE);
      expect(memberUsernames(r, 'Big')).toHaveLength(BIG_SIZE);
    });

    it('imports it whole when the server answers in ranges (member;range=0-1499, 1500-*)', async () => {
      for (const size of [1500, 1000]) {
        const ranged = await ldapHarness({ connector: { memberRangeSize: size } });
        try {
          const r = await run(
            adConfig([groupDn('Big'), groupDn('Staff')], { settings: { userBaseDn: BASE } }),
            {},
            ranged,
          );
          expect(r.outcome.status).toBe('completed');
          expect(memberUsernames(r, 'Big')).toEqual(
            Array.from({ length: BIG_SIZE }, (_v, i) => bulkName(i)),
          );
          expect(memberUsernames(r, 'Staff')).toEqual(['alice', 'bob', 'carol']);
        } finally {
          await ranged.close();
        }
      }
    });

    it('expands a group nested in itself through two others, as the server does (IN_CHAIN)', async () => {
      const r = await run(adConfig([groupDn('Outer')]));
      expect(r.outcome.status).toBe('completed');
      for (const name of ['Outer', 'Cycle A', 'Cycle B', 'Cycle C']) {
        expect(memberUsernames(r, name)).toEqual(await inChain(groupDn(name)));
      }
      expect(memberUsernames(r, 'Outer')).toEqual(['cy1', 'cy2', 'cy3']);
      const cycles = r.objectErrors.filter((e) => e.code === ErrorCode.GROUP_CYCLE);
      expect(cycles).toHaveLength(1);
      expect(cycles[0]?.message).toContain('Cycle B');
    });

    it('counts a user whose only membership is its primary group (not listed in member)', async () => {
      const [g] = await ad.search(groupDn('Prim Group'), '(objectClass=*)', ['member'], {
        scope: 'base',
      });
      expect(g?.member ?? []).toEqual([]);
      const r = await run(adConfig([groupDn('Prim Group')]));
      expect(observedUsernames(r)).toEqual(['prim']);
      expect(memberUsernames(r, 'Prim Group')).toEqual(['prim']);
      expect(r.objectErrors).toEqual([]);
    });

    it('selects Domain Users: everyone whose primary group it is', async () => {
      const r = await run(
        adConfig([`CN=Domain Users,CN=Users,${BASE}`], {
          settings: { userBaseDn: BASE, groupBaseDn: BASE },
        }),
      );
      expect(r.outcome.status).toBe('completed');
      const names = observedUsernames(r);
      expect(names).toContain('alice');
      expect(names).toContain(bulkName(2999));
      expect(names).toContain('prim'); // an explicit member now that its primary group moved
      expect(names.length).toBeGreaterThanOrEqual(BIG_SIZE + 11); // bulk, People, Administrator…
    });

    it('matches DNs with an escaped comma, a plus sign and non-ASCII case-insensitively', async () => {
      // the selected group written in another case and spacing than the server's
      const r = await run(adConfig(['cn=ÉTRANGERS\\, LTD\\+CO , ou=groups,dc=EXAMPLE,dc=test']));
      expect(r.outcome.status).toBe('completed');
      expect(memberUsernames(r, 'Étrangers, Ltd+Co')).toEqual(['dave', 'erin', 'zoe']);
      expect(r.users.find((u) => u.username === 'zoe')?.sourceLocator).toBe(HOSTILE_DN);
      expect(r.objectErrors).toEqual([]);
    });

    it('USER mode finds one user with its groups, the primary one included', async () => {
      const r = await run(adConfig([groupDn('Prim Group'), groupDn('Staff')]), {
        mode: SyncMode.USER,
        username: 'PRIM',
      });
      expect(observedUsernames(r)).toEqual(['prim']);
      expect(r.groups.map((g) => g.name)).toEqual(['Prim Group']);
    });
  });

  describe('searching', () => {
    it('searches from the domain root, skipping the continuation references it returns', async () => {
      // userBaseDn and groupBaseDn unset: both searches start at DC=example,DC=test, which
      // answers references to the Configuration partition along with the entries
      const r = await run(
        adConfig([groupDn('Staff')], {
          settings: { userBaseDn: undefined, groupBaseDn: undefined, pageSize: 2 },
        }),
      );
      expect(r.outcome.status).toBe('completed');
      expect(observedUsernames(r)).toEqual(['alice', 'bob', 'carol']);
    });

    it('pages within MaxPageSize however large the configured page', async () => {
      const r = await run(
        adConfig([groupDn('Big')], { settings: { userBaseDn: BULK, pageSize: 10_000 } }),
      );
      expect(r.outcome.status).toBe('completed');
      expect(r.users).toHaveLength(BIG_SIZE);
    });
  });

  describe('TLS', () => {
    it('LDAPS verified against the configured CA', async () => {
      const r = await run(
        adConfig([groupDn('Staff')], {
          settings: { url: ad.ldapsUrl, allowPlainLdap: false, tlsCaPem: ad.caPem },
        }),
      );
      expect(r.outcome.status).toBe('completed');
      expect(observedUsernames(r)).toEqual(['alice', 'bob', 'carol']);
    });

    it('StartTLS verified against the configured CA', async () => {
      const r = await run(
        adConfig([groupDn('Staff')], {
          settings: { startTls: true, allowPlainLdap: false, tlsCaPem: ad.caPem },
        }),
      );
      expect(r.outcome.status).toBe('completed');
    });

    it('a certificate the configured CA did not sign fails with TLS_ERROR', async () => {
      const r = await run(
        adConfig([groupDn('Staff')], { settings: { url: ad.ldapsUrl, allowPlainLdap: false } }),
      );
      expect(code(r)).toBe('TLS_ERROR');
    });

    it('plain LDAP needs the explicit opt-in', async () => {
      const r = await run(adConfig([groupDn('Staff')], { settings: { allowPlainLdap: false } }));
      expect(code(r)).toBe('CONFIG_INVALID');
      expect(r.failed?.error?.message).toContain('allowPlainLdap');
    });
  });
});
