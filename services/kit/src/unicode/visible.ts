/**
 * Login names must look like what they are. Usernames and aliases are compared by full case
 * folding (`nameKey`), which keeps invisible characters: `ali\u200Bce` is another user than
 * `alice` but looks the same, and `\u202Eecila` shows as `alice` reversed. So names carrying
 * characters that render as nothing, as a blank other than the space, or reorder the text are
 * refused, in the spirit of PRECIS (RFC 8264 §9: IdentifierClass disallows control, format,
 * default-ignorable, space and private-use code points):
 *
 * - control and format characters, surrogates and private use (`\p{Cc}`, `\p{Cf}`, `\p{Cs}`,
 *   `\p{Co}`), and default-ignorable code points (`\p{Default_Ignorable_Code_Point}`): zero-width
 *   space, soft hyphen, word joiner, BOM, bidi controls (U+202A–202E, U+2066–2069, U+200E/200F,
 *   U+061C), interlinear annotation, variation selectors (so emoji presentation sequences too),
 *   Hangul fillers, … — except ZWNJ (U+200C) and ZWJ (U+200D) where a script shapes with them:
 *   after a combining mark of such a script (an Indic virama), or between two letters of a
 *   cursive-joining script (Arabic, Syriac, N'Ko, Mongolian, …) — PRECIS's CONTEXTJ, simplified;
 * - blanks other than the ASCII space (`\p{Zs}` but U+0020, line and paragraph separators, the
 *   braille blank U+2800) and U+FFFC; the ASCII space stays (Active Directory allows it);
 * - a combining mark first (it joins whatever stands before the name on screen).
 */
const REFUSED =
  /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Default_Ignorable_Code_Point}\p{Zl}\p{Zp}\u2800\uFFFC]|(?! )\p{Zs}/u;
const MARK = /\p{M}/u;
const LETTER = /\p{L}/u;
const JOINER_FREE_SCRIPT =
  /[\p{Script=Latin}\p{Script=Greek}\p{Script=Cyrillic}\p{Script=Common}\p{Script=Inherited}]/u;
const CURSIVE_SCRIPT =
  /[\p{Script=Arabic}\p{Script=Syriac}\p{Script=Nko}\p{Script=Mongolian}\p{Script=Mandaic}\p{Script=Adlam}\p{Script=Hanifi_Rohingya}\p{Script=Manichaean}\p{Script=Psalter_Pahlavi}\p{Script=Sogdian}]/u;
const LEADING_MARK = /^\p{M}/u;

const hex = (c: string) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** Whether the ZWNJ/ZWJ between `before` and `after` is one a script shapes with. */
function shapingJoiner(before: string | undefined, after: string | undefined): boolean {
  if (before === undefined) return false;
  if (MARK.test(before) && !JOINER_FREE_SCRIPT.test(before)) return true;
  return (
    after !== undefined &&
    LETTER.test(before) &&
    LETTER.test(after) &&
    CURSIVE_SCRIPT.test(before) &&
    CURSIVE_SCRIPT.test(after)
  );
}

/** Why `name` cannot be a username or alias (a sentence fragment), or undefined when it can. */
export function invisibleNameProblem(name: string): string | undefined {
  if (LEADING_MARK.test(name)) return `starts with a combining mark (${hex(name)})`;
  if (!REFUSED.test(name)) return undefined;
  const chars = [...name];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (!REFUSED.test(c)) continue;
    if ((c === '\u200c' || c === '\u200d') && shapingJoiner(chars[i - 1], chars[i + 1])) continue;
    return `contains an invisible, blank or direction-changing character (${hex(c)})`;
  }
  return undefined;
}
