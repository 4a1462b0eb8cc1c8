import { TenantError, isCollectionProperty } from './tenant.js';

type Json = Record<string, unknown>;

const badRequest = (message: string) => new TenantError(400, 'BadRequest', message);

/**
 * `$select=a,b` → the property list, checked against the entity's properties (an unknown one is
 * a 400 naming it, as Graph answers). Absent → `defaults`.
 */
export function parseSelect(
  raw: string | null,
  known: readonly string[],
  type: string,
  defaults: readonly string[],
): string[] {
  if (raw === null || raw.trim() === '') return [...defaults];
  const props = raw.split(',').map((p) => p.trim());
  for (const p of props) {
    if (!known.includes(p)) {
      throw badRequest(`Could not find a property named '${p}' on type 'microsoft.graph.${type}'.`);
    }
  }
  return props;
}

/** The selected properties of an object; unset ones are `null` (`[]` for collections). */
export function project(data: Json, select: readonly string[]): Json {
  const out: Json = {};
  for (const p of select) {
    const v = data[p];
    out[p] = v === undefined ? (isCollectionProperty(p) ? [] : null) : v;
  }
  return out;
}

/** `$top`: 1‥max, else 400; absent → `fallback`. */
export function parseTop(raw: string | null, max: number, fallback: number): number {
  if (raw === null) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw badRequest(`Invalid page size specified: '${raw}'. Must be between 1 and ${max}.`);
  }
  return n;
}

/** One comparison of a `$filter` the fake understands. */
type Clause = { prop: string; values: string[] };

/** Which properties filter without an advanced query, and whether this request is one. */
export interface FilterSupport {
  /** Properties whose `eq`/`in` work by default; the others need an advanced query. */
  defaultProperties: readonly string[];
  /** The request has the advanced query parameters (`ConsistencyLevel: eventual`, `$count=true`). */
  advanced: boolean;
  /** Resource name in Graph's error message ("User"). */
  resource: string;
}

/**
 * The `$filter` subset Graph documents for users and groups and the connector sends:
 * `prop eq 'v'`, `prop in ('a','b')`, joined by `or`. String comparison ignores case, as Graph's
 * does. Anything else is a 400; with `support`, a property that filters only in advanced queries
 * is a 400 `Request_UnsupportedQuery` unless the request is one (as Graph answers).
 */
export function parseFilter(
  raw: string | null,
  known: readonly string[],
  support?: FilterSupport,
): (o: Json) => boolean {
  if (raw === null || raw.trim() === '') return () => true;
  const clauses: Clause[] = [];
  let rest = raw.trim();
  const literal = /^'((?:[^']|'')*)'/;
  for (;;) {
    const head = /^([A-Za-z]+)\s+(eq|in)\s+/.exec(rest);
    if (!head) throw badRequest(`Invalid filter clause: ${raw}`);
    const prop = head[1] as string;
    if (!known.includes(prop)) {
      throw badRequest(`Could not find a property named '${prop}' on type 'microsoft.graph.user'.`);
    }
    if (support && !support.advanced && !support.defaultProperties.includes(prop)) {
      throw new TenantError(
        400,
        'Request_UnsupportedQuery',
        `Unsupported or invalid query filter clause specified for property '${prop}' of resource '${support.resource}'.`,
      );
    }
    rest = rest.slice(head[0].length);
    const values: string[] = [];
    if (head[2] === 'eq') {
      const m = literal.exec(rest);
      if (!m) throw badRequest(`Invalid filter clause: ${raw}`);
      values.push((m[1] as string).replace(/''/g, "'"));
      rest = rest.slice(m[0].length);
    } else {
      if (!rest.startsWith('(')) throw badRequest(`Invalid filter clause: ${raw}`);
      rest = rest.slice(1).trimStart();
      for (;;) {
        const m = literal.exec(rest);
        if (!m) throw badRequest(`Invalid filter clause: ${raw}`);
        values.push((m[1] as string).replace(/''/g, "'"));
        rest = rest.slice(m[0].length).trimStart();
        if (rest.startsWith(',')) {
          rest = rest.slice(1).trimStart();
          continue;
        }
        if (!rest.startsWith(')')) throw badRequest(`Invalid filter clause: ${raw}`);
        rest = rest.slice(1);
        break;
      }
      if (values.length > 15) {
        throw badRequest(`Too many values in the 'in' operator; at most 15 are supported.`);
      }
    }
    clauses.push({ prop, values: values.map((v) => v.toLowerCase()) });
    rest = rest.trim();
    if (rest === '') break;
    const or = /^or\s+/i.exec(rest);
    if (!or) throw badRequest(`Invalid filter clause: ${raw}`);
    rest = rest.slice(or[0].length);
  }
  return (o) =>
    clauses.some((c) => {
      const v = o[c.prop];
      return typeof v === 'string' && c.values.includes(v.toLowerCase());
    });
}

/** Opaque paging/delta state, as `$skiptoken` / `$deltatoken` values carry it. */
export function encodeToken(state: Json): string {
  return Buffer.from(JSON.stringify(state), 'utf8').toString('base64url');
}

export function decodeToken(raw: string): Json | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    return v && typeof v === 'object' ? (v as Json) : undefined;
  } catch {
    return undefined;
  }
}
