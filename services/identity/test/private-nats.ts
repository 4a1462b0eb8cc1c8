import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { findBinary, waitFor } from '@dirsync/testkit';

/** A private JetStream server this test may stop and start without disturbing anyone else. */
export class PrivateNats {
  private proc: ChildProcess | undefined;

  constructor(
    readonly port: number,
    readonly storeDir: string,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Start the server; a no-op while it runs (a second process would leak: same port). */
  async start(): Promise<void> {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) return;
    const proc = spawn(
      findBinary('nats-server'),
      ['-js', '-a', '127.0.0.1', '-p', String(this.port), '-sd', this.storeDir],
      { stdio: ['ignore', 'ignore', 'ignore'] },
    );
    this.proc = proc;
    await waitFor(
      async () => {
        const probe = await fetchVarz(this.port).catch(() => false);
        return probe;
      },
      { message: 'private nats-server up', timeoutMs: 15_000 },
    );
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGTERM');
    await exited;
    this.proc = undefined;
  }
}

/** True once the server accepts TCP connections and answers the NATS INFO line. */
async function fetchVarz(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('data', (buf) => {
      socket.destroy();
      resolve(buf.toString().startsWith('INFO'));
    });
    socket.once('error', () => resolve(false));
  });
}
