import { Migration } from '@mikro-orm/migrations';

/**
 * Deletion safety for administrators (docs/lifecycle.md#deletion-thresholds): a full ADMIN run
 * whose planned removals exceed the directory's threshold removes nobody and ends BLOCKED; the
 * exact administrators it would have moved to pending deletion are kept here until the run is
 * approved (those are removed, minus anyone observed since), rejected or superseded.
 */
export class Migration20261204100000_admin_safety extends Migration {
  override up(): void {
    this.addSql(`
create table run_held_admins (
  run_id text not null,
  admin_id uuid not null,
  primary key (run_id, admin_id)
)`);
  }

  override down(): void {
    this.addSql('drop table if exists run_held_admins');
  }
}
