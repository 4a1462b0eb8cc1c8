import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { connect, type NatsConnection } from 'nats';
import {
  createTestDatabase,
  deleteNamespaceStreams,
  freePort,
  natsNamespace,
  natsUrl,
} from '../src/index.js';

describe('createTestDatabase', () => {
  it('creates a fresh database and drops it', async () => {
    const db = await createTestDatabase();
    expect(db.name).toMatch(/^dirsync_t_[0-9a-f]{12}$/);
    expect(new URL(db.url).pathname).toBe(`/${db.name}`);
    const client = new pg.Client({ connectionString: db.url });
    client.on('error', () => undefined); // drop() terminates this connection
    await client.connect();
    const { rows } = await client.query<{ db: string }>('select current_database() as db');
    expect(rows[0]?.db).toBe(db.name);
    await client.query('create table t (id int)');
    // an open connection does not stop drop() (WITH (FORCE))
    await db.drop();
    await client.end().catch(() => undefined);
    const admin = new pg.Client({ connectionString: db.url.replace(db.name, 'postgres') });
    await admin.connect();
    const left = await admin.query('select 1 from pg_database where datname = $1', [db.name]);
    await admin.end();
    expect(left.rowCount).toBe(0);
    await db.drop(); // idempotent
  });
});

describe('NATS helpers', () => {
  let nc: NatsConnection | undefined;
  afterAll(async () => {
    await nc?.close();
  });

  it('natsNamespace is t + 8 hex and unique', () => {
    const a = natsNamespace();
    expect(a).toMatch(/^t[0-9a-f]{8}$/);
    expect(natsNamespace()).not.toBe(a);
  });

  it('deleteNamespaceStreams deletes only the namespace streams', async () => {
    nc = await connect({ servers: natsUrl() });
    const jsm = await nc.jetstreamManager();
    const ns = natsNamespace();
    const other = natsNamespace();
    for (const [prefix, name] of [
      [ns, 'DIRSYNC_EVENTS'],
      [ns, 'DIRSYNC_JOBS'],
      [other, 'DIRSYNC_EVENTS'],
    ] as const) {
      await jsm.streams.add({
        name: `${prefix}_${name}`,
        subjects: [`${prefix}.${name.toLowerCase()}.>`],
      });
    }
    const deleted = await deleteNamespaceStreams(nc, ns);
    expect(deleted.sort()).toEqual([`${ns}_DIRSYNC_EVENTS`, `${ns}_DIRSYNC_JOBS`]);
    const names: string[] = [];
    for await (const n of jsm.streams.names()) names.push(n);
    expect(names).toContain(`${other}_DIRSYNC_EVENTS`);
    expect(names.filter((n) => n.startsWith(`${ns}_`))).toEqual([]);
    expect(await deleteNamespaceStreams(nc, other)).toEqual([`${other}_DIRSYNC_EVENTS`]);
    await expect(deleteNamespaceStreams(nc, '')).rejects.toThrow(/empty namespace/);
  });
});

describe('freePort', () => {
  it('returns a bindable port', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(1024);
    const net = await import('node:net');
    await new Promise<void>((resolve, reject) => {
      const s = net.createServer().listen(port, '127.0.0.1', () => s.close(() => resolve()));
      s.once('error', reject);
    });
  });
});
