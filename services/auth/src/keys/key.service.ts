import { randomUUID } from 'node:crypto';
import { isRole, PrincipalKind, type Principal, type Role } from '@dirsync/kit/auth';
import { ApiErrorCode, apiError } from '@dirsync/kit/graphql';
import type { Logger } from '@dirsync/kit';
import { toDate, type Database, type Tables } from '../db/database.js';
import { issueKey, keyMatches, keyPrefix } from './api-key.js';

/** An API key as listed: never the key itself. */
export interface ApiKeyRecord {
  id: string;
  prefix: string;
  name: string;
  role: Role;
  createdAt: Date;
  createdBy: string;
  expiresAt: Date | null;
  revokedAt: Date | null;
  revokedBy: string | null;
  lastUsedAt: Date | null;
}

interface KeyRow {
  id: string;
  prefix: string;
  hash: Buffer;
  name: string;
  role: string;
  created_at: Date | string;
  created_by: string;
  expires_at: Date | string | null;
  revoked_at: Date | string | null;
  revoked_by: string | null;
  last_used_at: Date | string | null;
}

function toRecord(r: KeyRow): ApiKeyRecord {
  return {
    id: r.id,
    prefix: r.prefix,
    name: r.name,
    role: r.role as Role,
    createdAt: toDate(r.created_at)!,
    createdBy: r.created_by,
    expiresAt: toDate(r.expires_at),
    revokedAt: toDate(r.revoked_at),
    revokedBy: r.revoked_by,
    lastUsedAt: toDate(r.last_used_at),
  };
}

/** Why a presented key was refused (the gateway answers 401 with this message). */
export type KeyRefusal = 'unknown' | 'revoked' | 'expired';

/** `last_used_at` is written at most this often per key, so reads do not each cost a write. */
const LAST_USED_RESOLUTION_MS = 60_000;

export const MAX_KEY_NAME = 200;

export class KeyService {
  constructor(
    private readonly deps: { db: Database; tables: Tables; clock: () => Date; logger: Logger },
  ) {}

  async create(
    input: { name: string; role: string; expiresAt?: Date | null },
    by: Principal,
  ): Promise<{ record: ApiKeyRecord; key: string }> {
    const name = input.name.trim();
    const problems: { field: string; message: string }[] = [];
    if (!name || name.length > MAX_KEY_NAME) {
      problems.push({ field: 'name', message: `must be 1 to ${MAX_KEY_NAME} characters` });
    }
    if (!isRole(input.role)) problems.push({ field: 'role', message: 'is not a role' });
    const now = this.deps.clock();
    if (input.expiresAt && input.expiresAt.getTime() <= now.getTime()) {
      problems.push({ field: 'expiresAt', message: 'must be in the future' });
    }
    if (problems.length > 0) {
      throw apiError(
        ApiErrorCode.BAD_USER_INPUT,
        problems.map((p) => `${p.field}: ${p.message}`).join('; '),
        { fields: problems },
      );
    }
    return this.insert(
      { name, role: input.role as Role, expiresAt: input.expiresAt ?? null },
      by.id,
    );
  }

  private async insert(
    input: { name: string; role: Role; expiresAt: Date | null },
    createdBy: string,
    sql: Database['rows'] = this.deps.db.rows,
  ): Promise<{ record: ApiKeyRecord; key: string }> {
    const issued = issueKey();
    const [row] = await sql<KeyRow>(
      `insert into ${this.deps.tables.apiKeys}
         (id, prefix, hash, name, role, created_at, created_by, expires_at)
       values (?, ?, ?, ?, ?, ?, ?, ?) returning *`,
      [
        randomUUID(),
        issued.prefix,
        issued.hash,
        input.name,
        input.role,
        this.deps.clock(),
        createdBy,
        input.expiresAt,
      ],
    );
    return { record: toRecord(row!), key: issued.key };
  }

  async get(id: string): Promise<ApiKeyRecord | null> {
    if (!isUuid(id)) return null;
    const [row] = await this.deps.db.rows<KeyRow>(
      `select * from ${this.deps.tables.apiKeys} where id = ?`,
      [id],
    );
    return row ? toRecord(row) : null;
  }

