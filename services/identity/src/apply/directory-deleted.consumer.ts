import {
  DirectoryDeletedSchema,
  ErrorCode,
  Stream,
  Transition,
  Subject,
  fromBinary,
  streamName,
  subject,
  type DirectoryDeleted,
} from '@dirsync/proto';
import {
  ensureConsumer,
  startConsumerLoop,
  type ConsumerLoop,
  type JetStreamClient,
  type JetStreamManager,
  type Logger,
} from '@dirsync/kit';
import type { Database } from '../db/database.js';
import {
  ADMIN_RETURNING,
  PENDING_DELETION_SET,
  emitAdminsGone,
  type Written,
} from './admins.apply.js';
import { DEFAULT_RESTORE_WINDOW_DAYS } from './applier.js';
import { commitRun, dropStaging, lockRunningRuns } from './run.repository.js';
import { DELETED_GROUP_RETURNING, DELETED_GROUP_ROWS, emitGroupsDeleted } from './groups.apply.js';
import {
  REMOVED_USER_RETURNING,
  REMOVED_USER_ROWS,
  emitUsersPendingDeletion,
  type RemovedRow,
} from './removal.js';
import { discardBlocked } from './safety.js';

export const LIFECYCLE_DURABLE = 'identity-directory-deleted';

/**
 * A deleted directory: its users go to pending deletion with the given window and become
 * directory-less (manual) users, its groups (and so their memberships) go, and any run still
 * open for it fails. Applying it twice changes
 * nothing the second time.
 */
export async function applyDirectoryDeleted(
  db: Database,
  namespace: string,
  event: DirectoryDeleted,
): Promise<{ pendingDeletion: number; groupsRemoved: number }> {
  const days = event.restoreWindowDays || DEFAULT_RESTORE_WINDOW_DAYS;
  return db.tx(async (sql) => {
    for (const run of await lockRunningRuns(sql, event.directoryId)) {
      run.status = 'FAILED';
      run.error = {
        code: ErrorCode.DIRECTORY_NOT_FOUND,
        message: `directory ${event.directoryId} was deleted while the run was open`,
      };
      await dropStaging(sql, run.runId);
      await commitRun(sql, namespace, run);
    }
    // Blocked runs wait for a decision nobody can make any more: their plans go.
    await discardBlocked(sql, namespace, event.directoryId);
    const [users] = await sql.rows<{ rows: RemovedRow[] }>(
      `with removed as (
         update users u set previous_status = u.status, status = 'pending_deletion',
           removal_reason = 'directory_deleted', pending_deletion_at = now(),
           purge_after = now() + make_interval(days => ?), version = u.version + 1,
           updated_at = now()
         where u.directory_id = ? and u.status <> 'pending_deletion'
         returning ${REMOVED_USER_RETURNING})
       select ${REMOVED_USER_ROWS} as rows`,
      [days, event.directoryId],
    );
    // An operator's deletion of the directory: no run caused it.
    emitUsersPendingDeletion(sql, '', users?.rows);
    // Then every user of the directory (those pending before too) is detached from it: the
    // directory is gone, so nothing may point at it any more (`User.directory` is null, never a
    // dangling federated reference) and nobody is READ_ONLY "synced from" a source that no
    // longer exists. They stay in pending deletion with the reason `directory_deleted`: purged
    // when the window ends or by `purgeUser`, or restored by `restoreUser` — as manual users,
    // which `updateUser` / `deleteUser` then manage (docs/lifecycle.md#a-deleted-directory).
    // Not a transition (no version, no event): the pending_deletion event above carried the
    // directory id.
    await sql.exec(
      `update users set directory_id = null, external_id = null, removal_reason = 'directory_deleted',
         updated_at = now()
       where directory_id = ?`,
      [event.directoryId],
    );
    // Its synced administrators likewise: pending deletion with the window, then detached, so
    // no admin stays ACTIVE and READ_ONLY "synced from" a source nobody can change any more;
    // as manual administrators they can be deleted (or purged when the window ends).
    const admins = await sql.rows<Written>(
      `update admins a set ${PENDING_DELETION_SET}
       where a.directory_id = ? and a.status <> 'pending_deletion'
       returning ${ADMIN_RETURNING}`,
      [days, event.directoryId],
    );
    emitAdminsGone(sql, Transition.PENDING_DELETION, admins, {});
    await sql.exec(
      `update admins set directory_id = null, external_id = null, updated_at = now()
       where directory_id = ?`,
      [event.directoryId],
    );
    const [groups] = await sql.rows<{ rows: Parameters<typeof emitGroupsDeleted>[3] }>(
      `with removed as (delete from groups g where g.directory_id = ?
                        returning ${DELETED_GROUP_RETURNING})
       select ${DELETED_GROUP_ROWS} as rows`,
      [event.directoryId],
    );
    emitGroupsDeleted(sql, event.directoryId, '', groups?.rows);
    const pendingDeletion = users?.rows.length ?? 0;
    const groupsRemoved = groups?.rows?.length ?? 0;
    await sql.exec('delete from directory_state where directory_id = ?', [event.directoryId]);
    return { pendingDeletion, groupsRemoved };
  });
}

/** Second durable consumer: `dirsync.lifecycle.directory.deleted` on DIRSYNC_LIFECYCLE. */
export async function startDirectoryDeletedConsumer(deps: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  namespace: string;
  db: Database;
  logger: Logger;
  onOutbox: () => void;
}): Promise<ConsumerLoop> {
  const stream = streamName(Stream.LIFECYCLE, deps.namespace).name;
  await ensureConsumer(deps.jsm, stream, {
    durable_name: LIFECYCLE_DURABLE,
    filter_subject: subject(
      Subject.LIFECYCLE,
      { entity: 'directory', transition: 'deleted' },
      deps.namespace,
    ),
    max_ack_pending: 1,
  });
  const log = deps.logger.child({ consumer: LIFECYCLE_DURABLE });
  return startConsumerLoop({
    js: deps.js,
    stream,
    durable: LIFECYCLE_DURABLE,
    logger: log,
    handler: async (msg) => {
      let event: DirectoryDeleted;
      try {
        event = fromBinary(DirectoryDeletedSchema, msg.data);
      } catch (err) {
        log.error({ err, streamSeq: msg.seq }, 'undecodable DirectoryDeleted dropped');
        return;
      }
      if (!event.directoryId.trim()) {
        log.warn({ streamSeq: msg.seq }, 'DirectoryDeleted without a directory id dropped');
        return;
      }
      const result = await applyDirectoryDeleted(deps.db, deps.namespace, event);
      log.info({ directoryId: event.directoryId, ...result }, 'directory deleted');
      deps.onOutbox();
    },
  });
}
