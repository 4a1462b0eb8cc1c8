import 'reflect-metadata';
import { buildFederatedSchema } from '@dirsync/kit/graphql';
import type { GraphQLSchema } from 'graphql';
import { Directory } from './types.js';
import { AdminResolver, resolveAdminReference } from './admin.resolver.js';
import { GroupResolver, resolveGroupReference } from './group.resolver.js';
import { UserManageResolver } from './user-manage.resolver.js';
import { UserResolver, resolveUserReference } from './user.resolver.js';
import { UserLifecycleResolver } from './user-lifecycle.resolver.js';
import {
  AdminHistoryResolver,
  RunChangeResolver,
  SyncRunHistoryResolver,
  UserHistoryResolver,
  resolveSyncRunReference,
} from './history.resolver.js';

/**
 * The identity subgraph: User, Group and Admin entities; manual users' and administrators'
 * mutations; restoring and purging removed users; run history (`SyncRun.changes`,
 * `User.history`, `Admin.history`).
 */
export function buildIdentitySchema(): Promise<GraphQLSchema> {
  return buildFederatedSchema(
    {
      resolvers: [
        UserResolver,
        UserManageResolver,
        UserLifecycleResolver,
        GroupResolver,
        AdminResolver,
        SyncRunHistoryResolver,
        RunChangeResolver,
        UserHistoryResolver,
        AdminHistoryResolver,
      ],
      // Only referenced through field resolvers: without this it would vanish from the SDL.
      orphanedTypes: [Directory],
      validate: false,
    },
    {
      User: { __resolveReference: resolveUserReference },
      Group: { __resolveReference: resolveGroupReference },
      Admin: { __resolveReference: resolveAdminReference },
      SyncRun: { __resolveReference: resolveSyncRunReference },
    },
  );
}
