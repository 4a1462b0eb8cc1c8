import { Migration } from '@mikro-orm/migrations';

/**
 * Users of a deleted directory are directory-less (see `applyDirectoryDeleted`): the ones a
 * deletion before this migration left pointing at the gone directory are detached, so their
 * `User.directory` is null and `restoreUser` / `deleteUser` / `purgeUser` work on them.
 */
export class Migration20261204085000_deleted_directory extends Migration {
  override up(): void {
    this.addSql(`update users set directory_id = null, external_id = null
      where removal_reason = 'directory_deleted' and directory_id is not null`);
  }

  override down(): void {
    // Nothing to undo: the deleted directory's id is not kept.
  }
}
