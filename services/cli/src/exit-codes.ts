/**
 * Exit codes a scheduler can act on. They are part of the command line's contract (README):
 * never renumber one.
 */
export const ExitCode = {
  /** Done: the command did what was asked (a run completed). */
  OK: 0,
  /** Something else went wrong (an API error without a more specific code below). */
  ERROR: 1,
  /** Bad command line: unknown command or option, missing or invalid argument. */
  USAGE: 2,
  /** A run ended FAILED (or a connection test found a problem). */
  RUN_FAILED: 3,
  /** A run ended BLOCKED: a deletion threshold stopped it; approve or reject it. */
  RUN_BLOCKED: 4,
  /** What the command names does not exist (directory, run, user; sync-user NOT_FOUND). */
  NOT_FOUND: 5,
  /** The gateway refused the credentials (no key, wrong key, or the role may not do this). */
  AUTH: 6,
  /** Waiting gave up (`--timeout`); the run goes on. */
  TIMEOUT: 7,
  /** The gateway could not be reached. */
  UNREACHABLE: 8,
  /** The directory already has an active run (RUN_IN_PROGRESS). */
  RUN_IN_PROGRESS: 9,
  /**
   * `runs approve|reject` of a run that is not BLOCKED: already decided, superseded by a later
   * full sync (RUN_SUPERSEDED), or never blocked (RUN_NOT_BLOCKED).
   */
  RUN_NOT_BLOCKED: 10,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error that ends the command with `exitCode` after printing `message`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    /** The API's `extensions.code`, when the error came from the gateway. */
    readonly code?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** The exit code of an API error code (`extensions.code`). */
export function exitCodeOf(code: string | undefined): ExitCode {
  switch (code) {
    case 'NOT_FOUND':
      return ExitCode.NOT_FOUND;
    case 'UNAUTHENTICATED':
    case 'FORBIDDEN':
      return ExitCode.AUTH;
    case 'BAD_USER_INPUT':
    case 'GRAPHQL_VALIDATION_FAILED':
      return ExitCode.USAGE;
    case 'RUN_IN_PROGRESS':
      return ExitCode.RUN_IN_PROGRESS;
    case 'RUN_NOT_BLOCKED':
    case 'RUN_SUPERSEDED':
      return ExitCode.RUN_NOT_BLOCKED;
    case 'TIMEOUT':
      return ExitCode.TIMEOUT;
    default:
      return ExitCode.ERROR;
  }
}

/** The exit code of a run that ended (or did not). */
export function exitCodeOfRun(status: string): ExitCode {
  switch (status) {
    case 'COMPLETED':
      return ExitCode.OK;
    case 'BLOCKED':
      return ExitCode.RUN_BLOCKED;
    case 'FAILED':
    case 'REJECTED':
      return ExitCode.RUN_FAILED;
    default:
      return ExitCode.TIMEOUT;
  }
}
