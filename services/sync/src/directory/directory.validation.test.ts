import type { LdapSettings } from '@dirsync/kit';
import { describe, expect, it } from 'vitest';
import {
  InvalidInputError,
  validateCreate,
  validateUpdate,
  validateUsername,
  type DirectoryFields,
} from './directory.validation.js';

const base: DirectoryFields = {
  name: 'Corp',
  ldap: {
    url: 'ldaps://ldap.example.org',
    bindDn: 'cn=reader,dc=example,dc=org',
    baseDn: 'dc=example,dc=org',
  },
  bindPassword: 'pw',
  selectedGroups: ['cn=staff,ou=groups,dc=example,dc=org'],
};

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidInputError) return err.problems.map((p) => p.field);
    throw err;
  }
  return [];
}

describe('validateCreate()', () => {
  it('fills defaults per profile', () => {
    const v = validateCreate(base);
    expect(v.mapping.username).toBe('uid');
    expect((v.settings as LdapSettings).profile).toBe('openldap');
    const ad = validateCreate({ ...base, ldap: { ...base.ldap, profile: 'activedirectory' } });
    expect(ad.mapping.username).toBe('sAMAccountName');
  });

  it('accepts attribute options and OIDs, rejects the rest', () => {
    expect(
      problems(() =>
        validateCreate({ ...base, mapping: { email: 'mail;lang-en', phones: ['2.5.4.20'] } }),
      ),
    ).toEqual([]);
    expect(
      problems(() => validateCreate({ ...base, mapping: { email: 'mail;', phones: ['2.5.'] } })),
    ).toEqual(['mapping.email', 'mapping.phones[0]']);
  });

  it('rejects unknown LDAP settings by name', () => {
    expect(
      problems(() =>
        validateCreate({ ...base, ldap: { ...base.ldap, bogus: 1 } as DirectoryFields['ldap'] }),
      ),
    ).toEqual(['ldap.bogus']);
  });

  it('takes a deletion threshold (default 500 / 20 %) and a restore window of 1–3650 days', () => {
    const v = validateCreate(base);
    expect(v).toMatchObject({
      deletionMaxCount: 500,
      deletionMaxPercent: 20,
      restoreWindowDays: 7,
    });
    const off = validateCreate({ ...base, deletionThreshold: { maxCount: 0, maxPercent: 0 } });
    expect(off).toMatchObject({ deletionMaxCount: 0, deletionMaxPercent: 0 });
    expect(
      problems(() =>
        validateCreate({
          ...base,
          deletionThreshold: { maxCount: 1.5, maxPercent: -1 },
          restoreWindowDays: 0,
        }),
      ),
    ).toEqual(['restoreWindowDays', 'deletionThreshold.maxCount', 'deletionThreshold.maxPercent']);
    const updated = validateUpdate(v, { deletionThreshold: { maxPercent: 5 } }, undefined);
    expect(updated).toMatchObject({ deletionMaxCount: 500, deletionMaxPercent: 5 });
  });

  it('never echoes the secret', () => {
    const secret = 'x'.repeat(5000);
    try {
      validateCreate({ ...base, bindPassword: secret });
    } catch (err) {
      expect((err as Error).message).not.toContain(secret);
      return;
    }
    throw new Error('expected a problem');
  });
});

describe('validateUpdate()', () => {
  const current = validateCreate(base);
  it('keeps what is not given and clears LDAP fields given as null', () => {
    const withFilter = validateUpdate(current, { ldap: { userFilter: '(a=b)' } }, undefined);
    expect((withFilter.settings as LdapSettings).userFilter).toBe('(a=b)');
    const cleared = validateUpdate(withFilter, { ldap: { userFilter: null } }, undefined);
    expect((cleared.settings as LdapSettings).userFilter).toBeUndefined();
    expect(cleared.name).toBe('Corp');
    expect(cleared.secret).toBeUndefined();
  });

  it('locks the username attribute with the reason', () => {
    expect(() =>
      validateUpdate(current, { mapping: { username: 'mail' } }, 'it has synced'),
    ).toThrow(/mapping\.username: .*it has synced/);
    expect(
      problems(() => validateUpdate(current, { mapping: { username: 'UID' } }, 'it has synced')),
    ).toEqual([]);
  });
});

