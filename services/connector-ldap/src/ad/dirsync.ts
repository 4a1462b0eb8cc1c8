/**
 * Active Directory delta reading: the DirSync control (MS-ADTS 3.1.1.3.4.1.3,
 * `1.2.840.113556.1.4.841`), the show-deleted control (`1.2.840.113556.1.4.417`) and the
 * cursor an AD directory's runs store. Why DirSync rather than `uSNChanged` polling:
 * docs/ad-delta.md.
 */
import { createHash } from 'node:crypto';
import { BerWriter, Control, type BerReader } from 'ldapts';

/** Return only what the bind account may read (no "Replicating Directory Changes" right needed). */
export const LDAP_DIRSYNC_OBJECT_SECURITY = 0x1;
/** Return multi-valued changes as values added (`member;range=1-1`) and removed (`member;range=0-0`). */
export const LDAP_DIRSYNC_INCREMENTAL_VALUES = 0x80000000;
const MAX_BYTES = 1 << 20;

/**
 * The DirSync request control; the server's response control (same OID) is parsed back into
 * the same object by ldapts, which hands response controls to the request control of their OID.
 * After a search, `cookie` is where the next search starts and `more` says whether this round
 * stopped early (repeat with the new cookie until it is false).
 */
export class DirSyncControl extends Control {
  static readonly OID = '1.2.840.113556.1.4.841';
  cookie: Buffer;
  more = false;
  /** Whether the server answered the control at all (a server without DirSync ignores it…). */
  answered = false;

  constructor(
    cookie: Buffer = Buffer.alloc(0),
    private readonly flags = LDAP_DIRSYNC_OBJECT_SECURITY | LDAP_DIRSYNC_INCREMENTAL_VALUES,
  ) {
    super(DirSyncControl.OID, { critical: true });
    this.cookie = cookie;
  }

  override writeControl(writer: BerWriter): void {
    const value = new BerWriter();
    value.startSequence();
    value.writeInt(this.flags | 0); // an INTEGER: the high bit makes it negative, as AD expects
    value.writeInt(MAX_BYTES);
    value.writeBuffer(this.cookie, 0x04);
    value.endSequence();
    writer.writeBuffer(value.buffer, 0x04);
  }

  override parseControl(reader: BerReader): void {
    if (!reader.readSequence()) return;
    this.answered = true;
    this.more = (reader.readInt() ?? 0) !== 0;
    reader.readInt();
    this.cookie = reader.readString(0x04, true) ?? Buffer.alloc(0);
  }
}

/** Show deleted objects (tombstones under CN=Deleted Objects) in a search. */
export class ShowDeletedControl extends Control {
  static readonly OID = '1.2.840.113556.1.4.417';
  constructor() {
    super(ShowDeletedControl.OID, { critical: true });
  }
}

/** The delta cursor of an Active Directory directory (JSON, stored by sync as text). */
export interface AdCursor {
  v: 1;
  kind: 'ad-dirsync';
  /** dsServiceName of the DC the cursor belongs to (USNs are per DC). */
  dc: string;
  /** That DC's invocationId when the cursor was taken: a restore from backup changes it. */
  invocationId: string;
  /** Its highestCommittedUSN, read before the DirSync search: a restored DC is behind it. */
  usn: string;
  /** The DirSync cookie, base64. */
  cookie: string;
  /** Fingerprint of the configuration the cursor was taken for (bases, filter, groups, mapping). */
  config: string;
}

export function encodeAdCursor(c: Omit<AdCursor, 'v' | 'kind'>): string {
  const cursor: AdCursor = { v: 1, kind: 'ad-dirsync', ...c };
  return JSON.stringify(cursor);
}

/** The cursor, or the reason it is not one of ours (the caller rejects it with that reason). */
export function decodeAdCursor(text: string): AdCursor | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return 'the cursor is not an Active Directory DirSync cursor';
  }
  const c = parsed as Partial<AdCursor> | null;
  if (
    !c ||
    c.v !== 1 ||
    c.kind !== 'ad-dirsync' ||
    typeof c.dc !== 'string' ||
    typeof c.invocationId !== 'string' ||
    typeof c.usn !== 'string' ||
    !/^\d+$/.test(c.usn) ||
    typeof c.cookie !== 'string' ||
    typeof c.config !== 'string'
  ) {
    return 'the cursor is not an Active Directory DirSync cursor';
  }
  return c as AdCursor;
}

/** A short, stable fingerprint of what decides the scope and the records of a directory. */
export function adConfigFingerprint(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 22);
}
