import { randomUUID } from 'node:crypto';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Authority, type AppRegistration, type GraphPermission } from './auth.js';
import { createTestCa, type KeyPair } from './certs.js';
import { decodeToken, encodeToken, parseFilter, parseSelect, parseTop, project } from './odata.js';
import {
  DEFAULT_USER_SELECT,
  GROUP_PROPERTIES,
  Tenant,
  TenantError,
  USER_DEFAULT_FILTER_PROPERTIES,
  USER_PROPERTIES,
  type GroupInput,
  type MemberRef,
  type ObjectKind,
  type UserInput,
} from './tenant.js';
import { generateTenant, type GenerateOptions } from './generate.js';

type Json = Record<string, unknown>;

/** A fault the next matching Graph requests answer with (throttling, outages). */
export interface FaultRule {
  /** Substring of the request path and query that selects the requests (default: every one). */
  match?: string;
  /** Matching requests let through before the fault starts (default 0). */
  skip?: number;
  /** Responses the fault serves, then it is spent (default 1). */
  count?: number;
  /** 429 (default), 503, 504, 500, or 401 (a token Graph no longer accepts). */
  status?: number;
  /** `Retry-After` in seconds; omitted for none (the client must back off on its own). */
  retryAfterSeconds?: number;
}

/** Knobs of the fake's behaviour, changeable through the admin API. */
export interface FakeSettings {
  /** Page size of collections when the request has no `$top` (Graph: 100). */
  defaultPageSize: number;
  /** Largest `$top` accepted (Graph: 999 for users and members). */
  maxPageSize: number;
  /** Objects per page of a delta round. */
  deltaPageSize: number;
  /** A group's members@delta are split into entries of at most this many (the group repeats). */
  deltaMembersPerEntry: number;
  /** Updated objects in a delta round carry only the changed properties, or all selected. */
  deltaProperties: 'changed' | 'all';
}

export const DEFAULT_SETTINGS: FakeSettings = {
  defaultPageSize: 100,
  maxPageSize: 999,
  deltaPageSize: 100,
  deltaMembersPerEntry: 100,
  deltaProperties: 'changed',
};

/** What the fake counted, for tests that assert how the client behaved. */
export interface FakeStats {
  requests: number;
  /** Graph requests by route ("GET /users", "GET /groups/{id}/transitiveMembers", …). */
  byRoute: Record<string, number>;
  faultsServed: number;
  tokensIssued: number;
  unauthorized: number;
  /** The last 2,000 Graph requests: method, path with query, status. */
  log: { method: string; url: string; status: number }[];
}

export interface FakeGraphOptions {
  /** Default: a random GUID. */
  tenantId?: string;
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Server certificate; default: a new test CA issues one for 127.0.0.1. */
  tls?: KeyPair & { caPem: string };
  settings?: Partial<FakeSettings>;
}

export interface FakeGraph {
  readonly tenant: Tenant;
  readonly authority: Authority;
  readonly tenantId: string;
  /** `https://127.0.0.1:<port>`: the login (authority host) and Graph base URL alike. */
  readonly url: string;
  /** PEM of the CA that signed the server certificate: what clients must trust. */
  readonly caPem: string;
  settings: FakeSettings;
  stats: FakeStats;
  close(): Promise<void>;
}

const PERMS = {
  users: ['User.Read.All', 'Directory.Read.All'],
  groups: ['GroupMember.Read.All', 'Group.Read.All', 'Directory.Read.All'],
} satisfies Record<string, GraphPermission[]>;

/** The Graph error each fault status is served with. */
const FAULT_ERRORS: Record<number, [string, string]> = {
  429: ['TooManyRequests', 'Too many requests.'],
  503: ['serviceNotAvailable', 'The service is temporarily unavailable.'],
  504: ['GatewayTimeout', 'The gateway timed out.'],
  401: ['InvalidAuthenticationToken', 'Access token has expired or is not yet valid.'],
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function graphError(res: ServerResponse, status: number, code: string, message: string): void {
  const body = {
    error: {
      code,
      message,
      innerError: {
        date: new Date().toISOString().slice(0, 19),
        'request-id': randomUUID(),
        'client-request-id': randomUUID(),
      },
    },
  };
  send(res, status, body);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json;odata.metadata=minimal;odata.streaming=true;charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'request-id': randomUUID(),
  });
  res.end(text);
}

