import { createHash } from 'node:crypto';
import { invisibleNameProblem, nameKey } from '@dirsync/kit';
import { ErrorCode, type ObservedGroup, type ObservedUser } from '@dirsync/proto';

/**
 * Postgres `text` (and `jsonb`) cannot hold U+0000. Every string identity stores from an event
 * goes through here or through `hasNul()`: identifiers with a NUL are refused (no stored
 * record can have them, so they match nothing), any other text gets U+FFFD in its place.
 */
export function hasNul(value: string): boolean {
  return value.includes('\0');
}

/** `value` with every U+0000 replaced by U+FFFD (the replacement character). */
export function storable(value: string): string {
  return hasNul(value) ? value.replaceAll('\0', '\uFFFD') : value;
}

/**
 * The comparison key of a username, alias or group name (kit's `nameKey`: canonical caseless
 * matching with full Unicode case folding, stored NFC). Two usernames with the same key are the
 * same username. Keys are computed here, in TypeScript, only: SQL compares stored keys and never
 * computes one (the casefold migration computes them with this function too).
 */
export { nameKey };

/** A user as identity stores it: trimmed, NFC, empty strings as null, with its content hash. */
export interface NormalizedUser {
  externalId: string;
  username: string;
  usernameKey: string;
  aliases: string[];
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  displayName: string | null;
  phones: { number: string; kind: string }[];
  disabled: boolean;
  customAttributes: Record<string, string>;
  sourceLocator: string | null;
  contentHash: string;
}

export interface NormalizedGroup {
  externalId: string;
  name: string;
  nameKey: string;
  description: string | null;
  sourceLocator: string | null;
  contentHash: string;
}

function text(value: string): string | null {
  const v = storable(value).normalize('NFC').trim();
  return v === '' ? null : v;
}

function hash(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url');
}

/** Why a record cannot be stored (a per-object error of the run). */
export interface Unusable {
  code: ErrorCode;
  message: string;
}

/**
 * Why an observed user cannot be stored, or undefined when it can. Its external id and username
 * identify it, so a NUL there is not repaired: the record is reported as INVALID_ATTRIBUTE.
 */
export function unusableUser(u: ObservedUser): Unusable | undefined {
  if (!u.externalId.trim()) {
    return { code: ErrorCode.MISSING_EXTERNAL_ID, message: 'the user has no external id' };
  }
  if (hasNul(u.externalId)) {
    return { code: ErrorCode.INVALID_ATTRIBUTE, message: 'the external id contains U+0000' };
  }
  if (!u.username.trim()) {
    return { code: ErrorCode.MISSING_USERNAME, message: 'the user has no username' };
  }
  if (hasNul(u.username)) {
    return { code: ErrorCode.INVALID_ATTRIBUTE, message: 'the username contains U+0000' };
  }
  const invisible = invisibleNameProblem(u.username.trim().normalize('NFC'));
  if (invisible) {
    return {
      code: ErrorCode.INVALID_ATTRIBUTE,
      message: `the username ${JSON.stringify(u.username.trim())} ${invisible}: it would look like another name; the user is not imported`,
    };
  }
  return undefined;
}

/**
 * The aliases of a usable user that cannot be login names (`invisibleNameProblem`), each with why;
 * the user is imported without them.
 */
export function unusableAliases(u: ObservedUser): Unusable[] {
  const out: Unusable[] = [];
  for (const a of u.aliases) {
    // The alias as normalizeUser stores it (NULs already replaced): the same test, the same verdict.
    const v = text(a);
    const invisible = v ? invisibleNameProblem(v) : undefined;
    if (invisible) {
      out.push({
        code: ErrorCode.INVALID_ATTRIBUTE,
        message: `the alias ${JSON.stringify(a.trim())} ${invisible}: the user is imported without it`,
      });
    }
  }
  return out;
}

