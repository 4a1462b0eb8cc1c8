import type { Knex } from '@mikro-orm/postgresql';

/**
 * Parameterised SQL on one connection or transaction, with `?` placeholders. Values go to the
 * `pg` driver as they are, so a JS array binds as one Postgres array (`unnest(?::text[])`).
 * This is the apply path's way to the database: set-based statements, no unit of work.
 */
export interface Sql {
  rows<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Number of rows the statement affected. */
  exec(sql: string, params?: readonly unknown[]): Promise<number>;
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
