import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { buildFederatedSchema } from '@dirsync/kit/graphql';
import { ConnectionTestResolver } from '../directory/connection-test.resolver.js';
import { ConnectorResolver } from '../connector/connector.resolver.js';
import { DirectoryResolver } from '../directory/directory.resolver.js';
import { RunResolver } from '../run/run.resolver.js';
import { toRunNode } from '../run/run.type.js';
import type { Directory } from '../directory/directory.entity.js';
import type { SyncContext, SyncServices } from '../services.js';

/**
 * One lookup per directory and request: a page of 500 users names the same few directories
 * 500 times, and the gateway asks for all of them at once.
 */
const directoryLookups = new WeakMap<object, Map<string, Promise<Directory | null>>>();

/**
 * The sync subgraph. Resolver instances are built here with this service instance's
 * dependencies, so two services in one process (tests) never share state.
 */
export async function buildSyncSchema(s: SyncServices): Promise<GraphQLSchema> {
  const instances = new Map<unknown, unknown>([
    [DirectoryResolver, new DirectoryResolver(s)],
    [RunResolver, new RunResolver(s)],
    [ConnectionTestResolver, new ConnectionTestResolver(s)],
    [ConnectorResolver, new ConnectorResolver(s)],
  ]);
  return buildFederatedSchema(
    {
      resolvers: [DirectoryResolver, RunResolver, ConnectionTestResolver, ConnectorResolver],
      container: { get: (cls) => instances.get(cls) },
      validate: false,
    },
    {
      Directory: {
        __resolveReference: (ref: { id: string }, ctx: SyncContext) => {
          let lookups = directoryLookups.get(ctx);
          if (!lookups) directoryLookups.set(ctx, (lookups = new Map()));
          let found = lookups.get(ref.id);
          if (!found) lookups.set(ref.id, (found = s.directories.get(ctx.em, ref.id)));
          return found;
        },
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
