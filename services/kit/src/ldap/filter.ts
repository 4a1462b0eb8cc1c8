/**
 * LDAP search filters (RFC 4515) built from untrusted values. A username typed into `syncUser`
 * must only ever match itself: `*`, `(`, `)`, `\` and NUL are escaped, so `a*` is an equality
 * match for the literal string "a*", never a substring search.
 */
import { FilterParser } from 'ldapts';

/**
 * Escape a value for an equality assertion (RFC 4515 §3). Non-ASCII characters are left as
 * they are on purpose: ldapts turns each `\XX` into one UTF-16 unit, which would corrupt a
 * multi-byte UTF-8 escape, while it sends raw characters as UTF-8.
 */
export function escapeFilterValue(value: string): string {
  let out = '';
  for (const c of value) {
    switch (c) {
      case '*':
        out += '\\2a';
        break;
      case '(':
        out += '\\28';
        break;
      case ')':
        out += '\\29';
        break;
      case '\\':
        out += '\\5c';
        break;
      case '\u0000':
        out += '\\00';
        break;
      default:
        out += c;
    }
  }
  return out;
}

const ATTRIBUTE = /^[A-Za-z][A-Za-z0-9-]*$/;

/** Whether `name` is an attribute name we accept in configuration (no options, no OIDs). */
export function isAttributeName(name: string): boolean {
  return ATTRIBUTE.test(name);
}

/** `(attribute=value)` with the value escaped. Throws on an invalid attribute name. */
export function equals(attribute: string, value: string): string {
  if (!isAttributeName(attribute)) throw new Error(`"${attribute}" is not an attribute name`);
  return `(${attribute}=${escapeFilterValue(value)})`;
}

/** AND of filters; a single filter is returned as is. Empty parts are skipped. */
export function and(...filters: (string | undefined)[]): string {
  const parts = filters.filter((f): f is string => !!f);
  if (parts.length === 0) return '(objectClass=*)';
  return parts.length === 1 ? (parts[0] as string) : `(&${parts.join('')})`;
}

/** OR of filters; a single filter is returned as is. */
export function or(...filters: string[]): string {
  if (filters.length === 0) throw new Error('an OR filter needs at least one part');
  return filters.length === 1 ? (filters[0] as string) : `(|${filters.join('')})`;
}

/**
 * Check an operator-supplied filter (the `userFilter` setting): it must parse and be one
 * parenthesised filter. Returns the problem, or undefined when it is fine.
 */
export function filterProblem(filter: string): string | undefined {
  const f = filter.trim();
  if (!f.startsWith('(') || !f.endsWith(')')) return 'must be enclosed in parentheses';
  // Values carry parentheses only escaped (\\28, \\29), so raw ones are structure and must
  // balance, the first one closing last. ldapts' parser alone accepts "(&(a=1)".
  let depth = 0;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '(') depth++;
    else if (f[i] === ')') {
      depth--;
      if (depth < 0 || (depth === 0 && i !== f.length - 1)) return 'unbalanced parentheses';
    }
  }
  if (depth !== 0) return 'unbalanced parentheses';
  try {
    FilterParser.parseString(f);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
