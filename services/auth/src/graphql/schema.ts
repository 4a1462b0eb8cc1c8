import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { buildFederatedSchema } from '@dirsync/kit/graphql';
import type { AuthServices } from '../services.js';
import { AuthResolver } from './auth.resolver.js';

/** The auth subgraph: API keys, the viewer and the audit log. */
export async function buildAuthSchema(s: AuthServices): Promise<GraphQLSchema> {
  const resolver = new AuthResolver(s);
  return buildFederatedSchema({
    resolvers: [AuthResolver],
    container: { get: () => resolver },
    validate: false,
  });
}
