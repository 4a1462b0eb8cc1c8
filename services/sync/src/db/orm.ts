import { MikroORM, type EntityManager } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import type { Logger } from '@dirsync/kit';
import { DirectorySchema } from '../directory/directory.entity.js';
import { RunSchema } from '../run/run.entity.js';
import { RunErrorSchema } from '../run/run-error.entity.js';
import { OutboxMessageSchema } from '../outbox/outbox.entity.js';
import { migrationsList } from '../migrations/index.js';

export type { EntityManager };
export type SyncOrm = MikroORM;

export const entities = [DirectorySchema, RunSchema, RunErrorSchema, OutboxMessageSchema];

/** Double-quote a Postgres identifier. */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Connect, create the schema if it is missing and run pending migrations (never schema sync).
 * Replicas starting together serialise on an advisory lock so only one migrates.
 */
export async function openOrm(opts: {
  databaseUrl: string;
  schema: string;
  logger: Logger;
}): Promise<SyncOrm> {
  const orm = await MikroORM.init({
    clientUrl: opts.databaseUrl,
    schema: opts.schema,
    entities,
    extensions: [Migrator],
    migrations: {
      migrationsList,
      tableName: 'mikro_orm_migrations',
      transactional: true,
      allOrNothing: true,
      silent: true,
      // Snapshots only serve `migration:create` diffs, and would be written next to the code.
      snapshot: false,
    },
    discovery: { warnWhenNoEntities: false },
    allowGlobalContext: false,
    debug: false,
    pool: { min: 0, max: 10 },
  });
  try {
    const conn = orm.em.getConnection();
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
  return orm;
}
