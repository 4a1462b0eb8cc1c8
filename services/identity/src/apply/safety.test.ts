import { describe, expect, it } from 'vitest';
import { adminsExceed, exceeds } from './safety.js';

const base = { baseUsers: 1000, baseMemberships: 3000 };

describe('exceeds()', () => {
  it('is strictly more than a limit, users and memberships each against their own total', () => {
    const limit = { maxCount: 500, maxPercent: 20 };
    expect(exceeds(limit, { users: 200, memberships: 500, ...base })).toBeUndefined();
    expect(exceeds(limit, { users: 201, memberships: 0, ...base })).toBe(
      'would remove 201 of 1000 users (20.1 %); the deletion threshold is more than 500 or more than 20 %',
    );
    expect(exceeds(limit, { users: 0, memberships: 501, ...base })).toContain(
      '501 of 3000 memberships (16.7 %)',
    );
    const big = { baseUsers: 100_000, baseMemberships: 300_000 };
    expect(exceeds(limit, { users: 500, memberships: 0, ...big })).toBeUndefined();
    expect(exceeds(limit, { users: 501, memberships: 0, ...big })).toContain('501 of 100000 users');
  });

  it('0 is off; no threshold is no limit; removing nothing never exceeds', () => {
    expect(
      exceeds({ maxCount: 0, maxPercent: 0 }, { users: 1000, memberships: 3000, ...base }),
    ).toBeUndefined();
    expect(exceeds(null, { users: 1000, memberships: 3000, ...base })).toBeUndefined();
    expect(
      exceeds(
        { maxCount: 0, maxPercent: 1 },
        { users: 0, memberships: 0, baseUsers: 0, baseMemberships: 0 },
      ),
    ).toBeUndefined();
    expect(exceeds({ maxCount: 10, maxPercent: 0 }, { users: 11, memberships: 0, ...base })).toBe(
      'would remove 11 of 1000 users (1.1 %); the deletion threshold is more than 10',
    );
  });
});

describe('adminsExceed()', () => {
  const limit = { maxCount: 500, maxPercent: 20 };

  it('the percentage needs more than one administrator, or the last one', () => {
    expect(adminsExceed(limit, 1, 5)).toBeUndefined();
    expect(adminsExceed(limit, 1, 2)).toBeUndefined();
    expect(adminsExceed(limit, 2, 5)).toBe(
      'would remove 2 of 5 administrators (40 %); the deletion threshold is more than 500 or ' +
        'more than 20 % (for administrators: of more than 1, or the last)',
    );
    expect(adminsExceed(limit, 1, 1)).toContain('1 of 1 administrators (100 %)');
    expect(adminsExceed(limit, 2, 10)).toBeUndefined();
    expect(adminsExceed(limit, 3, 10)).toContain('3 of 10');
  });

  it('count as for users; 0 is off; no threshold, or nobody removed, never exceeds', () => {
    expect(adminsExceed({ maxCount: 2, maxPercent: 0 }, 2, 3)).toBeUndefined();
    expect(adminsExceed({ maxCount: 2, maxPercent: 0 }, 3, 100)).toBe(
      'would remove 3 of 100 administrators (3 %); the deletion threshold is more than 2',
    );
    // The floor is the percentage's only: maxCount 1 holds back two of a hundred.
    expect(adminsExceed({ maxCount: 1, maxPercent: 0 }, 2, 100)).toContain('2 of 100');
    expect(adminsExceed({ maxCount: 0, maxPercent: 0 }, 5, 5)).toBeUndefined();
    expect(adminsExceed({ maxCount: 0, maxPercent: 100 }, 5, 5)).toBeUndefined();
    expect(adminsExceed(null, 5, 5)).toBeUndefined();
    expect(adminsExceed(limit, 0, 0)).toBeUndefined();
  });
});
