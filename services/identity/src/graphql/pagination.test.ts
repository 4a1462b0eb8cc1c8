import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { checkFirst, decodeCursor, encodeCursor, likePattern, requireUuid } from './pagination.js';

const ID = '3f1c2a4e-9b7d-4c1e-8a2b-5d6e7f809a1b';

describe('cursors', () => {
  it('round-trip a position', () => {
    expect(decodeCursor(encodeCursor({ key: 'zoë', id: ID }))).toEqual({ key: 'zoë', id: ID });
    expect(decodeCursor(null)).toBeUndefined();
    expect(decodeCursor('')).toBeUndefined();
  });

  it('reject anything else with BAD_USER_INPUT', () => {
    for (const bad of ['garbage', encodeCursor({ key: 'a', id: 'not-a-uuid' }), 'W10']) {
      try {
        decodeCursor(bad);
        expect.unreachable(`accepted ${bad}`);
      } catch (err) {
        expect(err).toBeInstanceOf(GraphQLError);
        expect((err as GraphQLError).extensions.code).toBe('BAD_USER_INPUT');
      }
    }
  });
});

describe('checkFirst()', () => {
  it('defaults, accepts 0..500 and refuses the rest', () => {
    expect(checkFirst(null)).toBe(50);
    expect(checkFirst(0)).toBe(0);
    expect(checkFirst(500)).toBe(500);
    expect(() => checkFirst(501)).toThrow(/between 0 and 500/);
    expect(() => checkFirst(-1)).toThrow(GraphQLError);
  });
});

describe('likePattern()', () => {
  it('escapes the LIKE wildcards and the escape character', () => {
    expect(likePattern('100%_real')).toBe('%100\\%\\_real%');
    expect(likePattern('a\\b')).toBe('%a\\\\b%');
  });
});

describe('requireUuid()', () => {
  it('lower-cases a UUID and names the argument of anything else', () => {
    expect(requireUuid(ID.toUpperCase(), 'id')).toBe(ID);
    expect(() => requireUuid('42', 'filter.groupId')).toThrow(/filter.groupId "42"/);
  });
});
