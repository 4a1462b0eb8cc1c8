import { describe, expect, it } from 'vitest';
import { activeDirectoryProfile, formatGuid, formatSid, isAccountDisabled } from './index.js';

describe('#formatGuid()', () => {
  it('reads the first three fields little-endian and the rest in order', () => {
    // the bytes AD stores for {01020304-0506-0708-090a-0b0c0d0e0f10}
    const raw = Buffer.from('0403020106050807090a0b0c0d0e0f10', 'hex');
    expect(formatGuid(raw)).toBe('01020304-0506-0708-090a-0b0c0d0e0f10');
  });

  it('refuses anything but 16 bytes, and the profile refuses a decoded string', () => {
    expect(formatGuid(Buffer.alloc(15))).toBeUndefined();
    expect(activeDirectoryProfile.readId('not-a-buffer')).toBeUndefined();
    expect(activeDirectoryProfile.readId(Buffer.alloc(16, 0xff))).toBe(
      'ffffffff-ffff-ffff-ffff-ffffffffffff',
    );
  });
});

describe('#formatSid()', () => {
  it('decodes S-1-5-21-… (big-endian authority, little-endian sub-authorities)', () => {
    const raw = Buffer.from('010500000000000515000000f08a243a9b3317f96dd3fac153040000', 'hex');
    expect(formatSid(raw)).toBe('S-1-5-21-975473392-4179047323-3254440813-1107');
  });

  it('refuses a length that disagrees with the sub-authority count', () => {
    expect(formatSid(Buffer.from('0105000000000005150000', 'hex'))).toBeUndefined();
  });
});

describe('#isAccountDisabled()', () => {
  const now = new Date('2026-06-01T00:00:00Z');
  const filetime = (d: Date) => String(BigInt(d.getTime()) * 10_000n + 116_444_736_000_000_000n);

  it('decides by the ACCOUNTDISABLE bit alone', () => {
    expect(isAccountDisabled('512', undefined, now)).toBe(false);
    expect(isAccountDisabled('514', undefined, now)).toBe(true);
    expect(isAccountDisabled('546', undefined, now)).toBe(true);
    // LOCKOUT (0x10) and PASSWORD_EXPIRED (0x800000) are not "disabled"
    expect(isAccountDisabled(String(512 | 0x10 | 0x800000), undefined, now)).toBe(false);
  });

  it('treats an accountExpires in the past as disabled, 0 and 0x7FFFFFFFFFFFFFFF as never', () => {
    expect(isAccountDisabled('512', filetime(new Date('2026-05-31T23:59:59Z')), now)).toBe(true);
    expect(isAccountDisabled('512', filetime(new Date('2026-06-02T00:00:00Z')), now)).toBe(false);
    expect(isAccountDisabled('512', '0', now)).toBe(false);
    expect(isAccountDisabled('512', '9223372036854775807', now)).toBe(false);
    expect(isAccountDisabled('512', 'garbage', now)).toBe(false);
  });
});
