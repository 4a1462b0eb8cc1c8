import type { Logger } from '@dirsync/kit';
import type { AuthContext } from '@dirsync/kit/graphql';
import type { SyncConfig } from './env.js';
import type { EntityManager, SyncOrm } from './db/orm.js';
import type { ConnectionTester } from './directory/connection-test.js';
import type { DirectoryService } from './directory/directory.service.js';
import type { RunService } from './run/run.service.js';
import type { ConnectorPresence } from './connector/presence.js';

/** What resolvers use; one set per service instance. */
export interface SyncServices {
  config: SyncConfig;
  orm: SyncOrm;
  directories: DirectoryService;
  connectionTests: ConnectionTester;
  runs: RunService;
  presence: ConnectorPresence;
  logger: Logger;
}

/** Per-request GraphQL context: the caller, and one entity manager so a request loads each row once. */
export interface SyncContext extends AuthContext {
  em: EntityManager;
}
