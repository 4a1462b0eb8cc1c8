import { describe, expect, it } from 'vitest';
import type { Entry } from 'ldapts';
import { collectRanged, firstRange, rangeFrom } from './ranges.js';

const dn = 'CN=big,CN=Users,DC=example,DC=test';

describe('#collectRanged()', () => {
  it('takes a plain answer as complete (Samba, or a small group)', () => {
    const entry: Entry = { dn, member: ['CN=a', 'CN=b'] };
    expect(collectRanged(entry, 'member')).toEqual({ values: ['CN=a', 'CN=b'], next: undefined });
  });

  it('continues after a range the server chose unasked (Windows: member requested, 0-1499 sent)', () => {
    const first = Array.from({ length: 1500 }, (_v, i) => `CN=u${i}`);
    // ldapts adds the requested, unreturned `member` as [] beside the ranged key
    const entry: Entry = { dn, member: [], 'member;range=0-1499': first };
    const got = collectRanged(entry, 'member');
    expect(got.values).toHaveLength(1500);
    expect(got.next).toBe(1500);
  });

  it('stops at the `*` end marker and matches the attribute case-insensitively', () => {
    const entry: Entry = { dn, 'Member;Range=1500-*': ['CN=x'] };
    expect(collectRanged(entry, 'member')).toEqual({ values: ['CN=x'], next: undefined });
  });

  it('ignores the empty key ldapts adds for the range it asked for when the server sent all', () => {
    const entry: Entry = { dn, 'member;range=0-1499': [], 'member;range=0-*': ['CN=a'] };
    expect(collectRanged(entry, 'member')).toEqual({ values: ['CN=a'], next: undefined });
  });

  it('ignores other attributes and options that are not ranges', () => {
    const entry: Entry = { dn, memberOf: ['CN=g'], 'member;x-opt': ['CN=y'] };
    expect(collectRanged(entry, 'member')).toEqual({ values: ['CN=y'], next: undefined });
  });

  it('builds the range requests', () => {
    expect(rangeFrom('member', 1500)).toBe('member;range=1500-*');
    expect(firstRange('member', 1500)).toBe('member;range=0-1499');
  });
});
