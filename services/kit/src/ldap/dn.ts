/**
 * Distinguished names (RFC 4514) parsed and compared the way an LDAP server compares them, so a
 * member value written `UID=jdoe, OU=People,dc=EXAMPLE,dc=org` matches the entry
 * `uid=jdoe,ou=people,dc=example,dc=org`.
 */

/** One attribute type and value of an RDN. */
export interface Ava {
  /** As written (an attribute name or a dotted OID). */
  type: string;
  /** The unescaped value; for a `#hex` BER value, the hex digits (without `#`), lower case. */
  value: string;
  /** True for a `#hex` value (BER-encoded, kept as is, never unescaped). */
  ber: boolean;
}

/** A relative distinguished name: one or more AVAs joined by `+`. */
export type Rdn = Ava[];

export class DnSyntaxError extends Error {
  constructor(
    readonly dn: string,
    /** What is wrong, without the DN (`expected "=" after "not a dn"`). */
    readonly reason: string,
  ) {
    super(`invalid DN "${dn}": ${reason}`);
    this.name = 'DnSyntaxError';
  }
}

/** Well-known attribute OIDs → their short names, so `2.5.4.3=x` equals `cn=x`. */
const OID_NAMES: Record<string, string> = {
  '2.5.4.3': 'cn',
  '2.5.4.4': 'sn',
  '2.5.4.5': 'serialnumber',
  '2.5.4.6': 'c',
  '2.5.4.7': 'l',
  '2.5.4.8': 'st',
  '2.5.4.9': 'street',
  '2.5.4.10': 'o',
  '2.5.4.11': 'ou',
  '2.5.4.12': 'title',
  '2.5.4.42': 'givenname',
  '2.5.4.43': 'initials',
  '2.5.4.44': 'generationqualifier',
  '0.9.2342.19200300.100.1.1': 'uid',
  '0.9.2342.19200300.100.1.3': 'mail',
  '0.9.2342.19200300.100.1.25': 'dc',
  '1.2.840.113549.1.9.1': 'email',
};

/** Alternative names of the same attribute type. */
const ALIASES: Record<string, string> = {
  commonname: 'cn',
  surname: 'sn',
  countryname: 'c',
  localityname: 'l',
  stateorprovincename: 'st',
  streetaddress: 'street',
  organizationname: 'o',
  organizationalunitname: 'ou',
  userid: 'uid',
  domaincomponent: 'dc',
  gn: 'givenname',
  rfc822mailbox: 'mail',
  emailaddress: 'email',
};

/**
 * Attribute types whose equality rule ignores case (caseIgnoreMatch, caseIgnoreIA5Match, …) in
 * the standard schemas. Values of other types keep their case unless the caller says every type
 * ignores case (Active Directory).
 */
const CASE_IGNORE = new Set([
  'cn',
  'sn',
  'c',
  'l',
  'st',
  'street',
  'o',
  'ou',
  'title',
  'givenname',
  'initials',
  'generationqualifier',
  'serialnumber',
  'uid',
  'mail',
  'dc',
  'email',
  'name',
  'displayname',
  'description',
  'businesscategory',
  'postalcode',
  'postofficebox',
  'employeenumber',
  'employeetype',
  'departmentnumber',
  'destinationindicator',
  'houseidentifier',
  'dnqualifier',
  'entryuuid',
  'samaccountname',
  'userprincipalname',
]);

const DESCR = /^[A-Za-z][A-Za-z0-9-]*$/;
const NUMERICOID = /^[0-9]+(\.[0-9]+)+$/;
const HEX = /^[0-9A-Fa-f]$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function isSpace(c: string | undefined): boolean {
  return c === ' ';
}

/**
 * Parse a DN string (RFC 4514; also accepts the RFC 1779/2253 leniencies servers still emit:
 * spaces around `,` `+` `=`, `;` as RDN separator, quoted values). The root DN ("") is `[]`.
 * Throws {@link DnSyntaxError}.
 */
