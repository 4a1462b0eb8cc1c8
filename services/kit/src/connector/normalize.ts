import { ErrorCode, ObservedUserSchema, create, type ObservedUser } from '@dirsync/proto';
import { normalizePhone, type PhoneResult } from '../phone.js';
import { nameKey } from '../unicode/case-fold.js';
import type { SourceObjectError, SourceUser } from './types.js';

/** At most this many aliases per user; more are dropped and reported as `LIMIT_EXCEEDED`. */
export const MAX_ALIASES = 8;
/**
 * At most this many phone numbers per user; more are dropped and reported as `LIMIT_EXCEEDED`.
 * The same limit identity applies (docs/lifecycle.md#limits-per-user).
 */
export const MAX_PHONES = 100;
/** Longest accepted attribute value (characters); longer values are reported as `INVALID_ATTRIBUTE`. */
export const MAX_VALUE_LENGTH = 1024;

const NON_ASCII = /[\u0080-\uffff]/;

/**
 * The key usernames are compared by everywhere in dirsync (`nameKey()`: canonical caseless
 * matching, full case folding). `"JDoe"` and `"jdoe"` are the same user; so are `"Straße"` and
 * `"STRASSE"`, and a precomposed and a decomposed `"é"`.
 */
export function usernameKey(username: string): string {
  return nameKey(username);
}

/** Trim + NFC; `undefined` for empty. */
export function cleanText(value: string | undefined | null): string | undefined {
  if (value === undefined || value === null) return undefined;
  // NFC cannot change pure ASCII, and most directory values are ASCII: skip the ICU call.
  const v = (NON_ASCII.test(value) ? value.normalize('NFC') : value).trim();
  return v === '' ? undefined : v;
}

/**
 * Phone parsing (libphonenumber) costs tens of microseconds per number, and directories repeat
 * numbers a lot (switchboards, shared lines): remember recent results.
 */
const phoneCache = new Map<string, PhoneResult>();
const PHONE_CACHE_SIZE = 20_000;

function cachedPhone(raw: string, region: string): PhoneResult {
  const key = `${region}\u0000${raw}`;
  let result = phoneCache.get(key);
  if (result === undefined) {
    result = normalizePhone(raw, region);
    if (phoneCache.size >= PHONE_CACHE_SIZE) phoneCache.clear();
    phoneCache.set(key, result);
  }
  return result;
}

export interface NormalizedUser {
  /** `undefined` when the user must not be observed (no username/external id, value too long). */
  user: ObservedUser | undefined;
  /** Per-object problems found while normalising; reported even when the user is observed. */
  errors: SourceObjectError[];
}

/**
 * Normalise one source user into the wire `ObservedUser`. Pure: duplicate usernames are the
 * sink's concern because they need the run's state.
 */
export function normalizeUser(source: SourceUser, defaultRegion: string): NormalizedUser {
  const errors: SourceObjectError[] = [];
  const externalId = cleanText(source.externalId);
  const locator = cleanText(source.sourceLocator) ?? '';
  const where = locator || externalId || 'a user';
  const report = (code: ErrorCode, message: string) =>
    errors.push({ externalId: externalId ?? '', sourceLocator: locator, code, message });

  if (!externalId) {
    report(ErrorCode.MISSING_EXTERNAL_ID, `${where} has no external id; it is not imported`);
    return { user: undefined, errors };
  }
  const username = cleanText(source.username);
  if (!username) {
    report(ErrorCode.MISSING_USERNAME, `${where} has no value for the username attribute`);
    return { user: undefined, errors };
  }
  if (username.length > MAX_VALUE_LENGTH) {
    report(
      ErrorCode.INVALID_ATTRIBUTE,
      `${where}: the username is longer than ${MAX_VALUE_LENGTH} characters; the user is not imported`,
    );
    return { user: undefined, errors };
  }

  const field = (name: string, value: string | undefined): string => {
    const v = cleanText(value);
    if (v === undefined) return '';
    if (v.length > MAX_VALUE_LENGTH) {
      report(
        ErrorCode.INVALID_ATTRIBUTE,
        `${where}: ${name} is longer than ${MAX_VALUE_LENGTH} characters; it is not imported`,
      );
      return '';
    }
    return v;
  };

  const aliases: string[] = [];
  const aliasKeys = new Set([usernameKey(username)]);
  let droppedAliases = 0;
  for (const raw of source.aliases ?? []) {
    const alias = field('an alias', raw);
    if (!alias) continue;
    const key = usernameKey(alias);
    if (aliasKeys.has(key)) continue;
    aliasKeys.add(key);
    if (aliases.length >= MAX_ALIASES) droppedAliases++;
    else aliases.push(alias);
  }
  if (droppedAliases > 0) {
    report(
      ErrorCode.LIMIT_EXCEEDED,
      `${where} has ${aliases.length + droppedAliases} aliases; only the first ${MAX_ALIASES} are imported`,
    );
  }

  const phones: { number: string; kind: string }[] = [];
  const seenNumbers = new Set<string>();
  let droppedPhones = 0;
  for (const { value, kind } of source.phones ?? []) {
    if (cleanText(value) === undefined) continue;
    const result = cachedPhone(value, defaultRegion);
    if (!result.ok) {
      report(
        ErrorCode.INVALID_PHONE,
        `${where}: ${kind} ${result.reason}; the user is imported without it`,
      );
      continue;
    }
    if (seenNumbers.has(result.e164)) continue;
    seenNumbers.add(result.e164);
    if (phones.length >= MAX_PHONES) droppedPhones++;
    else phones.push({ number: result.e164, kind });
  }
  if (droppedPhones > 0) {
    report(
      ErrorCode.LIMIT_EXCEEDED,
      `${where} has ${phones.length + droppedPhones} phone numbers; only the first ${MAX_PHONES} are imported`,
    );
  }

  const customAttributes: Record<string, string> = {};
  for (const [rawName, rawValue] of Object.entries(source.customAttributes ?? {})) {
    const name = cleanText(rawName);
    if (!name) continue;
    const value = field(`custom attribute "${name}"`, rawValue);
    if (value) customAttributes[name] = value;
  }

  const user = create(ObservedUserSchema, {
    externalId,
    username,
    aliases,
    email: field('the e-mail', source.email),
    firstName: field('the first name', source.firstName),
    lastName: field('the last name', source.lastName),
    displayName: field('the display name', source.displayName),
    phones,
    disabled: source.disabled === true,
    customAttributes,
    sourceLocator: locator,
  });
  return { user, errors };
}
