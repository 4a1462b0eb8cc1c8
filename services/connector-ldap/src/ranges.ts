/**
 * Ranged attribute retrieval (Active Directory, MS-ADTS 3.1.1.3.1.3.3): a server may answer a
 * request for `member` with `member;range=0-1499` — the first values only — and the client asks
 * for `member;range=1500-*` and so on until an answer's range ends in `*`. Windows does this
 * unasked once a group has more values than MaxValRange (1,500); Samba only when the client asks
 * for a range. Both answers go through {@link collectRanged}.
 */
import type { Entry } from 'ldapts';

export interface RangedValues {
  values: (string | Buffer)[];
  /** Where the next range starts; undefined when the values are complete. */
  next: number | undefined;
}

const RANGE = /^range=(\d+)-(\d+|\*)$/i;

/**
 * Every value of `attribute` in an entry — plain, or under a `;range=LO-HI` option — and the
 * start of the next range when the server said there are more (HI is a number, not `*`).
 */
export function collectRanged(entry: Entry, attribute: string): RangedValues {
  const want = attribute.toLowerCase();
  const values: (string | Buffer)[] = [];
  let next: number | undefined;
  for (const key of Object.keys(entry)) {
    if (key === 'dn') continue;
    const [name, ...options] = key.split(';');
    if (name?.toLowerCase() !== want) continue;
    const raw = entry[key];
    const got = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
    // ldapts adds every requested attribute the server did not return as [] (asked for
    // member;range=0-1499, got member;range=0-*): an empty range says nothing.
    if (got.length === 0) continue;
    values.push(...got);
    for (const option of options) {
      const m = RANGE.exec(option);
      if (!m || m[2] === '*') continue;
      const hi = Number(m[2]);
      next = next === undefined ? hi + 1 : Math.max(next, hi + 1);
    }
  }
  return { values, next };
}

/** The attribute description asking for values from `start` on: `member;range=1500-*`. */
export function rangeFrom(attribute: string, start: number): string {
  return `${attribute};range=${start}-*`;
}

/** The attribute description asking for the first `size` values: `member;range=0-1499`. */
export function firstRange(attribute: string, size: number): string {
  return `${attribute};range=0-${size - 1}`;
}
