import type { EntityManager } from '@mikro-orm/postgresql';
import type { Database } from '../db/database.js';
import type { Loaders } from './loaders.js';

/** What every resolver gets: a request-scoped EntityManager and loaders. */
export interface IdentityContext {
  em: EntityManager;
  db: Database;
  loaders: Loaders;
}
