import { describe, expect, it } from 'vitest';
import { AttributeMappingSchema, ErrorCode, create } from '@dirsync/proto';
import { DirsyncError } from '@dirsync/kit';
import type { Entry } from 'ldapts';
import {
  AttributeNames,
  EntryAttributes,
  mapUser,
  resolveMapping,
  userAttributes,
} from './mapping.js';
import { openLdapProfile } from './profiles/index.js';

const mapping = (init: Parameters<typeof create<typeof AttributeMappingSchema>>[1] = {}) =>
  resolveMapping(create(AttributeMappingSchema, init), openLdapProfile);

describe('#resolveMapping()', () => {
  it('fills the profile defaults', () => {
    expect(mapping()).toEqual({
      username: 'uid',
      aliases: [],
      email: 'mail',
      firstName: 'givenName',
      lastName: 'sn',
      displayName: 'displayName',
      phones: ['telephoneNumber', 'mobile'],
      custom: [],
    });
  });

  it('refuses attribute names that are not names, naming the field', () => {
    expect(() => mapping({ email: 'mail)(uid=*' })).toThrow(/mapping\.email/);
    expect(() => mapping({ custom: { dept: 'x y' } })).toThrow(DirsyncError);
    try {
      mapping({ aliases: ['a', 'b', 'c', 'd', 'e'] });
      expect.unreachable();
    } catch (err) {
      expect((err as DirsyncError).code).toBe(ErrorCode.CONFIG_INVALID);
    }
  });

  it('asks the server for each needed attribute once', () => {
    const attrs = userAttributes(
      mapping({ aliases: ['UID', 'cn'], custom: { d: 'mail' } }),
      openLdapProfile,
    );
    expect(attrs).toEqual([
      'entryUUID',
      'uid',
      'cn',
      'mail',
      'givenName',
      'sn',
      'displayName',
      'telephoneNumber',
      'mobile',
      'shadowExpire',
      'pwdAccountLockedTime',
      'nsAccountLock',
    ]);
  });
});

describe('EntryAttributes', () => {
  const entry = (o: Record<string, unknown>) => ({ dn: 'uid=x,dc=org', ...o }) as Entry;

  it('reads attributes case-insensitively and merges attribute options', () => {
    const names = new AttributeNames();
    const a = new EntryAttributes(
      entry({ Mobile: '1', 'mobile;lang-en': ['2', '3'], UID: 'x' }),
      names,
    );
    expect(a.get('mobile')).toEqual(['1', '2', '3']);
    expect(a.first('uid')).toBe('x');
    expect(a.get('mail')).toEqual([]);
    // a later entry with other spellings shares the index
    const b = new EntryAttributes(entry({ mobile: '9' }), names);
    expect(b.get('MOBILE')).toEqual(['9']);
  });

  it('separates values that are not UTF-8', () => {
    const a = new EntryAttributes(entry({ cn: ['ok', Buffer.from([0xff, 0xfe])] }));
    expect(a.strings('cn')).toEqual({ values: ['ok'], invalid: 1 });
  });
});

describe('#mapUser()', () => {
  it('maps an entry and reports undecodable values', () => {
    const e = {
      dn: 'uid=jdoe,ou=people,dc=org',
      entryUUID: '6F1A0C34-1111-2222-3333-444455556666',
      uid: 'jdoe',
      mail: 'j@example.org',
      sn: 'Doe',
      telephoneNumber: ['+1 415 555 0100', Buffer.from([0xff])],
    } as unknown as Entry;
    const { user, problems } = mapUser(
      e.dn,
      new EntryAttributes(e),
      mapping(),
      openLdapProfile,
      new Date(),
    );
    expect(user).toMatchObject({
      externalId: '6f1a0c34-1111-2222-3333-444455556666',
      username: 'jdoe',
      email: 'j@example.org',
      lastName: 'Doe',
      sourceLocator: 'uid=jdoe,ou=people,dc=org',
      disabled: false,
    });
    expect([...(user.phones ?? [])]).toEqual([
      { value: '+1 415 555 0100', kind: 'telephoneNumber' },
    ]);
    expect(problems.map((p) => p.code)).toEqual([ErrorCode.INVALID_ATTRIBUTE]);
  });

  it('gives no external id for a malformed entryUUID', () => {
    const e = { dn: 'uid=a,dc=org', entryUUID: 'not-a-uuid', uid: 'a' } as unknown as Entry;
    expect(
      mapUser(e.dn, new EntryAttributes(e), mapping(), openLdapProfile, new Date()).user.externalId,
    ).toBe('');
  });
});
