/**
 * Login names must look like what they are. Usernames and aliases are compared by full case
 * folding (`nameKey`), which keeps invisible characters: `ali\u200Bce` is another user than
 * `alice` but looks the same, and `\u202Eecila` shows as `alice` reversed. So names carrying
 * characters that render as nothing or reorder the text are refused, in the spirit of PRECIS
 * (RFC 8264 §9: IdentifierClass disallows default-ignorable and control code points):
 *
 * - control characters (`\p{Cc}`);
 * - default-ignorable code points (`\p{Default_Ignorable_Code_Point}`): zero-width space, soft
 *   hyphen, word joiner, BOM, bidi controls (U+202A–202E, U+2066–2069, U+200E/200F, U+061C),
 *   variation selectors, Hangul fillers, … — except ZWNJ (U+200C) and ZWJ (U+200D) between two
 *   letters of a script that needs them for shaping (Arabic, the Indic scripts, …), never beside
 *   Latin, Greek or Cyrillic (PRECIS's CONTEXTJ rule, simplified);
 * - a combining mark first (it joins whatever stands before the name on screen).
 */
const INVISIBLE = /[\p{Cc}\p{Default_Ignorable_Code_Point}]/u;
const LETTER = /[\p{L}\p{M}]/u;
const JOINER_FREE_SCRIPT =
  /[\p{Script=Latin}\p{Script=Greek}\p{Script=Cyrillic}\p{Script=Common}\p{Script=Inherited}]/u;
const LEADING_MARK = /^\p{M}/u;

const hex = (c: string) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** Why `name` cannot be a username or alias (a sentence fragment), or undefined when it can. */
export function invisibleNameProblem(name: string): string | undefined {
  if (LEADING_MARK.test(name)) return `starts with a combining mark (${hex(name)})`;
  if (!INVISIBLE.test(name)) return undefined;
  const chars = [...name];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (!INVISIBLE.test(c)) continue;
    if (c === '\u200c' || c === '\u200d') {
      const before = chars[i - 1];
      const after = chars[i + 1];
      const shaping =
        before !== undefined &&
        after !== undefined &&
        LETTER.test(before) &&
        LETTER.test(after) &&
        !JOINER_FREE_SCRIPT.test(before) &&
        !JOINER_FREE_SCRIPT.test(after);
      if (shaping) continue;
    }
    return `contains an invisible or direction-changing character (${hex(c)})`;
  }
  return undefined;
}
