import { describe, expect, it } from 'vitest';
import { uuidPrefixRange } from './run-id.js';

describe('uuidPrefixRange()', () => {
  it('spans every UUID that starts with the prefix', () => {
    expect(uuidPrefixRange('3F2A9C1B')).toEqual({
      from: '3f2a9c1b-0000-0000-0000-000000000000',
      to: '3f2a9c1b-ffff-ffff-ffff-ffffffffffff',
    });
    expect(uuidPrefixRange('3f2a9c1b-07')).toEqual({
      from: '3f2a9c1b-0700-0000-0000-000000000000',
      to: '3f2a9c1b-07ff-ffff-ffff-ffffffffffff',
    });
    const full = '3f2a9c1b-07aa-4bcd-8ef0-0123456789ab';
    expect(uuidPrefixRange(full)).toEqual({ from: full, to: full });
  });

  it('refuses what cannot start a UUID', () => {
    for (const bad of ['', 'xyz', '3f2a9c1b07', '3f2a9c1b-07aa-4bcd-8ef0-0123456789abc', '3f%']) {
      expect(uuidPrefixRange(bad), bad).toBeUndefined();
    }
  });
});
