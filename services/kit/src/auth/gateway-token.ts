import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomUUID,
  type KeyObject,
} from 'node:crypto';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import { isPrincipal, type Principal } from './principal.js';

/**
 * How the gateway hands the verified caller to a subgraph: a JWT signed with the gateway's
 * Ed25519 key (EdDSA), lifetime `GATEWAY_TOKEN_TTL_SECONDS`, audience `dirsync-subgraph`, in the
 * `authorization: Bearer …` header of the subgraph request. Subgraphs hold only the public key:
 * they can verify but not mint, so a leaked subgraph configuration forges nothing.
 */
export const GATEWAY_TOKEN_ISSUER = 'dirsync-gateway';
export const GATEWAY_TOKEN_AUDIENCE = 'dirsync-subgraph';
export const GATEWAY_TOKEN_TTL_SECONDS = 60;
/** Clock difference between gateway and subgraph hosts that is tolerated. */
const CLOCK_TOLERANCE_SECONDS = 5;

// DER prefixes of an Ed25519 PKCS#8 private key and SPKI public key; the 32 key bytes follow.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Why a gateway token was refused; the message never contains the token. */
export class GatewayTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GatewayTokenError';
  }
}

function raw32(base64: string, what: string): Buffer {
  const bytes = Buffer.from(base64.trim(), 'base64');
  if (bytes.length !== 32) throw new Error(`${what} must be 32 bytes, base64 encoded`);
  return bytes;
}

/** An Ed25519 private key from its 32-byte seed (base64), as `DIRSYNC_GATEWAY_PRIVATE_KEY` holds it. */
export function gatewayPrivateKey(base64: string): KeyObject {
  return createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, raw32(base64, 'the gateway private key')]),
    format: 'der',
    type: 'pkcs8',
  });
}

/** An Ed25519 public key from its 32 bytes (base64), as `DIRSYNC_GATEWAY_PUBLIC_KEY` holds it. */
export function gatewayPublicKey(base64: string): KeyObject {
  return createPublicKey({
    key: Buffer.concat([SPKI_PREFIX, raw32(base64, 'the gateway public key')]),
    format: 'der',
    type: 'spki',
  });
}

/** Whether a base64 value is a usable private (or public) key; for env validation. */
export function isGatewayKey(base64: string, kind: 'private' | 'public'): boolean {
  try {
    if (kind === 'private') gatewayPrivateKey(base64);
    else gatewayPublicKey(base64);
    return true;
  } catch {
    return false;
  }
}

/** The public half of a private key, base64 (what the subgraphs are configured with). */
export function gatewayPublicKeyOf(privateBase64: string): string {
  const der = createPublicKey(gatewayPrivateKey(privateBase64)).export({
    format: 'der',
    type: 'spki',
  });
  return der.subarray(SPKI_PREFIX.length).toString('base64');
}

/** A fresh key pair, base64 (`npm run keys`, tests). */
export function generateGatewayKeyPair(): { privateKey: string; publicKey: string } {
  const { privateKey } = generateKeyPairSync('ed25519');
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  const seed = der.subarray(PKCS8_PREFIX.length).toString('base64');
  return { privateKey: seed, publicKey: gatewayPublicKeyOf(seed) };
}

export interface GatewayTokenSigner {
  /** A token carrying `principal`, valid for `ttlSeconds`. */
  sign(principal: Principal): Promise<string>;
}

export function createGatewayTokenSigner(
  privateKeyBase64: string,
  opts: { ttlSeconds?: number } = {},
): GatewayTokenSigner {
  const key = gatewayPrivateKey(privateKeyBase64);
  const ttl = opts.ttlSeconds ?? GATEWAY_TOKEN_TTL_SECONDS;
  return {
    sign(principal) {
      return new SignJWT({ name: principal.name, kind: principal.kind, role: principal.role })
        .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
        .setIssuer(GATEWAY_TOKEN_ISSUER)
        .setAudience(GATEWAY_TOKEN_AUDIENCE)
        .setSubject(principal.id)
        .setJti(randomUUID())
        .setIssuedAt()
        .setExpirationTime(`${ttl}s`)
        .sign(key);
    },
  };
}

export interface GatewayTokenVerifier {
  /** The principal a token carries; throws GatewayTokenError when it is not a valid token. */
  verify(token: string): Promise<Principal>;
}

export function createGatewayTokenVerifier(publicKeyBase64: string): GatewayTokenVerifier {
  const key = gatewayPublicKey(publicKeyBase64);
  return {
    async verify(token) {
      let payload: Record<string, unknown>;
      try {
        ({ payload } = await jwtVerify(token, key, {
          issuer: GATEWAY_TOKEN_ISSUER,
          audience: GATEWAY_TOKEN_AUDIENCE,
          algorithms: ['EdDSA'],
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          requiredClaims: ['sub', 'exp', 'iat'],
        }));
      } catch (err) {
        if (err instanceof joseErrors.JWTExpired)
          throw new GatewayTokenError('gateway token expired');
        throw new GatewayTokenError('not a valid gateway token');
      }
      const principal = {
        id: payload.sub,
        name: payload.name,
        kind: payload.kind,
        role: payload.role,
      };
      if (!isPrincipal(principal))
        throw new GatewayTokenError('gateway token has no valid principal');
      return principal;
    },
  };
}

/** The bearer token of an `authorization` header value, or undefined. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const match = /^Bearer[ ]+([^\s]+)\s*$/i.exec(value ?? '');
  return match?.[1];
}
