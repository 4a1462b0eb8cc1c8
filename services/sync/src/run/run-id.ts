/**
 * Short run ids. The console and `dirsync runs list` show a run by the first 8 characters of its
 * UUID; `runs(idPrefix:)` finds runs by such a prefix. A prefix is turned into the range of UUIDs
 * that start with it, so the lookup walks the primary key instead of casting every id to text.
 */
const TEMPLATE = 'xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx';

/**
 * The smallest and largest UUIDs starting with `prefix` (case-insensitive, dashes where a UUID
 * has them: `3f2a9c1b`, `3f2a9c1b-07`), or undefined when `prefix` cannot start a UUID.
 */
export function uuidPrefixRange(prefix: string): { from: string; to: string } | undefined {
  const p = prefix.trim().toLowerCase();
  if (p.length === 0 || p.length > TEMPLATE.length) return undefined;
  for (let i = 0; i < p.length; i++) {
    const ok = TEMPLATE[i] === '-' ? p[i] === '-' : /[0-9a-f]/.test(p[i]!);
    if (!ok) return undefined;
  }
  const rest = TEMPLATE.slice(p.length);
  return {
    from: p + rest.replaceAll('x', '0'),
    to: p + rest.replaceAll('x', 'f'),
  };
}
