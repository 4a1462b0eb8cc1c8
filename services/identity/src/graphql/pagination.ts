import { apiError, ApiErrorCode } from '@dirsync/kit/graphql';
import { Directive, Field, ObjectType } from 'type-graphql';

/** Largest page a client may ask for. */
export const MAX_PAGE_SIZE = 500;
export const DEFAULT_PAGE_SIZE = 50;

/** Relay page info. Shared with the sync subgraph, hence `@shareable`. */
@ObjectType('PageInfo')
@Directive('@shareable')
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true, description: 'Pass as `after` for the next page.' })
  endCursor!: string | null;
}

/** A position in a keyset order: the sort key and the id that breaks ties. */
export interface Position {
  key: string;
  id: string;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID_RE.test(value);
}

/** Longest part of a refused id an error message repeats (an id is 36 characters). */
const SHOWN_ID_LENGTH = 40;

/**
 * Reject a malformed id with BAD_USER_INPUT naming the argument (`filter.directoryId` for a
 * filter's field). The message repeats at most {@link SHOWN_ID_LENGTH} characters of it.
 */
export function requireUuid(value: string, arg: string): string {
  if (!isUuid(value)) {
    const shown = value.length > SHOWN_ID_LENGTH ? `${value.slice(0, SHOWN_ID_LENGTH)}…` : value;
    throw apiError(
      ApiErrorCode.BAD_USER_INPUT,
      `${arg} ${JSON.stringify(shown)} is not a valid id (a UUID)`,
      {
        argumentName: arg,
      },
    );
  }
  return value.toLowerCase();
}

/**
 * An optional id argument or filter field: absent (null) → undefined; present → a UUID, or
 * BAD_USER_INPUT naming it. A well-formed id nobody has simply matches nothing.
 */
export function optionalUuid(value: string | null | undefined, arg: string): string | undefined {
  return value === null || value === undefined ? undefined : requireUuid(value, arg);
}

/** Opaque cursor; clients must not build one. */
export function encodeCursor(p: Position): string {
  return Buffer.from(JSON.stringify([p.key, p.id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | null | undefined): Position | undefined {
  if (cursor === null || cursor === undefined || cursor === '') return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(parsed) &&
      parsed.length === 2 &&
      typeof parsed[0] === 'string' &&
      typeof parsed[1] === 'string' &&
      isUuid(parsed[1])
    ) {
      return { key: parsed[0], id: parsed[1] };
    }
  } catch {
    // fall through
  }
  throw apiError(ApiErrorCode.BAD_USER_INPUT, `after "${cursor}" is not a cursor from this API`, {
    argumentName: 'after',
  });
}

/** The page size asked for (`null` → the default 50), or BAD_USER_INPUT. */
export function checkFirst(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE_SIZE) {
    throw apiError(
      ApiErrorCode.BAD_USER_INPUT,
      `first must be between 0 and ${MAX_PAGE_SIZE}, got ${first}`,
      { argumentName: 'first' },
    );
  }
  return first;
}

/** `%` and `_` in a search are literal characters, not wildcards. */
export function likePattern(search: string): string {
  return `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
