import { describe, expect, it } from 'vitest';
import {
  DnSyntaxError,
  dnEquals,
  escapeDnValue,
  isWithin,
  normalizeDn,
  parseDn,
  rdnValue,
  tryNormalizeDn,
} from './dn.js';

const JDOE = 'uid=jdoe,ou=people,dc=example,dc=org';

describe('#parseDn()', () => {
  it('parses RDNs and AVAs', () => {
    expect(parseDn('cn=a+sn=b,dc=org')).toEqual([
      [
        { type: 'cn', value: 'a', ber: false },
        { type: 'sn', value: 'b', ber: false },
      ],
      [{ type: 'dc', value: 'org', ber: false }],
    ]);
  });

  it('gives [] for the root DN', () => {
    expect(parseDn('')).toEqual([]);
    expect(parseDn('   ')).toEqual([]);
  });

  it('unescapes special characters', () => {
    expect(parseDn('cn=Doe\\, John,dc=org')[0]?.[0]?.value).toBe('Doe, John');
    expect(parseDn('cn=a\\+b')[0]?.[0]?.value).toBe('a+b');
    expect(parseDn('cn=say \\"hi\\"')[0]?.[0]?.value).toBe('say "hi"');
    expect(parseDn('cn=back\\\\slash')[0]?.[0]?.value).toBe('back\\slash');
    expect(parseDn('cn=\\#hash')[0]?.[0]?.value).toBe('#hash');
    expect(parseDn('cn=semi\\;colon\\<\\>\\=')[0]?.[0]?.value).toBe('semi;colon<>=');
  });

  it('decodes hex escapes, including multi-byte UTF-8', () => {
    expect(parseDn('cn=\\4a\\6F')[0]?.[0]?.value).toBe('Jo');
    expect(parseDn('cn=Jos\\C3\\A9')[0]?.[0]?.value).toBe('José');
    expect(parseDn('cn=\\E6\\9D\\B1\\E4\\BA\\AC')[0]?.[0]?.value).toBe('東京');
    expect(parseDn('cn=\\F0\\9F\\98\\80')[0]?.[0]?.value).toBe('😀');
  });

  it('keeps raw UTF-8 characters', () => {
    expect(parseDn('cn=Zoë Ångström,dc=org')[0]?.[0]?.value).toBe('Zoë Ångström');
    expect(parseDn('cn=😀x')[0]?.[0]?.value).toBe('😀x');
  });

  it('keeps escaped leading and trailing spaces, drops unescaped ones', () => {
    expect(parseDn('cn=\\ a\\ ')[0]?.[0]?.value).toBe(' a ');
    expect(parseDn('cn = a  , dc = org ')).toEqual([
      [{ type: 'cn', value: 'a', ber: false }],
      [{ type: 'dc', value: 'org', ber: false }],
    ]);
    expect(parseDn('cn=a\\20 ')[0]?.[0]?.value).toBe('a ');
  });

  it('keeps #hex BER values as they are', () => {
    expect(parseDn('1.3.6.1.4.1.1466.0=#04024869,dc=org')[0]?.[0]).toEqual({
      type: '1.3.6.1.4.1.1466.0',
      value: '04024869',
      ber: true,
    });
  });

  it('accepts quoted values and ";" separators (RFC 1779/2253 leniency)', () => {
    expect(parseDn('cn="Doe, John";dc=org')).toEqual([
      [{ type: 'cn', value: 'Doe, John', ber: false }],
      [{ type: 'dc', value: 'org', ber: false }],
    ]);
  });

  it.each([
    ['no "="', 'cn'],
    ['empty type', '=x'],
    ['bad type', '1cn=x'],
    ['dangling escape', 'cn=x\\'],
    ['bad escape', 'cn=\\zz'],
    ['odd hex', 'cn=#abc'],
    ['empty hex', 'cn=#'],
    ['unterminated quote', 'cn="abc'],
    ['trailing comma', 'cn=a,'],
    ['double comma', 'cn=a,,dc=org'],
    ['invalid UTF-8', 'cn=\\C3\\28'],
    ['truncated UTF-8', 'cn=\\C3'],
    ['bare quote inside', 'cn=a"b'],
  ])('rejects %s', (_label, dn) => {
    expect(() => parseDn(dn)).toThrow(DnSyntaxError);
    expect(tryNormalizeDn(dn)).toBeUndefined();
  });
});

