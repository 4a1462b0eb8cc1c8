import { describe, expect, it } from 'vitest';
import { PERMANENTLY_LOCKED, isOpenLdapAccountDisabled } from './openldap.js';

describe('#isOpenLdapAccountDisabled()', () => {
  const now = new Date('2026-06-01T12:00:00Z');
  /** Day number of `now` since 1970-01-01 (20605). */
  const today = Math.floor(now.getTime() / 86_400_000);
  const entry =
    (attrs: Record<string, string[]>) =>
    (attribute: string): readonly string[] =>
      attrs[attribute] ?? [];

  it('is enabled when none of the attributes is set', () => {
    expect(isOpenLdapAccountDisabled(entry({}), now)).toBe(false);
  });

  it('treats shadowExpire from its day on as disabled; 0, -1 and garbage as never', () => {
    const at = (v: string) => isOpenLdapAccountDisabled(entry({ shadowExpire: [v] }), now);
    expect(at('1')).toBe(true);
    expect(at(String(today))).toBe(true);
    expect(at(String(today + 1))).toBe(false);
    expect(at('0')).toBe(false);
    expect(at('-1')).toBe(false);
    expect(at('soon')).toBe(false);
    expect(at(' 1 ')).toBe(true);
  });

  it('treats only the permanent ppolicy lock as disabled, not a lockout after failed logins', () => {
    const at = (v: string) => isOpenLdapAccountDisabled(entry({ pwdAccountLockedTime: [v] }), now);
    expect(at(PERMANENTLY_LOCKED)).toBe(true);
    expect(at('20260601113000Z')).toBe(false);
  });

  it('reads nsAccountLock (389 DS, FreeIPA) case-insensitively', () => {
    const at = (v: string) => isOpenLdapAccountDisabled(entry({ nsAccountLock: [v] }), now);
    expect(at('TRUE')).toBe(true);
    expect(at('true')).toBe(true);
    expect(at('FALSE')).toBe(false);
  });
});
