// The delta cursor only moves past what identity committed: identity, sync and the gateway in
// process, the test playing the connector (it takes the job, asks for the configuration and
// publishes the run's events itself), so it decides when identity is down.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DirectoryEventSchema,
  Stream,
  Subject,
  SyncMode,
  ConfigReplySchema,
  ConfigRequestSchema,
  create,
  eventMsgId,
  fromBinary,
  streamName,
  subject,
  toBinary,
  type DirectoryEvent,
} from '@dirsync/proto';
import { RUN_UPDATES_DURABLE } from '@dirsync/sync';
import { waitFor } from '@dirsync/testkit';
import { startStack, waitForRun, type Stack } from './support/stack.js';

type EventInit = NonNullable<Parameters<typeof create<typeof DirectoryEventSchema>>[1]>;

describe('the delta cursor', () => {
  let stack: Stack;
  let db: pg.Client;
  let dirId: string;

  beforeAll(async () => {
    stack = await startStack({ runTimeoutSeconds: 2 });
    // The test is the connector: no worker of connector-ldap takes the jobs.
    await stack.connector.stop();
    db = new pg.Client({ connectionString: stack.databaseUrl });
    await db.connect();
    const { createDirectory } = await stack.gql<{ createDirectory: { id: string } }>(
      `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { id } }`,
      {
        input: {
          name: 'cursor test',
          ldap: {
            url: 'ldap://127.0.0.1:1',
            bindDn: 'cn=admin,dc=example,dc=org',
            baseDn: 'dc=example,dc=org',
          },
          bindPassword: 'secret-Pa55',
          selectedGroups: ['cn=staff,ou=groups,dc=example,dc=org'],
          scheduleIntervalMinutes: 0,
        },
      },
    );
    dirId = createDirectory.id;
    await db.query(`update sync.directories set cursor = 'cursor-0' where id = $1`, [dirId]);
  }, 120_000);

  afterAll(async () => {
    await db?.end();
    await stack?.stop();
  });

  const storedCursor = async () =>
    (
      await db.query<{ cursor: string }>('select cursor from sync.directories where id = $1', [
        dirId,
      ])
    ).rows[0]?.cursor;

  /** Queue a DELTA run and do what the connector does, up to and including RunCompleted. */
  async function deltaRunPublished(newCursor: string): Promise<string> {
    const { syncAll } = await stack.gql<{ syncAll: { id: string } }>(
      `mutation($id: ID!) { syncAll(directoryId: $id, mode: DELTA) { id } }`,
      { id: dirId },
    );
    const runId = syncAll.id;
    const reply = fromBinary(
      ConfigReplySchema,
      (
        await stack.nc.request(
          subject(Subject.CONFIG, { directory_id: dirId }, stack.namespace),
          toBinary(ConfigRequestSchema, create(ConfigRequestSchema, { directoryId: dirId, runId })),
          { timeout: 5_000 },
        )
      ).data,
    );
    expect(reply.result.case === 'config' && reply.result.value.cursor).toBe(await storedCursor());
    const bodies: EventInit['body'][] = [
      { case: 'runStarted', value: { mode: SyncMode.DELTA, policy: { restoreWindowDays: 7 } } },
      {
        case: 'users',
        value: { users: [{ externalId: `u-${newCursor}`, username: `user-${newCursor}` }] },
      },
      { case: 'runCompleted', value: { lastSeq: 3, cursor: newCursor, readMode: SyncMode.DELTA } },
    ];
    const js = stack.nc.jetstream();
    for (const [i, body] of bodies.entries()) {
      const event: DirectoryEvent = create(DirectoryEventSchema, {
        runId,
        directoryId: dirId,
        seq: i + 1,
        emittedAtMs: BigInt(Date.now()),
        body,
      } as EventInit);
      await js.publish(
        subject(Subject.EVENTS, { directory_id: dirId }, stack.namespace),
        toBinary(DirectoryEventSchema, event),
        { msgID: eventMsgId(runId, i + 1) },
      );
    }
    return runId;
  }

  /** Sync has consumed every RunUpdate identity published so far. */
  async function syncCaughtUp(): Promise<void> {
    const jsm = await stack.nc.jetstreamManager();
    const stream = streamName(Stream.LIFECYCLE, stack.namespace).name;
    await waitFor(
      async () => {
        const info = await jsm.consumers.info(stream, RUN_UPDATES_DURABLE);
        return info.num_pending === 0 && info.num_ack_pending === 0;
      },
      { timeoutMs: 20_000, message: 'sync consumed every RunUpdate' },
    );
  }

  it('is stored when identity completes the run', async () => {
    const runId = await deltaRunPublished('cursor-1');
    const run = await waitForRun(stack, runId);
    expect(run.status).toBe('COMPLETED');
    expect(await storedCursor()).toBe('cursor-1');
  });

  it('stays where it was while identity has not committed the run, and moves when identity does', async () => {
    await stack.stopIdentity();
    const runId = await deltaRunPublished('cursor-2');
    // Identity is down: nothing commits the run; sync times it out (the test's connector sends no
    // heartbeat saying it published the run) and the cursor stays.
    const run = await waitForRun(stack, runId);
    expect(run.status).toBe('FAILED');
    expect(run.errorCode).toBe('RUN_TIMEOUT');
    expect(await storedCursor()).toBe('cursor-1');

    // Identity comes back and applies the events it finds waiting — the connector's RunCompleted
    // is ahead of sync's verdict in the stream. What identity committed is what the run did:
    // sync records its outcome over the timeout, and only now the cursor moves.
    await stack.startIdentity();
    await waitFor(
      async () => {
        const r = await db.query<{ status: string }>(
          'select status from identity.runs where run_id = $1',
          [runId],
        );
        return r.rows[0]?.status === 'COMPLETED';
      },
      { timeoutMs: 20_000, message: 'identity completed the late run' },
    );
    // (Identity's outbox publishes the update after its commit: wait for it, not just for sync.)
    const after = await waitFor(
      async () => {
        const r = await waitForRun(stack, runId);
        return r.status === 'COMPLETED' ? r : undefined;
      },
      { timeoutMs: 20_000, message: "identity's outcome recorded" },
    );
    expect(after.errorCode).toBeNull();
    await syncCaughtUp();
    expect(await storedCursor()).toBe('cursor-2');
  });
});
