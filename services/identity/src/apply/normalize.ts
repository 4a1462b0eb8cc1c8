import { createHash } from 'node:crypto';
import type { ObservedGroup, ObservedUser } from '@dirsync/proto';

/**
 * The comparison key of a username, alias or group name: Unicode NFC, then lower case. Two
 * usernames with the same key are the same username.
 */
export function nameKey(value: string): string {
  return value.normalize('NFC').toLowerCase();
}

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
  const v = value.normalize('NFC').trim();
  return v === '' ? null : v;
}

function hash(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url');
}

/** Normalise an observed user; `undefined` when it lacks an external id or a username. */
export function normalizeUser(u: ObservedUser): NormalizedUser | undefined {
  const externalId = u.externalId.trim();
  const username = text(u.username);
  if (!externalId || !username) return undefined;
  const aliases: string[] = [];
  for (const a of u.aliases) {
    const v = text(a);
    if (v !== null && !aliases.includes(v)) aliases.push(v);
  }
  const phones = u.phones
    .map((p) => ({ number: p.number.trim(), kind: p.kind.trim() }))
    .filter((p) => p.number !== '');
  const customAttributes: Record<string, string> = {};
  for (const name of Object.keys(u.customAttributes).sort()) {
    customAttributes[name] = (u.customAttributes[name] ?? '').normalize('NFC');
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
  // Positional array: a field added later changes every hash once, never collides.
  const contentHash = hash([
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
  return { ...n, contentHash };
}

export function normalizeGroup(g: ObservedGroup): NormalizedGroup | undefined {
  const externalId = g.externalId.trim();
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
