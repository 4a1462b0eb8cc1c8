import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** Why a stored secret could not be read; never carries the secret or the key. */
export class SecretDecryptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretDecryptError';
  }
}

/** A short, stable, non-secret name of a key, stored in front of every ciphertext. */
export function keyId(key: Buffer): string {
  return createHash('sha256')
    .update('dirsync-secret-key-id:')
    .update(key)
    .digest('base64url')
    .slice(0, 8);
}

function parseKey(base64: string): Buffer {
  const key = Buffer.from(base64, 'base64');
  if (key.length !== 32) throw new Error('a secret key must be 32 bytes, base64 encoded');
  return key;
}

/**
 * AES-256-GCM for secrets at rest. A stored value is `v1.<key id>.<base64url(nonce|ct|tag)>`:
 * the key id lets a later version decrypt with an older key while encrypting with a new one
 * (rotation), and `context` (the directory id) is bound as associated data so a ciphertext copied
 * to another row does not decrypt.
 */
export class SecretBox {
  private readonly current: { id: string; key: Buffer };
  private readonly keys = new Map<string, Buffer>();

  /** `key` encrypts and decrypts; `previousKeys` only decrypt (rotation). All base64, 32 bytes. */
  constructor(key: string, previousKeys: string[] = []) {
    const k = parseKey(key);
    this.current = { id: keyId(k), key: k };
    for (const old of [key, ...previousKeys]) {
      const b = parseKey(old);
      this.keys.set(keyId(b), b);
    }
  }

  get keyId(): string {
    return this.current.id;
  }

  encrypt(plaintext: string, context: string): string {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, nonce);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const sealed = Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64url');
    return `${VERSION}.${this.current.id}.${sealed}`;
  }

  decrypt(stored: string, context: string): string {
    const [version, id, sealed, ...rest] = stored.split('.');
    if (version !== VERSION || !id || sealed === undefined || rest.length > 0) {
      throw new SecretDecryptError('stored secret has an unknown format');
    }
    const key = this.keys.get(id);
    if (!key) {
      throw new SecretDecryptError(
        `stored secret was encrypted with key ${id}, which is not configured (DIRSYNC_SECRET_KEY is key ${this.current.id})`,
      );
    }
    const raw = Buffer.from(sealed, 'base64url');
    if (raw.length < NONCE_BYTES + TAG_BYTES) {
      throw new SecretDecryptError('stored secret is truncated');
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, NONCE_BYTES));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      return Buffer.concat([
        decipher.update(raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw new SecretDecryptError(
        `stored secret does not decrypt with key ${id} (tampered or moved)`,
      );
    }
  }
}
