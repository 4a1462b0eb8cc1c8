/** Node socket errors: the database (or the way to it) is away, not the data wrong. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * SQLSTATE classes that say nothing about the statement's data: connection exception (08),
 * transaction rollback — serialization failure, deadlock (40), insufficient resources (53),
 * object not in prerequisite state — lock not available (55), operator intervention — admin
 * shutdown, cannot connect now (57, but not 57014: a statement timeout repeats), system error (58).
 */
const TRANSIENT_SQLSTATE_CLASSES = new Set(['08', '40', '53', '55', '57', '58']);

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The SQLSTATE of an error the Postgres server reported (it has a severity); else undefined. */
export function sqlState(err: unknown): string | undefined {
  const code = codeOf(err);
  const severity = (err as { severity?: unknown } | null)?.severity;
  return code && typeof severity === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * Whether `err` may go away by itself (the database restarts, a lock frees up), as opposed to
 * an error the same input will raise every time. Only the former justifies retrying an event
 * without end; the latter makes it a poison event.
 */
export function isTransientDatabaseError(err: unknown): boolean {
  const code = codeOf(err);
  if (code && NETWORK_CODES.has(code)) return true;
  const state = sqlState(err);
  if (state) return state !== '57014' && TRANSIENT_SQLSTATE_CLASSES.has(state.slice(0, 2));
  const name = (err as { name?: unknown } | null)?.name;
  if (name === 'KnexTimeoutError') return true;
  const message = err instanceof Error ? err.message : String(err);
  return /Connection terminated|Client has encountered a connection error|connection is closed/i.test(
    message,
  );
}

/**
 * The class of an error for messages that leave the service: the constructor's name and the
 * SQLSTATE, never the message (a driver message can quote the data or the whole statement).
 */
export function errorClass(err: unknown): string {
  const ctor = (err as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  const name = typeof ctor === 'string' && ctor !== '' && ctor !== 'Object' ? ctor : 'Error';
  const state = sqlState(err);
  return state ? `${name} (SQLSTATE ${state})` : name;
}
