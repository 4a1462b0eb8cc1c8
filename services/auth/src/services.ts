import type { Logger } from '@dirsync/kit';
import type { AuthContext as GuardContext } from '@dirsync/kit/graphql';
import type { AuditService } from './audit/audit.service.js';
import type { KeyService } from './keys/key.service.js';

/** What resolvers use; one set per service instance. */
export interface AuthServices {
  keys: KeyService;
  audit: AuditService;
  clock: () => Date;
  logger: Logger;
}

/** Per-request GraphQL context: the caller the gateway signed for. */
export type AuthContext = GuardContext;
