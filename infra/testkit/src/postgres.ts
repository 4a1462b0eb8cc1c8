import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The server createTestDatabase uses: `DIRSYNC_TEST_DATABASE_URL` or the local trust-auth one. */
export function testDatabaseServerUrl(): string {
  return process.env.DIRSYNC_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

/** A database made by {@link createTestDatabase}. */
export interface TestDatabase {
  /** Connection URL of the new database (same server, user and options as the base URL). */
  url: string;
  /** Its name, `dirsync_t_` + 12 hex chars. */
  name: string;
  /** `DROP DATABASE … WITH (FORCE)`: ends open connections, then drops. Idempotent. */
  drop(): Promise<void>;
}

function withDatabase(baseUrl: string, name: string): string {
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function admin<T>(baseUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: baseUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Create an empty, randomly named database for one test file on the Postgres at
 * {@link testDatabaseServerUrl} (the URL's user must be allowed to CREATE DATABASE; trust auth
 * locally). Contract: the name is unique per call, the database is owned by the URL's user and
 * has nothing in it (template0 is not used, so extensions in template1 are present); call `drop()`
 * in afterAll.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const base = testDatabaseServerUrl();
  const name = `dirsync_t_${randomBytes(6).toString('hex')}`;
  await admin(base, (c) => c.query(`CREATE DATABASE "${name}"`));
  let dropped = false;
  return {
    name,
    url: withDatabase(base, name),
    async drop() {
      if (dropped) return;
      await admin(base, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
      dropped = true;
    },
  };
}
