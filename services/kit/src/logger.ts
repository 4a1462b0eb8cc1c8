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

/**
 * Structured JSON logs on stdout; `service` is on every line. `destination` redirects the lines
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
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}
