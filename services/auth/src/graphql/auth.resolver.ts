import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { Permission, ROLE_PERMISSIONS } from '@dirsync/kit/auth';
import { ApiErrorCode, Guard, apiError, requirePermission } from '@dirsync/kit/graphql';
import type { AuthServices, AuthContext } from '../services.js';
import type { ApiKeyRecord } from '../keys/key.service.js';
import {
  ApiKeyConnection,
  ApiKeyObject,
  AuditEntryConnection,
  AuditFilterInput,
  CreateApiKeyInput,
  CreatedApiKeyObject,
  ViewerObject,
  type ApiKeyStatus,
} from './types.js';

export const MAX_PAGE_SIZE = 500;

function pageSize(first: number | null | undefined, def: number): number {
  const n = first ?? def;
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE_SIZE) {
    throw apiError(ApiErrorCode.BAD_USER_INPUT, `first: must be between 1 and ${MAX_PAGE_SIZE}`, {
      field: 'first',
    });
  }
  return n;
}

export function toKeyObject(r: ApiKeyRecord, now: Date): ApiKeyObject {
  let status: ApiKeyStatus = 'ACTIVE';
  if (r.revokedAt) status = 'REVOKED';
  else if (r.expiresAt && r.expiresAt.getTime() <= now.getTime()) status = 'EXPIRED';
  return { ...r, prefix: `dsk_${r.prefix}_`, status };
}

function connection<T extends { id: string }>(page: {
  items: T[];
  hasNextPage: boolean;
  totalCount: number;
}) {
  const edges = page.items.map((node) => ({ cursor: node.id, node }));
  return {
    edges,
    nodes: page.items,
    pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
    totalCount: page.totalCount,
  };
}

@Resolver()
export class AuthResolver {
  constructor(private readonly s: AuthServices) {}

  @Guard(Permission.READ)
  @Query(() => ViewerObject, { description: 'Who this request is authenticated as.' })
  viewer(@Ctx() ctx: AuthContext): ViewerObject {
    const p = requirePermission(ctx, Permission.READ);
    return { ...p, permissions: [...ROLE_PERMISSIONS[p.role]] };
  }

  @Guard(Permission.KEY_MANAGE)
  @Query(() => ApiKeyConnection, { description: 'API keys, newest first.' })
  async apiKeys(
    @Arg('first', () => Int, { nullable: true, defaultValue: 50 }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null | undefined,
    @Arg('includeRevoked', () => Boolean, { nullable: true, defaultValue: false })
    includeRevoked: boolean | null,
  ): Promise<ApiKeyConnection> {
    const now = this.s.clock();
    const page = await this.s.keys.list({
      first: pageSize(first, 50),
      after,
      includeRevoked: includeRevoked ?? false,
    });
    return connection({ ...page, items: page.items.map((k) => toKeyObject(k, now)) });
  }

  @Guard(Permission.KEY_MANAGE)
  @Mutation(() => CreatedApiKeyObject, {
    description:
      'Issue an API key. The answer carries the key once; store it, it cannot be shown again.',
  })
  async createApiKey(
    @Arg('input', () => CreateApiKeyInput) input: CreateApiKeyInput,
    @Ctx() ctx: AuthContext,
  ): Promise<CreatedApiKeyObject> {
    const by = requirePermission(ctx, Permission.KEY_MANAGE);
    const { record, key } = await this.s.keys.create(input, by);
    return { apiKey: toKeyObject(record, this.s.clock()), key };
  }

  @Guard(Permission.KEY_MANAGE)
  @Mutation(() => ApiKeyObject, {
    description: 'Revoke an API key: it stops working at once (idempotent).',
  })
  async revokeApiKey(
    @Arg('id', () => ID) id: string,
    @Ctx() ctx: AuthContext,
  ): Promise<ApiKeyObject> {
    const by = requirePermission(ctx, Permission.KEY_MANAGE);
    return toKeyObject(await this.s.keys.revoke(id, by), this.s.clock());
  }

  @Guard(Permission.AUDIT_READ)
  @Query(() => AuditEntryConnection, { description: 'Audited mutations, newest first.' })
  async auditLog(
    @Arg('first', () => Int, { nullable: true, defaultValue: 50 }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null | undefined,
    @Arg('filter', () => AuditFilterInput, { nullable: true })
    filter: AuditFilterInput | null | undefined,
  ): Promise<AuditEntryConnection> {
    return connection(
      await this.s.audit.list({ first: pageSize(first, 50), after, filter }),
    ) as never;
  }
}
