import { Migrator } from '@mikro-orm/migrations';
import { MikroORM, type EntityManager, type Knex } from '@mikro-orm/postgresql';
import type { Logger } from '@dirsync/kit';
import { entities } from '../entities/index.js';
import { migrationsList } from '../migrations/index.js';
import { beginLifecycle, flushLifecycle } from '../lifecycle/lifecycle.outbox.js';
import { inTransaction, sqlOn, type Sql } from './sql.js';

/** The identity database: the ORM for the request path, raw SQL for the apply path. */
export interface Database {
  readonly orm: MikroORM;
  readonly knex: Knex;
  /** Autocommit statements on the pool. */
  readonly sql: Sql;
  /**
   * Run `fn` in one transaction. Lifecycle events it emits (`emitLifecycle`) are written to the
   * outbox just before the commit, and the outbox listener is told after it.
   */
  tx<T>(fn: (sql: Sql) => Promise<T>): Promise<T>;
  /** Called after a commit that wrote lifecycle events (the relay's `wake`). */
  onOutbox(listener: () => void): void;
  /** A fresh EntityManager for one request. */
  em(): EntityManager;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  url: string;
  schema: string;
  poolMax: number;
  logger: Logger;
  /** NATS namespace of the lifecycle subjects written to the outbox. */
  namespace: string;
}

/**
 * Connect, create the database and the schema when missing, and run pending migrations. Two
 * replicas starting together serialise on an advisory lock, so they never race a migration.
 */
export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  const orm = await MikroORM.init({
    clientUrl: opts.url,
    schema: opts.schema,
    entities,
    extensions: [Migrator],
    // Raw SQL (apply path, migrations) names tables unqualified: the schema comes first.
    driverOptions: { searchPath: [opts.schema, 'public'] },
    pool: { min: 0, max: opts.poolMax },
    migrations: {
      migrationsList,
      tableName: 'mikro_orm_migrations',
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      silent: true,
    },
    discovery: { disableDynamicFileAccess: true, warnWhenNoEntities: false },
    allowGlobalContext: false,
    debug: false,
  });
  try {
    await ensureDatabase(orm);
    const knex = orm.em.getConnection().getKnex();
    let listener: (() => void) | undefined;
    await migrate(orm, knex, opts.schema, opts.logger);
    return {
      orm,
      knex,
      sql: sqlOn(knex),
      async tx(fn) {
        let wrote = 0;
        const result = await inTransaction(knex, async (sql) => {
          beginLifecycle(sql);
          const value = await fn(sql);
          wrote = await flushLifecycle(sql, opts.namespace);
          return value;
        });
        if (wrote > 0) listener?.();
        return result;
      },
      onOutbox(fn) {
        listener = fn;
      },
      em: () => orm.em.fork(),
      async ping() {
        try {
          await knex.raw('select 1');
          return true;
        } catch {
          return false;
        }
      },
      close: () => orm.close(true),
    };
  } catch (err) {
    await orm.close(true).catch(() => undefined);
    throw err;
  }
}

async function ensureDatabase(orm: MikroORM): Promise<void> {
  try {
    await orm.schema.ensureDatabase();
  } catch (err) {
    // Another replica created it between the check and the create.
    if ((err as { code?: string }).code !== '42P04') throw err;
    await orm.reconnect();
  }
}

async function migrate(orm: MikroORM, knex: Knex, schema: string, logger: Logger): Promise<void> {
  const lock = `dirsync:${schema}:migrations`;
  // Separate transactions: the Migrator checks for its own table outside the one it migrates in.
  await knex.transaction(async (trx) => {
    await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [lock]);
    await trx.raw(`create schema if not exists "${schema}"`);
  });
  await knex.transaction(async (trx) => {
    await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [lock]);
    const done = await orm.migrator.up({ transaction: trx });
    if (done.length > 0) {
      logger.info({ migrations: done.map((m) => m.name), schema }, 'migrations applied');
    }
  });
}
