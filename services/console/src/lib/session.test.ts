import { describe, expect, it } from 'vitest';
import { API_KEY_RE } from './session.js';

describe('API_KEY_RE', () => {
  it('accepts keys whose prefix and secret hold "_" and "-"', () => {
    expect(API_KEY_RE.test(`dsk_ab_-cd-ef_gh_${'x-_y'.repeat(11)}`)).toBe(true);
    expect(API_KEY_RE.test(`dsk_abcdefghijkl_${'A'.repeat(43)}`)).toBe(true);
  });
  it('refuses what is not a key', () => {
    for (const v of [
      '',
      'dsk_',
      'Bearer dsk_abcdefghijkl_xxxxxxxxxxxxxxxxxxxxxxxx',
      'dsk_short_x',
      'eyJhbGciOi.x.y',
    ]) {
      expect(API_KEY_RE.test(v), v).toBe(false);
    }
  });
});
