import { inspect } from 'node:util';

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this many milliseconds (default 10,000). */
  timeoutMs?: number;
  /** Pause between two probes (default 50 ms). */
  intervalMs?: number;
  /** What was awaited, for the timeout error ("user jdoe imported"). */
  message?: string;
}

/** The error {@link waitFor} throws on timeout; `lastValue`/`lastError` say what the probe last did. */
export class WaitForTimeoutError extends Error {
  constructor(
    message: string,
    readonly lastValue: unknown,
    readonly lastError: unknown,
  ) {
    super(message, lastError === undefined ? undefined : { cause: lastError });
    this.name = 'WaitForTimeoutError';
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Poll `probe` until it returns (or resolves to) a truthy value, and return that value.
 *
 * Contract:
 * - The probe runs at once, then `intervalMs` after each previous probe settled; probes never
 *   overlap.
 * - A falsy result (`undefined`, `null`, `false`, `0`, `''`) means "not yet"; a throw or rejection
 *   also means "not yet" and is remembered.
 * - When `timeoutMs` passes (a probe that hangs is abandoned at the deadline), it rejects with a
 *   {@link WaitForTimeoutError} whose message holds `message`, the elapsed time, and the last value
 *   or error the probe produced.
 *
 * Tests use this instead of fixed sleeps: `await waitFor(() => findUser('jdoe'), { message: 'jdoe imported' })`.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  opts: WaitForOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 50;
  const started = Date.now();
  const deadline = started + timeoutMs;
  let lastValue: unknown = undefined;
  let lastError: unknown = undefined;
  let attempts = 0;
  const TIMED_OUT = Symbol('timed out');

  for (;;) {
    attempts += 1;
    const remaining = deadline - Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([
        Promise.resolve().then(probe),
        new Promise<typeof TIMED_OUT>((resolve) => {
          timer = setTimeout(() => resolve(TIMED_OUT), Math.max(remaining, 0));
        }),
      ]);
      if (result !== TIMED_OUT) {
        if (result) return result;
        lastValue = result;
        lastError = undefined;
      }
    } catch (err) {
      lastError = err;
    } finally {
      if (timer) clearTimeout(timer);
    }
    const now = Date.now();
    if (now >= deadline) break;
    await sleep(Math.min(intervalMs, deadline - now));
  }

  const what = opts.message ?? 'condition';
  const last =
    lastError !== undefined
      ? `last error: ${lastError instanceof Error ? lastError.message : inspect(lastError)}`
      : `last value: ${inspect(lastValue, { depth: 4, breakLength: Infinity })}`;
  throw new WaitForTimeoutError(
    `waitFor: ${what} not reached after ${Date.now() - started} ms (${attempts} probes); ${last}`,
    lastValue,
    lastError,
  );
}