export function parseDn(dn: string): Rdn[] {
  const rdns: Rdn[] = [];
  const n = dn.length;
  let i = 0;
  const fail = (reason: string): never => {
    throw new DnSyntaxError(dn, reason);
  };
  while (i < n && isSpace(dn[i])) i++;
  if (i === n) return rdns;

  let rdn: Rdn = [];
  for (;;) {
    // attribute type
    while (i < n && isSpace(dn[i])) i++;
    const typeStart = i;
    while (i < n && dn[i] !== '=' && dn[i] !== ',' && dn[i] !== '+' && dn[i] !== ';') i++;
    if (i === n || dn[i] !== '=') fail(`expected "=" after "${dn.slice(typeStart, i).trim()}"`);
    let type = dn.slice(typeStart, i).trim();
    if (/^oid\./i.test(type)) type = type.slice(4);
    if (!DESCR.test(type) && !NUMERICOID.test(type)) fail(`"${type}" is not an attribute type`);
    i++; // '='
    while (i < n && isSpace(dn[i])) i++;

    // attribute value
    let value = '';
    let ber = false;
    if (dn[i] === '#') {
      i++;
      const start = i;
      while (i < n && HEX.test(dn[i] ?? '')) i++;
      const hex = dn.slice(start, i);
      if (hex.length === 0 || hex.length % 2 !== 0)
        fail('a "#" value needs an even number of hex digits');
      value = hex.toLowerCase();
      ber = true;
    } else if (dn[i] === '"') {
      i++;
      const bytes: number[] = [];
      let closed = false;
      while (i < n) {
        const c = dn[i] as string;
        if (c === '"') {
          closed = true;
          i++;
          break;
        }
        if (c === '\\') {
          i = readEscape(dn, i, bytes, fail);
          continue;
        }
        const ch = String.fromCodePoint(dn.codePointAt(i) ?? 0);
        pushChar(bytes, ch);
        i += ch.length;
      }
      if (!closed) fail('unterminated quoted value');
      value = decode(bytes, fail);
    } else {
      const bytes: number[] = [];
      // Length of `bytes` up to the last escaped byte: trailing spaces before it are significant.
      let keep = 0;
      while (i < n) {
        const c = dn[i] as string;
        if (c === ',' || c === '+' || c === ';') break;
        if (c === '\\') {
          i = readEscape(dn, i, bytes, fail);
          keep = bytes.length;
          continue;
        }
        if (c === '"') fail('unescaped " inside a value');
        const ch = String.fromCodePoint(dn.codePointAt(i) ?? 0);
        pushChar(bytes, ch);
        i += ch.length;
      }
      let end = bytes.length;
      while (end > keep && bytes[end - 1] === 0x20) end--;
      value = decode(bytes.slice(0, end), fail);
    }
    rdn.push({ type, value, ber });

    while (i < n && isSpace(dn[i])) i++;
    if (i === n) {
      rdns.push(rdn);
      return rdns;
    }
    const sep = dn[i];
    i++;
    if (sep === '+') continue;
    if (sep === ',' || sep === ';') {
      rdns.push(rdn);
      rdn = [];
      while (i < n && isSpace(dn[i])) i++;
      if (i === n) fail('empty RDN at the end');
      continue;
    }
    fail(`unexpected "${sep}"`);
  }
}

function pushChar(bytes: number[], ch: string): void {
  const code = ch.codePointAt(0) ?? 0;
  if (code < 0x80) bytes.push(code);
  else for (const b of Buffer.from(ch, 'utf8')) bytes.push(b);
}

function readEscape(dn: string, i: number, bytes: number[], fail: (r: string) => never): number {
  const a = dn[i + 1];
  if (a === undefined) fail('a "\\" ends the DN');
  const b = dn[i + 2];
  if (HEX.test(a ?? '') && b !== undefined && HEX.test(b)) {
    bytes.push(Number.parseInt(`${a}${b}`, 16));
    return i + 3;
  }
  if (a !== undefined && ' "#+,;<=>\\'.includes(a)) {
    bytes.push(a.charCodeAt(0));
    return i + 2;
  }
  return fail(`invalid escape "\\${a ?? ''}"`);
}

function decode(bytes: number[], fail: (r: string) => never): string {
  let ascii = true;
  for (const b of bytes) {
    if (b >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return String.fromCharCode(...bytes);
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch {
    return fail('escaped bytes are not valid UTF-8');
  }
}

/** The canonical lower-case name of an attribute type (`OID.2.5.4.3`, `CN` → `cn`). */
export function canonicalType(type: string): string {
  let t = type.toLowerCase();
  if (t.startsWith('oid.')) t = t.slice(4);
  return OID_NAMES[t] ?? ALIASES[t] ?? t;
}

/** Escape a value for use in a DN string (RFC 4514 §2.4). */
export function escapeDnValue(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i] as string;
    if ('\\,+"<>;='.includes(c)) out += `\\${c}`;
    else if (c === '\u0000') out += '\\00';
    else if ((i === 0 && (c === '#' || c === ' ')) || (i === value.length - 1 && c === ' ')) {
      out += `\\${c}`;
    } else out += c;
  }
  return out;
}

export interface NormalizeOptions {
  /** Treat every attribute type as case-insensitive (Active Directory). */
  caseIgnoreAll?: boolean;
}

