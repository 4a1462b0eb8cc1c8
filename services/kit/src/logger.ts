import { pino, type Logger } from 'pino';

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

/** Structured JSON logs on stdout; `service` is on every line. */
export function createLogger(service: string, level = 'info'): Logger {
  return pino({
    name: service,
    level,
    base: { service },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
