import { describe, expect, it } from 'vitest';
import { parseDn } from './dn.js';

describe('parseDn()', () => {
  it.each([
    'cn=staff,ou=groups,dc=example,dc=org',
    'CN=Staff, OU=Groups, DC=example, DC=org',
    'cn=R\\26D\\2C Labs,ou=groups,dc=example,dc=org',
    'cn=a\\,b+uid=x,dc=example',
    '2.5.4.3=admins,dc=example',
    'cn=#04024869,dc=example',
    'cn=Doe\\, John,dc=example',
  ])('accepts %s', (dn) => {
    expect(parseDn(dn).ok).toBe(true);
  });

  it.each([
    ['', 'empty'],
    ['staff', 'attribute=value'],
    ['cn=,dc=example', 'empty value'],
    ['cn=a,b,dc=example', 'attribute=value'],
    ['cn=a;b,dc=example', 'must be escaped'],
    ['cn=a,dc=example,', 'ends with'],
    ['1cn=a', 'attribute type'],
    ['cn=a\\q', 'escape'],
    ['cn=#abc,dc=x', 'hexstring'],
    ['cn=a\\', 'lone'],
  ])('rejects %j (%s)', (dn, reason) => {
    const r = parseDn(dn);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(reason);
  });

  it('normalises case, spaces and escapes so duplicates are found', () => {
    const a = parseDn('CN=Staff, OU=Groups,DC=Example,DC=org');
    const b = parseDn('cn=staff,ou=groups,dc=example,dc=org');
    const c = parseDn('cn=R\\26D,dc=x');
    const d = parseDn('cn=R&D,dc=x');
    expect(a.ok && b.ok && a.normalized === b.normalized).toBe(true);
    expect(c.ok && d.ok && c.normalized === d.normalized).toBe(true);
    const e = parseDn('cn=other,ou=groups,dc=example,dc=org');
    expect(e.ok && b.ok && e.normalized !== b.normalized).toBe(true);
  });
});
