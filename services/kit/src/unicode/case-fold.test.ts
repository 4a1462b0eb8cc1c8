import { describe, expect, it } from 'vitest';
import { CASE_FOLDING_VERSION, canonicalCaselessKey, caseFold, nameKey } from './case-fold.js';

/** The generator (plain JS, run by hand); a variable specifier keeps tsc from typing it. */
const GENERATOR = '../../scripts/case-fold-table.mjs';

const cps = (s: string) => [...s].map((c) => `U+${c.codePointAt(0)!.toString(16).toUpperCase()}`);

describe('the case-fold table', () => {
  it('is what the generator makes from the Unicode data package (run the script if not)', async () => {
    const generator = (await import(GENERATOR)) as {
      render(): Promise<string>;
      committed(): Promise<string>;
      UNICODE_VERSION: string;
    };
    expect(generator.UNICODE_VERSION).toBe(CASE_FOLDING_VERSION);
    expect(await generator.render()).toBe(await generator.committed());
  });

  it('folds every code point as CaseFolding.txt C + F says, and nothing else', async () => {
    const pkg = `@unicode/unicode-${CASE_FOLDING_VERSION}`;
    const load = async (status: string) =>
      (await import(`${pkg}/Case_Folding/${status}/code-points.mjs`)).default as Map<
        number,
        number | number[]
      >;
    const expected = new Map<number, string>();
    for (const status of ['C', 'F']) {
      for (const [from, to] of await load(status)) {
        expected.set(from, String.fromCodePoint(...(typeof to === 'number' ? [to] : to)));
      }
    }
    let folded = 0;
    for (let cp = 0; cp <= 0x10ffff; cp += 1) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const s = String.fromCodePoint(cp);
      const want = expected.get(cp) ?? s;
      if (caseFold(s) !== want) expect(cps(caseFold(s)), `U+${cp.toString(16)}`).toEqual(cps(want));
      if (want !== s) folded += 1;
    }
    expect(folded).toBe(expected.size);
    // Turkic (T) foldings are not applied: I is i, not dotless ı.
    expect(caseFold('I')).toBe('i');
  });
});

