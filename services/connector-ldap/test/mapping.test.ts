// Attribute mapping against a real slapd: names, e-mail, phones (E.164 with the default
// region), aliases, custom attributes, non-ASCII values, missing and duplicate usernames.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '@dirsync/proto';
import {
  observedUsernames,
  type CollectedRun,
  type ConnectorHarness,
} from '@dirsync/kit/conformance';
import { startSlapd, type Slapd } from '@dirsync/testkit';
import {
  GROUPS,
  PEOPLE,
  directoryConfig,
  group,
  ldapHarness,
  ldif,
  newDirectoryId,
  person,
} from './helpers.js';

const ALL = `cn=all,${GROUPS}`;
const users = [
  person({
    uid: 'jdoe',
    cn: 'John Doe',
    sn: 'Doe',
    attrs: {
      cn: ['John Doe', 'Johnny', 'jdoe', ' '],
      givenName: 'John',
      displayName: '  John Doe  ',
      mail: 'john.doe@example.org',
      telephoneNumber: '+1 (415) 555-0100',
      mobile: ['415 555 0199', 'call me maybe', '+1 415 555 0100'],
      departmentNumber: 'R&D',
      employeeNumber: '00042',
      title: 'Engineer',
    },
  }),
  person({
    uid: 'zoë',
    cn: 'Zoë Ångström',
    sn: 'Ångström',
    attrs: {
      givenName: 'Zoë',
      displayName: '東京 太郎',
      mail: 'zoë@example.org',
      telephoneNumber: '+49 30 12345678',
    },
  }),
  person({ dn: `cn=nouid,${PEOPLE}`, cn: 'nouid', sn: 'Nobody' }),
  person({ dn: `cn=dup,${PEOPLE}`, cn: 'dup', attrs: { uid: 'JDoe' } }),
  person({ dn: `uid=primary,${PEOPLE}`, cn: 'Multi', attrs: { uid: ['alpha', 'primary'] } }),
  person({
    uid: 'precomposed',
    attrs: { cn: ['precomposed', 'Jose\u0301'], givenName: 'Jose\u0301' },
  }),
];
const members = [
  `uid=jdoe,${PEOPLE}`,
  `uid=zoë,${PEOPLE}`,
  `cn=nouid,${PEOPLE}`,
  `cn=dup,${PEOPLE}`,
  `uid=primary,${PEOPLE}`,
  `uid=precomposed,${PEOPLE}`,
];

