import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from 'ldapts';
import { startSlapd, waitFor, type Slapd } from '../src/index.js';

const LDIF = `
dn: uid=jdoe,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: jdoe
cn: John Doe
sn: Doe
memberOf: cn=staff,ou=groups,dc=example,dc=org

dn: uid=amy,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: amy
cn: Amy Adams
sn: Adams

dn: cn=staff,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: staff
member: uid=jdoe,ou=people,dc=example,dc=org
`;

const str = (v: unknown): string[] =>
  Array.isArray(v) ? v.map(String) : v === undefined ? [] : [String(v)];

describe('startSlapd', () => {
  let slapd: Slapd;

  beforeAll(async () => {
    slapd = await startSlapd({ ldif: LDIF, name: 'testkit' });
  });
  afterAll(async () => {
    await slapd?.dispose();
  });

  it('serves the LDIF plus the base entries on a loopback port', async () => {
    expect(slapd.url).toBe(`ldap://127.0.0.1:${slapd.port}`);
    expect(slapd.rootDn).toBe('cn=admin,dc=example,dc=org');
    const all = await slapd.search('dc=example,dc=org', '(objectClass=*)', ['1.1']);
    expect(all.map((e) => e.dn).sort()).toEqual(
      [
        'dc=example,dc=org',
        'ou=people,dc=example,dc=org',
        'ou=groups,dc=example,dc=org',
        'uid=jdoe,ou=people,dc=example,dc=org',
        'uid=amy,ou=people,dc=example,dc=org',
        'cn=staff,ou=groups,dc=example,dc=org',
      ].sort(),
    );
    const [jdoe] = await slapd.search(slapd.peopleDn, '(uid=jdoe)', ['memberOf', 'entryUUID']);
    expect(str(jdoe?.memberOf)).toEqual(['cn=staff,ou=groups,dc=example,dc=org']);
    expect(str(jdoe?.entryUUID)[0]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('rejects a wrong password', async () => {
    const client = new Client({ url: slapd.url });
    await expect(client.bind(slapd.rootDn, 'wrong')).rejects.toThrow();
    await client.unbind();
  });

  it('modify() runs through the overlays (memberOf, refint)', async () => {
    await slapd.modify(`
dn: cn=staff,ou=groups,dc=example,dc=org
changetype: modify
add: member
member: uid=amy,ou=people,dc=example,dc=org
`);
    const [amy] = await slapd.search(slapd.peopleDn, '(uid=amy)', ['memberOf']);
    expect(str(amy?.memberOf)).toEqual(['cn=staff,ou=groups,dc=example,dc=org']);

    await slapd.modify(`
dn: uid=amy,ou=people,dc=example,dc=org
changetype: modrdn
newrdn: uid=amy2
deleteoldrdn: 1

dn: uid=jdoe,ou=people,dc=example,dc=org
changetype: delete
`);
    const [staff] = await slapd.search(slapd.groupsDn, '(cn=staff)', ['member']);
    expect(str(staff?.member)).toEqual(['uid=amy2,ou=people,dc=example,dc=org']);
  });

  it('add() takes content records; a failing change throws with the server message', async () => {
    await slapd.add(`dn: uid=bob,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: bob
cn: Bob
sn: B
`);
    expect(await slapd.search(slapd.peopleDn, '(uid=bob)', ['1.1'])).toHaveLength(1);
    await expect(
      slapd.add(
        `dn: uid=bob,ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\nuid: bob\ncn: Bob\nsn: B\n`,
      ),
    ).rejects.toThrow(/Already exists/);
  });

  it('can be stopped and started again on the same port with its data', async () => {
    const port = slapd.port;
    const pid = slapd.pid;
    await slapd.stop();
    expect(slapd.running).toBe(false);
    const client = new Client({ url: slapd.url, connectTimeout: 500 });
    await expect(client.bind(slapd.rootDn, slapd.rootPassword)).rejects.toThrow();
    await client.unbind().catch(() => undefined);

    await slapd.start();
    expect(slapd.running).toBe(true);
    expect(slapd.port).toBe(port);
    expect(slapd.pid).not.toBe(pid);
    expect(await slapd.search(slapd.peopleDn, '(uid=bob)', ['1.1'])).toHaveLength(1);
  });

  it('survives kill() (SIGKILL) and keeps committed writes', async () => {
    await slapd.modify(`dn: uid=bob,ou=people,dc=example,dc=org
changetype: modify
replace: sn
sn: Builder
`);
    await slapd.kill();
    expect(slapd.running).toBe(false);
    await slapd.start();
    const [bob] = await waitFor(async () => {
      const r = await slapd.search(slapd.peopleDn, '(uid=bob)', ['sn']);
      return r.length ? r : undefined;
    });
    expect(str(bob?.sn)).toEqual(['Builder']);
  });

  it('start() and stop() are idempotent', async () => {
    await slapd.start();
    await slapd.stop();
    await slapd.stop();
    await slapd.start();
    expect(slapd.running).toBe(true);
  });
});

describe('startSlapd options', () => {
  it('supports another suffix and an LDIF that has its own suffix entry', async () => {
    const slapd = await startSlapd({
      suffix: 'o=acme',
      ldif: 'dn: o=acme\nobjectClass: organization\no: acme\n\ndn: uid=x,ou=people,o=acme\nobjectClass: inetOrgPerson\nuid: x\ncn: X\nsn: X\n',
    });
    try {
      const entries = await slapd.search('o=acme', '(objectClass=*)', ['1.1']);
      expect(entries.map((e) => e.dn).sort()).toEqual(
        ['o=acme', 'ou=groups,o=acme', 'ou=people,o=acme', 'uid=x,ou=people,o=acme'].sort(),
      );
    } finally {
      await slapd.dispose();
    }
  });

  it('refuses a port that is already served', async () => {
    const other = await startSlapd({ name: 'other' });
    try {
      await expect(startSlapd({ port: other.port })).rejects.toThrow(/already in use/);
    } finally {
      await other.dispose();
    }
  });

  it('reports slapadd errors', async () => {
    await expect(
      startSlapd({ ldif: 'dn: uid=x,ou=people,dc=example,dc=org\nobjectClass: nonsense\n' }),
    ).rejects.toThrow(/slapadd failed/);
  });
});
