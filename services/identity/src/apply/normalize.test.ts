import { create, ErrorCode, ObservedGroupSchema, ObservedUserSchema } from '@dirsync/proto';
import { describe, expect, it } from 'vitest';
import {
  nameKey,
  normalizeGroup,
  normalizeUser,
  storable,
  unusableGroup,
  unusableUser,
} from './normalize.js';

const base = {
  externalId: 'e1',
  username: 'Zoë',
  aliases: ['zoe', ' zoe ', ''],
  email: ' zoe@example.org ',
  firstName: 'Zoë',
  lastName: '',
  phones: [{ number: '+33612345678', kind: 'mobile' }],
  customAttributes: { b: '2', a: '1' },
  sourceLocator: 'uid=zoe,dc=example,dc=org',
};

describe('nameKey()', () => {
  it('compares after normalisation and full case folding', () => {
    expect(nameKey('ZOE\u0308')).toBe(nameKey('zoë'));
    expect(nameKey('Straße')).toBe(nameKey('STRASSE'));
    expect(nameKey('Alice')).toBe('alice');
    expect(nameKey('alice')).not.toBe(nameKey('alicé'));
  });
});

describe('normalizeUser()', () => {
  it('trims, drops empty values and duplicate aliases, keeps source order', () => {
    const u = normalizeUser(create(ObservedUserSchema, base));
    expect(u).toMatchObject({
      externalId: 'e1',
      username: 'Zoë',
      usernameKey: 'zoë',
      aliases: ['zoe'],
      email: 'zoe@example.org',
      lastName: null,
      displayName: null,
      customAttributes: { a: '1', b: '2' },
    });
  });

  it('gives the same hash to the same record however it is spelled', () => {
    const a = normalizeUser(create(ObservedUserSchema, base));
    const b = normalizeUser(
      create(ObservedUserSchema, {
        ...base,
        username: 'Zoe\u0308',
        customAttributes: { a: '1', b: '2' },
        email: 'zoe@example.org',
      }),
    );
    expect(a?.contentHash).toBe(b?.contentHash);
  });

  it('changes the hash with every imported field', () => {
    const hash = (over: Partial<typeof base> & { disabled?: boolean; displayName?: string }) =>
      normalizeUser(create(ObservedUserSchema, { ...base, ...over }))?.contentHash;
    const original = hash({});
    for (const change of [
      { username: 'zoe2' },
      { aliases: ['other'] },
      { email: 'z@example.org' },
      { firstName: 'Z' },
      { lastName: 'B' },
      { displayName: 'Zoë B' },
      { phones: [{ number: '+33612345678', kind: 'telephoneNumber' }] },
      { disabled: true },
      { customAttributes: { a: '1', b: '3' } },
      { sourceLocator: 'uid=zoe,ou=moved,dc=example,dc=org' },
    ]) {
      expect(hash(change), JSON.stringify(change)).not.toBe(original);
    }
  });

  it('rejects a record without external id or username', () => {
    expect(normalizeUser(create(ObservedUserSchema, { ...base, externalId: ' ' }))).toBeUndefined();
    expect(normalizeUser(create(ObservedUserSchema, { ...base, username: '' }))).toBeUndefined();
  });
});

describe('normalizeGroup()', () => {
  it('keys the name and hashes what is stored', () => {
    const g = normalizeGroup(create(ObservedGroupSchema, { externalId: 'g', name: 'Sales ' }));
    expect(g).toMatchObject({ name: 'Sales', nameKey: 'sales', description: null });
    const h = normalizeGroup(
      create(ObservedGroupSchema, { externalId: 'g', name: 'Sales', description: 'x' }),
    );
    expect(h?.contentHash).not.toBe(g?.contentHash);
  });
});

describe('U+0000', () => {
  it('is replaced by U+FFFD in stored text', () => {
    expect(storable('a\u0000b\u0000')).toBe('a\uFFFDb\uFFFD');
    expect(storable('plain')).toBe('plain');
    const u = normalizeUser(
      create(ObservedUserSchema, {
        ...base,
        firstName: 'Z\u0000',
        aliases: ['z\u0000e'],
        phones: [{ number: '+33612345678\u0000', kind: 'mobile' }],
        customAttributes: { 'k\u0000': 'v\u0000' },
        sourceLocator: 'uid=z\u0000',
      }),
    );
    expect(u).toMatchObject({
      firstName: 'Z\uFFFD',
      aliases: ['z\uFFFDe'],
      phones: [{ number: '+33612345678\uFFFD', kind: 'mobile' }],
      customAttributes: { 'k\uFFFD': 'v\uFFFD' },
      sourceLocator: 'uid=z\uFFFD',
    });
    expect(JSON.stringify(u)).not.toContain('\\u0000');
  });

  it('makes the identifiers of a record unusable', () => {
    const bad = (over: Partial<typeof base>) => create(ObservedUserSchema, { ...base, ...over });
    expect(unusableUser(bad({ username: 'z\u0000' }))).toEqual({
      code: ErrorCode.INVALID_ATTRIBUTE,
      message: 'the username contains U+0000',
    });
    expect(unusableUser(bad({ externalId: 'e\u0000' }))?.code).toBe(ErrorCode.INVALID_ATTRIBUTE);
    expect(unusableUser(bad({ username: ' ' }))?.code).toBe(ErrorCode.MISSING_USERNAME);
    expect(unusableUser(bad({}))).toBeUndefined();
    expect(normalizeUser(bad({ username: 'z\u0000' }))).toBeUndefined();
    const group = (externalId: string, name: string) =>
      create(ObservedGroupSchema, { externalId, name });
    expect(unusableGroup(group('g\u0000', 'G'))?.code).toBe(ErrorCode.INVALID_ATTRIBUTE);
    expect(unusableGroup(group('g', ' '))?.message).toBe('the group has no name');
    expect(normalizeGroup(group('g', 'G\u0000'))?.name).toBe('G\uFFFD');
  });
});
