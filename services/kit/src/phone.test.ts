import { describe, expect, it } from 'vitest';
import { SHOWN_PHONE_LENGTH, normalizePhone } from './phone.js';

const reason = (raw: string, region = 'US') => {
  const r = normalizePhone(raw, region);
  return r.ok ? '' : r.reason;
};

describe('normalizePhone()', () => {
  it('keeps international numbers', () => {
    expect(normalizePhone('+1 415 555 0100', 'GB')).toEqual({ ok: true, e164: '+14155550100' });
    expect(normalizePhone('+1 650 253 0000', 'GB')).toEqual({ ok: true, e164: '+16502530000' });
  });
  it('applies the default region to national numbers', () => {
    expect(normalizePhone('020 7946 0018', 'GB')).toEqual({ ok: true, e164: '+442079460018' });
    expect(normalizePhone('(650) 253-0000', 'US')).toEqual({ ok: true, e164: '+16502530000' });
  });
  it('reports garbage', () => {
    expect(normalizePhone('12', 'US').ok).toBe(false);
    expect(normalizePhone('  ', 'US').ok).toBe(false);
    expect(normalizePhone('call me', 'US').ok).toBe(false);
  });
  it('names a mistyped number, in words', () => {
    expect(reason('12')).toBe('value "12" is not a valid phone number');
    expect(reason('+999 123')).toBe('value "+999 123" has a country code that does not exist');
    expect(reason('(415) 555-0100', '')).toBe(
      'value "(415) 555-0100" has no country code (+…) and there is no default region',
    );
    expect(reason('555-0100 x12')).toBe('value "555-0100 x12" is not a valid phone number');
  });
  it('never repeats free text or a long value, only its length', () => {
    const secret = 'pw: Tr0ub4dor&3';
    expect(reason(secret)).toBe(
      `value of ${secret.length} characters (not shown) is not a phone number`,
    );
    const list = '+1 415 555 0100, +1 415 555 0101 (switchboard)';
    expect(reason(list)).not.toContain('0101');
    const long = '1'.repeat(SHOWN_PHONE_LENGTH + 1);
    expect(reason(long)).toBe(
      `value of ${long.length} characters (not shown) is too long for a phone number`,
    );
    for (const v of [secret, list, long, 'x'.repeat(100_000), 'a\nb']) {
      expect(reason(v).length).toBeLessThanOrEqual(100);
    }
  });
});
