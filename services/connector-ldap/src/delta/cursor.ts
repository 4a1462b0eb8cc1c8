import { createHash } from 'node:crypto';

/**
 * The cursor of an OpenLDAP directory: the server's `contextCSN` when a run started, and a
 * fingerprint of what the run read (bases, filters, selected groups, mapping), so that a cursor
 * made for another configuration is never used to read "what changed". Text form:
 * `openldap-csn:1:<fingerprint>:<csn>`; with several `contextCSN` values (one per server id of a
 * multi-provider setup) the oldest, which reads a superset.
 */
export interface CsnCursor {
  fingerprint: string;
  csn: string;
}

const PREFIX = 'openldap-csn:1:';

export function encodeCursor(c: CsnCursor): string {
  return `${PREFIX}${c.fingerprint}:${c.csn}`;
}

/** The cursor, or undefined when the text is not one of ours (another version or connector). */
export function decodeCursor(text: string): CsnCursor | undefined {
  if (!text.startsWith(PREFIX)) return undefined;
  const rest = text.slice(PREFIX.length);
  const cut = rest.indexOf(':');
  if (cut <= 0) return undefined;
  const csn = rest.slice(cut + 1);
  if (!isCsn(csn)) return undefined;
  return { fingerprint: rest.slice(0, cut), csn };
}

/** `YYYYmmddHHMMSS.uuuuuuZ#cccccc#sid#mod` (RFC 4533 §A, OpenLDAP's format). */
const CSN = /^\d{14}\.\d{6}Z#[0-9a-f]{6}#[0-9a-f]{3}#[0-9a-f]{6}$/i;

export function isCsn(value: string): boolean {
  return CSN.test(value);
}

/**
 * The fingerprint of everything that decides which entries a run reads and how it maps them:
 * a change to any of it makes the delta meaningless (a newly selected group's members did not
 * "change" in the source), so the cursor is rejected and the run reads in full.
 */
export function configFingerprint(parts: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 22);
}

/**
 * An LDAP filter for entries changed after `csn`: `entryCSN` has an ordering rule, so
 * `(entryCSN>=x)` without the entries stamped exactly `x` (read by the run that took the cursor).
 */
export function changedSince(csn: string): string {
  return `(&(entryCSN>=${csn})(!(entryCSN=${csn})))`;
}
