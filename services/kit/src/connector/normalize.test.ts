import { describe, expect, it } from 'vitest';
import { ErrorCode, errorCodeName } from '@dirsync/proto';
import {
  MAX_PHONES,
  MAX_VALUE_LENGTH,
  cleanText,
  normalizeUser,
  usernameKey,
} from './normalize.js';

const codes = (errors: { code: ErrorCode }[]) => errors.map((e) => errorCodeName(e.code));

describe('#usernameKey()', () => {
  it('compares after normalisation and full case folding (the key identity stores)', () => {
    expect(usernameKey('JOSE\u0301')).toBe(usernameKey('jos\u00e9'));
    expect(usernameKey('Straße')).toBe(usernameKey('STRASSE'));
    expect(usernameKey('JDoe')).toBe('jdoe');
    expect(usernameKey('jdoe')).not.toBe(usernameKey('jdoe2'));
  });
});

describe('#cleanText()', () => {
  it('trims, applies NFC and turns empty into undefined', () => {
    expect(cleanText('  a  ')).toBe('a');
    expect(cleanText('e\u0301')).toBe('\u00e9');
    expect(cleanText('   ')).toBeUndefined();
    expect(cleanText(undefined)).toBeUndefined();
  });
});

describe('#normalizeUser()', () => {
  const base = { externalId: 'u1', username: 'jdoe', sourceLocator: 'uid=jdoe,dc=org' };

  it('requires an external id and a username, naming the record', () => {
    const noId = normalizeUser({ ...base, externalId: ' ' }, 'US');
    expect(noId.user).toBeUndefined();
    expect(codes(noId.errors)).toEqual(['MISSING_EXTERNAL_ID']);
    const noName = normalizeUser({ ...base, username: undefined }, 'US');
    expect(noName.user).toBeUndefined();
    expect(codes(noName.errors)).toEqual(['MISSING_USERNAME']);
    expect(noName.errors[0]?.message).toContain('uid=jdoe,dc=org');
  });

  it('normalises phones with the default region and reports invalid ones', () => {
    const { user, errors } = normalizeUser(
      {
        ...base,
        phones: [
          { value: '(415) 555-0100', kind: 'telephoneNumber' },
          { value: '+44 20 7946 0001', kind: 'mobile' },
          { value: '+1 415 555 0100', kind: 'mobile' },
          { value: '12', kind: 'pager' },
          { value: '  ', kind: 'fax' },
        ],
      },
      'US',
    );
    expect(user?.phones.map((p) => [p.kind, p.number])).toEqual([
      ['telephoneNumber', '+14155550100'],
      ['mobile', '+442079460001'],
    ]);
    expect(codes(errors)).toEqual(['INVALID_PHONE']);
    // The attribute and its offending value, nothing else of the user's phones.
    expect(errors[0]?.message).toBe(
      'uid=jdoe,dc=org: pager value "12" is not a valid phone number; the user is imported without it',
    );
  });

  it('reports free text in a phone attribute without repeating it', () => {
    const note = 'ask reception for the door code 4711 and the wifi password';
    const { errors } = normalizeUser({ ...base, phones: [{ value: note, kind: 'mobile' }] }, 'US');
    expect(codes(errors)).toEqual(['INVALID_PHONE']);
    expect(errors[0]?.message).toContain(`mobile value of ${note.length} characters (not shown)`);
    expect(errors[0]?.message).not.toContain('4711');
  });

  it('without a default region accepts only international numbers', () => {
    const { user, errors } = normalizeUser(
      {
        ...base,
        phones: [
          { value: '(415) 555-0100', kind: 't' },
          { value: '+14155550101', kind: 't' },
        ],
      },
      '',
    );
    expect(user?.phones.map((p) => p.number)).toEqual(['+14155550101']);
    expect(codes(errors)).toEqual(['INVALID_PHONE']);
  });

  it(`keeps at most ${MAX_PHONES} phones`, () => {
    // The documented limit, the same in identity.
    expect(MAX_PHONES).toBe(100);
    const phones = Array.from({ length: MAX_PHONES + 1 }, (_v, i) => ({
      value: `+1415555${String(i).padStart(4, '0')}`,
      kind: 'm',
    }));
    const { user, errors } = normalizeUser({ ...base, phones }, 'US');
    expect(user?.phones).toHaveLength(MAX_PHONES);
    expect(codes(errors)).toEqual(['LIMIT_EXCEEDED']);
  });

  it('refuses over-long values, and the whole user when the username is over-long', () => {
    const long = 'x'.repeat(MAX_VALUE_LENGTH + 1);
    const r = normalizeUser({ ...base, displayName: long }, 'US');
    expect(r.user?.displayName).toBe('');
    expect(codes(r.errors)).toEqual(['INVALID_ATTRIBUTE']);
    expect(normalizeUser({ ...base, username: long }, 'US').user).toBeUndefined();
  });

  it('keeps the disabled flag and the locator', () => {
    const { user } = normalizeUser({ ...base, disabled: true }, 'US');
    expect(user?.disabled).toBe(true);
    expect(user?.sourceLocator).toBe('uid=jdoe,dc=org');
  });
});
