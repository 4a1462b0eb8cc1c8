import { Directive, Field, Int, ObjectType, type ClassType } from 'type-graphql';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Cursor, type EntityName, type FilterQuery, type QueryOrderMap } from '@mikro-orm/core';
import { ApiErrorCode, apiError } from '@dirsync/kit/graphql';

/**
 * Relay page info (forward pagination). The identity subgraph declares the same type, so it is
 * `@shareable` and both must keep exactly these fields.
 */
@ObjectType('PageInfo')
@Directive('@shareable')
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true, description: 'Pass as `after` for the next page.' })
  endCursor!: string | null;
}

export interface Edge<T> {
  cursor: string;
  node: T;
}

export interface Connection<T> {
  edges: Edge<T>[];
  /** The edges' nodes, for clients that do not need cursors per item. */
  nodes: T[];
  pageInfo: PageInfo;
  totalCount: number;
}

/** A Relay connection type `<Name>Connection` with `<Name>Edge`s of `node`. */
export function connectionTypes<T extends object>(name: string, node: ClassType<T>) {
  @ObjectType(`${name}Edge`)
  class EdgeType {
    @Field(() => String)
    cursor!: string;

    @Field(() => node)
    node!: T;
  }

  @ObjectType(`${name}Connection`)
  class ConnectionType {
    @Field(() => [EdgeType])
    edges!: EdgeType[];

    @Field(() => [node], { description: 'The nodes of `edges`, in the same order.' })
    nodes!: T[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;

    @Field(() => Int, { description: 'Items matching the filter, across all pages.' })
    totalCount!: number;
  }
  return { EdgeType, ConnectionType };
}

export const MAX_PAGE_SIZE = 500;
export const DEFAULT_FIRST = 20;
export const DEFAULT_ERRORS_FIRST = 50;

/** Check `first`, naming the argument when it is out of range. */
export function pageSize(first: number, max = MAX_PAGE_SIZE): number {
  if (!Number.isInteger(first) || first < 1 || first > max) {
    throw apiError(ApiErrorCode.BAD_USER_INPUT, `first: must be between 1 and ${max}`, {
      field: 'first',
    });
  }
  return first;
}

/** Forward cursor pagination over an entity with a stable order (the order ends with a unique key). */
export async function paginate<T extends object, N>(
  em: EntityManager,
  entity: EntityName<T>,
  where: FilterQuery<T>,
  opts: { first: number; after?: string | null; orderBy: QueryOrderMap<T> },
  toNode: (item: T) => N,
): Promise<Connection<N>> {
  const first = pageSize(opts.first);
  if (opts.after != null) checkCursor(opts.after, Object.keys(opts.orderBy).length);
  const cursor = await em.findByCursor(entity, where, {
    first,
    after: opts.after ?? undefined,
    orderBy: opts.orderBy as never,
    includeCount: true,
  });
  const items = cursor.items as T[];
  const edges = items.map((item) => ({ cursor: cursor.from(item as never), node: toNode(item) }));
  return {
    edges,
    nodes: edges.map((e) => e.node),
    pageInfo: {
      hasNextPage: cursor.hasNextPage,
      endCursor: cursor.endCursor,
    },
    totalCount: cursor.totalCount,
  };
}

/** A cursor from another list (or garbage) is the caller's mistake, not an internal error. */
function checkCursor(after: string, keys: number): void {
  let values: unknown;
  try {
    values = Cursor.decode(after);
  } catch {
    values = undefined;
  }
  if (!Array.isArray(values) || values.length !== keys) {
    throw apiError(ApiErrorCode.BAD_USER_INPUT, 'after: not a cursor of this list', {
      field: 'after',
    });
  }
}
