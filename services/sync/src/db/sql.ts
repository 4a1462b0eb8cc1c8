import type { EntityManager } from '@mikro-orm/postgresql';
import { ident } from './orm.js';

export type Row = Record<string, unknown>;

/**
 * Raw SQL on the connection (and transaction, if any) of `em`. Parameters are `?`; MikroORM
 * inlines them client-side, so arrays must travel as JSON (`?::jsonb`), never as JS arrays.
 */
export function sql(em: EntityManager) {
  const conn = em.getConnection();
  const ctx = em.getTransactionContext();
  return <T extends Row = Row>(text: string, params: unknown[] = []): Promise<T[]> =>
    conn.execute<T[]>(text, params, 'all', ctx);
}

/** Schema-qualified table names of the service. */
export function tables(schema: string) {
  const s = ident(schema);
  return {
    directories: `${s}.directories`,
    runs: `${s}.runs`,
    runErrors: `${s}.run_errors`,
    outbox: `${s}.outbox`,
    connectors: `${s}.connectors`,
  };
}
export type Tables = ReturnType<typeof tables>;
