import {
  createGatewayTokenSigner,
  generateGatewayKeyPair,
  PrincipalKind,
  type Principal,
  type Role,
} from '@dirsync/kit/auth';

/**
 * A gateway key pair for this test process. A subgraph under test is configured with
 * `TEST_GATEWAY_KEYS.publicKey` and called with `await subgraphAuth(role)` as its
 * `authorization` header, exactly as the gateway calls it (docs/security.md).
 */
export const TEST_GATEWAY_KEYS = generateGatewayKeyPair();

const signer = createGatewayTokenSigner(TEST_GATEWAY_KEYS.privateKey);

/** The principal of a test caller with `role`. */
export function testPrincipal(role: Role = 'OWNER'): Principal {
  return {
    id: `key:test-${role.toLowerCase()}`,
    name: `test ${role}`,
    kind: PrincipalKind.API_KEY,
    role,
  };
}

/** `Bearer <gateway token>` for a caller with `role` (default OWNER). */
export async function subgraphAuth(role: Role = 'OWNER'): Promise<string> {
  return `Bearer ${await signer.sign(testPrincipal(role))}`;
}
