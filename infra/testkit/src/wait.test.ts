import { describe, expect, it } from 'vitest';
import { WaitForTimeoutError, waitFor } from './wait.js';

describe('waitFor', () => {
  it('returns the first truthy value', async () => {
    let n = 0;
    const value = await waitFor(async () => (++n >= 3 ? { n } : undefined), { intervalMs: 1 });
    expect(value).toEqual({ n: 3 });
  });

  it('accepts synchronous probes and treats throws as "not yet"', async () => {
    let n = 0;
    const value = await waitFor(
      () => {
        n++;
        if (n < 3) throw new Error('not ready');
        return 'ok';
      },
      { intervalMs: 1 },
    );
    expect(value).toBe('ok');
  });

  it('times out with the message and the last value', async () => {
    const err = await waitFor(async () => false, {
      timeoutMs: 60,
      intervalMs: 10,
      message: 'user imported',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaitForTimeoutError);
    expect((err as Error).message).toMatch(/user imported not reached after \d+ ms/);
    expect((err as Error).message).toMatch(/last value: false/);
  });

  it('times out with the last error', async () => {
    const err = await waitFor(
      async () => {
        throw new Error('connection refused');
      },
      { timeoutMs: 50, intervalMs: 10 },
    ).catch((e: unknown) => e as WaitForTimeoutError);
    expect(err.message).toMatch(/last error: connection refused/);
    expect((err.cause as Error).message).toBe('connection refused');
    expect(err.lastError).toBeInstanceOf(Error);
  });

  it('abandons a probe that hangs past the deadline', async () => {
    const started = Date.now();
    await expect(
      waitFor(() => new Promise<boolean>(() => undefined), { timeoutMs: 80 }),
    ).rejects.toThrow(/not reached/);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
