import { GraphQLError } from 'graphql';
import { ErrorCode, errorCodeName } from '@dirsync/proto';
import { DirsyncError } from './errors.js';

/**
 * Codes that are not source errors but API errors. Together with the proto ErrorCode names they
 * are the complete set of `extensions.code` values a client can see.
 */
export const ApiErrorCode = {
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  RUN_IN_PROGRESS: 'RUN_IN_PROGRESS',
  TIMEOUT: 'TIMEOUT',
  INTERNAL: 'INTERNAL',
  /** A synced field cannot be changed through the API (`extensions.fields` names them). */
  READ_ONLY: 'READ_ONLY',
  /** restoreUser / purgeUser of a user that is not pending deletion (`extensions.status`). */
  NOT_PENDING_DELETION: 'NOT_PENDING_DELETION',
} as const;
export type ApiErrorCode = (typeof ApiErrorCode)[keyof typeof ApiErrorCode];

/** A GraphQL error with a stable `extensions.code` and optional extra fields. */
export function apiError(
  code: ApiErrorCode | string,
  message: string,
  extra: Record<string, unknown> = {},
): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extra, code } });
}

/** Translate any error into what a client may see: codes kept, internals hidden. */
export function toGraphQLError(err: unknown): GraphQLError {
  if (err instanceof GraphQLError) return err;
  if (err instanceof DirsyncError) return apiError(errorCodeName(err.code), err.message);
  return apiError(errorCodeName(ErrorCode.INTERNAL), 'internal error');
}
