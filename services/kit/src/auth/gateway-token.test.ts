import { describe, expect, it } from 'vitest';
import { can, Permission, ROLE_PERMISSIONS, ROLES } from './roles.js';
import {
  bearerToken,
  createGatewayTokenSigner,
  createGatewayTokenVerifier,
  gatewayPublicKeyOf,
  generateGatewayKeyPair,
  isGatewayKey,
} from './gateway-token.js';
import { PrincipalKind, type Principal } from './principal.js';

const alice: Principal = {
  id: 'key:1',
  name: 'alice',
  kind: PrincipalKind.API_KEY,
  role: 'HELP_DESK',
};

describe('gateway tokens', () => {
  const pair = generateGatewayKeyPair();

  it('carry the principal from the gateway to a subgraph', async () => {
    const token = await createGatewayTokenSigner(pair.privateKey).sign(alice);
    expect(await createGatewayTokenVerifier(pair.publicKey).verify(token)).toEqual(alice);
  });

  it('are refused when signed by another key, expired, or tampered with', async () => {
    const verifier = createGatewayTokenVerifier(pair.publicKey);
    const other = generateGatewayKeyPair();
    await expect(
      verifier.verify(await createGatewayTokenSigner(other.privateKey).sign(alice)),
    ).rejects.toThrow('not a valid gateway token');
    const expired = await createGatewayTokenSigner(pair.privateKey, { ttlSeconds: -30 }).sign(
      alice,
    );
    await expect(verifier.verify(expired)).rejects.toThrow('gateway token expired');
    const [h, p, s] = (await createGatewayTokenSigner(pair.privateKey).sign(alice)).split('.');
    const owner = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), role: 'OWNER' }),
    ).toString('base64url');
    await expect(verifier.verify(`${h}.${owner}.${s}`)).rejects.toThrow(
      'not a valid gateway token',
    );
  });

  it('keys are 32 bytes base64, and the public key follows from the private one', () => {
    expect(gatewayPublicKeyOf(pair.privateKey)).toBe(pair.publicKey);
    expect(isGatewayKey(pair.privateKey, 'private')).toBe(true);
    expect(isGatewayKey(pair.publicKey, 'public')).toBe(true);
    expect(isGatewayKey('c2hvcnQ=', 'public')).toBe(false);
  });

  it('bearerToken() reads only the Bearer scheme', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer  abc ')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
  });
});

describe('roles', () => {
  it('owners can do everything; every role can read; powers only grow up the list', () => {
    expect(ROLE_PERMISSIONS.OWNER).toEqual(Object.values(Permission));
    for (const role of ROLES) expect(can(role, Permission.READ)).toBe(true);
    for (let i = 1; i < ROLES.length; i++) {
      for (const p of ROLE_PERMISSIONS[ROLES[i]!]) expect(can(ROLES[i - 1]!, p)).toBe(true);
    }
    for (const p of [
      Permission.DIRECTORY_MANAGE,
      Permission.RUN_APPROVE,
      Permission.KEY_MANAGE,
      Permission.AUDIT_READ,
      Permission.ADMIN_MANAGE,
    ]) {
      expect(ROLES.filter((r) => can(r, p))).toEqual(['OWNER']);
    }
  });
});
