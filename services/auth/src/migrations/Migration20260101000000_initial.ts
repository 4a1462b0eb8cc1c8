import { Migration } from '@mikro-orm/migrations';

/** api_keys and audit_log. */
export class Migration20260101000000_initial extends Migration {
  override up(): void {
    const s = `"${this.config.get('schema') ?? 'auth'}"`;
    this.addSql(`
      create table ${s}.api_keys (
        id uuid primary key,
        -- the public part of the key (dsk_<prefix>_…): how a presented key finds its row
        prefix text not null unique,
        -- sha-256 of the whole key; the key itself is never stored
        hash bytea not null,
        name text not null check (length(name) between 1 and 200),
        role text not null,
        created_at timestamptz not null,
        created_by text not null,
        expires_at timestamptz,
        revoked_at timestamptz,
        revoked_by text,
        last_used_at timestamptz
      )`);
    this.addSql(`create index api_keys_created_idx on ${s}.api_keys (created_at desc, id desc)`);
    this.addSql(`
      create table ${s}.audit_log (
        id uuid primary key,
        at timestamptz not null,
        principal_id text not null,
        principal_name text not null,
        principal_kind text not null,
        role text not null,
        operation_name text,
        fields text[] not null,
        arguments jsonb not null,
        result text not null check (result in ('PENDING', 'OK', 'ERROR', 'DENIED')),
        error_codes text[] not null default '{}',
        finished_at timestamptz,
        duration_ms integer,
        client_address text,
        request_id text
      )`);
    this.addSql(`create index audit_log_at_idx on ${s}.audit_log (at desc, id desc)`);
    this.addSql(`create index audit_log_principal_idx on ${s}.audit_log (principal_id, at desc)`);
  }
}
