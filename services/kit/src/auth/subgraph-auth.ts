import type { IncomingMessage } from 'node:http';
import { HttpError } from '../http-error.js';
import { bearerToken, createGatewayTokenVerifier, GatewayTokenError } from './gateway-token.js';
import type { Principal } from './principal.js';

/**
 * The `authenticate` hook of a subgraph's HTTP server: every `/graphql` request must carry a
 * gateway token (see gateway-token.ts); anything else is refused with 401 before GraphQL runs.
 * Subgraphs trust nothing else: not a client's API key, not an OIDC token, not a network address.
 */
export function subgraphAuthenticator(
  gatewayPublicKey: string,
): (req: IncomingMessage) => Promise<Principal> {
  const verifier = createGatewayTokenVerifier(gatewayPublicKey);
  return async (req) => {
    const token = bearerToken(req.headers.authorization);
    if (!token) {
      throw new HttpError(
        401,
        'UNAUTHENTICATED',
        'subgraphs answer only requests from the gateway',
      );
    }
    try {
      return await verifier.verify(token);
    } catch (err) {
      if (err instanceof GatewayTokenError)
        throw new HttpError(401, 'UNAUTHENTICATED', err.message);
      throw err;
    }
  };
}
