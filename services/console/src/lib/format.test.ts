import { describe, expect, it } from 'vitest';
import { fieldSentence, personName, plural, sentence } from './format.js';

describe('plural()', () => {
  it('uses the singular for exactly one and the plural otherwise', () => {
    expect(plural(1, 'user')).toBe('1 user');
    expect(plural(0, 'user')).toBe('0 users');
    expect(plural(2, 'run')).toBe('2 runs');
    expect(plural(1063, 'administrator')).toBe('1,063 administrators');
  });

  it('takes an irregular plural', () => {
    expect(plural(1, 'entry', 'entries')).toBe('1 entry');
    expect(plural(3, 'entry', 'entries')).toBe('3 entries');
  });

  it('shows an unknown count as a dash', () => {
    expect(plural(undefined, 'group')).toBe('— groups');
  });
});

describe('personName()', () => {
  it('prefers the display name, else first and last name, else nothing', () => {
    expect(personName({ displayName: 'Jane D.', firstName: 'Jane', lastName: 'Doe' })).toBe(
      'Jane D.',
    );
    expect(personName({ displayName: null, firstName: 'Jane', lastName: 'Doe' })).toBe('Jane Doe');
    expect(personName({ displayName: ' ', firstName: null, lastName: 'Doe' })).toBe('Doe');
    expect(personName({ displayName: null, firstName: null, lastName: null })).toBeNull();
  });
});

describe('sentence()', () => {
  it('starts with a capital and ends with a full stop', () => {
    expect(sentence('an administrator with the e-mail a@b.c already exists')).toBe(
      'An administrator with the e-mail a@b.c already exists.',
    );
    expect(sentence('Done!')).toBe('Done!');
  });
});

describe('fieldSentence()', () => {
  it("puts the field's label where the API names its input path", () => {
    expect(fieldSentence('Bind DN', 'ldap.bindDn', 'ldap.bindDn', 'bindDn is required')).toBe(
      'Bind DN is required.',
    );
    expect(fieldSentence('Base DN', 'ldap.baseDn', 'ldap.baseDn', 'baseDn is required')).toBe(
      'Base DN is required.',
    );
  });

  it('gives a predicate the label as its subject', () => {
    expect(fieldSentence('Name', 'name', 'name', 'is required')).toBe('Name is required.');
    expect(
      fieldSentence('Server URL', 'ldap.url', 'ldap.url', 'must be an ldap:// or ldaps:// URL'),
    ).toBe('Server URL must be an ldap:// or ldaps:// URL.');
  });

  it('names the part of a field after its label', () => {
    expect(
      fieldSentence('Selected groups', 'selectedGroups', 'selectedGroups[2]', 'is not a DN'),
    ).toBe('Selected groups item 3 is not a DN.');
    expect(
      fieldSentence(
        'Custom attributes',
        'mapping.custom',
        'mapping.custom[0].name',
        'name is required',
      ),
    ).toBe('Custom attributes item 1 name is required.');
  });

  it('leaves a whole sentence alone', () => {
    expect(
      fieldSentence(
        'E-mail',
        'email',
        'email',
        'An administrator with the e-mail a@b.c already exists.',
      ),
    ).toBe('An administrator with the e-mail a@b.c already exists.');
  });
});
