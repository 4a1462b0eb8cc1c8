import { describe, expect, it } from 'vitest';
import { AttributeMappingSchema, ErrorCode, create } from '@dirsync/proto';
import { DirsyncError } from '../errors.js';
import { resolveMapping, type MappingDefaults } from './mapping.js';

const DEFAULTS: MappingDefaults = {
  username: 'uid',
  email: 'mail',
  firstName: 'givenName',
  lastName: 'sn',
  displayName: 'displayName',
  phones: ['telephoneNumber'],
};
const WORDS = { valid: (n: string) => /^[A-Za-z]+$/.test(n), what: 'a word' };
const resolve = (init: Parameters<typeof create<typeof AttributeMappingSchema>>[1] = {}) =>
  resolveMapping(create(AttributeMappingSchema, init), DEFAULTS, WORDS);

function configError(fn: () => unknown): DirsyncError {
  try {
    fn();
  } catch (err) {
    if (err instanceof DirsyncError) return err;
    throw err;
  }
  throw new Error('expected a DirsyncError');
}

describe('#resolveMapping()', () => {
  it('fills empty fields and no phones with the defaults, trimming names', () => {
    expect(
      resolve({ email: ' userMail ', aliases: [' ', 'cn'], custom: { dept: ' ou ' } }),
    ).toEqual({
      username: 'uid',
      aliases: ['cn'],
      email: 'userMail',
      firstName: 'givenName',
      lastName: 'sn',
      displayName: 'displayName',
      phones: ['telephoneNumber'],
      custom: [['dept', 'ou']],
    });
    expect(resolve({ phones: ['mobile'] }).phones).toEqual(['mobile']);
  });

  it('refuses a name the rule refuses, naming the field: CONFIG_INVALID', () => {
    const err = configError(() => resolve({ aliases: ['cn', 'mail)(uid=*'] }));
    expect(err.code).toBe(ErrorCode.CONFIG_INVALID);
    expect(err.message).toBe('mapping.aliases[1]: "mail)(uid=*" is not a word');
    expect(configError(() => resolve({ custom: { dept: 'x y' } })).message).toContain(
      'mapping.custom.dept',
    );
  });

  it('refuses more than four alias attributes', () => {
    const err = configError(() => resolve({ aliases: ['a', 'b', 'c', 'd', 'e'] }));
    expect(err.code).toBe(ErrorCode.CONFIG_INVALID);
    expect(err.message).toContain('at most 4 alias attributes');
  });
});