describe('attribute mapping', () => {
  let slapd: Slapd;
  let h: ConnectorHarness;
  let run: CollectedRun;
  const byName = (name: string) => run.users.find((u) => u.username === name);

  beforeAll(async () => {
    slapd = await startSlapd({ name: 'mapping', ldif: ldif(...users, group('all', members)) });
    h = await ldapHarness();
    const id = newDirectoryId();
    h.setConfig(
      id,
      directoryConfig(slapd, [ALL], {
        mapping: {
          username: 'uid',
          aliases: ['cn'],
          email: 'mail',
          firstName: 'givenName',
          lastName: 'sn',
          displayName: 'displayName',
          phones: ['telephoneNumber', 'mobile'],
          custom: {
            department: 'departmentNumber',
            employeeId: 'employeeNumber',
            jobTitle: 'title',
          },
        },
        defaultRegion: 'US',
      }),
    );
    run = await h.run({ directoryId: id });
  });

  afterAll(async () => {
    await h?.close();
    await slapd?.dispose();
  });

  it('maps names, e-mail, source locator and custom attributes', () => {
    expect(run.outcome.error).toBeUndefined();
    expect(byName('jdoe')).toMatchObject({
      firstName: 'John',
      lastName: 'Doe',
      displayName: 'John Doe',
      email: 'john.doe@example.org',
      sourceLocator: `uid=jdoe,${PEOPLE}`,
      disabled: false,
      customAttributes: { department: 'R&D', employeeId: '00042', jobTitle: 'Engineer' },
    });
  });

  it('normalises phones to E.164 in mapping order, dropping duplicates', () => {
    expect(byName('jdoe')?.phones.map((p) => [p.kind, p.number])).toEqual([
      ['telephoneNumber', '+14155550100'],
      ['mobile', '+14155550199'],
    ]);
  });

  it('reports an unparseable phone as INVALID_PHONE and keeps the user', () => {
    const errors = run.objectErrors.filter((e) => e.code === ErrorCode.INVALID_PHONE);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.externalId).toBe(byName('jdoe')?.externalId);
    // Named by attribute, the free text not repeated (a phone attribute may hold anything).
    expect(errors[0]?.message).toContain('mobile value of 13 characters (not shown)');
    expect(errors[0]?.message).not.toContain('call me maybe');
  });

  it('takes aliases from the alias attributes, trimmed and without the username', () => {
    expect(byName('jdoe')?.aliases).toEqual(['John Doe', 'Johnny']);
  });

  it('keeps non-ASCII values intact (NFC)', () => {
    expect(byName('zoë')).toMatchObject({
      firstName: 'Zoë',
      lastName: 'Ångström',
      displayName: '東京 太郎',
      email: 'zoë@example.org',
    });
    expect(byName('zoë')?.phones.map((p) => p.number)).toEqual(['+493012345678']);
    expect(byName('precomposed')?.firstName).toBe('Jos\u00e9');
  });

  it('reports an entry without the username attribute as MISSING_USERNAME, naming its DN', () => {
    const missing = run.objectErrors.filter((e) => e.code === ErrorCode.MISSING_USERNAME);
    expect(missing).toHaveLength(1);
    expect(missing[0]?.sourceLocator).toBe(`cn=nouid,${PEOPLE}`);
    expect(missing[0]?.message).toContain(`cn=nouid,${PEOPLE}`);
  });

  it('reports the second entry with the same username (any case) as DUPLICATE_USERNAME', () => {
    const dups = run.objectErrors.filter((e) => e.code === ErrorCode.DUPLICATE_USERNAME);
    expect(dups).toHaveLength(1);
    expect(dups[0]?.sourceLocator).toBe(`cn=dup,${PEOPLE}`);
    expect(run.users.filter((u) => u.username.toLowerCase() === 'jdoe')).toHaveLength(1);
  });

  it('leaves rejected users out of memberships', () => {
    const ids = new Set(run.users.map((u) => u.externalId));
    for (const set of run.memberships.values())
      for (const id of set) expect(ids.has(id)).toBe(true);
    expect(run.memberships.get(run.groups[0]?.externalId ?? '')?.size).toBe(run.users.length);
  });

  it('takes the RDN value of a multi-valued username attribute', () => {
    expect(observedUsernames(run)).toContain('primary');
    expect(observedUsernames(run)).not.toContain('alpha');
  });

  it('fails with CONFIG_INVALID naming a mapped attribute that is not an attribute name', async () => {
    const id = newDirectoryId();
    h.setConfig(id, directoryConfig(slapd, [ALL], { mapping: { custom: { x: 'bad)(attr' } } }));
    const failed = await h.run({ directoryId: id });
    expect(failed.failed?.error?.code).toBe(ErrorCode.CONFIG_INVALID);
    expect(failed.failed?.error?.message).toContain('custom.x');
  });

  it('fails with CONFIG_INVALID naming an invalid userFilter', async () => {
    const id = newDirectoryId();
    h.setConfig(
      id,
      directoryConfig(slapd, [ALL], { settings: { userFilter: '(&(employeeType=x)' } }),
    );
    const failed = await h.run({ directoryId: id });
    expect(failed.failed?.error?.code).toBe(ErrorCode.CONFIG_INVALID);
    expect(failed.failed?.error?.message).toContain('userFilter');
  });

  it('applies userFilter to the users read', async () => {
    const id = newDirectoryId();
    h.setConfig(id, directoryConfig(slapd, [ALL], { settings: { userFilter: '(givenName=Zo*)' } }));
    const filtered = await h.run({ directoryId: id });
    expect(observedUsernames(filtered)).toEqual(['zoë']);
  });
});
