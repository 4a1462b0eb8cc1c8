import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDemo, normalizeDn, startSlapd, type Slapd } from '../src/index.js';

const str = (v: unknown): string[] =>
  Array.isArray(v) ? v.map(String) : v === undefined ? [] : [String(v)];

describe('the demo directory in slapd', () => {
  const demo = loadDemo();
  let slapd: Slapd;

  beforeAll(async () => {
    slapd = await startSlapd({ ldif: demo.ldif, name: 'demo' });
  });
  afterAll(async () => {
    await slapd?.dispose();
  });

  it('loads every entry', async () => {
    const people = await slapd.search(slapd.peopleDn, '(objectClass=inetOrgPerson)', ['1.1']);
    expect(people).toHaveLength(demo.expected.people);
    const groups = await slapd.search(
      slapd.groupsDn,
      '(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))',
      ['1.1'],
    );
    expect(groups).toHaveLength(demo.expected.groups);
  });

  it('serves the special cases', async () => {
    const [jdoe] = await slapd.search(slapd.peopleDn, '(uid=jdoe)', ['memberOf']);
    expect(str(jdoe?.memberOf)).toEqual(['cn=support,ou=groups,dc=example,dc=org']);
    const [anna] = await slapd.search(slapd.peopleDn, '(cn=Smith, Anna)', ['uid']);
    expect(normalizeDn(anna?.dn ?? '')).toBe(
      normalizeDn('cn=Smith\\, Anna,ou=people,dc=example,dc=org'),
    );
    const [lilei] = await slapd.search(slapd.peopleDn, '(uid=lilei)', ['cn', 'memberOf']);
    expect(str(lilei?.cn)).toEqual(['李雷']);
    expect(str(lilei?.memberOf)).toEqual(['cn=sales-uk,ou=groups,dc=example,dc=org']);
    const noUid = await slapd.search(slapd.peopleDn, '(&(objectClass=inetOrgPerson)(!(uid=*)))', [
      'cn',
    ]);
    expect(noUid.map((e) => e.dn)).toEqual(demo.expected.inScope.withoutUsername);
    const [angstrom] = await slapd.search(slapd.peopleDn, '(uid=ångström)', ['uid']);
    expect(str(angstrom?.uid)[0]?.normalize('NFC')).toBe('ångström'.normalize('NFC'));
  });

  it('a live group change through modify() updates memberOf', async () => {
    await slapd.modify(`dn: cn=support,ou=groups,dc=example,dc=org
changetype: modify
add: member
member: uid=ngroupless,ou=people,dc=example,dc=org
`);
    const [nora] = await slapd.search(slapd.peopleDn, '(uid=ngroupless)', ['memberOf']);
    expect(str(nora?.memberOf)).toEqual(['cn=support,ou=groups,dc=example,dc=org']);
  });
});
