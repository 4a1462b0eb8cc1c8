import { pino, stdSerializers, type Logger } from 'pino';

export type { Logger };

/**
 * Paths pino blanks before a line is written. Secrets must never reach a log even when a whole
 * config object is logged by mistake.
 */
export const REDACT_PATHS = [
  'password',
  '*.password',
  'bindPassword',
  '*.bindPassword',
  'secrets',
  '*.secrets',
  'secret',
  '*.secret',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'token',
  '*.token',
];

/** SQLSTATE: five digits or upper-case letters (`23505`, `22P05`). */
const SQLSTATE_RE = /^[0-9A-Z]{5}$/;

/**
 * Whether `err` is a database error: node-postgres' `DatabaseError` (it has a `severity` and a
 * SQLSTATE `code`) or a MikroORM `DriverException` (whose message is the SQL statement with
 * every parameter value written in, stored secrets' ciphertext included).
 */
export function isDatabaseError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const o = err as Record<string, unknown>;
  if (typeof o.sqlState === 'string') return true;
  if (typeof o.code === 'string' && SQLSTATE_RE.test(o.code) && 'severity' in o) return true;
  const name = (o.constructor as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' && /(Driver|Server|Connection|Violation)Exception$/.test(name);
}

function wrapsDatabaseError(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 8; depth++) {
    if (isDatabaseError(e)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * What a log line may say about a database error: its class, SQLSTATE and the names of the
 * constraint/table/column/routine, and the stack frames. Never the message, `detail`, `where`
 * or query: those carry the SQL text and the values of the row (`Key (name)=(…)`, a settings
 * document, `bind_password_enc`).
 */
export function safeDatabaseError(err: unknown): Record<string, unknown> {
  const o = err as Record<string, unknown>;
  const pick = (k: string) => (typeof o[k] === 'string' ? { [k]: o[k] } : {});
  const code = typeof o.sqlState === 'string' ? o.sqlState : o.code;
  const frames =
    typeof o.stack === 'string'
      ? o.stack
          .split('\n')
          .filter((l) => l.trim().startsWith('at '))
          .join('\n')
      : undefined;
  return {
    type: (o.constructor as { name?: string } | undefined)?.name ?? 'Error',
    message: `database error${typeof code === 'string' ? ` ${code}` : ''} (statement and values not logged)`,
    ...(typeof code === 'string' ? { code } : {}),
    ...pick('constraint'),
    ...pick('table'),
    ...pick('column'),
    ...pick('schema'),
    ...pick('routine'),
    ...(frames ? { stack: frames } : {}),
  };
}

/**
 * pino's `err` serializer, except that database errors lose their SQL text and values, also as
 * the `cause` of another error (pino would fold a cause's message and stack into the wrapper's).
 */
export function serializeError(err: unknown): unknown {
  if (isDatabaseError(err)) return safeDatabaseError(err);
  if (err instanceof Error && wrapsDatabaseError(err)) {
    return {
      type: err.constructor.name,
      message: err.message,
      ...(err.stack ? { stack: err.stack } : {}),
      cause: serializeError(err.cause),
    };
  }
  return err instanceof Error ? stdSerializers.err(err) : err;
}

/**
 * Structured JSON logs on stdout; `service` is on every line. Errors logged as `err` (or
 * `error`) go through `serializeError`: a database error is logged by SQLSTATE and constraint,
 * never with its statement or values. `destination` redirects the lines
 * (tests capture them to check that no secret is logged).
 */
export function createLogger(
  service: string,
  level = 'info',
  destination?: { write(line: string): void },
): Logger {
  const options = {
    name: service,
    level,
    base: { service },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    // `err` is how every service logs an error; database errors are stripped of their values
    serializers: { err: serializeError, error: serializeError },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}
