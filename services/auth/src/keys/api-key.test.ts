import { describe, expect, it } from 'vitest';
import { hashKey, issueKey, keyMatches, keyPrefix } from './api-key.js';

describe('API keys', () => {
  it('are dsk_<12>_<43> with 256 random bits, different every time', () => {
    const a = issueKey();
    const b = issueKey();
    expect(a.key).toMatch(/^dsk_[A-Za-z0-9_-]{12}_[A-Za-z0-9_-]{43}$/);
    expect(a.key).not.toBe(b.key);
    expect(keyPrefix(a.key)).toBe(a.prefix);
  });

  it('match only their own hash', () => {
    const a = issueKey();
    expect(keyMatches(a.key, a.hash)).toBe(true);
    expect(keyMatches(issueKey().key, a.hash)).toBe(false);
    expect(keyMatches(a.key, hashKey(`${a.key}x`))).toBe(false);
    expect(keyMatches(a.key, Buffer.alloc(3))).toBe(false);
  });

  it('malformed keys have no prefix', () => {
    for (const k of [
      '',
      'dsk_',
      'dsk_short_x',
      `dsk_${'a'.repeat(12)}_${'b'.repeat(42)}`,
      'Bearer x',
    ]) {
      expect(keyPrefix(k)).toBeUndefined();
    }
  });
});
