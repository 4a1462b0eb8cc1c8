import { MikroORM } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import type { Logger } from '@dirsync/kit';
import { migrationsList } from '../migrations/index.js';

/** Double-quote a Postgres identifier. */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The auth service's tables, by schema-qualified name. */
export function tables(schema: string) {
  const s = ident(schema);
  return { apiKeys: `${s}.api_keys`, audit: `${s}.audit_log` };
}
export type Tables = ReturnType<typeof tables>;

/** Plain SQL over the ORM's connection (the service has a handful of queries, no entities). */
export interface Database {
  rows<T>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Run `fn` in one transaction; `sql` inside it uses that transaction. */
  transaction<T>(fn: (sql: Database['rows']) => Promise<T>): Promise<T>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Connect, create the schema if it is missing and run pending migrations. Replicas starting
 * together serialise on an advisory lock so only one migrates.
 */
export async function openDatabase(opts: {
  databaseUrl: string;
  schema: string;
  logger: Logger;
}): Promise<Database> {
  const orm = await MikroORM.init({
    clientUrl: opts.databaseUrl,
    schema: opts.schema,
    entities: [],
    extensions: [Migrator],
    migrations: {
      migrationsList,
      tableName: 'mikro_orm_migrations',
      transactional: true,
      allOrNothing: true,
      silent: true,
      snapshot: false,
    },
    discovery: { warnWhenNoEntities: false },
    allowGlobalContext: true,
    debug: false,
    pool: { min: 0, max: 5 },
  });
  const conn = orm.em.getConnection();
  try {
    const lock = `dirsync-migrations:${opts.schema}`;
    await conn.transactional(async (trx) => {
      await conn.execute('select pg_advisory_xact_lock(hashtext(?))', [lock], 'all', trx);
      await conn.execute(`create schema if not exists ${ident(opts.schema)}`, [], 'run', trx);
    });
    await conn.transactional(async (trx) => {
      await conn.execute('select pg_advisory_xact_lock(hashtext(?))', [lock], 'all', trx);
      const applied = await orm.getMigrator().up();
      if (applied.length > 0) {
        opts.logger.info({ migrations: applied.map((m) => m.name) }, 'migrations applied');
      }
    });
  } catch (err) {
    await orm.close(true);
    throw err;
  }
  const rows = <T>(sql: string, params: unknown[] = []) =>
    conn.execute<T[]>(sql, params as never[], 'all');
  return {
    rows,
    transaction: (fn) =>
      conn.transactional((trx) =>
        fn(<T>(sql: string, params: unknown[] = []) =>
          conn.execute<T[]>(sql, params as never[], 'all', trx),
        ),
      ),
    async ping() {
      try {
        await conn.execute('select 1');
        return true;
      } catch {
        return false;
      }
    },
    close: () => orm.close(true),
  };
}

/** A timestamptz as the driver returns it (MikroORM keeps them as strings) → Date. */
export function toDate(value: Date | string | null | undefined): Date | null {
  if (value === null || value === undefined) return null;
  return value instanceof Date ? value : new Date(value);
}
