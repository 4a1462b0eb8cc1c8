/**
 * LDIF (RFC 2849) content records: parse them to compute test expectations, and write them for
 * the generators. DN helpers (RFC 4514) to compare DNs the way slapd does.
 */

/** One content record: its DN and its attributes (name → values, in file order). */
export interface LdifEntry {
  dn: string;
  /**
   * Values by attribute description as first written in the record (`objectClass`, `cn;lang-en`).
   * Descriptions that differ only in case are merged under the first spelling; use
   * {@link ldifAttr} to look one up case-insensitively.
   */
  attributes: Record<string, string[]>;
}

interface RawLine {
  text: string;
  lineNo: number;
}

/** Unfold (a line starting with one space continues the previous one) and drop comments. */
function logicalLines(text: string): (RawLine | null)[] {
  const out: (RawLine | null)[] = []; // null = record separator (empty line)
  const physical = text.split(/\r?\n/);
  let current: RawLine | null = null;
  let isComment = false;
  const flush = () => {
    if (current && !isComment) out.push(current);
    current = null;
    isComment = false;
  };
  physical.forEach((line, i) => {
    if (line.startsWith(' ') && current !== null) {
      current.text += line.slice(1);
      return;
    }
    flush();
    if (line.trim() === '') {
      out.push(null);
      return;
    }
    current = { text: line, lineNo: i + 1 };
    isComment = line.startsWith('#');
  });
  flush();
  return out;
}

interface RawAttr {
  name: string;
  value: string;
}

function parseLine(line: RawLine): RawAttr {
  const colon = line.text.indexOf(':');
  if (colon <= 0)
    throw new Error(`LDIF line ${line.lineNo}: expected "attr: value", got "${line.text}"`);
  const name = line.text.slice(0, colon);
  const rest = line.text.slice(colon + 1);
  if (rest.startsWith(':')) {
    const b64 = rest.slice(1).trim();
    if (b64 !== '' && !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
      throw new Error(`LDIF line ${line.lineNo}: invalid base64 value for ${name}`);
    }
    return { name, value: Buffer.from(b64, 'base64').toString('utf8') };
  }
  if (rest.startsWith('<')) {
    throw new Error(`LDIF line ${line.lineNo}: URL values (${name}:<) are not supported`);
  }
  return { name, value: rest.replace(/^ +/, '') };
}

/** Records as lists of logical lines (no comments, no `version:` line). */
function records(text: string): RawLine[][] {
  const recs: RawLine[][] = [];
  let cur: RawLine[] = [];
  for (const line of logicalLines(text)) {
    if (line === null) {
      if (cur.length) recs.push(cur);
      cur = [];
    } else {
      cur.push(line);
    }
  }
  if (cur.length) recs.push(cur);
  // `version: 1` may open the file, alone or directly followed by the first record.
  const first = recs[0];
  if (first && /^version:/i.test(first[0]?.text ?? '')) {
    first.shift();
    if (first.length === 0) recs.shift();
  }
  return recs;
}

/**
 * Parse LDIF content records.
 *
 * Contract: handles `version: 1`, `#` comments (also folded ones), folded lines (a line that
 * starts with one space continues the previous line), CRLF, `attr:: base64` values (decoded as
 * UTF-8; binary values are therefore not preserved) including `dn::`, empty values (`attr:`), and
 * any number of blank lines between records. Change records (`changetype:`) and URL values
 * (`attr:< file://…`) throw, as does a record that does not start with `dn:`. Attribute names are
 * merged case-insensitively under their first spelling; values keep file order and duplicates.
 */
export function parseLdif(text: string): LdifEntry[] {
  return records(text).map((rec) => {
    const [first, ...rest] = rec;
    if (!first) throw new Error('LDIF: empty record');
    const dnAttr = parseLine(first);
    if (dnAttr.name.toLowerCase() !== 'dn') {
      throw new Error(
        `LDIF line ${first.lineNo}: a record must start with "dn:", got "${dnAttr.name}"`,
      );
    }
    const attributes: Record<string, string[]> = {};
    const spelling = new Map<string, string>();
    for (const line of rest) {
      const { name, value } = parseLine(line);
      const key = name.toLowerCase();
      if (key === 'changetype') {
        throw new Error(
          `LDIF line ${line.lineNo}: change records are not content (use Slapd.modify)`,
        );
      }
      let canonical = spelling.get(key);
      if (canonical === undefined) {
        canonical = name;
        spelling.set(key, name);
        attributes[name] = [];
      }
      attributes[canonical]?.push(value);
    }
    return { dn: dnAttr.value, attributes };
  });
}

