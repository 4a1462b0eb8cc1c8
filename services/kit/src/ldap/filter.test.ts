import { describe, expect, it } from 'vitest';
import { AndFilter, EqualityFilter, FilterParser, OrFilter } from 'ldapts';
import { and, equals, escapeFilterValue, filterProblem, isAttributeName, or } from './filter.js';

const HOSTILE = [
  '*',
  'a*',
  '*a',
  '(uid=*)',
  '*)(uid=*',
  ')(|(uid=*',
  '\\',
  '\\2a',
  'x\u0000y',
  'jdoe)(objectClass=*',
];

describe('#escapeFilterValue()', () => {
  it('escapes the five characters RFC 4515 requires', () => {
    expect(escapeFilterValue('a*b(c)d\\e\u0000')).toBe('a\\2ab\\28c\\29d\\5ce\\00');
  });

  it('leaves other characters, including non-ASCII, alone', () => {
    expect(escapeFilterValue('José Zoë 東京 😀 =<>~&|!')).toBe('José Zoë 東京 😀 =<>~&|!');
  });

  it.each(HOSTILE)('makes %j an equality match for exactly itself', (value) => {
    const parsed = FilterParser.parseString(equals('uid', value));
    expect(parsed).toBeInstanceOf(EqualityFilter);
    expect((parsed as EqualityFilter).attribute).toBe('uid');
    expect((parsed as EqualityFilter).value).toBe(value);
  });

  it.each(HOSTILE)('keeps %j inside its own assertion when combined', (value) => {
    const parsed = FilterParser.parseString(and('(objectClass=person)', equals('uid', value)));
    expect(parsed).toBeInstanceOf(AndFilter);
    const parts = (parsed as AndFilter).filters;
    expect(parts).toHaveLength(2);
    expect(parts[1]).toBeInstanceOf(EqualityFilter);
    expect((parts[1] as EqualityFilter).value).toBe(value);
  });
});

describe('#equals()', () => {
  it('refuses attribute names that could smuggle a filter', () => {
    expect(() => equals('uid)(cn', 'x')).toThrow();
    expect(() => equals('', 'x')).toThrow();
    expect(isAttributeName('telephoneNumber')).toBe(true);
    expect(isAttributeName('mail;lang-en')).toBe(false);
  });
});

describe('#and() / #or()', () => {
  it('combines and skips empty parts', () => {
    expect(and('(a=1)', undefined, '', '(b=2)')).toBe('(&(a=1)(b=2))');
    expect(and('(a=1)')).toBe('(a=1)');
    expect(and()).toBe('(objectClass=*)');
    expect(FilterParser.parseString(or('(a=1)', '(b=2)'))).toBeInstanceOf(OrFilter);
    expect(or('(a=1)')).toBe('(a=1)');
  });
});

describe('#filterProblem()', () => {
  it('accepts a well-formed filter', () => {
    expect(filterProblem('(&(employeeType=staff)(!(l=Paris)))')).toBeUndefined();
  });

  it.each(['employeeType=staff', '(employeeType=staff', '(&(a=1)', '(a=1))(b=2'])(
    'rejects %j',
    (filter) => {
      expect(filterProblem(filter)).toBeDefined();
    },
  );
});