function normalizeValue(ava: Ava, type: string, opts: NormalizeOptions): string {
  if (ava.ber) return `#${ava.value}`;
  // RFC 4518 string preparation, enough for DN matching: NFC, insignificant spaces, case.
  let v = ava.value.normalize('NFC').replace(/ {2,}/g, ' ').trim();
  if (opts.caseIgnoreAll || CASE_IGNORE.has(type)) v = v.toLowerCase();
  return escapeDnValue(v);
}

/**
 * The canonical string of a DN: types canonical and lower case, values unescaped, NFC,
 * insignificant spaces removed, lower case for case-ignore types, re-escaped one way, the AVAs of
 * a multi-valued RDN sorted. Two DNs name the same entry iff their canonical strings are equal.
 * Throws {@link DnSyntaxError}.
 */
export function normalizeDn(dn: string, opts: NormalizeOptions = {}): string {
  return normalizeSimpleDn(dn, opts) ?? normalizeParsed(dn, opts);
}

/** Characters that need the full parser: escapes, quotes, multi-valued RDNs, BER, non-ASCII. */
const NEEDS_PARSER = /[\\"+;#\u0080-\uffff]/;

/**
 * The common case (plain ASCII, no escapes) without building AVA objects: member values of big
 * groups are normalised by the hundred thousand. Returns undefined to defer to the full parser.
 */
function normalizeSimpleDn(dn: string, opts: NormalizeOptions): string | undefined {
  if (NEEDS_PARSER.test(dn)) return undefined;
  if (dn.trim() === '') return '';
  let out = '';
  let start = 0;
  for (;;) {
    const comma = dn.indexOf(',', start);
    const part = comma < 0 ? dn.slice(start) : dn.slice(start, comma);
    const eq = part.indexOf('=');
    if (eq < 0) return undefined;
    const canonical = simpleType(part.slice(0, eq));
    if (canonical === undefined) return undefined;
    let value = part.slice(eq + 1);
    if (value.includes('  ')) value = value.replace(/ {2,}/g, ' ');
    value = value.trim();
    if (opts.caseIgnoreAll || CASE_IGNORE.has(canonical)) value = value.toLowerCase();
    if (ESCAPE_NEEDED.test(value) || value.includes('\u0000')) value = escapeDnValue(value);
    out = out === '' && start === 0 ? `${canonical}=${value}` : `${out},${canonical}=${value}`;
    if (comma < 0) return out;
    start = comma + 1;
  }
}

/** Whether escapeDnValue would change a value. */
const ESCAPE_NEEDED = /[\\,+"<>;=]|^[ #]| $/;

/** Raw attribute type → canonical name; `null` for a type that is not valid. */
const typeCache = new Map<string, string | null>();

function simpleType(raw: string): string | undefined {
  const cached = typeCache.get(raw);
  if (cached !== undefined) return cached ?? undefined;
  let type = raw.trim();
  if (/^oid\./i.test(type)) type = type.slice(4);
  const result = DESCR.test(type) || NUMERICOID.test(type) ? canonicalType(type) : null;
  if (typeCache.size < 10_000) typeCache.set(raw, result);
  return result ?? undefined;
}

function normalizeParsed(dn: string, opts: NormalizeOptions): string {
  return parseDn(dn)
    .map((rdn) => {
      const avas = rdn.map((ava) => {
        const type = canonicalType(ava.type);
        return `${type}=${normalizeValue(ava, type, opts)}`;
      });
      if (avas.length > 1) avas.sort();
      return avas.join('+');
    })
    .join(',');
}

/** `normalizeDn`, or `undefined` when the DN does not parse. */
export function tryNormalizeDn(dn: string, opts: NormalizeOptions = {}): string | undefined {
  try {
    return normalizeDn(dn, opts);
  } catch {
    return undefined;
  }
}

/** Whether two DNs name the same entry. A DN that does not parse equals nothing. */
export function dnEquals(a: string, b: string, opts: NormalizeOptions = {}): boolean {
  const na = tryNormalizeDn(a, opts);
  return na !== undefined && na === tryNormalizeDn(b, opts);
}

/** Whether the normalised DN `dn` is `base` or below it (both normalised). */
export function isWithin(dn: string, base: string): boolean {
  if (base === '') return true;
  return dn === base || dn.endsWith(`,${base}`);
}

/** The first RDN's value of the first AVA of type `type` (e.g. `cn` of a group), unescaped. */
export function rdnValue(dn: string, type?: string): string | undefined {
  try {
    const first = parseDn(dn)[0];
    if (!first) return undefined;
    const ava = type ? first.find((a) => canonicalType(a.type) === canonicalType(type)) : first[0];
    return ava && !ava.ber ? ava.value : undefined;
  } catch {
    return undefined;
  }
}
