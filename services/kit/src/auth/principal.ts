import { isRole, type Role } from './roles.js';

/** How a principal proved who it is. SYSTEM is the gateway itself (readiness probes, composition). */
export const PrincipalKind = {
  API_KEY: 'API_KEY',
  OIDC: 'OIDC',
  SYSTEM: 'SYSTEM',
} as const;
export type PrincipalKind = (typeof PrincipalKind)[keyof typeof PrincipalKind];

/**
 * The verified caller of one request, as the gateway established it and the subgraphs receive
 * it. `id` is stable (`key:<api key id>`, `oidc:<issuer>#<subject>`, `system:gateway`) and is what
 * the audit log records; `name` is for people.
 */
export interface Principal {
  id: string;
  name: string;
  kind: PrincipalKind;
  role: Role;
}

/** The gateway's own identity: it may only answer `{ __typename }` and compose. */
export const SYSTEM_PRINCIPAL: Principal = Object.freeze({
  id: 'system:gateway',
  name: 'gateway',
  kind: PrincipalKind.SYSTEM,
  role: 'READ_ONLY',
});

export function isPrincipal(value: unknown): value is Principal {
  const p = value as Partial<Principal> | null;
  return (
    typeof p === 'object' &&
    p !== null &&
    typeof p.id === 'string' &&
    p.id.length > 0 &&
    typeof p.name === 'string' &&
    typeof p.kind === 'string' &&
    (Object.values(PrincipalKind) as string[]).includes(p.kind) &&
    isRole(p.role)
  );
}
