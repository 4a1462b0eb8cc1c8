import { FULL, SIMPLE_RUNS } from './case-fold.table.js';

export { CASE_FOLDING_VERSION } from './case-fold.table.js';

/**
 * What code points fold to: `BMP[cp]` is an index into `FOLDED` (0: the code point does not
 * fold) for the Basic Multilingual Plane — a typed-array read per UTF-16 unit, which is most of
 * the cost of folding a name — and `ASTRAL` for the rest (Deseret, Adlam, …).
 */
const FOLDED: string[] = [''];
const BMP = new Uint16Array(0x10000);
const ASTRAL = new Map<number, string>();
function addFold(cp: number, to: string): void {
  if (cp > 0xffff) {
    ASTRAL.set(cp, to);
    return;
  }
  BMP[cp] = FOLDED.length;
  FOLDED.push(to);
}
for (const [from, count, stride, delta] of SIMPLE_RUNS) {
  for (let i = 0; i < count; i += 1) {
    const cp = from + i * stride;
    addFold(cp, String.fromCodePoint(cp + delta));
  }
}
for (const [from, ...to] of FULL) addFold(from!, String.fromCodePoint(...to));

/**
 * Unicode full case folding (toCasefold, CaseFolding.txt statuses C + F; not the Turkic T):
 * `ß` → `ss`, `ẞ` → `ss`, `ﬁ` → `fi`, `Σ` and `ς` → `σ`, Cherokee small letters → capitals,
 * `İ` → `i` + U+0307. No normalisation: see `nameKey()` for what names are compared by.
 */
export function caseFold(value: string): string {
  let out = '';
  let copied = 0;
  for (let i = 0; i < value.length; i += 1) {
    const unit = value.charCodeAt(i);
    if (unit < 0x41) continue;
    let folded: string | undefined;
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < value.length) {
      const low = value.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        folded = ASTRAL.get(((unit - 0xd800) << 10) + (low - 0xdc00) + 0x10000);
        if (folded !== undefined) {
          out += value.slice(copied, i) + folded;
          copied = i + 2;
        }
        i += 1;
        continue;
      }
    }
    const index = BMP[unit]!;
    if (index === 0) continue;
    out += value.slice(copied, i) + FOLDED[index]!;
    copied = i + 1;
  }
  return copied === 0 ? value : out + value.slice(copied);
}

/** D145 as written, but stored NFC (see `nameKey()`): the reference the shortcuts must equal. */
export function canonicalCaselessKey(value: string): string {
  return caseFold(value.normalize('NFD')).normalize('NFC');
}

// eslint-disable-next-line no-control-regex -- ASCII is U+0000–U+007F, control characters included
const ASCII = /^[\u0000-\u007f]*$/;

/**
 * Below U+0300 every character is NFC and none composes with another (the combining marks start
 * there; case-fold.test.ts checks every pair): text of such characters is its own NFC, and
 * most non-ASCII names (Latin letters with accents, ß, Ø, Ł) skip the ICU call.
 */
function below(value: string, limit: number): boolean {
  for (let i = 0; i < value.length; i += 1) if (value.charCodeAt(i) >= limit) return false;
  return true;
}

/**
 * The key usernames, aliases and group names are compared by everywhere in dirsync: Unicode
 * canonical caseless matching (The Unicode Standard, 3.13, D145: NFD(toCasefold(NFD(X)))),
 * stored in NFC. Two names are the same name exactly when their keys are equal:
 * `Straße` = `STRASSE`, `ﬁona` = `Fiona`, `ΟΔΥΣΣΕΥΣ` = `οδυσσευς`, `Zoë` composed = `Zoe` +
 * U+0308.
 *
 * - NFD before folding, because folding is not closed under canonical equivalence: U+0345
 *   (ypogegrammeni) folds to ι, and where it sits decides the result: `ῃ` + U+0301 as a source
 *   may send it folds, as it stands, to η + ί, but it is canonically `ῄ`, which folds to ή + ι.
 * - Normalised after folding, because folding can produce a non-normalised string (U+0130 `İ`
 *   → `i` + U+0307; U+01F0 `ǰ` → `j` + U+030C). D145 says NFD; we store NFC of the same
 *   string instead: two strings have equal NFD exactly when they have equal NFC, so the keys
 *   match the same names, and NFC keeps a key as short as the name and equal to what the key
 *   was before full folding for most names (`zoë`, `anna`), which keeps key order, and most
 *   existing keys, unchanged.
 * - Canonical, not compatibility (NFKC_Casefold, D147): `①` and `1`, full-width `Ａ` and `A`
 *   stay different names, as they were; full folding already matches the compatibility
 *   ligatures case folding knows (`ﬁ`, `ﬀ`, `ﬆ`).
 * - Shortcuts, with the same result (tested against `canonicalCaselessKey()` for every code
 *   point): pure ASCII (most names) is its own NFD and NFC and folds by A–Z → a–z only, so it
 *   skips the ICU calls; other names are folded from NFC — ICU checks an NFC string quickly,
 *   while NFD would decompose every accented letter and NFC compose it again — because the
 *   only characters whose folding depends on the form are U+0345 and those whose
 *   decomposition has it (Unicode 3.13), all in Greek Extended: such names take the NFD path.
 *   Folding a lower-cased name gives the same as folding the name, and V8's toLowerCase is
 *   native: the table loop (and the last NFC) runs only for names that still have a character
 *   that folds (`ß`, `ς`, `ﬁ`, Cherokee, …). Measured: `node bench/name-key.mjs`.
 */
export function nameKey(value: string): string {
  if (ASCII.test(value)) return value.toLowerCase();
  const nfc = below(value, 0x300) ? value : value.normalize('NFC');
  const lower = nfc.toLowerCase();
  // One pass over the lower-cased name decides which of the remaining steps it needs.
  let folds = false;
  let marks = false;
  for (let i = 0; i < lower.length; i += 1) {
    const unit = lower.charCodeAt(i);
    if (unit < 0xb5) continue; // no folding below µ
    if (BMP[unit] !== 0) folds = true;
    if (unit < 0x300) continue; // nothing composes below the combining marks
    marks = true;
    // U+0345 (ypogegrammeni) and the Greek Extended letters that decompose to contain it: the
    // only characters whose folding depends on the normalisation form.
    if (unit === 0x345 || (unit >= 0x1f80 && unit <= 0x1fff)) return canonicalCaselessKey(nfc);
    if (unit >= 0xd800 && unit <= 0xdbff) folds = true; // outside the BMP: the loop looks
  }
  if (folds) return caseFold(lower).normalize('NFC');
  // Lower-casing can make a letter that composes with the next mark (Ϊ + U+0300 → ῒ).
  return marks && lower !== nfc ? lower.normalize('NFC') : lower;
}