/** The values of `name` in `entry`, looked up case-insensitively (`[]` when absent). */
export function ldifAttr(entry: LdifEntry, name: string): string[] {
  const wanted = name.toLowerCase();
  for (const [key, values] of Object.entries(entry.attributes)) {
    if (key.toLowerCase() === wanted) return values;
  }
  return [];
}

/** The DN of each record, in file order, without parsing attributes (cheap on large files). */
export function ldifDns(text: string): string[] {
  return records(text).map((rec) => {
    const first = rec[0];
    if (!first) throw new Error('LDIF: empty record');
    return parseLine(first).value;
  });
}

/**
 * Split LDIF text into the raw text of each record (comments and `version:` dropped, lines kept
 * as written, folded lines unfolded) with its DN. Used to reorder or splice records.
 */
export function splitLdifRecords(text: string): { dn: string; text: string }[] {
  return records(text).map((rec) => {
    const first = rec[0];
    if (!first) throw new Error('LDIF: empty record');
    return { dn: parseLine(first).value, text: rec.map((l) => l.text).join('\n') };
  });
}

// ---------------------------------------------------------------------------------------------
// Writing

/** RFC 2849 SAFE-STRING: ASCII without NUL/CR/LF, not starting with space, ':' or '<', no trailing space. */
function isSafe(value: string): boolean {
  if (value === '') return true;
  if (/^[ :<]/.test(value) || value.endsWith(' ')) return false;
  // eslint-disable-next-line no-control-regex
  return /^[\x01-\x09\x0b\x0c\x0e-\x7f]*$/.test(value);
}

/** Fold a line at `width` columns (continuation lines start with one space). */
function fold(line: string, width = 76): string {
  if (line.length <= width) return line;
  const parts = [line.slice(0, width)];
  for (let i = width; i < line.length; i += width - 1)
    parts.push(' ' + line.slice(i, i + width - 1));
  return parts.join('\n');
}

/** One `attr: value` line (base64 `attr::` when the value is not a safe string), folded at 76. */
export function ldifLine(name: string, value: string): string {
  return fold(
    isSafe(value)
      ? `${name}: ${value}`
      : `${name}:: ${Buffer.from(value, 'utf8').toString('base64')}`,
  );
}

/**
 * Serialise one content record (no trailing blank line). Attributes with no values are skipped.
 * Round-trips through {@link parseLdif}.
 */
export function formatLdifEntry(entry: LdifEntry): string {
  const lines = [ldifLine('dn', entry.dn)];
  for (const [name, values] of Object.entries(entry.attributes)) {
    for (const v of values) lines.push(ldifLine(name, v));
  }
  return lines.join('\n');
}

