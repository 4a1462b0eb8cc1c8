import { describe, expect, it } from 'vitest';
import { CliError } from '../exit-codes.js';
import { expiresAt } from './keys.js';

describe('keys create --expires', () => {
  const now = Date.parse('2026-12-04T06:00:00Z');
  it('takes days from now or a date-time', () => {
    expect(expiresAt('90d', now)).toBe('2027-03-04T06:00:00.000Z');
    expect(expiresAt('2027-01-01T00:00:00Z', now)).toBe('2027-01-01T00:00:00.000Z');
    expect(expiresAt('2027-01-01', now)).toBe('2027-01-01T00:00:00.000Z');
    expect(expiresAt(undefined, now)).toBeUndefined();
  });
  it('refuses anything else as a usage error', () => {
    for (const bad of ['soon', '90', 'd', '-1d', 'tomorrow 9am']) {
      expect(() => expiresAt(bad, now), bad).toThrow(CliError);
    }
  });
});