/** Why an observed group cannot be stored, or undefined when it can. */
export function unusableGroup(g: ObservedGroup): Unusable | undefined {
  if (!g.externalId.trim()) {
    return { code: ErrorCode.MISSING_EXTERNAL_ID, message: 'the group has no external id' };
  }
  if (hasNul(g.externalId)) {
    return { code: ErrorCode.INVALID_ATTRIBUTE, message: 'the external id contains U+0000' };
  }
  if (!text(g.name)) return { code: ErrorCode.INVALID_ATTRIBUTE, message: 'the group has no name' };
  return undefined;
}

/**
 * The external id `normalizeUser()` stores an observed user under, or undefined when it refuses
 * the record: whether a record is usable is decided here only. A batch's distinct ids are what
 * it adds to the run's `seen` (counted so while a dry run reads, without normalising the rest).
 */
export function storedUserId(u: ObservedUser): string | undefined {
  if (unusableUser(u)) return undefined;
  const externalId = u.externalId.trim();
  return externalId && text(u.username) ? externalId : undefined;
}

/** The same for groups (`normalizeGroup()`, `groupsSeen`). */
export function storedGroupId(g: ObservedGroup): string | undefined {
  if (unusableGroup(g)) return undefined;
  const externalId = g.externalId.trim();
  return externalId && text(g.name) ? externalId : undefined;
}

/**
 * Normalise an observed user; `undefined` when `unusableUser()` refuses it. Every other text
 * (aliases, names, email, phones, custom attribute names and values, locator) has its NULs
 * replaced by U+FFFD, before hashing, so the hash describes what is stored.
 */
export function normalizeUser(u: ObservedUser): NormalizedUser | undefined {
  const externalId = storedUserId(u);
  const username = text(u.username);
  if (!externalId || !username) return undefined;
  const aliases: string[] = [];
  for (const a of u.aliases) {
    const v = text(a);
    // (unusableAliases reports what is left out here.)
    if (v !== null && !aliases.includes(v) && !invisibleNameProblem(v)) aliases.push(v);
  }
  const phones = u.phones
    .map((p) => ({ number: storable(p.number).trim(), kind: storable(p.kind).trim() }))
    .filter((p) => p.number !== '');
  const customAttributes: Record<string, string> = {};
  for (const name of Object.keys(u.customAttributes).sort()) {
    customAttributes[storable(name)] = storable(u.customAttributes[name] ?? '').normalize('NFC');
  }
  const n = {
    externalId,
    username,
    usernameKey: nameKey(username),
    aliases,
    email: text(u.email),
    firstName: text(u.firstName),
    lastName: text(u.lastName),
    displayName: text(u.displayName),
    phones,
    disabled: u.disabled,
    customAttributes,
    sourceLocator: text(u.sourceLocator),
  };
  return { ...n, contentHash: userContentHash(n) };
}

/**
 * The content hash of a user as it is stored. The apply path recomputes it when it stores less
 * than was observed (an alias another user has, values beyond a limit), so that the stored
 * hash describes the stored row and the record is written again once the obstacle is gone.
 */
export function userContentHash(n: Omit<NormalizedUser, 'contentHash' | 'usernameKey'>): string {
  // Positional array: a field added later changes every hash once, never collides.
  return hash([
    1,
    n.username,
    n.aliases,
    n.email,
    n.firstName,
    n.lastName,
    n.displayName,
    n.phones.map((p) => [p.number, p.kind]),
    n.disabled,
    Object.entries(n.customAttributes),
    n.sourceLocator,
  ]);
}

/** Normalise an observed group; `undefined` when `unusableGroup()` refuses it. */
export function normalizeGroup(g: ObservedGroup): NormalizedGroup | undefined {
  const externalId = storedGroupId(g);
  const name = text(g.name);
  if (!externalId || !name) return undefined;
  const description = text(g.description);
  const sourceLocator = text(g.sourceLocator);
  return {
    externalId,
    name,
    nameKey: nameKey(name),
    description,
    sourceLocator,
    contentHash: hash([1, name, description, sourceLocator]),
  };
}
