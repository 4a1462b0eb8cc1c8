import { describe, expect, it } from 'vitest';
import {
  dnEquals,
  escapeDnValue,
  formatLdif,
  ldifAttr,
  ldifDns,
  normalizeDn,
  parseDn,
  parseLdif,
  splitLdifRecords,
} from './ldif.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

describe('parseLdif', () => {
  it('parses records, merges attribute names case-insensitively, keeps value order', () => {
    const entries = parseLdif(
      [
        'version: 1',
        '',
        'dn: uid=jdoe,ou=people,dc=example,dc=org',
        'objectClass: inetOrgPerson',
        'objectclass: posixAccount',
        'uid: jdoe',
        'mail: b@example.org',
        'mail: a@example.org',
        'description:',
        '',
        '',
        'dn: cn=g,ou=groups,dc=example,dc=org',
        'member: uid=jdoe,ou=people,dc=example,dc=org',
        '',
      ].join('\n'),
    );
    expect(entries).toHaveLength(2);
    expect(entries[0]?.dn).toBe('uid=jdoe,ou=people,dc=example,dc=org');
    expect(entries[0]?.attributes).toEqual({
      objectClass: ['inetOrgPerson', 'posixAccount'],
      uid: ['jdoe'],
      mail: ['b@example.org', 'a@example.org'],
      description: [''],
    });
    expect(ldifAttr(entries[0]!, 'OBJECTCLASS')).toEqual(['inetOrgPerson', 'posixAccount']);
    expect(ldifAttr(entries[1]!, 'member')).toEqual(['uid=jdoe,ou=people,dc=example,dc=org']);
    expect(ldifAttr(entries[1]!, 'missing')).toEqual([]);
  });

  it('decodes base64 values and DNs', () => {
    const [e] = parseLdif(
      `dn:: ${b64('cn=José Müller,ou=people,dc=example,dc=org')}\ncn:: ${b64('José Müller')}\nsn:: ${b64('李')}\nuid: jmuller\n`,
    );
    expect(e?.dn).toBe('cn=José Müller,ou=people,dc=example,dc=org');
    expect(e?.attributes.cn).toEqual(['José Müller']);
    expect(e?.attributes.sn).toEqual(['李']);
  });

  it('unfolds continuation lines, also inside base64 and comments, and handles CRLF', () => {
    const long = 'x'.repeat(100);
    const text = [
      '# a comment that is',
      '  folded',
      'dn: cn=a,dc=exa',
      ' mple,dc=org',
      `description: ${long.slice(0, 60)}`,
      ` ${long.slice(60)}`,
      `cn:: ${b64('Zoë Ŝarić').slice(0, 8)}`,
      ` ${b64('Zoë Ŝarić').slice(8)}`,
      '',
    ].join('\r\n');
    const [e] = parseLdif(text);
    expect(e?.dn).toBe('cn=a,dc=example,dc=org');
    expect(e?.attributes.description).toEqual([long]);
    expect(e?.attributes.cn).toEqual(['Zoë Ŝarić']);
  });

  it('drops a version line directly followed by a record', () => {
    expect(ldifDns('version: 1\ndn: dc=org\ndc: org\n')).toEqual(['dc=org']);
  });

  it('rejects change records, URL values and records without dn', () => {
    expect(() => parseLdif('dn: cn=a\nchangetype: modify\n')).toThrow(/change records/);
    expect(() => parseLdif('dn: cn=a\njpegPhoto:< file:///x.jpg\n')).toThrow(/URL values/);
    expect(() => parseLdif('cn: a\n')).toThrow(/must start with "dn:"/);
    expect(() => parseLdif('dn: cn=a\nnot a line\n')).toThrow(/line 2/);
  });

  it('round-trips through formatLdif (base64 for unsafe values, folding of long lines)', () => {
    const entries = [
      {
        dn: 'cn=Hans Christian Ørsted,ou=people,dc=example,dc=org',
        attributes: {
          objectClass: ['inetOrgPerson'],
          cn: ['Hans Christian Ørsted'],
          description: [' leading space', 'trailing space ', ':colon', '<angle', 'y'.repeat(200)],
          sn: ['Ørsted'],
        },
      },
    ];
    const text = formatLdif(entries);
    expect(text.split('\n').every((l) => l.length <= 76)).toBe(true);
    expect(text).toContain('dn:: ');
    expect(parseLdif(text)).toEqual(entries);
    expect(splitLdifRecords(text)[0]?.dn).toBe(entries[0]?.dn);
  });
});

describe('DNs', () => {
  it('parses escapes, hex escapes and multi-valued RDNs', () => {
    expect(parseDn('cn=Smith\\, Anna+uid=a\\2Bb,ou=people, dc=example')).toEqual([
      [
        { type: 'cn', value: 'Smith, Anna' },
        { type: 'uid', value: 'a+b' },
      ],
      [{ type: 'ou', value: 'people' }],
      [{ type: 'dc', value: 'example' }],
    ]);
    expect(parseDn('cn=\\C3\\98rsted')).toEqual([[{ type: 'cn', value: 'Ørsted' }]]);
    expect(parseDn('cn="a,b"')).toEqual([[{ type: 'cn', value: 'a,b' }]]);
    expect(parseDn('')).toEqual([]);
    expect(() => parseDn('nonsense')).toThrow(/invalid DN/);
  });

  it('normalizes case, spacing, escaping and RDN order', () => {
    const canonical = 'uid=jdoe,ou=people,dc=example,dc=org';
    expect(normalizeDn('UID=jdoe, OU=People,dc=EXAMPLE,dc=org')).toBe(canonical);
    expect(
      dnEquals(
        'uid=r\\2Bd.lead,ou=people,dc=example,dc=org',
        'uid=r\\+d.lead,ou=people,dc=example,dc=org',
      ),
    ).toBe(true);
    expect(dnEquals('cn=Smith\\2C Anna,ou=people', 'cn=Smith\\, Anna,ou=people')).toBe(true);
    expect(
      dnEquals(
        'uid=alovelace+cn=Ada Lovelace,ou=people',
        'cn=Ada Lovelace+uid=alovelace,ou=people',
      ),
    ).toBe(true);
    expect(dnEquals('uid=ångström'.normalize('NFD'), 'uid=ÅNGSTRÖM')).toBe(true);
    expect(dnEquals('uid=a,ou=people', 'uid=b,ou=people')).toBe(false);
  });

  it('escapes values for DNs', () => {
    expect(escapeDnValue('Smith, Anna')).toBe('Smith\\, Anna');
    expect(escapeDnValue('r+d')).toBe('r\\+d');
    expect(escapeDnValue(' #x ')).toBe('\\ #x\\ ');
    expect(escapeDnValue('#x')).toBe('\\#x');
  });
});
