import { Migration } from '@mikro-orm/migrations';

/**
 * Deletion safety (docs/lifecycle.md#deletion-thresholds): each directory's deletion threshold
 * (more than `deletion_max_count` users — or memberships — or more than `deletion_max_percent`
 * of them removed by one run blocks it; 0 = that limit off), and on runs what a BLOCKED run holds
 * back (`removals`, the RemovalPlan), the operator's decision, and the later run that
 * superseded it. REJECTED is a final status: the removals were discarded.
 */
export class Migration20261204071000_safety extends Migration {
  override up(): void {
    const s = `"${this.config.get('schema') ?? 'sync'}"`;
    this.addSql(`
      alter table ${s}.directories
        add column deletion_max_count integer not null default 500
          check (deletion_max_count >= 0),
        add column deletion_max_percent integer not null default 20
          check (deletion_max_percent between 0 and 100)`);
    this.addSql(`
      alter table ${s}.runs
        drop constraint runs_status_check,
        add constraint runs_status_check
          check (status in ('QUEUED', 'RUNNING', 'COMPLETED', 'FAILED', 'BLOCKED', 'REJECTED')),
        add column removals jsonb,
        add column decision text check (decision in ('APPROVE', 'REJECT')),
        add column decided_by text,
        add column decided_at timestamptz,
        add column superseded_by uuid`);
  }

  override down(): void {
    const s = `"${this.config.get('schema') ?? 'sync'}"`;
    this.addSql(`
      alter table ${s}.runs
        drop column removals, drop column decision, drop column decided_by,
        drop column decided_at, drop column superseded_by,
        drop constraint runs_status_check,
        add constraint runs_status_check
          check (status in ('QUEUED', 'RUNNING', 'COMPLETED', 'FAILED', 'BLOCKED'))`);
    this.addSql(`
      alter table ${s}.directories
        drop column deletion_max_count, drop column deletion_max_percent`);
  }
}
