import type { Logger } from '@dirsync/kit';
import type { SyncOrm } from '../db/orm.js';
import type { Tables } from '../db/sql.js';
import type { SecretBox } from './secret-box.js';

/**
 * Key rotation: re-encrypt every stored directory secret that is not under the current key
 * (`DIRSYNC_SECRET_KEY`) with it, reading the old ones with `DIRSYNC_PREVIOUS_SECRET_KEYS`. Runs
 * at start; each row is updated only if it still holds the ciphertext that was read, so replicas
 * starting together (or a concurrent `updateDirectory`) never overwrite a newer secret. Secrets
 * under a key that is not configured are left alone and reported (by directory and key id).
 */
export async function reencryptSecrets(opts: {
  orm: SyncOrm;
  tables: Tables;
  box: SecretBox;
  logger: Logger;
}): Promise<{ reencrypted: number; unreadable: string[] }> {
  const conn = opts.orm.em.getConnection();
  const current = `v1.${opts.box.keyId}.%`;
  const rows = await conn.execute<{ id: string; bind_password_enc: string }[]>(
    `select id, bind_password_enc from ${opts.tables.directories}
      where bind_password_enc is not null and bind_password_enc not like ?`,
    [current],
    'all',
  );
  let reencrypted = 0;
  const unreadable: string[] = [];
  for (const row of rows) {
    let plain: string;
    try {
      plain = opts.box.decrypt(row.bind_password_enc, row.id);
    } catch (err) {
      unreadable.push(row.id);
      opts.logger.error(
        { directoryId: row.id, reason: (err as Error).message },
        'directory secret is under a key that is not configured; add it to DIRSYNC_PREVIOUS_SECRET_KEYS',
      );
      continue;
    }
    const res = await conn.execute<{ id: string }[]>(
      `update ${opts.tables.directories} set bind_password_enc = ?
        where id = ? and bind_password_enc = ? returning id`,
      [opts.box.encrypt(plain, row.id), row.id, row.bind_password_enc],
      'all',
    );
    reencrypted += res.length;
  }
  if (reencrypted > 0 || unreadable.length > 0) {
    opts.logger.warn(
      { reencrypted, unreadable: unreadable.length, keyId: opts.box.keyId },
      'directory secrets re-encrypted with the current DIRSYNC_SECRET_KEY',
    );
  }
  return { reencrypted, unreadable };
}
