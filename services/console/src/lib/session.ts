/**
 * The credential the console sends as `Authorization: Bearer …`. Kept in sessionStorage: it
 * survives a reload and ends with the tab, and other tabs of the browser do not see it. An API
 * key is as powerful as its role; signing out forgets it here (revoke a key with the CLI or
 * `revokeApiKey`).
 */
export interface Credential {
  kind: 'API_KEY' | 'OIDC';
  token: string;
  /** OIDC: epoch ms when the token expires (the console signs out then). */
  expiresAt?: number;
  /** OIDC: the id token, for the provider's sign-out (`id_token_hint`). */
  idToken?: string;
}

const KEY = 'dirsync.console.credential';

export function loadCredential(storage: Storage = sessionStorage): Credential | undefined {
  try {
    const raw = storage.getItem(KEY);
    if (!raw) return undefined;
    const c = JSON.parse(raw) as Credential;
    if (typeof c.token !== 'string' || !c.token) return undefined;
    if (c.expiresAt && c.expiresAt <= Date.now()) {
      storage.removeItem(KEY);
      return undefined;
    }
    return c;
  } catch {
    return undefined;
  }
}

export function saveCredential(c: Credential, storage: Storage = sessionStorage): void {
  storage.setItem(KEY, JSON.stringify(c));
}

export function clearCredential(storage: Storage = sessionStorage): void {
  storage.removeItem(KEY);
}

/**
 * An API key's shape: `dsk_`, 12 base64url characters of prefix, `_`, the base64url secret
 * (both may contain `_` and `-`). Anything else is refused before a request.
 */
export const API_KEY_RE = /^dsk_[A-Za-z0-9_-]{12}_[A-Za-z0-9_-]{20,}$/;
