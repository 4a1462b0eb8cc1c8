#!/usr/bin/env node
// Break-glass: `dirsync-auth issue-owner-key [name]` issues an owner API key straight into the
// database (for when every owner key is lost). It needs what the service needs (DATABASE_URL,
// DATABASE_SCHEMA, DIRSYNC_GATEWAY_PUBLIC_KEY); the key is printed on stdout, the audit trail is
// the key's `createdBy: system:cli`.
import { createLogger } from '@dirsync/kit';
import { loadAuthEnv } from './env.js';
import { openDatabase, tables } from './db/database.js';
import { KeyService } from './keys/key.service.js';

const [command, ...rest] = process.argv.slice(2);
if (command !== 'issue-owner-key') {
  process.stderr.write('usage: dirsync-auth issue-owner-key [name]\n');
  process.exit(2);
}
const config = loadAuthEnv();
const logger = createLogger('auth-cli', 'warn');
const db = await openDatabase({
  databaseUrl: config.databaseUrl,
  schema: config.databaseSchema,
  logger,
});
try {
  const keys = new KeyService({
    db,
    tables: tables(config.databaseSchema),
    clock: () => new Date(),
    logger,
  });
  const { key } = await keys.issueOwnerKey(rest.join(' ') || 'owner key (issued by CLI)');
  process.stdout.write(`${key}\n`);
} finally {
  await db.close();
}
