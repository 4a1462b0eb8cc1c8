import { parsePhoneNumberWithError, type CountryCode } from 'libphonenumber-js';

/** The result of normalising one phone value from a source. */
export type PhoneResult = { ok: true; e164: string } | { ok: false; reason: string };

/** Longest phone value an error message repeats. */
export const SHOWN_PHONE_LENGTH = 32;

/**
 * What a mistyped number looks like: digits, `+`, spaces, `-`, `.`, `/`, parentheses and an
 * extension (`ext. 12`, `x12`, `#12`). Only such a value is repeated in an error.
 */
const PHONE_LIKE = /^[0-9+\-(). /]*(?:(?:ext\.?|x|#) ?[0-9]*)?$/i;

/**
 * The offending value as an error names it. A phone attribute sometimes holds free text (a
 * note, a list of numbers, once in a while a password): only a value that looks like a number
 * and is at most {@link SHOWN_PHONE_LENGTH} characters is repeated; anything else is described
 * by its length, so a per-object error (stored, shown, logged) never carries it.
 */
export function shownPhoneValue(value: string): string {
  return value.length <= SHOWN_PHONE_LENGTH && PHONE_LIKE.test(value)
    ? `value "${value}"`
    : `value of ${value.length} characters (not shown)`;
}

/** libphonenumber's parse error codes, in words. */
const PARSE_ERRORS: Record<string, string> = {
  NOT_A_NUMBER: 'is not a phone number',
  TOO_SHORT: 'is too short for a phone number',
  TOO_LONG: 'is too long for a phone number',
  INVALID_LENGTH: 'has the wrong length for a phone number',
};

/**
 * Normalise a phone number to E.164. A number without a country code takes `defaultRegion`
 * (ISO 3166 alpha-2). Extensions are dropped (E.164 has none). Invalid numbers are reported, not
 * guessed; the reason names the value only as {@link shownPhoneValue} allows.
 */
export function normalizePhone(raw: string, defaultRegion: string): PhoneResult {
  const value = raw.trim();
  if (!value) return { ok: false, reason: 'empty' };
  const shown = shownPhoneValue(value);
  try {
    const region = (defaultRegion || undefined) as CountryCode | undefined;
    const parsed = parsePhoneNumberWithError(value, region ? { defaultCountry: region } : {});
    if (!parsed.isValid()) return { ok: false, reason: `${shown} is not a valid phone number` };
    return { ok: true, e164: parsed.number };
  } catch (err) {
    const code = (err as Error).message;
    const problem =
      code === 'INVALID_COUNTRY'
        ? value.startsWith('+') || defaultRegion
          ? 'has a country code that does not exist'
          : 'has no country code (+…) and there is no default region'
        : (PARSE_ERRORS[code] ?? 'is not a phone number');
    return { ok: false, reason: `${shown} ${problem}` };
  }
}
