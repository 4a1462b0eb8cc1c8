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
    expect(v.settings.profile).toBe('openldap');
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
    expect(withFilter.settings.userFilter).toBe('(a=b)');
    const cleared = validateUpdate(withFilter, { ldap: { userFilter: null } }, undefined);
    expect(cleared.settings.userFilter).toBeUndefined();
    expect(cleared.name).toBe('Corp');
    expect(cleared.bindPassword).toBeUndefined();
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
