import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretBox, SecretDecryptError } from './secret-box.js';

const key = () => randomBytes(32).toString('base64');

describe('SecretBox', () => {
  it('round-trips with a random nonce each time', () => {
    const box = new SecretBox(key());
    const a = box.encrypt('s3cret', 'dir-1');
    const b = box.encrypt('s3cret', 'dir-1');
    expect(a).not.toBe(b);
    expect(a).not.toContain('s3cret');
    expect(a.split('.')[1]).toBe(box.keyId);
    expect(box.decrypt(a, 'dir-1')).toBe('s3cret');
    expect(box.decrypt(b, 'dir-1')).toBe('s3cret');
    expect(box.decrypt(box.encrypt('', 'x'), 'x')).toBe('');
    expect(box.decrypt(box.encrypt('pässwörd ✓', 'x'), 'x')).toBe('pässwörd ✓');
  });

  it('fails clearly with a wrong key, a wrong context or tampering', () => {
    const box = new SecretBox(key());
    const sealed = box.encrypt('s3cret', 'dir-1');
    expect(() => new SecretBox(key()).decrypt(sealed, 'dir-1')).toThrow(SecretDecryptError);
    expect(() => new SecretBox(key()).decrypt(sealed, 'dir-1')).toThrow(/key .* not configured/);
    expect(() => box.decrypt(sealed, 'dir-2')).toThrow(/does not decrypt/);
    const [v, id, body] = sealed.split('.') as [string, string, string];
    const flipped = Buffer.from(body, 'base64url');
    flipped[14] = (flipped[14] ?? 0) ^ 1;
    expect(() => box.decrypt(`${v}.${id}.${flipped.toString('base64url')}`, 'dir-1')).toThrow(
      /does not decrypt/,
    );
    expect(() => box.decrypt('plaintext', 'dir-1')).toThrow(/unknown format/);
  });

  it('decrypts with a previous key after rotation', () => {
    const oldKey = key();
    const sealed = new SecretBox(oldKey).encrypt('s3cret', 'd');
    const rotated = new SecretBox(key(), [oldKey]);
    expect(rotated.decrypt(sealed, 'd')).toBe('s3cret');
    expect(rotated.encrypt('s3cret', 'd').split('.')[1]).toBe(rotated.keyId);
  });

  it('refuses keys that are not 32 bytes', () => {
    expect(() => new SecretBox(randomBytes(16).toString('base64'))).toThrow(/32 bytes/);
  });
});