  /** Keys newest first; `after` is the id of the last key of the previous page. */
  async list(opts: {
    first: number;
    after?: string | null | undefined;
    includeRevoked: boolean;
  }): Promise<{ items: ApiKeyRecord[]; hasNextPage: boolean; totalCount: number }> {
    const t = this.deps.tables.apiKeys;
    const where: string[] = [];
    const params: unknown[] = [];
    if (!opts.includeRevoked) where.push('revoked_at is null');
    const countWhere = where.length ? `where ${where.join(' and ')}` : '';
    const [count] = await this.deps.db.rows<{ n: string }>(
      `select count(*) as n from ${t} ${countWhere}`,
      [...params],
    );
    if (opts.after != null) {
      if (!isUuid(opts.after)) {
        throw apiError(ApiErrorCode.BAD_USER_INPUT, 'after: not a cursor of this list', {
          field: 'after',
        });
      }
      where.push(`(created_at, id) < (select created_at, id from ${t} where id = ?)`);
      params.push(opts.after);
    }
    const rows = await this.deps.db.rows<KeyRow>(
      `select * from ${t} ${where.length ? `where ${where.join(' and ')}` : ''}
       order by created_at desc, id desc limit ?`,
      [...params, opts.first + 1],
    );
    return {
      items: rows.slice(0, opts.first).map(toRecord),
      hasNextPage: rows.length > opts.first,
      totalCount: Number(count?.n ?? 0),
    };
  }

  /** Revoke a key (idempotent: revoking twice keeps the first time and revoker). */
  async revoke(id: string, by: Principal): Promise<ApiKeyRecord> {
    if (!isUuid(id)) throw apiError(ApiErrorCode.NOT_FOUND, `API key ${id} not found`);
    const [row] = await this.deps.db.rows<KeyRow>(
      `update ${this.deps.tables.apiKeys}
          set revoked_at = coalesce(revoked_at, ?), revoked_by = coalesce(revoked_by, ?)
        where id = ? returning *`,
      [this.deps.clock(), by.id, id],
    );
    if (!row) throw apiError(ApiErrorCode.NOT_FOUND, `API key ${id} not found`);
    return toRecord(row);
  }

  /** The principal a presented key stands for, or why it is refused. */
  async authenticate(key: string): Promise<{ principal: Principal } | { refused: KeyRefusal }> {
    const prefix = keyPrefix(key);
    if (!prefix) return { refused: 'unknown' };
    const [row] = await this.deps.db.rows<KeyRow>(
      `select * from ${this.deps.tables.apiKeys} where prefix = ?`,
      [prefix],
    );
    if (!row || !keyMatches(key, row.hash)) return { refused: 'unknown' };
    const stored = toRecord(row);
    if (stored.revokedAt) return { refused: 'revoked' };
    const now = this.deps.clock();
    if (stored.expiresAt && stored.expiresAt.getTime() <= now.getTime())
      return { refused: 'expired' };
    if (!isRole(row.role)) return { refused: 'unknown' };
    if (
      !stored.lastUsedAt ||
      now.getTime() - stored.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS
    ) {
      await this.deps.db.rows(
        `update ${this.deps.tables.apiKeys} set last_used_at = ? where id = ?`,
        [now, row.id],
      );
    }
    return {
      principal: {
        id: `key:${row.id}`,
        name: row.name,
        kind: PrincipalKind.API_KEY,
        role: row.role,
      },
    };
  }

  /**
   * On the very first start (no key has ever existed), create an owner key and return it; later
   * starts return undefined. Replicas starting together serialise on an advisory lock.
   */
  async bootstrap(): Promise<{ record: ApiKeyRecord; key: string } | undefined> {
    return this.deps.db.transaction(async (sql) => {
      await sql('select pg_advisory_xact_lock(hashtext(?))', [
        `dirsync-bootstrap:${this.deps.tables.apiKeys}`,
      ]);
      const [any] = await sql(`select 1 from ${this.deps.tables.apiKeys} limit 1`);
      if (any) return undefined;
      return this.insert(
        { name: 'first owner key', role: 'OWNER', expiresAt: null },
        'system:bootstrap',
        sql,
      );
    });
  }

  /** Break-glass: a new owner key issued from the command line with database access. */
  async issueOwnerKey(name: string): Promise<{ record: ApiKeyRecord; key: string }> {
    return this.insert({ name, role: 'OWNER', expiresAt: null }, 'system:cli');
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