describe('nameKey()', () => {
  const same = (a: string, b: string) => expect(nameKey(a), `${a} / ${b}`).toBe(nameKey(b));
  const different = (a: string, b: string) =>
    expect(nameKey(a), `${a} / ${b}`).not.toBe(nameKey(b));

  it('folds ß and ẞ to ss', () => {
    same('Straße', 'STRASSE');
    same('straße', 'strasse');
    same('STRAẞE', 'strasse');
    expect(nameKey('Straße')).toBe('strasse');
  });

  it('folds ligatures the way full case folding does', () => {
    same('\ufb01ona', 'Fiona');
    same('\ufb00', 'FF');
    same('\ufb06', 'ST');
  });

  it('matches final and non-final sigma (toLowerCase keeps them apart)', () => {
    same('ΟΔΥΣΣΕΥΣ', 'οδυσσευς');
    same('ΟΔΥΣΣΕΥΣ.x', 'οδυσσευσ.x');
    same('Σ', 'ς');
    same('οδυσσευς', 'οδυσσευσ');
    expect('ΟΔΥΣΣΕΥΣ'.toLowerCase()).not.toBe('οδυσσευσ');
    expect(nameKey('ς')).toBe('σ');
  });

  it('folds İ to i + U+0307 (not Turkic): different from i and from ı', () => {
    same('İ', 'i\u0307');
    expect(cps(nameKey('İ'))).toEqual(['U+69', 'U+307']);
    different('İ', 'i');
    different('I', 'ı');
    same('I', 'i');
  });

  it('matches Cherokee small letters and capitals (both fold to the capitals)', () => {
    same('\uab70', '\u13a0');
    same('\u13f8', '\u13f0');
    expect(nameKey('\uab70\uab71')).toBe('\u13a0\u13a1');
  });

  it('folds letters outside the BMP', () => {
    same('\u{10400}', '\u{10428}'); // Deseret
    same('\u{1e900}', '\u{1e922}'); // Adlam
  });

  it('gives NFC and NFD input the same key, stored in NFC', () => {
    same('Zo\u00eb', 'ZOE\u0308');
    same('\u00c5sa', 'A\u030aSA');
    same('\u212bsa', '\u00e5sa'); // Angstrom sign: canonically Å
    expect(nameKey('ZOE\u0308')).toBe('zo\u00eb');
  });

  it('normalises before folding: the place of a combining mark decides what folds', () => {
    // ῃ + acute as a source may send it is canonically ῄ; folded as it stands it is η + ί.
    same('\u1fc3\u0301', '\u1fc4');
    expect(caseFold('\u1fc3\u0301').normalize('NFC')).not.toBe(nameKey('\u1fc4'));
    same('\u0399\u0308\u0301', '\u0390'); // Ϊ́ and ΐ (F: ι + U+0308 + U+0301)
  });

  it('keeps different marks and letters different', () => {
    different('alice', 'alicé');
    different('e\u0301', 'e\u0300');
    different('\u00e9', 'e');
    different('anna', 'anna2');
  });

  it('is a key: folding a key again changes nothing, for every assigned code point', () => {
    const unassigned = /^[\p{Cn}\p{Co}\p{Cs}]$/u;
    for (let cp = 0; cp <= 0x10ffff; cp += 1) {
      const s = String.fromCodePoint(cp);
      if (unassigned.test(s)) continue;
      const k = nameKey(s);
      if (nameKey(k) !== k) expect(cps(nameKey(k)), `U+${cp.toString(16)}`).toEqual(cps(k));
    }
  });

  it('takes its shortcuts only where they give the full computation (NFD, fold, NFC)', async () => {
    const same = (s: string) => {
      const k = nameKey(s);
      if (k !== canonicalCaselessKey(s))
        expect(cps(k), cps(s).join(' ')).toEqual(cps(canonicalCaselessKey(s)));
    };
    // Unassigned and private-use code points have no folding and no decomposition.
    const unassigned = /^[\p{Cn}\p{Co}\p{Cs}]$/u;
    for (let cp = 0; cp <= 0x10ffff; cp += 1) {
      const s = String.fromCodePoint(cp);
      if (unassigned.test(s)) continue;
      same(s);
      same(`x${s}Y`);
      // The NFD path is taken for U+0345 and everything that decomposes to contain it.
      if (s.normalize('NFD').includes('\u0345')) {
        expect(cp === 0x345 || (cp >= 0x1f80 && cp <= 0x1fff), `U+${cp.toString(16)}`).toBe(true);
      }
    }
    // Below U+0300 every character is NFC and composes with none (nameKey skips NFC there).
    for (let a = 0; a < 0x300; a += 1) {
      for (let b = 0; b < 0x300; b += 1) {
        const s = String.fromCharCode(a, b);
        if (s.normalize('NFC') !== s) expect(cps(s.normalize('NFC'))).toEqual(cps(s));
      }
    }
    // Every folding letter before and after marks of each combining class that names carry
    // (above, below, cedilla/ogonek, overlay, double, Greek).
    const pkg = `@unicode/unicode-${CASE_FOLDING_VERSION}`;
    const folding = [
      ...(await import(`${pkg}/Case_Folding/C/code-points.mjs`)).default.keys(),
      ...(await import(`${pkg}/Case_Folding/F/code-points.mjs`)).default.keys(),
    ] as number[];
    for (const mark of [
      0x300, 0x301, 0x307, 0x308, 0x30a, 0x30c, 0x313, 0x314, 0x323, 0x327,
    ].concat([0x328, 0x331, 0x334, 0x338, 0x342, 0x35c, 0x361, 0x5b4, 0x93c, 0x3099])) {
      const m = String.fromCodePoint(mark);
      for (const cp of folding) {
        const c = String.fromCodePoint(cp);
        same(c + m);
        same(m + c);
        same(`${c}\u0345${m}`);
      }
    }
  });
});
