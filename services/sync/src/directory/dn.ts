/** Result of parsing a distinguished name. */
export type DnParse = { ok: true; normalized: string } | { ok: false; reason: string };

const DESCR = /^[A-Za-z][A-Za-z0-9-]*$/;
const NUMERIC_OID = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$/;
const HEX_PAIR = /^[0-9A-Fa-f]{2}$/;
/** Characters RFC 4514 requires to be escaped inside a value. */
const MUST_ESCAPE = new Set(['"', '+', ',', ';', '<', '>']);

/**
 * Parse an LDAP distinguished name (RFC 4514, tolerating spaces around `,` `+` `=` as RFC 2253
 * readers do). `normalized` is the form two DNs naming the same entry share (types and values
 * lower-cased, escapes decoded and re-encoded one way), used to reject duplicates.
 */
export function parseDn(dn: string): DnParse {
  if (dn.trim() === '') return { ok: false, reason: 'it is empty' };
  const rdns: string[] = [];
  let ava: string[] = [];
  let i = 0;
  const n = dn.length;
  const skipSpaces = () => {
    while (i < n && dn[i] === ' ') i++;
  };

  for (;;) {
    skipSpaces();
    const typeStart = i;
    while (i < n && dn[i] !== '=' && dn[i] !== ',' && dn[i] !== '+') i++;
    const type = dn.slice(typeStart, i).trim();
    if (i >= n || dn[i] !== '=') {
      return {
        ok: false,
        reason: `"${type || dn.slice(typeStart)}" is not an attribute=value pair`,
      };
    }
    if (!DESCR.test(type) && !NUMERIC_OID.test(type)) {
      return { ok: false, reason: `"${type}" is not an attribute type` };
    }
    i++; // '='
    skipSpaces();
    let value = '';
    if (dn[i] === '#') {
      // hexstring form: #hexpairs
      const start = ++i;
      while (i < n && /[0-9A-Fa-f]/.test(dn[i] as string)) i++;
      const hex = dn.slice(start, i);
      if (hex.length === 0 || hex.length % 2 !== 0) {
        return { ok: false, reason: `the value of "${type}" is not a valid #hexstring` };
      }
      value = `#${hex.toLowerCase()}`;
    } else {
      let trailingSpaces = 0;
      while (i < n && dn[i] !== ',' && dn[i] !== '+') {
        const c = dn[i] as string;
        if (c === '\\') {
          const next = dn[i + 1];
          if (next === undefined) return { ok: false, reason: 'it ends with a lone "\\"' };
          const pair = dn.slice(i + 1, i + 3);
          if (HEX_PAIR.test(pair)) {
            value += String.fromCharCode(parseInt(pair, 16));
            i += 3;
          } else if (
            MUST_ESCAPE.has(next) ||
            next === '\\' ||
            next === ' ' ||
            next === '#' ||
            next === '='
          ) {
            value += next;
            i += 2;
          } else {
            return { ok: false, reason: `"\\${next}" is not a valid escape` };
          }
          trailingSpaces = 0;
          continue;
        }
        if (MUST_ESCAPE.has(c) || c === '\0') {
          return { ok: false, reason: `"${c === '\0' ? 'NUL' : c}" must be escaped in a value` };
        }
        trailingSpaces = c === ' ' ? trailingSpaces + 1 : 0;
        value += c;
        i++;
      }
      if (trailingSpaces > 0) value = value.slice(0, value.length - trailingSpaces);
      if (value === '') return { ok: false, reason: `"${type}" has an empty value` };
    }
    skipSpaces();
    ava.push(`${type.toLowerCase()}=${encodeValue(value.toLowerCase())}`);
    if (i >= n) {
      rdns.push(ava.sort().join('+'));
      break;
    }
    const sep = dn[i];
    i++;
    if (sep === ',') {
      rdns.push(ava.sort().join('+'));
      ava = [];
    } else if (sep !== '+') {
      return { ok: false, reason: `unexpected "${sep}"` };
    }
    if (i >= n) return { ok: false, reason: `it ends with "${sep}"` };
  }
  return { ok: true, normalized: rdns.join(',') };
}

function encodeValue(v: string): string {
  return v.replace(/[\\"+,;<>=#]/g, (c) => `\\${c}`);
}