function readBody(req: IncomingMessage, limit = 256 * 1024 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) reject(new HttpError(413, 'RequestTooLarge', 'request body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const text = await readBody(req);
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(400, 'BadRequest', 'the body is not JSON');
  }
}

/**
 * Start a fake Microsoft Entra tenant on loopback, served over HTTPS with a CA of its own: the
 * Microsoft identity platform endpoints (OpenID configuration, client-credentials token) and the
 * Microsoft Graph v1.0 endpoints dirsync reads, plus an admin API under `/_fake/` through which
 * tests and the benchmark change the tenant and inject faults. See README.md for what it
 * follows and the Microsoft documentation pages behind it.
 */
export async function startFakeGraph(opts: FakeGraphOptions = {}): Promise<FakeGraph> {
  let tls = opts.tls;
  if (!tls) {
    const ca = await createTestCa();
    tls = { ...(await ca.serverCertificate()), caPem: ca.certPem };
  }
  const tenant = new Tenant(opts.tenantId);
  const authority = new Authority(tenant.tenantId);
  const faults: (Required<Omit<FaultRule, 'retryAfterSeconds'>> & {
    retryAfterSeconds?: number;
    seen: number;
    served: number;
  })[] = [];
  /**
   * Generations of delta links: a link carries the generations it was issued in; one issued
   * before `expireDeltaLinks` is expired (syncStateNotFound), one issued before
   * `resetDeltaLinks` needs a resync (410 Gone). Links issued afterwards work.
   */
  let expiryGeneration = 0;
  let resetGeneration = 0;
  const generations = () => ({ g: expiryGeneration, rg: resetGeneration });
  const newStats = (): FakeStats => ({
    requests: 0,
    byRoute: {},
    faultsServed: 0,
    tokensIssued: 0,
    unauthorized: 0,
    log: [],
  });

  let base = '';
  const fake: FakeGraph = {
    tenant,
    authority,
    tenantId: tenant.tenantId,
    get url() {
      return base;
    },
    caPem: tls.caPem,
    settings: { ...DEFAULT_SETTINGS, ...opts.settings },
    stats: newStats(),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const tokenEndpoint = () => `${base}/${tenant.tenantId}/oauth2/v2.0/token`;

  function route(method: string, path: string): string {
    return `${method} ${path.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/gi, '{id}').replace(/\/users\/[^/]+@[^/]+/, '/users/{id}')}`;
  }

  function takeFault(url: string): (typeof faults)[number] | undefined {
    for (const f of faults) {
      if (f.served >= f.count) continue;
      if (f.match && !url.includes(f.match)) continue;
      f.seen++;
      if (f.seen <= f.skip) continue;
      f.served++;
      return f;
    }
    return undefined;
  }

  function authorize(req: IncomingMessage, needs: GraphPermission[][]): void {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(header);
    if (!m) {
      throw new HttpError(401, 'InvalidAuthenticationToken', 'Access token is empty.', {
        'www-authenticate': `Bearer realm="", authorization_uri="${base}/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`,
      });
    }
    const tok = authority.validate(m[1] as string);
    if (!tok) {
      throw new HttpError(
        401,
        'InvalidAuthenticationToken',
        'Access token has expired or is not yet valid.',
        {
          'www-authenticate': `Bearer realm="", authorization_uri="${base}/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000", error="invalid_token"`,
        },
      );
    }
    for (const anyOf of needs) {
      if (!anyOf.some((p) => tok.roles.includes(p))) {
        throw new HttpError(
          403,
          'Authorization_RequestDenied',
          'Insufficient privileges to complete the operation.',
        );
      }
    }
  }

  /** `@odata.nextLink` for the next page of the same query. */
  function nextLink(url: URL, state: Json): string {
    const next = new URL(url.toString());
    next.searchParams.delete('$skiptoken');
    next.searchParams.set('$skiptoken', encodeToken(state));
    return `${base}${next.pathname}${next.search}`;
  }

  /**
   * An advanced query: `ConsistencyLevel: eventual` and `$count=true` (both, as Graph requires;
   * `$count=true` alone is ignored).
   */
  function isAdvanced(req: IncomingMessage, url: URL): boolean {
    const level = req.headers.consistencylevel;
    return (
      (Array.isArray(level) ? level[0] : level)?.toLowerCase() === 'eventual' &&
      url.searchParams.get('$count') === 'true'
    );
  }

  /**
   * One page of a collection, with `@odata.nextLink` when more follow, and `@odata.count` (every
   * item, not the page) when `count` says so (advanced queries with `$count=true`).
   */
  function page<T>(
    url: URL,
    items: T[],
    toJson: (t: T) => Json,
    context: string,
    count = false,
  ): Json {
    const top = parseTop(
      url.searchParams.get('$top'),
      fake.settings.maxPageSize,
      fake.settings.defaultPageSize,
    );
    const skip = url.searchParams.get('$skiptoken');
    let offset = 0;
    if (skip !== null) {
      const state = decodeToken(skip);
      if (!state || typeof state.o !== 'number') {
        throw new HttpError(400, 'Directory_InvalidSkipToken', 'The skip token is not valid.');
      }
      offset = state.o;
    }
    const slice = items.slice(offset, offset + top);
    const body: Json = {
      '@odata.context': `${base}/v1.0/$metadata#${context}`,
      ...(count ? { '@odata.count': items.length } : {}),
      value: slice.map(toJson),
    };
    if (offset + top < items.length) body['@odata.nextLink'] = nextLink(url, { o: offset + top });
    return body;
  }

  function selectUsers(url: URL): string[] {
    return parseSelect(
      url.searchParams.get('$select'),
      USER_PROPERTIES,
      'user',
      DEFAULT_USER_SELECT,
    );
  }

  function selectGroups(url: URL): string[] {
    return parseSelect(
      url.searchParams.get('$select'),
      GROUP_PROPERTIES,
      'group',
      GROUP_PROPERTIES,
    );
  }

  function memberJson(m: MemberRef, userSelect: string[], groupSelect: string[]): Json {
    const data = m.kind === 'user' ? tenant.getUser(m.id) : tenant.getGroup(m.id);
    return {
      '@odata.type': `#microsoft.graph.${m.kind}`,
      ...project(data, m.kind === 'user' ? userSelect : groupSelect),
    };
  }

  /** `…/members`, `…/transitiveMembers`, optionally cast to one type. */
  function members(url: URL, all: MemberRef[], cast: string | undefined): Json {
    let kind: ObjectKind | undefined;
    if (cast === 'microsoft.graph.user') kind = 'user';
    else if (cast === 'microsoft.graph.group') kind = 'group';
    else if (cast !== undefined) {
      throw new HttpError(400, 'BadRequest', `Resource not found for the segment '${cast}'.`);
    }
    const list = kind ? all.filter((m) => m.kind === kind) : all;
    const raw = url.searchParams.get('$select');
    const userSelect =
      kind === 'group' ? [] : parseSelect(raw, USER_PROPERTIES, 'user', DEFAULT_USER_SELECT);
    const groupSelect =
      kind === 'user' ? [] : parseSelect(raw, GROUP_PROPERTIES, 'group', GROUP_PROPERTIES);
    return page(url, list, (m) => memberJson(m, userSelect, groupSelect), 'directoryObjects');
  }

  /** A delta round (`/users/delta`, `/groups/delta`) page; see the README. */
  function delta(
    url: URL,
    kind: ObjectKind,
  ): { status: number; body: Json; headers?: Record<string, string> } {
    const skip = url.searchParams.get('$skiptoken');
    const deltaToken = url.searchParams.get('$deltatoken');
    let state: Json;
    if (skip !== null) {
      const s = decodeToken(skip);
      if (!s || s.k !== kind)
        throw new HttpError(400, 'Directory_InvalidSkipToken', 'The skip token is not valid.');
      state = s;
    } else if (deltaToken === 'latest') {
      const link = `${base}/v1.0/${kind}s/delta?$deltatoken=${encodeToken({
        ...generations(),
        k: kind,
        since: tenant.seq,
        start: tenant.seq,
        sel: url.searchParams.get('$select'),
        f: url.searchParams.get('$filter'),
      })}`;
      return {
        status: 200,
        body: {
          '@odata.context': `${base}/v1.0/$metadata#${kind}s`,
          value: [],
          '@odata.deltaLink': link,
        },
      };
    } else if (deltaToken !== null) {
      const s = decodeToken(deltaToken);
      if (!s || s.k !== kind || typeof s.since !== 'number') {
        throw new HttpError(
          400,
          'syncStateNotFound',
          'The sync state generation is not found. The delta token is expired and data must be synchronized again.',
        );
      }
      if (Number(s.rg ?? 0) < resetGeneration) {
        const restart = `${base}/v1.0/${kind}s/delta${s.sel ? `?$select=${encodeURIComponent(String(s.sel))}` : ''}`;
        throw new HttpError(
          410,
          'resyncRequired',
          "Resync required. Replace any local items with the server's version (including deletes) if you're sure that the service was up to date with your local changes when you last sync'd. Upload any local changes that the server doesn't know about.",
          { location: restart },
        );
      }
      if (Number(s.g ?? 0) < expiryGeneration) {
        throw new HttpError(
          400,
          'syncStateNotFound',
          'The sync state generation is not found. The delta token is expired and data must be synchronized again.',
        );
      }
      state = { k: kind, since: s.since, start: tenant.seq, o: 0, sel: s.sel, f: s.f };
    } else {
      state = {
        k: kind,
        since: 0,
        start: tenant.seq,
        o: 0,
        sel: url.searchParams.get('$select'),
        f: url.searchParams.get('$filter'),
      };
    }
    const sel = typeof state.sel === 'string' ? state.sel : null;
    const filterRaw = typeof state.f === 'string' ? state.f : null;
    const since = Number(state.since);
    const offset = Number(state.o ?? 0);
    let select: string[];
    let withMembers = false;
    if (kind === 'user') {
      select = parseSelect(sel, USER_PROPERTIES, 'user', DEFAULT_USER_SELECT);
    } else {
      const raw = sel === null ? null : sel.split(',').map((s) => s.trim());
      withMembers = raw === null || raw.includes('members');
      const props = raw?.filter((p) => p !== 'members').join(',') ?? null;
      select = parseSelect(props, GROUP_PROPERTIES, 'group', GROUP_PROPERTIES);
    }
    if (!select.includes('id')) select = ['id', ...select];
    const keep = parseFilter(filterRaw, kind === 'user' ? USER_PROPERTIES : ['id']);
    const { changed, removed } = tenant.changesSince(kind, since);
    const entries: Json[] = [];
    for (const c of changed) {
      if (!keep(c.data)) continue;
      const props =
        since === 0 || fake.settings.deltaProperties === 'all'
          ? select
          : select.filter((p) => p === 'id' || c.changedProps.has(p));
      const json = project(c.data, props);
      if (kind === 'group' && withMembers && c.members) {
        // A group with many changed members repeats, each entry with a slice of members@delta.
        const per = fake.settings.deltaMembersPerEntry;
        for (let i = 0; i < c.members.length; i += per) {
          entries.push({
            ...json,
            'members@delta': c.members.slice(i, i + per).map((m) => ({
              '@odata.type': `#microsoft.graph.${tenant.kindOf(m.id) ?? 'user'}`,
              id: m.id,
              ...(m.removed ? { '@removed': { reason: 'deleted' } } : {}),
            })),
          });
        }
      } else if (props.some((p) => p !== 'id')) {
        entries.push(json);
      }
    }
    for (const r of removed) {
      if (filterRaw !== null && !keep({ id: r.id })) continue;
      entries.push({ id: r.id, '@removed': { reason: r.reason } });
    }
    const size = fake.settings.deltaPageSize;
    const body: Json = {
      '@odata.context': `${base}/v1.0/$metadata#${kind}s`,
      value: entries.slice(offset, offset + size),
    };
    const path = `${base}/v1.0/${kind}s/delta`;
    if (offset + size < entries.length) {
      body['@odata.nextLink'] = `${path}?$skiptoken=${encodeToken({ ...state, o: offset + size })}`;
    } else {
      body['@odata.deltaLink'] =
        `${path}?$deltatoken=${encodeToken({ ...generations(), k: kind, since: Number(state.start), sel, f: filterRaw })}`;
    }
    return { status: 200, body };
  }

  async function graph(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    const path = url.pathname.replace(/^\/v1\.0/, '');
    const key = route(method, path);
    const st = fake.stats;
    st.requests++;
    st.byRoute[key] = (st.byRoute[key] ?? 0) + 1;
    const log = (status: number) => {
      st.log.push({ method, url: `${url.pathname}${url.search}`, status });
      if (st.log.length > 2000) st.log.shift();
    };
    const fault = takeFault(`${url.pathname}${url.search}`);
    if (fault) {
      st.faultsServed++;
      if (fault.retryAfterSeconds !== undefined)
        res.setHeader('retry-after', String(fault.retryAfterSeconds));
      const [code, message] = FAULT_ERRORS[fault.status] ?? ['UnknownError', 'The service failed.'];
      graphError(res, fault.status, code, message);
      log(fault.status);
      return;
    }
    if (method !== 'GET')
      throw new HttpError(405, 'Request_BadRequest', `${method} is not supported by the fake`);
    const seg = path.split('/').filter(Boolean).map(decodeURIComponent);
    let body: Json;
    let status = 200;
    let headers: Record<string, string> | undefined;
    try {
      if (seg[0] === 'users' && seg.length === 1) {
        authorize(req, [PERMS.users]);
        const select = selectUsers(url);
        const advanced = isAdvanced(req, url);
        const keep = parseFilter(url.searchParams.get('$filter'), USER_PROPERTIES, {
          defaultProperties: USER_DEFAULT_FILTER_PROPERTIES,
          advanced,
          resource: 'User',
        });
        body = page(url, tenant.users().filter(keep), (u) => project(u, select), 'users', advanced);
      } else if (seg[0] === 'users' && seg[1] === 'delta' && seg.length === 2) {
        authorize(req, [PERMS.users]);
        ({ status, body, headers } = delta(url, 'user'));
      } else if (seg[0] === 'groups' && seg[1] === 'delta' && seg.length === 2) {
        authorize(req, [PERMS.groups]);
        ({ status, body, headers } = delta(url, 'group'));
      } else if (seg[0] === 'users' && seg.length === 2) {
        authorize(req, [PERMS.users]);
        const idOrUpn = seg[1] as string;
        const user = idOrUpn.includes('@') ? tenant.findByUpn(idOrUpn) : tenant.getUser(idOrUpn);
        if (!user)
          throw new TenantError(
            404,
            'Request_ResourceNotFound',
            `Resource '${idOrUpn}' does not exist or one of its queried reference-property objects are not present.`,
          );
        body = {
          '@odata.context': `${base}/v1.0/$metadata#users/$entity`,
          ...project(user, selectUsers(url)),
        };
      } else if (
        (seg[0] === 'users' || seg[0] === 'groups') &&
        seg[2] === 'transitiveMemberOf' &&
        seg.length <= 4
      ) {
        authorize(req, seg[0] === 'users' ? [PERMS.users, PERMS.groups] : [PERMS.groups]);
        if (tenant.kindOf(seg[1] as string) !== seg[0].slice(0, -1)) {
          throw new TenantError(
            404,
            'Request_ResourceNotFound',
            `Resource '${seg[1]}' does not exist or one of its queried reference-property objects are not present.`,
          );
        }
        const ids = tenant.transitiveMemberOf(seg[1] as string);
        if (seg[3] !== undefined && seg[3] !== 'microsoft.graph.group') {
          throw new HttpError(400, 'BadRequest', `Resource not found for the segment '${seg[3]}'.`);
        }
        const select = selectGroups(url);
        body = page(
          url,
          ids,
          (id) => ({
            '@odata.type': '#microsoft.graph.group',
            ...project(tenant.getGroup(id), select),
          }),
          'groups',
        );
      } else if (seg[0] === 'groups' && seg.length === 2) {
        authorize(req, [PERMS.groups]);
        body = {
          '@odata.context': `${base}/v1.0/$metadata#groups/$entity`,
          ...project(tenant.getGroup(seg[1] as string), selectGroups(url)),
        };
      } else if (
        seg[0] === 'groups' &&
        (seg[2] === 'members' || seg[2] === 'transitiveMembers') &&
        seg.length <= 4
      ) {
        authorize(req, [PERMS.groups]);
        const gid = seg[1] as string;
        const all =
          seg[2] === 'members' ? tenant.directMembers(gid) : tenant.transitiveMembers(gid);
        body = members(url, all, seg[3]);
      } else {
        throw new HttpError(
          400,
          'BadRequest',
          `Resource not found for the segment '${seg[0] ?? ''}'.`,
        );
      }
    } catch (err) {
      if (err instanceof HttpError) {
        if (err.status === 401) st.unauthorized++;
        for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
        graphError(res, err.status, err.code, err.message);
        log(err.status);
        return;
      }
      if (err instanceof TenantError) {
        graphError(res, err.status, err.code, err.message);
        log(err.status);
        return;
      }
      throw err;
    }
    for (const [k, v] of Object.entries(headers ?? {})) res.setHeader(k, v);
    send(res, status, body);
    log(status);
  }

  async function login(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const seg = url.pathname.split('/').filter(Boolean);
    const tid = seg[0];
    if (
      seg.length === 4 &&
      seg[1] === 'v2.0' &&
      seg[2] === '.well-known' &&
      seg[3] === 'openid-configuration'
    ) {
      if (tid !== tenant.tenantId && tid !== 'organizations' && tid !== 'common') {
        send(res, 400, {
          error: 'invalid_tenant',
          error_description: `AADSTS90002: Tenant '${tid}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
          error_codes: [90002],
        });
        return true;
      }
      const t = tenant.tenantId;
      send(res, 200, {
        token_endpoint: `${base}/${t}/oauth2/v2.0/token`,
        token_endpoint_auth_methods_supported: [
          'client_secret_post',
          'private_key_jwt',
          'client_secret_basic',
        ],
        jwks_uri: `${base}/${t}/discovery/v2.0/keys`,
        response_modes_supported: ['query', 'fragment', 'form_post'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
        issuer: `${base}/${t}/v2.0`,
        authorization_endpoint: `${base}/${t}/oauth2/v2.0/authorize`,
        device_authorization_endpoint: `${base}/${t}/oauth2/v2.0/devicecode`,
        end_session_endpoint: `${base}/${t}/oauth2/v2.0/logout`,
        tenant_region_scope: 'EU',
        cloud_instance_name: 'microsoftonline.com',
      });
      return true;
    }
    if (
      seg.length === 4 &&
      seg[1] === 'oauth2' &&
      seg[2] === 'v2.0' &&
      seg[3] === 'token' &&
      req.method === 'POST'
    ) {
      const form = new URLSearchParams(await readBody(req, 1024 * 1024));
      const fault = takeFault(url.pathname);
      if (fault) {
        fake.stats.faultsServed++;
        if (fault.retryAfterSeconds !== undefined)
          res.setHeader('retry-after', String(fault.retryAfterSeconds));
        send(res, fault.status, {
          error: 'temporarily_unavailable',
          error_description: 'AADSTS50196: The server is temporarily unavailable.',
          error_codes: [50196],
        });
        return true;
      }
      if (tid !== tenant.tenantId) {
        send(res, 400, {
          error: 'invalid_request',
          error_description: `AADSTS90002: Tenant '${tid}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
          error_codes: [90002],
        });
        return true;
      }
      const result = authority.token(form, tokenEndpoint());
      if (result.ok) {
        fake.stats.tokensIssued++;
        res.setHeader('cache-control', 'no-store, no-cache');
        send(res, 200, result.body);
      } else {
        send(res, result.error.status, result.error.body);
      }
      return true;
    }
    return false;
  }

  async function admin(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    const seg = url.pathname.split('/').filter(Boolean).slice(1).map(decodeURIComponent);
    const body = method === 'GET' || method === 'DELETE' ? {} : await readJson(req);
    const ok = (v: unknown = { ok: true }) => send(res, 200, v);
    const list = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : [v as T]);
    const [a, id, sub, subId] = seg;
    if (a === 'info' && method === 'GET') {
      return ok({
        tenantId: tenant.tenantId,
        url: base,
        users: tenant.userCount,
        groups: tenant.groupCount,
        seq: tenant.seq,
        settings: fake.settings,
      });
    }
    if (a === 'reset' && method === 'POST') {
      tenant.clear();
      faults.length = 0;
      fake.stats = newStats();
      return ok();
    }
    if (a === 'apps' && method === 'POST')
      return ok(authority.register(body as Partial<AppRegistration>));
    if (a === 'users' && !id && method === 'GET') {
      const limit = Number(url.searchParams.get('limit') ?? '100');
      return ok(
        tenant
          .users()
          .slice(0, limit)
          .map((u) => u.id),
      );
    }
    if (a === 'users' && !id && method === 'POST')
      return ok(list<UserInput>(body).map((u) => tenant.addUser(u)));
    if (a === 'users' && id && !sub && method === 'PATCH')
      return ok(tenant.update(id, body as Json));
    if (a === 'users' && id && !sub && method === 'DELETE') {
      tenant.delete(id, { soft: url.searchParams.get('hard') !== 'true' });
      return ok();
    }
    if (a === 'users' && id && sub === 'restore' && method === 'POST')
      return ok(tenant.restore(id));
    if (a === 'groups' && !id && method === 'POST')
      return ok(list<GroupInput>(body).map((g) => tenant.addGroup(g)));
    if (a === 'groups' && id && !sub && method === 'PATCH')
      return ok(tenant.update(id, body as Json));
    if (a === 'groups' && id && !sub && method === 'DELETE') {
      tenant.delete(id, { soft: url.searchParams.get('hard') !== 'true' });
      return ok();
    }
    if (a === 'groups' && id && sub === 'members' && !subId && method === 'POST') {
      for (const m of (body as { ids?: string[] }).ids ?? []) tenant.addMember(id, m);
      return ok();
    }
    if (a === 'groups' && id && sub === 'members' && subId && method === 'DELETE') {
      tenant.removeMember(id, subId);
      return ok();
    }
    if (a === 'faults' && method === 'POST') {
      const r = body as FaultRule;
      faults.push({
        match: r.match ?? '',
        skip: r.skip ?? 0,
        count: r.count ?? 1,
        status: r.status ?? 429,
        retryAfterSeconds: r.retryAfterSeconds,
        seen: 0,
        served: 0,
      });
      return ok();
    }
    if (a === 'faults' && method === 'DELETE') {
      faults.length = 0;
      return ok();
    }
    if (a === 'delta' && id === 'expire' && method === 'POST') {
      expiryGeneration++;
      return ok();
    }
    if (a === 'delta' && id === 'reset' && method === 'POST') {
      resetGeneration++;
      return ok();
    }
    if (a === 'tokens' && id === 'revoke' && method === 'POST') {
      authority.revokeTokens();
      return ok();
    }
    if (a === 'settings' && method === 'PUT') {
      const s = body as Partial<FakeSettings> & { tokenLifetimeSeconds?: number };
      if (s.tokenLifetimeSeconds !== undefined)
        authority.tokenLifetimeSeconds = s.tokenLifetimeSeconds;
      const { tokenLifetimeSeconds: _t, ...rest } = s;
      fake.settings = { ...fake.settings, ...rest };
      return ok(fake.settings);
    }
    if (a === 'stats' && method === 'GET') return ok(fake.stats);
    if (a === 'stats' && method === 'DELETE') {
      fake.stats = newStats();
      return ok();
    }
    if (a === 'generate' && method === 'POST')
      return ok(generateTenant(tenant, body as GenerateOptions));
    throw new HttpError(404, 'NotFound', `no admin route ${method} ${url.pathname}`);
  }

  const server = https.createServer(
    { key: tls.keyPem, cert: tls.certPem, keepAlive: true },
    (req, res) => {
      const url = new URL(req.url ?? '/', base || 'https://127.0.0.1');
      const handle = async () => {
        if (url.pathname.startsWith('/v1.0/')) return graph(req, res, url);
        if (url.pathname.startsWith('/_fake/')) return admin(req, res, url);
        if (await login(req, res, url)) return;
        graphError(res, 404, 'NotFound', `no route ${req.method} ${url.pathname}`);
      };
      handle().catch((err: unknown) => {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        if (err instanceof HttpError || err instanceof TenantError) {
          graphError(res, err.status, err.code, err.message);
          return;
        }
        graphError(
          res,
          500,
          'InternalServerError',
          err instanceof Error ? err.message : String(err),
        );
      });
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  base = `https://${opts.host ?? '127.0.0.1'}:${addr.port}`;
  return fake;
}
