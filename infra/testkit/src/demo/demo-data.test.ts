import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEMO_DIRECTORY_PATH, DEMO_EXPECTED_PATH, DEMO_LDIF_PATH } from '../paths.js';
import { parseLdif, ldifAttr, normalizeDn } from '../ldif.js';
import { DEMO_DIRECTORY, buildDemo, computeExpected } from './demo-data.js';

describe('demo directory', () => {
  const demo = buildDemo();

  it('is deterministic and matches the committed files', () => {
    expect(buildDemo().ldif).toBe(demo.ldif);
    expect(readFileSync(DEMO_LDIF_PATH, 'utf8')).toBe(demo.ldif);
    expect(JSON.parse(readFileSync(DEMO_DIRECTORY_PATH, 'utf8'))).toEqual(DEMO_DIRECTORY);
    expect(JSON.parse(readFileSync(DEMO_EXPECTED_PATH, 'utf8'))).toEqual(demo.expected);
  });

  it('expectations can be recomputed from the LDIF alone', () => {
    const entries = parseLdif(demo.ldif);
    expect(computeExpected(entries, demo.expected.specialCases)).toEqual(demo.expected);
  });

  it('has the documented shape', () => {
    const e = demo.expected;
    expect(e.people).toBe(2000);
    expect(e.groups).toBe(60);
    expect(e.inScope.withoutUsername).toEqual(['cn=Pat Contractor,ou=people,dc=example,dc=org']);
    expect(e.inScope.importable).toBe(e.inScope.entries - 1);
    expect(e.inScope.usernames).toContain('jdoe');
    expect(e.inScope.usernames).toContain('ångström'.normalize('NFC'));
    expect(e.inScope.usernames).not.toContain('ngroupless');
    expect(e.inScope.usernames).not.toContain('former.staff');
    expect(e.inScope.usernames).not.toContain('parent.only');
    expect(e.outOfScope.inNoGroup).toBeGreaterThan(100);
    expect(e.danglingMembers).toHaveLength(2);
    expect(e.danglingMembers).toEqual(
      expect.arrayContaining([
        {
          group: 'cn=support,ou=groups,dc=example,dc=org',
          value: 'uid=ghost,ou=people,dc=example,dc=org',
        },
        { group: 'cn=unix-admins,ou=groups,dc=example,dc=org', value: 'former.admin' },
      ]),
    );
    expect(e.inScope.entries + e.outOfScope.inNoGroup + e.outOfScope.onlyInOtherGroups).toBe(
      e.people,
    );
  });

  it('keeps the hand-made entries as documented', () => {
    const entries = parseLdif(demo.ldif);
    const get = (dn: string) => {
      const e = entries.find((x) => normalizeDn(x.dn) === normalizeDn(dn));
      if (!e) throw new Error(`missing ${dn}`);
      return e;
    };
    const nomail = get('uid=nomail,ou=people,dc=example,dc=org');
    for (const a of ['mail', 'displayName', 'telephoneNumber', 'mobile']) {
      expect(ldifAttr(nomail, a), a).toEqual([]);
    }
    expect(ldifAttr(get('cn=Pat Contractor,ou=people,dc=example,dc=org'), 'uid')).toEqual([]);
    const support = get('cn=support,ou=groups,dc=example,dc=org');
    expect(ldifAttr(support, 'member')).toEqual(
      expect.arrayContaining([
        'UID=jdoe, OU=People,dc=EXAMPLE,dc=org',
        'uid=r\\2Bd.lead,ou=people,dc=example,dc=org',
        'uid=alovelace+cn=Ada Lovelace,ou=people,dc=example,dc=org',
        'uid=ghost,ou=people,dc=example,dc=org',
      ]),
    );
    expect(ldifAttr(get('uid=jdoe,ou=people,dc=example,dc=org'), 'memberOf')).toEqual([support.dn]);
    const angstrom = get('uid=ångström,ou=people,dc=example,dc=org');
    expect(ldifAttr(angstrom, 'uid')[0]).toBe('ångström'.normalize('NFD'));
    expect(ldifAttr(get('cn=unix-admins,ou=groups,dc=example,dc=org'), 'objectClass')).toEqual([
      'top',
      'posixGroup',
    ]);
  });

  it('carries memberOf exactly for groupOfNames/groupOfUniqueNames memberships', () => {
    const entries = parseLdif(demo.ldif);
    const byNorm = new Map(entries.map((x) => [normalizeDn(x.dn), x]));
    const want = new Map<string, Set<string>>();
    for (const group of entries) {
      for (const v of [...ldifAttr(group, 'member'), ...ldifAttr(group, 'uniqueMember')]) {
        const t = byNorm.get(normalizeDn(v));
        if (t) want.set(t.dn, (want.get(t.dn) ?? new Set()).add(group.dn));
      }
    }
    for (const x of entries) {
      expect(new Set(ldifAttr(x, 'memberOf')), x.dn).toEqual(want.get(x.dn) ?? new Set());
    }
  });
});
