import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limit.js';

describe('RateLimiter', () => {
  it('allows a burst of perMinute, then refills at perMinute/60 per second', () => {
    let t = 0;
    const rl = new RateLimiter(60, () => t);
    for (let i = 0; i < 60; i++) expect(rl.take('k')).toBe(0);
    expect(rl.take('k')).toBe(1);
    t += 1000;
    expect(rl.take('k')).toBe(0);
    expect(rl.take('k')).toBeGreaterThan(0);
    expect(rl.take('other')).toBe(0);
  });

  it('is off at 0', () => {
    const rl = new RateLimiter(0);
    for (let i = 0; i < 1000; i++) expect(rl.take('k')).toBe(0);
  });

  it('keeps at most maxKeys buckets', () => {
    let t = 0;
    const rl = new RateLimiter(1, () => t, 2);
    expect(rl.take('a')).toBe(0);
    expect(rl.take('b')).toBe(0);
    expect(rl.take('c')).toBe(0);
    // 'a' was forgotten, so it starts with a full bucket again; 'c' is still empty.
    expect(rl.take('a')).toBe(0);
    expect(rl.take('c')).toBeGreaterThan(0);
    t += 1;
  });
});
