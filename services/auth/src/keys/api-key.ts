import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * An API key is `dsk_<prefix>_<secret>`: `prefix` (12 base64url characters, stored in clear and
 * shown in listings) finds the row, `secret` (32 random bytes) proves possession. Only the SHA-256
 * of the whole key is stored: 256 random bits need no slow hash, and a leaked table opens nothing.
 * The fixed `dsk_` start lets secret scanners recognise leaked keys.
 */
export const API_KEY_PREFIX = 'dsk_';
const KEY_PATTERN = /^dsk_([A-Za-z0-9_-]{12})_([A-Za-z0-9_-]{43})$/;

export interface IssuedKey {
  /** The whole key; shown once, never stored. */
  key: string;
  prefix: string;
  hash: Buffer;
}

export function hashKey(key: string): Buffer {
  return createHash('sha256').update('dirsync-api-key:').update(key).digest();
}

export function issueKey(): IssuedKey {
  // base64url of 9 bytes is 12 characters; of 32 bytes, 43.
  const prefix = randomBytes(9).toString('base64url');
  const key = `${API_KEY_PREFIX}${prefix}_${randomBytes(32).toString('base64url')}`;
  return { key, prefix, hash: hashKey(key) };
}

/** The prefix of a well-formed key, or undefined. */
export function keyPrefix(key: string): string | undefined {
  return KEY_PATTERN.exec(key)?.[1];
}

export function looksLikeApiKey(token: string): boolean {
  return token.startsWith(API_KEY_PREFIX);
}

/** Constant-time comparison of a presented key with a stored hash. */
export function keyMatches(key: string, storedHash: Buffer): boolean {
  const h = hashKey(key);
  return h.length === storedHash.length && timingSafeEqual(h, storedHash);
}
