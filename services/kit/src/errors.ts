import { ErrorCode, errorCodeName } from '@dirsync/proto';

/**
 * An error with a stable code from `proto/dirsync/v1/errors.proto`. Every vendor error is
 * translated into one of these in one place per connector/service; callers branch on `code`,
 * never on `message`. Messages name the problem and never contain a secret.
 */
export class DirsyncError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DirsyncError';
    this.code = code;
  }

  /** The code as it appears on the wire and in GraphQL `extensions.code`. */
  get codeName(): string {
    return errorCodeName(this.code);
  }
}

export function isDirsyncError(err: unknown): err is DirsyncError {
  return err instanceof DirsyncError;
}

/** Wrap anything thrown into a DirsyncError (unknown errors become INTERNAL). */
export function asDirsyncError(
  err: unknown,
  fallback: ErrorCode = ErrorCode.INTERNAL,
): DirsyncError {
  if (err instanceof DirsyncError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new DirsyncError(fallback, message, { cause: err });
}
