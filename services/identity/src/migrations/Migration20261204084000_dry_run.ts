import { Migration } from '@mikro-orm/migrations';

/**
 * Dry runs: the observation events of a dry run are kept here (staging, like `run_seen_*`)
 * instead of being applied, and replayed through the normal apply path inside a savepoint at
 * completion, which is then rolled back (apply/dry-run.ts). Emptied when the run ends.
 */
export class Migration20261204084000_dry_run extends Migration {
  override up(): void {
    this.addSql(`
create table run_dry_events (
  run_id text not null,
  seq integer not null,
  payload bytea not null,
  primary key (run_id, seq)
)`);
  }

  override down(): void {
    this.addSql('drop table if exists run_dry_events');
  }
}
