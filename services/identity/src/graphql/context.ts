import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuthContext } from '@dirsync/kit/graphql';
import type { Database } from '../db/database.js';
import type { Loaders } from './loaders.js';

/** What every resolver gets: the caller, a request-scoped EntityManager and loaders. */
export interface IdentityContext extends AuthContext {
  em: EntityManager;
  db: Database;
  loaders: Loaders;
}
