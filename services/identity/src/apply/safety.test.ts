import { describe, expect, it } from 'vitest';
import { exceeds } from './safety.js';

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
