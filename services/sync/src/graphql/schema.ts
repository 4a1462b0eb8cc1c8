import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { buildFederatedSchema } from '@dirsync/kit/graphql';
import { DirectoryResolver } from '../directory/directory.resolver.js';
import { RunResolver } from '../run/run.resolver.js';
import { toRunNode } from '../run/run.type.js';
import type { SyncServices } from '../services.js';

/**
 * The sync subgraph. Resolver instances are built here with this service instance's
 * dependencies, so two services in one process (tests) never share state.
 */
export async function buildSyncSchema(s: SyncServices): Promise<GraphQLSchema> {
  const instances = new Map<unknown, unknown>([
    [DirectoryResolver, new DirectoryResolver(s)],
    [RunResolver, new RunResolver(s)],
  ]);
  return buildFederatedSchema(
    {
      resolvers: [DirectoryResolver, RunResolver],
      container: { get: (cls) => instances.get(cls) },
      validate: false,
    },
    {
      Directory: {
        __resolveReference: (ref) => s.directories.get(s.orm.em.fork(), ref.id),
      },
      SyncRun: {
        __resolveReference: async (ref) => {
          const run = await s.runs.get(ref.id);
          return run ? toRunNode(run) : null;
        },
      },
    },
  );
}
