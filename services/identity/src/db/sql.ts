import type { Knex } from '@mikro-orm/postgresql';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFromStdin } from 'pg-copy-streams';

/**
 * Parameterised SQL on one connection or transaction, with `?` placeholders. Values go to the
 * `pg` driver as they are, so a JS array binds as one Postgres array (`unnest(?::text[])`).
 * This is the apply path's way to the database: set-based statements, no unit of work.
 */
export interface Sql {
  rows<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Number of rows the statement affected. */
  exec(sql: string, params?: readonly unknown[]): Promise<number>;
  /**
   * Run `copy … from stdin` (text format) with `data`: rows already in COPY's text format, in
   * as many strings as the caller likes. On a transaction it is part of the transaction (its
   * connection). Returns the number of rows copied.
   */
  copyFrom(statement: string, data: readonly string[]): Promise<number>;
}

/** What knex hands out as a connection: a `pg` Client, which runs a COPY stream as a query. */
interface PgConnection {
  query<T extends NodeJS.WritableStream>(stream: T): T;
}

/** knex's client: a transaction's hands out the transaction's connection, and keeps it. */
interface ConnectionSource {
  acquireConnection(): Promise<PgConnection>;
  releaseConnection(connection: PgConnection): Promise<void>;
}

interface PgResult {
  rows: unknown[];
  rowCount: number | null;
}

export function sqlOn(k: Knex | Knex.Transaction): Sql {
  const run = (sql: string, params: readonly unknown[]) =>
    k.raw(sql, params as readonly Knex.RawBinding[]) as unknown as Promise<PgResult>;
  return {
    async rows<T>(sql: string, params: readonly unknown[] = []) {
      return (await run(sql, params)).rows as T[];
    },
    async exec(sql: string, params: readonly unknown[] = []) {
      return (await run(sql, params)).rowCount ?? 0;
    },
    async copyFrom(statement: string, data: readonly string[]) {
      const source = k.client as unknown as ConnectionSource;
      const connection = await source.acquireConnection();
      try {
        const stream = connection.query(copyFromStdin(statement));
        await pipeline(Readable.from(data), stream);
        return stream.rowCount;
      } finally {
        await source.releaseConnection(connection);
      }
    },
  };
}

/** Run `fn` in one transaction; commit when it returns, roll back when it throws. */
export function inTransaction<T>(knex: Knex, fn: (sql: Sql) => Promise<T>): Promise<T> {
  return knex.transaction((trx) => fn(sqlOn(trx)));
}

/** Postgres returns bigint counts as strings. */
export function toInt(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return Number.parseInt(value, 10);
  if (typeof value === 'bigint') return Number(value);
  return 0;
}
