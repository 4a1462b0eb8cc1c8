import 'reflect-metadata';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { graphql, parse, type GraphQLSchema } from 'graphql';
import { buildSchema, createResolversMap, type BuildSchemaOptions } from 'type-graphql';
import { Permission } from './auth/roles.js';
import { assertGuarded, authChecker, requirePermission, type AuthContext } from './guard.js';

/** `__resolveReference` functions by type name: how this subgraph turns `{ id }` into an entity. */
export type ReferenceResolvers = Record<
  string,
  { __resolveReference: (ref: { __typename: string; id: string }, context: never) => unknown }
>;

const FEDERATION_LINK = `extend schema
  @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable", "@external"])
`;

/**
 * Turn a type-graphql schema into an Apollo Federation 2 subgraph: print it with its directives
 * (`@key` from `@Directive`), prepend the federation `@link`, and give `buildSubgraphSchema` the
 * resolver map plus the entities' reference resolvers.
 *
 * Authorisation (docs/security.md): `@Guard`s are enforced by the kit's auth checker; a query or
 * mutation without one fails here; entity references (`_entities`, how the gateway joins
 * subgraphs) require `Permission.READ`.
 */
export async function buildFederatedSchema(
  options: Omit<BuildSchemaOptions, 'skipCheck' | 'authChecker' | 'authMode'>,
  references: ReferenceResolvers = {},
): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    ...options,
    skipCheck: true,
    authChecker,
    authMode: 'error',
  });
  assertGuarded(schema);
  const resolvers = createResolversMap(schema) as Record<string, Record<string, unknown>>;
  for (const [typeName, ref] of Object.entries(references)) {
    const resolve = ref.__resolveReference as (
      r: { __typename: string; id: string },
      ctx: AuthContext,
    ) => unknown;
    resolvers[typeName] = {
      ...(resolvers[typeName] ?? {}),
      __resolveReference: (r: { __typename: string; id: string }, ctx: AuthContext) => {
        requirePermission(ctx, Permission.READ);
        return resolve(r, ctx);
      },
    };
  }
  return buildSubgraphSchema({
    typeDefs: parse(FEDERATION_LINK + printSchemaWithDirectives(schema)),
    resolvers: resolvers as never,
  });
}

/**
 * The subgraph SDL as composition sees it (what `_service { sdl }` answers); services write it
 * to `schema.graphql` at build time for the gateway's static composition.
 */
export async function subgraphSdl(schema: GraphQLSchema): Promise<string> {
  const result = await graphql({ schema, source: '{ _service { sdl } }' });
  const sdl = (result.data as { _service?: { sdl?: string } } | null | undefined)?._service?.sdl;
  if (!sdl)
    throw new Error(`schema is not a federation subgraph: ${JSON.stringify(result.errors)}`);
  return sdl;
}
