import { ErrorCode, RunStatus, RunUpdateSchema, fromBinary } from '@dirsync/proto';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunBuilder, fullRun, runAndWait, startHarness, user, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  // Default 5 deliveries; a short backoff (20, 40, 80, 160 ms) keeps the test quick.
  h = await startHarness({ eventRetryDelayMs: 20 });
});

afterAll(async () => {
  await h?.close();
});

async function usersOf(directoryId: string) {
  return h.rows<{ external_id: string; status: string }>(
    'select external_id, status from users where directory_id = ? order by external_id',
    [directoryId],
  );
}

describe('a poison event', () => {
  const dir = 'dir-poison';

  beforeAll(async () => {
    const final = await runAndWait(h, fullRun(dir, [user('p1', 'pam'), user('p2', 'pat')]));
    expect(final.status).toBe(RunStatus.COMPLETED);
  });

  it('fails its run after 5 attempts, removes nobody, and lets the stream go on', async () => {
    // A real input Postgres refuses every time: a username whose key does not fit a btree
    // index entry (at most 2704 bytes; random hex does not compress). If identity ever refuses
    // such a record itself (a per-object error), this test needs another deterministic failure.
    const huge = randomBytes(3_200).toString('hex');
    const poison = new RunBuilder(dir)
      .started()
      .users([user('p1', 'pam')])
      .users([user('p3', huge)])
      .users([user('p4', 'pia')])
      // Would sweep pat, who is not in this run: a failed run must not.
      .completed('poison-cursor');
    const after = fullRun('dir-after-poison', [user('a1', 'ann')]);
    // Both runs are in the stream at once: the second waits behind the poison, then applies.
    await h.publish([...poison.events, ...after.events]);

    const final = await h.finalUpdate(poison.runId);
    expect(final.status).toBe(RunStatus.FAILED);
    expect(final.error?.code).toBe(ErrorCode.INTERNAL);
    const message = final.error?.message ?? '';
    expect(message).toContain(`event 3 (users) of run ${poison.runId}`);
    expect(message).toContain('after 5 attempts');
    expect(message).toContain('DatabaseError (SQLSTATE 54000)');
    expect(message).not.toContain(huge.slice(0, 64));
    expect(final.cursor).toBe('');

    // The FAILED update went through the outbox like any other, after the two RUNNING ones.
    const outbox = await h.rows<{ msg_id: string; payload: Buffer }>(
      'select msg_id, payload from outbox where msg_id like ? order by id',
      [`${poison.runId}:%`],
    );
    expect(outbox.map((o) => o.msg_id)).toEqual([1, 2, 3].map((s) => `${poison.runId}:u:${s}`));
    const last = fromBinary(RunUpdateSchema, outbox[2]!.payload);
    expect(last.status).toBe(RunStatus.FAILED);
    expect(last.error?.message).toBe(message);
    const [run] = await h.rows<{ status: string; error_code: string }>(
      'select status, error_code from runs where run_id = ?',
      [poison.runId],
    );
    expect(run).toEqual({ status: 'FAILED', error_code: 'INTERNAL' });

    // Nobody removed, nothing of the later batches applied; the next run of another
    // directory completed.
    expect(await usersOf(dir)).toEqual([
      { external_id: 'p1', status: 'active' },
      { external_id: 'p2', status: 'active' },
    ]);
    const next = await h.finalUpdate(after.runId);
    expect(next.status).toBe(RunStatus.COMPLETED);
    expect(next.counts?.created).toBe(1);
    expect(await usersOf('dir-after-poison')).toEqual([{ external_id: 'a1', status: 'active' }]);
    // The events after the poison were ignored as events of a finished run: no more updates.
    expect((await h.updates(poison.runId)).map((u) => u.update.seq)).toEqual([1, 2, 3]);
  });

  it('leaves the directory able to sync again', async () => {
    const final = await runAndWait(h, fullRun(dir, [user('p1', 'pam'), user('p2', 'pat')]));
    expect(final.status).toBe(RunStatus.COMPLETED);
    expect(final.counts).toMatchObject({ unchanged: 2, pendingDeletion: 0 });
  });
});
