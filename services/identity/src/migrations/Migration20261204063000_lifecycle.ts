import { Migration } from '@mikro-orm/migrations';

/**
 * Lifecycle events: every user, group and administrator carries a `version` that the statement
 * making a transition (created, updated, disabled, enabled, pending deletion, restored, …)
 * increases by one; the event of that transition is `<entity>:<id>:<version>:<transition>`, so
 * its id is deterministic and (id, version) is unique. Rows from before this migration start at
 * 0; a new row is version 1 (its CREATED event).
 */
export class Migration20261204063000_lifecycle extends Migration {
  override up(): void {
    for (const table of ['users', 'groups', 'admins']) {
      this.addSql(`alter table ${table} add column version integer not null default 0`);
      this.addSql(`alter table ${table} alter column version set default 1`);
    }
  }

  override down(): void {
    for (const table of ['users', 'groups', 'admins']) {
      this.addSql(`alter table ${table} drop column if exists version`);
    }
  }
}
