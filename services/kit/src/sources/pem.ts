import { X509Certificate } from 'node:crypto';
import { z } from 'zod';

const BLOCK_RE = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/**
 * Why `pem` is not one or more PEM X.509 certificates (a CA bundle: text between the blocks, as
 * `openssl` writes it, is ignored), or undefined. Every `CERTIFICATE` block must parse with
 * node:crypto's `X509Certificate`. A private key is refused outright: a CA bundle never needs
 * one, and the message never repeats any of the content.
 */
export function caPemProblem(pem: string): string | undefined {
  if (/PRIVATE KEY/.test(pem)) {
    return 'contains a private key; a CA bundle holds only certificates (remove the key, and treat it as exposed)';
  }
  const blocks = [...pem.matchAll(BLOCK_RE)];
  if (blocks.length === 0) {
    return 'is not PEM: expected one or more -----BEGIN CERTIFICATE----- … -----END CERTIFICATE----- blocks';
  }
  for (const [i, block] of blocks.entries()) {
    const label = blocks.length > 1 ? `block ${i + 1}` : 'the block';
    if (block[1] !== 'CERTIFICATE') return `${label} is a ${block[1]} block, not a CERTIFICATE`;
    try {
      new X509Certificate(block[0]);
    } catch {
      return `${label} is not a valid X.509 certificate`;
    }
  }
  return undefined;
}

/** A zod string that must be PEM CA certificate(s) (see {@link caPemProblem}). */
export function caPem() {
  return z.string().superRefine((pem, ctx) => {
    const problem = caPemProblem(pem);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
}
