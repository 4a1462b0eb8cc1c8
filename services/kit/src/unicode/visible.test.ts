import { describe, expect, it } from 'vitest';
import { invisibleNameProblem } from './visible.js';

describe('#invisibleNameProblem()', () => {
  it('accepts names in any script, with their marks', () => {
    for (const name of [
      'alice',
      'Zoë',
      'straße',
      'İstanbul',
      'οδυσσέας',
      'иван',
      'محمد',
      'जॉन',
      'ka\u0301',
    ]) {
      expect(invisibleNameProblem(name), name).toBeUndefined();
    }
  });

  it('refuses invisible, direction-changing and control characters, naming the code point', () => {
    expect(invisibleNameProblem('ali\u200bce')).toBe(
      'contains an invisible, blank or direction-changing character (U+200B)',
    );
    expect(invisibleNameProblem('\u200b')).toContain('U+200B');
    expect(invisibleNameProblem('\u202eecila')).toContain('U+202E');
    expect(invisibleNameProblem('a\u2066b')).toContain('U+2066');
    expect(invisibleNameProblem('soft\u00adhyphen')).toContain('U+00AD');
    expect(invisibleNameProblem('\ufeffbom')).toContain('U+FEFF');
    expect(invisibleNameProblem('han\u3164gul')).toContain('U+3164');
    expect(invisibleNameProblem('tab\there')).toContain('U+0009');
    // Format characters that are not default-ignorable, blanks, private use.
    expect(invisibleNameProblem('ali\ufff9ce')).toContain('U+FFF9');
    for (const blank of [
      '\u00a0',
      '\u2002',
      '\u3000',
      '\u2028',
      '\u2029',
      '\u2800',
      '\ufffc',
      '\ue000',
    ]) {
      expect(invisibleNameProblem(`ali${blank}ce`), blank).toContain(
        `U+${blank.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`,
      );
    }
    // Emoji presentation selectors and ZWJ sequences are format/ignorable code points too.
    expect(invisibleNameProblem('bob\u2764\ufe0f')).toContain('U+FE0F');
  });

  it('keeps the ASCII space (Active Directory allows it)', () => {
    expect(invisibleNameProblem('John Smith')).toBeUndefined();
  });

  it('refuses a leading combining mark', () => {
    expect(invisibleNameProblem('\u0301')).toBe('starts with a combining mark (U+0301)');
    expect(invisibleNameProblem('\u0301abc')).toContain('combining mark');
  });

  it('keeps ZWNJ/ZWJ where a script shapes with them, never beside Latin', () => {
    // Persian "mi-khaham" written with a ZWNJ between two Arabic-script letters.
    expect(
      invisibleNameProblem('\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645'),
    ).toBeUndefined();
    // Devanagari: KA + VIRAMA + ZWJ + SSA.
    expect(invisibleNameProblem('\u0915\u094d\u200d\u0937')).toBeUndefined();
    // Malayalam chillu in the older encoding: NA + VIRAMA + ZWJ at the end.
    expect(invisibleNameProblem('\u0d28\u0d4d\u200d')).toBeUndefined();
    expect(invisibleNameProblem('ali\u200dce')).toContain('U+200D');
    expect(invisibleNameProblem('\u200cabc')).toContain('U+200C');
    // Thai does not shape with ZWNJ.
    expect(invisibleNameProblem('\u0e01\u200c\u0e02')).toContain('U+200C');
  });
});
