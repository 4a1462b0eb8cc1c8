import 'reflect-metadata';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { graphql, parse, type GraphQLSchema } from 'graphql';
import { buildSchema, createResolversMap, type BuildSchemaOptions } from 'type-graphql';

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
 */
export async function buildFederatedSchema(
  options: Omit<BuildSchemaOptions, 'skipCheck'>,
  references: ReferenceResolvers = {},
): Promise<GraphQLSchema> {
  const schema = await buildSchema({ ...options, skipCheck: true });
  const resolvers = createResolversMap(schema) as Record<string, Record<string, unknown>>;
  for (const [typeName, ref] of Object.entries(references)) {
    resolvers[typeName] = { ...(resolvers[typeName] ?? {}), ...ref };
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
