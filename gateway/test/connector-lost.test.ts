// Connector liveness end to end (docs/architecture.md, "Connector liveness"): a real
// connector-ldap process, killed with SIGKILL while it reads, leaves its run FAILED with
// CONNECTOR_LOST in seconds — not RUNNING until the 600 s run timeout, and not blamed on the sync
// replica — nobody is removed, and the directory syncs again at once with a fresh connector.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDemo, startSlapd, waitFor, type Slapd } from '@dirsync/testkit';
import {
  RUN_FIELDS,
  demoDirectoryInput,
  startStack,
  syncAllAndWait,
  waitForRun,
  type RunView,
  type Stack,
} from './support/stack.js';
import { startStallProxy, type StallProxy } from './support/stall-proxy.js';

const CONNECTOR_MAIN = fileURLToPath(
  new URL('../../services/connector-ldap/dist/main.js', import.meta.url),
);
const RUN_TIMEOUT_SECONDS = 600;
const demo = loadDemo();

interface ConnectorProcess {
  process: ChildProcess;
  exited: Promise<void>;
}

describe('a connector process killed in the middle of a run', () => {
  let slapd: Slapd;
  let proxy: StallProxy;
  let stack: Stack;
  let db: pg.Client;
  const children: ConnectorProcess[] = [];

  /** connector-ldap in a process of its own (built `dist/main.js`), to be killed for real. */
  async function spawnConnector(instanceId: string): Promise<ConnectorProcess> {
    const child = spawn(process.execPath, [CONNECTOR_MAIN], {
      env: {
        PATH: process.env.PATH,
        NATS_URL: 'nats://127.0.0.1:4222',
        NATS_NAMESPACE: stack.namespace,
        PORT: '0',
        LOG_LEVEL: 'info',
        CONNECTOR_HEARTBEAT_SECONDS: '1',
        CONNECTOR_INSTANCE_ID: instanceId,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const started = { process: child, exited };
    children.push(started);
    let output = '';
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    await new Promise<void>((resolve, reject) => {
      let buffer = '';
      child.stdout?.on('data', (d: Buffer) => {
        buffer += d.toString();
        for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          output += `${line}\n`;
          try {
            if ((JSON.parse(line) as { msg?: string }).msg === 'connector-ldap started') resolve();
          } catch {
            // not a log line
          }
        }
      });
      child.once('exit', (code) =>
        reject(new Error(`connector-ldap exited (${code}) before starting:\n${output}`)),
      );
    });
    return started;
  }

  beforeAll(async () => {
    if (!existsSync(CONNECTOR_MAIN)) {
      throw new Error(`${CONNECTOR_MAIN} is missing: build first (npx turbo run build)`);
    }
    slapd = await startSlapd({ ldif: demo.ldif, name: 'connector-lost' });
    proxy = await startStallProxy({ host: '127.0.0.1', port: slapd.port });
    stack = await startStack({
      runTimeoutSeconds: RUN_TIMEOUT_SECONDS,
      sync: { connectorLostSeconds: 4 },
    });
    // Only the connector processes of this test take ldap jobs.
    await stack.connector.stop();
    db = new pg.Client({ connectionString: stack.databaseUrl });
    await db.connect();
  });

  afterAll(async () => {
    for (const c of children) if (c.process.exitCode === null) c.process.kill('SIGKILL');
    await db?.end();
    await stack?.stop();
    await proxy?.close();
    await slapd?.stop();
  });

  const activeUsers = async (directoryId: string) =>
    Number(
      (
        await db.query<{ n: string }>(
          `select count(*) as n from identity.users where directory_id = $1 and status = 'active'`,
          [directoryId],
        )
      ).rows[0]!.n,
    );

  it('fails the run with CONNECTOR_LOST naming the connector; a fresh syncAll succeeds', async () => {
    const doomed = await spawnConnector('doomed-ldap');
    const { createDirectory } = await stack.gql<{ createDirectory: { id: string } }>(
      `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { id } }`,
      {
        input: demoDirectoryInput(
          { url: proxy.url, rootPassword: slapd.rootPassword },
          // The source may hang for as long as it likes: only liveness can end the run.
          { ldap: { ...demo.directory.ldap, url: proxy.url, timeoutMs: 600_000 } },
        ),
      },
    );
    const directoryId = createDirectory.id;
    const first = await syncAllAndWait(stack, directoryId);
    expect(first.status).toBe('COMPLETED');
    const synced = await activeUsers(directoryId);
    expect(synced).toBeGreaterThan(0);

    // The source hangs: the next run's connector is left waiting in the middle of its read.
    proxy.stall();
    const { syncAll } = await stack.gql<{ syncAll: RunView }>(
      `mutation($id: ID!) { syncAll(directoryId: $id) { ${RUN_FIELDS} } }`,
      { id: directoryId },
    );
    // Running: the connector reported it (heartbeat) and identity has its RunStarted.
    await waitFor(
      async () => {
        const s = await db.query<{ status: string; connector_instance: string | null }>(
          'select status, connector_instance from sync.runs where id = $1',
          [syncAll.id],
        );
        const i = await db.query<{ status: string }>(
          'select status from identity.runs where run_id = $1',
          [syncAll.id],
        );
        return (
          s.rows[0]?.status === 'RUNNING' &&
          s.rows[0].connector_instance === 'doomed-ldap' &&
          i.rows[0]?.status === 'RUNNING'
        );
      },
      {
        timeoutMs: 30_000,
        message: 'the run is RUNNING in sync and identity, reported by doomed-ldap',
      },
    );

    doomed.process.kill('SIGKILL');
    await doomed.exited;

    // Well before the run timeout (the wait gives up after a tenth of it).
    const lost = await waitForRun(stack, syncAll.id, (RUN_TIMEOUT_SECONDS / 10) * 1000);
    expect(lost.status).toBe('FAILED');
    expect(lost.errorCode).toBe('CONNECTOR_LOST');
    expect(lost.errorMessage).toContain('the ldap connector "doomed-ldap"');
    expect(lost.errorMessage).not.toContain('replica');
    // A failed run removes nobody.
    expect(await activeUsers(directoryId)).toBe(synced);
    // Identity ends the run as well (the sync service's RunFailed, in order on the directory's
    // events): whatever of it arrives later is ignored.
    await waitFor(
      async () => {
        const i = await db.query<{ status: string; error_code: string | null }>(
          'select status, error_code from identity.runs where run_id = $1',
          [syncAll.id],
        );
        return i.rows[0]?.status === 'FAILED' && i.rows[0].error_code === 'CONNECTOR_LOST';
      },
      { timeoutMs: 30_000, message: 'identity failed the lost run with CONNECTOR_LOST' },
    );

    // The directory is free at once; a fresh connector completes the next run.
    proxy.resume();
    await spawnConnector('fresh-ldap');
    const next = await syncAllAndWait(stack, directoryId);
    expect(next).toMatchObject({ status: 'COMPLETED', counts: { pendingDeletion: 0 } });
    expect(await activeUsers(directoryId)).toBe(synced);
    // The lost run stays FAILED, in identity and in sync.
    const identityRun = await db.query<{ status: string }>(
      'select status from identity.runs where run_id = $1',
      [syncAll.id],
    );
    expect(identityRun.rows[0]?.status).toBe('FAILED');
    const { run } = await stack.gql<{ run: RunView }>(
      `query($id: ID!) { run(id: $id) { ${RUN_FIELDS} } }`,
      { id: syncAll.id },
    );
    expect(run).toMatchObject({ status: 'FAILED', errorCode: 'CONNECTOR_LOST' });
    // Operators see which connector process was on it.
    const { run: lostRun } = await stack.gql<{
      run: { connector: { kind: string; instance: string; publishedAt: string | null } };
    }>(`query($id: ID!) { run(id: $id) { connector { kind instance publishedAt } } }`, {
      id: syncAll.id,
    });
    expect(lostRun.connector).toEqual({ kind: 'ldap', instance: 'doomed-ldap', publishedAt: null });
    const { run: nextRun } = await stack.gql<{ run: { connector: { instance: string } } }>(
      `query($id: ID!) { run(id: $id) { connector { instance } } }`,
      { id: next.id },
    );
    expect(nextRun.connector.instance).toBe('fresh-ldap');

    const metrics = await (await fetch(new URL('/metrics', stack.sync.url))).text();
    expect(metrics).toMatch(/dirsync_connectors_lost_total\{[^}]*connector="ldap"[^}]*\} 1\b/);
  });
});