/** Serialise records, separated by blank lines, ending with a newline. */
export function formatLdif(entries: Iterable<LdifEntry>): string {
  const out: string[] = [];
  for (const e of entries) out.push(formatLdifEntry(e));
  return out.join('\n\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// DNs

/** One attribute type/value pair of an RDN, value unescaped. */
export interface AttributeTypeAndValue {
  type: string;
  value: string;
}

/** Escape an attribute value for a DN string (RFC 4514 §2.4). */
export function escapeDnValue(value: string): string {
  let out = value.replace(/[\\,+"<>;=]/g, (c) => `\\${c}`);
  out = out.replace(/\0/g, '\\00');
  if (out.startsWith(' ') || out.startsWith('#')) out = `\\${out}`;
  if (out.endsWith(' ') && !out.endsWith('\\ ')) out = `${out.slice(0, -1)}\\ `;
  return out;
}

/**
 * Parse a DN string into RDNs (each a list of type/value pairs). Accepts RFC 4514 plus the usual
 * leniencies: spaces around `,` `+` `=`, `;` as a separator, `\XX` hex escapes (UTF-8 sequences),
 * quoted values, and `#hex` BER values (kept as written, lower-cased). Throws on malformed input.
 */
export function parseDn(dn: string): AttributeTypeAndValue[][] {
  const rdns: AttributeTypeAndValue[][] = [];
  let i = 0;
  const n = dn.length;
  const skipSpaces = () => {
    while (i < n && dn[i] === ' ') i++;
  };
  skipSpaces();
  if (i === n) return rdns;
  let rdn: AttributeTypeAndValue[] = [];
  for (;;) {
    skipSpaces();
    const eq = dn.indexOf('=', i);
    if (eq < 0) throw new Error(`invalid DN "${dn}": missing "=" at ${i}`);
    const type = dn.slice(i, eq).trim();
    if (!/^([A-Za-z][A-Za-z0-9-]*|[0-9]+(\.[0-9]+)*)$/.test(type)) {
      throw new Error(`invalid DN "${dn}": bad attribute type "${type}"`);
    }
    i = eq + 1;
    skipSpaces();
    let value = '';
    if (dn[i] === '#') {
      const m = /^#[0-9A-Fa-f]*/.exec(dn.slice(i));
      value = (m?.[0] ?? '#').toLowerCase();
      i += value.length;
    } else if (dn[i] === '"') {
      i++;
      const bytes: number[] = [];
      while (i < n && dn[i] !== '"') {
        if (dn[i] === '\\' && i + 1 < n) i++;
        const ch = String.fromCodePoint(dn.codePointAt(i) ?? 0);
        bytes.push(...Buffer.from(ch, 'utf8'));
        i += ch.length;
      }
      if (dn[i] !== '"') throw new Error(`invalid DN "${dn}": unterminated quote`);
      i++;
      value = Buffer.from(bytes).toString('utf8');
    } else {
      const bytes: number[] = [];
      let lastSignificant = 0; // bytes length up to the last escaped or non-space char
      while (i < n) {
        const c = dn[i] as string;
        if (c === ',' || c === '+' || c === ';') break;
        if (c === '\\') {
          const hex = dn.slice(i + 1, i + 3);
          if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
            bytes.push(parseInt(hex, 16));
            i += 3;
          } else if (i + 1 < n) {
            const cp = dn.codePointAt(i + 1) ?? 0;
            const ch = String.fromCodePoint(cp);
            bytes.push(...Buffer.from(ch, 'utf8'));
            i += 1 + ch.length;
          } else {
            throw new Error(`invalid DN "${dn}": trailing backslash`);
          }
          lastSignificant = bytes.length;
          continue;
        }
        const cp = dn.codePointAt(i) ?? 0;
        const ch = String.fromCodePoint(cp);
        bytes.push(...Buffer.from(ch, 'utf8'));
        if (ch !== ' ') lastSignificant = bytes.length;
        i += ch.length;
      }
      value = Buffer.from(bytes.slice(0, lastSignificant)).toString('utf8');
    }
    rdn.push({ type, value });
    skipSpaces();
    if (i >= n) {
      rdns.push(rdn);
      return rdns;
    }
    const sep = dn[i];
    i++;
    if (sep === ',' || sep === ';') {
      rdns.push(rdn);
      rdn = [];
    } else if (sep !== '+') {
      throw new Error(`invalid DN "${dn}": unexpected "${sep}" at ${i - 1}`);
    }
  }
}

/**
 * A canonical form of a DN for equality tests: attribute types and values lower-cased, values
 * NFC-normalised with runs of spaces collapsed, escapes rewritten the RFC 4514 way, multi-valued
 * RDNs sorted, no spaces around separators. `UID=jdoe, OU=People,dc=EXAMPLE,dc=org` and
 * `uid=jdoe,ou=people,dc=example,dc=org` give the same string. It approximates slapd's matching
 * for the caseIgnore attributes used in the fixtures; it does not map attribute names to OIDs
 * (`2.5.4.3=x` ≠ `cn=x`).
 */
export function normalizeDn(dn: string): string {
  return parseDn(dn)
    .map((rdn) =>
      rdn
        .map(({ type, value }) => {
          const v = value.startsWith('#')
            ? value
            : escapeDnValue(value.normalize('NFC').replace(/ +/g, ' ').toLowerCase());
          return `${type.toLowerCase()}=${v}`;
        })
        .sort()
        .join('+'),
    )
    .join(',');
}

/** Whether two DN strings name the same entry (by {@link normalizeDn}). */
export function dnEquals(a: string, b: string): boolean {
  return normalizeDn(a) === normalizeDn(b);
}