describe('Entra directories', () => {
  const TENANT = '8a0c9b7e-2f41-4d3a-9e55-0c1d2e3f4a5b';
  const CLIENT = '3c9d8e7f-6a5b-4c3d-8e1f-0a9b8c7d6e5f';
  const GROUP = '0F1E2D3C-4B5A-4968-8776-655443322110';
  const entra: DirectoryFields = {
    name: 'Corp Entra',
    entra: { tenantId: TENANT, clientId: CLIENT },
    clientSecret: 'client-Secret-value',
    selectedGroups: [GROUP],
  };

  it('is the kind when only an entra block is given, with Graph defaults', () => {
    const v = validateCreate(entra);
    expect(v.kind).toBe('ENTRA');
    expect(v.secret).toBe('client-Secret-value');
    expect(v.settings).toMatchObject({
      tenantId: TENANT,
      credential: 'clientSecret',
      cloud: 'global',
      pageSize: 999,
    });
    expect(v.mapping).toMatchObject({
      username: 'userPrincipalName',
      lastName: 'surname',
      phones: ['businessPhones', 'mobilePhone'],
    });
    expect(v.selectedGroups).toEqual([GROUP.toLowerCase()]);
  });

  it("names every bad field: ids, URLs, groups, the other kind's fields, the username", () => {
    expect(
      problems(() =>
        validateCreate({
          ...entra,
          entra: { tenantId: 'no tenant', clientId: 'x', loginUrl: 'http://login.example' },
          bindPassword: 'pw',
          selectedGroups: ['cn=staff,dc=example,dc=org'],
          mapping: { username: 'displayName' },
        }),
      ).sort(),
    ).toEqual([
      'bindPassword',
      'entra.clientId',
      'entra.loginUrl',
      'entra.tenantId',
      'mapping.username',
      'selectedGroups[0]',
    ]);
    expect(problems(() => validateCreate({ ...entra, clientSecret: undefined }))).toEqual([
      'clientSecret',
    ]);
  });

  it('takes a client certificate as PEM key and certificate', () => {
    const cert = {
      ...entra,
      clientSecret: undefined,
      entra: { tenantId: TENANT, clientId: CLIENT, credential: 'clientCertificate' as const },
    };
    expect(problems(() => validateCreate({ ...cert, clientCertificate: 'not pem' }))).toEqual([
      'clientCertificate',
    ]);
    const pem =
      '-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n';
    expect(validateCreate({ ...cert, clientCertificate: pem }).secret).toBe(pem);
  });

  it('on update keeps the secret unless given, and needs a new one when the credential kind changes', () => {
    const current = validateCreate(entra);
    expect(validateUpdate(current, { entra: { pageSize: 100 } }, undefined)).toMatchObject({
      secret: undefined,
      settings: { pageSize: 100, tenantId: TENANT },
    });
    expect(
      problems(() =>
        validateUpdate(current, { entra: { credential: 'clientCertificate' } }, undefined),
      ),
    ).toEqual(['clientCertificate']);
    expect(
      problems(() => validateUpdate(current, { ldap: { url: 'ldap://x' } }, undefined)),
    ).toEqual(['ldap']);
  });
});

describe('validateUsername()', () => {
  it('passes LDAP filter characters and NUL through unchanged', () => {
    for (const u of ['*', 'a)(uid=*', 'back\\slash', 'nul\u0000byte', 'jdoe@example.org', 'Zoë']) {
      expect(validateUsername(u)).toBe(u);
    }
  });
  it('rejects empty, long and control-character names', () => {
    for (const u of ['', ' ', 'a\tb', 'a\u007fb', 'x'.repeat(257)]) {
      expect(() => validateUsername(u)).toThrow(InvalidInputError);
    }
    expect(validateUsername('x'.repeat(256))).toHaveLength(256);
  });
});

describe('validateUpdate() of an Active Directory directory', () => {
  const current = validateCreate(base);
  it('locks the profile once synced (it decides the external id)', () => {
    expect(() =>
      validateUpdate(
        current,
        { ldap: { profile: 'activedirectory', startTls: true } },
        'it has synced',
      ),
    ).toThrow(/ldap\.profile: cannot change .*it has synced/);
  });

  it('refuses plain ldap:// for AD unless allowPlainLdap is set', () => {
    expect(() =>
      validateUpdate(
        current,
        { ldap: { profile: 'activedirectory', url: 'ldap://dc1.example.org' } },
        undefined,
      ),
    ).toThrow(/ldap\.url: plain ldap:\/\/ would send the bind password in clear/);
    const ok = validateUpdate(
      current,
      { ldap: { profile: 'activedirectory', url: 'ldap://dc1.example.org', allowPlainLdap: true } },
      undefined,
    );
    expect((ok.settings as LdapSettings).allowPlainLdap).toBe(true);
    const tls = validateUpdate(
      current,
      { ldap: { profile: 'activedirectory', url: 'ldap://dc1.example.org', startTls: true } },
      undefined,
    );
    expect((tls.settings as LdapSettings).profile).toBe('activedirectory');
  });
});
