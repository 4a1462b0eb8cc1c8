import { parsePhoneNumberWithError, type CountryCode } from 'libphonenumber-js';

/** The result of normalising one phone value from a source. */
export type PhoneResult = { ok: true; e164: string } | { ok: false; reason: string };

/**
 * Normalise a phone number to E.164. A number without a country code takes `defaultRegion`
 * (ISO 3166 alpha-2). Extensions are dropped (E.164 has none). Invalid numbers are reported, not
 * guessed.
 */
export function normalizePhone(raw: string, defaultRegion: string): PhoneResult {
  const value = raw.trim();
  if (!value) return { ok: false, reason: 'empty' };
  try {
    const region = (defaultRegion || undefined) as CountryCode | undefined;
    const parsed = parsePhoneNumberWithError(value, region ? { defaultCountry: region } : {});
    if (!parsed.isValid()) return { ok: false, reason: `"${value}" is not a valid phone number` };
    return { ok: true, e164: parsed.number };
  } catch (err) {
    return { ok: false, reason: `"${value}" is not a phone number (${(err as Error).message})` };
  }
}
