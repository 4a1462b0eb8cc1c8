import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { describeMutation, outcomeOf, type AuditClient } from './audit.js';
import { enforceLimits, type QueryLimits } from './limits.js';
import type { GatewayContext } from './index.js';

/**
 * What the gateway does with every operation once it is parsed and validated: require a
 * principal, open an audit entry for a mutation (refusing it when the log cannot be written),
 * apply the depth, cost and page-size limits, and close the audit entry with the outcome.
 */
export function requestPlugin(deps: {
  audit: AuditClient;
  limits: QueryLimits;
  /** Called after a successful `revokeApiKey`, so this gateway forgets cached key checks. */
  onKeyRevoked: () => void;
}): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      let auditId: string | undefined;
      let fields: string[] = [];
      return {
        async didResolveOperation({
          contextValue,
          operation,
          document,
          schema,
          request,
          operationName,
        }) {
          const principal = contextValue.principal;
          if (!principal) {
            throw new GraphQLError('authentication required', {
              extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
            });
          }
          if (!operation) return; // Apollo answers a missing operation itself
          const variables = request.variables ?? {};
          if (operation.operation === 'mutation') {
            const described = describeMutation(schema, operation, variables);
            fields = described.fields;
            auditId = await deps.audit.begin({
              principal,
              operationName: operationName ?? null,
              fields,
              arguments: described.arguments,
              clientAddress: contextValue.clientAddress,
              requestId: contextValue.requestId,
            });
          }
          enforceLimits(schema, document, operation, variables, deps.limits);
        },
        async willSendResponse({ response }) {
          if (!auditId) return;
          const errors =
            response.body.kind === 'single' ? (response.body.singleResult.errors ?? []) : [];
          const codes = errors.map((e) => String(e.extensions?.code ?? 'INTERNAL'));
          await deps.audit.finish(auditId, outcomeOf(codes), codes);
          if (codes.length === 0 && fields.includes('revokeApiKey')) deps.onKeyRevoked();
        },
      };
    },
  };
}
