import { GraphQLError, type GraphQLSchema } from 'graphql';
import { Authorized, Extensions, type AuthChecker, type ResolverData } from 'type-graphql';
import { can, isPermission, type Permission } from './auth/roles.js';
import type { Principal } from './auth/principal.js';

/**
 * Authorisation inside a subgraph. Every root field (Query, Mutation) carries `@Guard(permission)`;
 * the subgraph's auth checker compares it with the role of the principal the gateway signed for
 * the request (docs/security.md). A field without a guard fails the schema build.
 */

/** What a subgraph's GraphQL context must carry for guards to work. */
export interface AuthContext {
  /** The verified caller; absent only when a request bypassed the HTTP authentication hook. */
  principal?: Principal;
}

/** The `extensions` key a guard leaves on its field (read by `assertGuarded`). */
export const GUARD_EXTENSION = 'dirsyncPermission';

/** `extensions.code` of a refused request: no (valid) credentials. */
export const UNAUTHENTICATED = 'UNAUTHENTICATED';
/** `extensions.code` of a refused request: the role lacks the permission. */
export const FORBIDDEN = 'FORBIDDEN';

/** The error every denied field answers; nothing has been read or changed when it is thrown. */
export function forbidden(principal: Principal, permission: Permission): GraphQLError {
  return new GraphQLError(
    `role ${principal.role} does not have the "${permission}" permission (${principal.name})`,
    { extensions: { code: FORBIDDEN, permission, role: principal.role } },
  );
}

export function unauthenticated(): GraphQLError {
  return new GraphQLError('not authenticated', { extensions: { code: UNAUTHENTICATED } });
}

/** Throws FORBIDDEN / UNAUTHENTICATED unless the context's principal has `permission`. */
export function requirePermission(ctx: AuthContext | undefined, permission: Permission): Principal {
  const principal = ctx?.principal;
  if (!principal) throw unauthenticated();
  if (!can(principal.role, permission)) throw forbidden(principal, permission);
  return principal;
}

/**
 * Mark a query, mutation or field resolver as requiring `permission`. It is type-graphql's
 * `@Authorized` (enforced by `authChecker` below before the resolver runs) plus an extension the
 * schema build checks for.
 */
export function Guard(permission: Permission): MethodDecorator & PropertyDecorator {
  const authorized = Authorized(permission);
  const extension = Extensions({ [GUARD_EXTENSION]: permission });
  return (target: object, key: string | symbol, descriptor?: PropertyDescriptor) => {
    (authorized as (t: object, k: string | symbol, d?: PropertyDescriptor) => void)(
      target,
      key,
      descriptor,
    );
    (extension as (t: object, k: string | symbol, d?: PropertyDescriptor) => void)(
      target,
      key,
      descriptor,
    );
  };
}

/** type-graphql's auth checker for `@Guard`: throws the precise error instead of returning false. */
export const authChecker: AuthChecker<AuthContext, string> = (
  { context }: ResolverData<AuthContext>,
  permissions: string[],
) => {
  for (const permission of permissions) {
    if (!isPermission(permission))
      throw new Error(`@Guard with unknown permission "${permission}"`);
    requirePermission(context, permission);
  }
  if (permissions.length === 0 && !context.principal) throw unauthenticated();
  return true;
};

/**
 * Throws, naming every offender, unless each Query and Mutation field of a type-graphql schema
 * carries a `@Guard`. Fields from federation (`_service`, `_entities`) are added later and
 * guarded by `buildFederatedSchema` itself.
 */
export function assertGuarded(schema: GraphQLSchema): void {
  const missing: string[] = [];
  for (const type of [schema.getQueryType(), schema.getMutationType()]) {
    if (!type) continue;
    for (const field of Object.values(type.getFields())) {
      if (!isPermission(field.extensions?.[GUARD_EXTENSION])) {
        missing.push(`${type.name}.${field.name}`);
      }
    }
  }
  if (missing.length > 0) {
    throw new Error(
      `${missing.join(', ')} ${missing.length === 1 ? 'has' : 'have'} no @Guard(Permission.…): ` +
        'every query and mutation must say which permission it requires (docs/security.md)',
    );
  }
}
