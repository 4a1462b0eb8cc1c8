import { randomUUID } from 'node:crypto';
import type { Principal } from '@dirsync/kit/auth';
import { ApiErrorCode, apiError } from '@dirsync/kit/graphql';
import { toDate, type Database, type Tables } from '../db/database.js';
import { isUuid } from '../keys/key.service.js';

export const AUDIT_RESULTS = ['PENDING', 'OK', 'ERROR', 'DENIED'] as const;
export type AuditResult = (typeof AUDIT_RESULTS)[number];

/** One audited mutation request: who, what, when, and how it ended. */
export interface AuditEntry {
  id: string;
  at: Date;
  principalId: string;
  principalName: string;
  principalKind: string;
  role: string;
  operationName: string | null;
  /** The mutation's root fields, in document order. */
  fields: string[];
  /** Their arguments, with secret values replaced by "[redacted]" (by the gateway). */
  arguments: unknown;
  result: AuditResult;
  errorCodes: string[];
  finishedAt: Date | null;
  durationMs: number | null;
  clientAddress: string | null;
  requestId: string | null;
}

interface AuditRow {
  id: string;
  at: Date | string;
  principal_id: string;
  principal_name: string;
  principal_kind: string;
  role: string;
  operation_name: string | null;
  fields: string[];
  arguments: unknown;
  result: AuditResult;
  error_codes: string[];
  finished_at: Date | string | null;
  duration_ms: number | null;
  client_address: string | null;
  request_id: string | null;
}

function toEntry(r: AuditRow): AuditEntry {
  return {
    id: r.id,
    at: toDate(r.at)!,
    principalId: r.principal_id,
    principalName: r.principal_name,
    principalKind: r.principal_kind,
    role: r.role,
    operationName: r.operation_name,
    fields: r.fields,
    arguments: r.arguments,
    result: r.result,
    errorCodes: r.error_codes,
    finishedAt: toDate(r.finished_at),
    durationMs: r.duration_ms,
    clientAddress: r.client_address,
    requestId: r.request_id,
  };
}

export interface AuditBegin {
  principal: Principal;
  operationName: string | null;
  fields: string[];
  arguments: unknown;
  clientAddress: string | null;
  requestId: string | null;
}

export interface AuditFilter {
  principalId?: string | null | undefined;
  field?: string | null | undefined;
  result?: AuditResult[] | null | undefined;
  since?: Date | null | undefined;
  until?: Date | null | undefined;
}

/** An unpaired UTF-16 surrogate (matched per code unit: no `u` flag). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Text jsonb can hold: NUL and unpaired surrogates (JSON escapes it refuses, 22P02) become
 * U+FFFD. A hostile argument must not make its mutation unauditable — the audit write failing
 * would answer AUDIT_UNAVAILABLE instead of the mutation's own answer.
 */
export function auditableText(text: string): string {
  return text.replaceAll('\0', '\uFFFD').replace(LONE_SURROGATE, '\uFFFD');
}

/** JSON of a value with every string and object key made {@link auditableText}. */
function auditableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'string') return auditableText(v);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [auditableText(k), x]));
    }
    return v;
  });
}

/** A text[] parameter, passed as JSON (the driver would spread a JS array into a list). */
const TEXT_ARRAY = 'array(select jsonb_array_elements_text(?::jsonb))';

export class AuditService {
  constructor(private readonly deps: { db: Database; tables: Tables; clock: () => Date }) {}

  /** Record a mutation before it runs (PENDING); returns the entry id for `finish`. */
  async begin(entry: AuditBegin): Promise<string> {
    const id = randomUUID();
    await this.deps.db.rows(
      `insert into ${this.deps.tables.audit}
         (id, at, principal_id, principal_name, principal_kind, role, operation_name, fields,
          arguments, result, client_address, request_id)
       values (?, ?, ?, ?, ?, ?, ?, ${TEXT_ARRAY}, ?, 'PENDING', ?, ?)`,
      [
        id,
        this.deps.clock(),
        entry.principal.id,
        entry.principal.name,
        entry.principal.kind,
        entry.principal.role,
        entry.operationName,
        auditableJson(entry.fields),
        auditableJson(entry.arguments ?? {}),
        entry.clientAddress,
        entry.requestId,
      ],
    );
    return id;
  }

  /** Record how a mutation ended. A finished entry never changes again. */
  async finish(
    id: string,
    result: Exclude<AuditResult, 'PENDING'>,
    errorCodes: string[],
  ): Promise<void> {
    if (!isUuid(id)) return;
    const now = this.deps.clock();
    await this.deps.db.rows(
      `update ${this.deps.tables.audit}
          set result = ?, error_codes = ${TEXT_ARRAY}, finished_at = ?,
              duration_ms = greatest(0, (extract(epoch from (?::timestamptz - at)) * 1000)::integer)
        where id = ? and result = 'PENDING'`,
      [result, JSON.stringify(errorCodes), now, now, id],
    );
  }

  /** Entries newest first; `after` is the id of the last entry of the previous page. */
  async list(opts: {
    first: number;
    after?: string | null | undefined;
    filter?: AuditFilter | null | undefined;
  }): Promise<{ items: AuditEntry[]; hasNextPage: boolean; totalCount: number }> {
    const t = this.deps.tables.audit;
    const where: string[] = [];
    const params: unknown[] = [];
    const f = opts.filter ?? {};
    if (f.principalId) {
      where.push('principal_id = ?');
      params.push(f.principalId);
    }
    if (f.field) {
      where.push('? = any(fields)');
      params.push(f.field);
    }
    if (f.result?.length) {
      where.push(`result in (${f.result.map(() => '?').join(', ')})`);
      params.push(...f.result);
    }
    if (f.since) {
      where.push('at >= ?');
      params.push(f.since);
    }
    if (f.until) {
      where.push('at < ?');
      params.push(f.until);
    }
    const clause = () => (where.length ? `where ${where.join(' and ')}` : '');
    const [count] = await this.deps.db.rows<{ n: string }>(
      `select count(*) as n from ${t} ${clause()}`,
      [...params],
    );
    if (opts.after != null) {
      if (!isUuid(opts.after)) {
        throw apiError(ApiErrorCode.BAD_USER_INPUT, 'after: not a cursor of this list', {
          field: 'after',
        });
      }
      where.push(`(at, id) < (select at, id from ${t} where id = ?)`);
      params.push(opts.after);
    }
    const rows = await this.deps.db.rows<AuditRow>(
      `select * from ${t} ${clause()} order by at desc, id desc limit ?`,
      [...params, opts.first + 1],
    );
    return {
      items: rows.slice(0, opts.first).map(toEntry),
      hasNextPage: rows.length > opts.first,
      totalCount: Number(count?.n ?? 0),
    };
  }

  /** Delete entries older than the retention; returns how many. */
  async prune(retentionDays: number): Promise<number> {
    if (retentionDays <= 0) return 0;
    const cutoff = new Date(this.deps.clock().getTime() - retentionDays * 86_400_000);
    const rows = await this.deps.db.rows(
      `delete from ${this.deps.tables.audit} where at < ? returning id`,
      [cutoff],
    );
    return rows.length;
  }
}
