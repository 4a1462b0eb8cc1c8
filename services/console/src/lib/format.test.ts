import { describe, expect, it } from 'vitest';
import { plural } from './format.js';

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
