import { describe, expect, it } from 'vitest';
import { normalizePhone } from './phone.js';

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
});