describe('#normalizeDn()', () => {
  it('makes case and spacing variants equal', () => {
    expect(normalizeDn('UID=jdoe, OU=People,dc=EXAMPLE,dc=org')).toBe(JDOE);
    expect(normalizeDn('  uid = jdoe ,  ou=people , dc=example , dc=org  ')).toBe(JDOE);
    expect(normalizeDn('Uid=JDoe,Ou=PEOPLE,Dc=Example,DC=ORG')).toBe(JDOE);
  });

  it('makes escape variants equal', () => {
    expect(normalizeDn('uid=\\6a\\64oe,ou=people,dc=example,dc=org')).toBe(JDOE);
    expect(normalizeDn('cn=Doe\\, John,dc=org')).toBe(normalizeDn('cn=doe\\2c john,dc=org'));
    expect(normalizeDn('cn=Doe\\, John,dc=org')).toBe(normalizeDn('CN="Doe, John",DC=org'));
    expect(normalizeDn('cn=a\\+b,dc=org')).toBe(normalizeDn('cn=a\\2Bb,dc=org'));
  });

  it('maps OIDs and long names to short attribute names', () => {
    expect(normalizeDn('0.9.2342.19200300.100.1.1=jdoe,2.5.4.11=people,dc=example,dc=org')).toBe(
      JDOE,
    );
    expect(normalizeDn('OID.2.5.4.3=x,domainComponent=org')).toBe('cn=x,dc=org');
    expect(normalizeDn('commonName=X,userid=y')).toBe('cn=x,uid=y');
  });

  it('orders the AVAs of multi-valued RDNs', () => {
    expect(normalizeDn('cn=John+sn=Doe,dc=org')).toBe(normalizeDn('SN=doe + CN=john,dc=org'));
  });

  it('applies NFC so composed and decomposed accents match', () => {
    const composed = 'cn=Jos\u00e9,dc=org';
    const decomposed = 'cn=Jose\u0301,dc=org';
    expect(normalizeDn(composed)).toBe(normalizeDn(decomposed));
    expect(normalizeDn('cn=Jos\\C3\\A9,dc=org')).toBe(normalizeDn(decomposed));
  });

  it('lower-cases non-ASCII values of case-ignore types', () => {
    expect(normalizeDn('cn=ÉLODIE,dc=org')).toBe(normalizeDn('cn=élodie,dc=org'));
  });

  it('keeps the case of values of case-exact types unless told all ignore case', () => {
    expect(normalizeDn('x-custom=ABC,dc=org')).not.toBe(normalizeDn('x-custom=abc,dc=org'));
    expect(normalizeDn('x-custom=ABC,dc=org', { caseIgnoreAll: true })).toBe(
      normalizeDn('x-custom=abc,dc=org', { caseIgnoreAll: true }),
    );
  });

  it('collapses insignificant inner spaces', () => {
    expect(normalizeDn('cn=John   Doe,dc=org')).toBe(normalizeDn('cn=john doe,dc=org'));
  });

  it('keeps BER values as lower-case hex, distinct from a string value', () => {
    expect(normalizeDn('cn=#04024869,dc=org')).toBe('cn=#04024869,dc=org');
    expect(normalizeDn('cn=#0402486A')).toBe(normalizeDn('cn=#0402486a'));
    expect(normalizeDn('cn=#04024869')).not.toBe(normalizeDn('cn=\\#04024869'));
  });

  it('re-escapes so that distinct DNs stay distinct', () => {
    expect(normalizeDn('cn=a\\,b,dc=org')).not.toBe(normalizeDn('cn=a,cn=b,dc=org'));
    expect(normalizeDn('cn=a\\+sn=b,dc=org')).not.toBe(normalizeDn('cn=a+sn=b,dc=org'));
    expect(normalizeDn('cn=a\\=b')).toBe('cn=a\\=b');
  });

  it('agrees between the fast path and the full parser', () => {
    const plain = 'CN=Some  User , OU=Staff,DC=Example,DC=org';
    expect(normalizeDn(plain)).toBe('cn=some user,ou=staff,dc=example,dc=org');
    // The same DN with one escape goes through the parser and must give the same string.
    expect(normalizeDn('CN=Some  User , OU=\\53taff,DC=Example,DC=org')).toBe(normalizeDn(plain));
  });
});

describe('#dnEquals()', () => {
  it('compares the way LDAP does', () => {
    expect(dnEquals('UID=jdoe, OU=People,dc=EXAMPLE,dc=org', JDOE)).toBe(true);
    expect(dnEquals('uid=jdoe2,ou=people,dc=example,dc=org', JDOE)).toBe(false);
    expect(dnEquals('not a dn', 'not a dn')).toBe(false);
  });
});

describe('#escapeDnValue()', () => {
  it('round-trips through the parser', () => {
    for (const v of [
      'Doe, John',
      ' lead',
      'trail ',
      '#hash',
      'a+b',
      'q"uote',
      'back\\',
      'x<y>z;=',
      'nul\u0000',
    ]) {
      expect(parseDn(`cn=${escapeDnValue(v)}`)[0]?.[0]?.value).toBe(v);
    }
  });
});

describe('#isWithin()', () => {
  it('accepts the base and its descendants only', () => {
    expect(isWithin(JDOE, 'dc=example,dc=org')).toBe(true);
    expect(isWithin('dc=example,dc=org', 'dc=example,dc=org')).toBe(true);
    expect(isWithin('uid=x,dc=badexample,dc=org', 'dc=example,dc=org')).toBe(false);
    expect(isWithin(JDOE, '')).toBe(true);
  });
});

describe('#rdnValue()', () => {
  it('reads the naming value', () => {
    expect(rdnValue('cn=Doe\\, John,dc=org')).toBe('Doe, John');
    expect(rdnValue('cn=John+uid=jd,dc=org', 'UID')).toBe('jd');
    expect(rdnValue('bad')).toBeUndefined();
  });
});
