import { createHash } from 'node:crypto';
import { ErrorCode } from '@dirsync/proto';
import {
  DirsyncError,
  isGuid,
  type EntraSettings,
  type RecordSink,
  type RunContext,
} from '@dirsync/kit';
import { graphStatus, translateGraphError } from './errors.js';
import type { GraphPage, GraphSession } from './graph.js';
import {
  mapUser,
  resolveMapping,
  userSelect,
  type GraphUser,
  usersWhere,
  type ResolvedMapping,
} from './mapping.js';

export interface GraphGroup {
  id: string;
  displayName?: string | null;
  description?: string | null;
}

export const GROUP_SELECT = 'id,displayName,description';
/** What a groups delta round tracks: the group's own properties and its direct members. */
export const GROUP_DELTA_SELECT = 'displayName,description,members';

/**
 * The cursor of an Entra directory: the users and groups delta links (Graph's own state tokens)
 * and a key of the scope they were taken for, so a changed selection is never read as a delta.
 */
export interface EntraCursor {
  v: 1;
  /** sha256 of the tenant, the Graph URL and the sorted selected group ids. */
  scope: string;
  users: string;
  groups: string;
}

export function scopeKey(
  settings: EntraSettings,
  graphUrl: string,
  selected: readonly string[],
): string {
  const ids = [...new Set(selected.map((g) => g.trim().toLowerCase()))].sort();
  return createHash('sha256')
    .update(JSON.stringify([settings.tenantId.toLowerCase(), graphUrl, ids]))
    .digest('hex')
    .slice(0, 32);
}
export const PERM_GROUPS = 'GroupMember.Read.All';
export const PERM_USERS = 'User.Read.All';
export const PERM_MEMBERS = 'GroupMember.Read.All and User.Read.All';

/** One run's reading of the tenant: the Graph calls of FULL and USER runs and their helpers. */
export class TenantReader {
  /** True once a Graph call of the run succeeded (a later network error is mid-run). */
  midRun = false;
  readonly mapping: ResolvedMapping;
  readonly select: string;
  readonly pageSize: number;

  constructor(
    readonly ctx: RunContext<EntraSettings>,
    readonly graph: GraphSession,
    pageSize: number,
  ) {
    this.mapping = resolveMapping(ctx.directory.mapping);
    this.select = userSelect(this.mapping);
    this.pageSize = pageSize;
  }

  get sink(): RecordSink {
    return this.ctx.sink;
  }

  /** A Graph call with its errors translated (the permission named for a 403). */
  async call<T>(what: string, permission: string, fn: () => Promise<T>): Promise<T> {
    try {
      const out = await fn();
      this.midRun = true;
      return out;
    } catch (err) {
      throw this.fail(err, what, permission);
    }
  }

  /** A failed Graph call as the run's error (errors.ts), naming what was read and the permission. */
  fail(err: unknown, what: string, permission: string): DirsyncError {
    return translateGraphError(err, {
      tenantId: this.ctx.settings.tenantId,
      clientId: this.ctx.settings.clientId,
      what,
      permission,
      midRun: this.midRun,
    });
  }

  /** Every page of a collection; each page fetch is one translated call. */
  async *pages<T>(
    what: string,
    permission: string,
    path: string,
    query: Record<string, string>,
    headers: Record<string, string> = {},
  ): AsyncGenerator<T[]> {
    const it = this.graph.pages<T>(path, query, headers);
    for (;;) {
      const step = await this.call(what, permission, () => it.next());
      if (step.done) return;
      const value = (step.value as GraphPage<T>).value;
      this.ctx.countEntriesRead?.(value.length);
      yield value;
      this.ctx.signal.throwIfAborted();
    }
  }

  /** A fresh delta link of a resource: `$deltatoken=latest` returns one without any data. */
  async latestDeltaLink(path: string, select: string, permission: string): Promise<string> {
    const page = await this.call(`starting change tracking of ${path}`, permission, () =>
      this.graph.get<GraphPage<unknown>>(path, { $select: select, $deltatoken: 'latest' }),
    );
    const link = page['@odata.deltaLink'];
    if (!link) {
      throw new DirsyncError(
        ErrorCode.SOURCE_ERROR,
        `Microsoft Graph returned no @odata.deltaLink for ${path}?$deltatoken=latest`,
      );
    }
    return link;
  }

  /** The cursor a FULL run returns: delta links of users and groups, taken before reading. */
  async deltaCursor(): Promise<string> {
    const cursor: EntraCursor = {
      v: 1,
      scope: scopeKey(this.ctx.settings, this.graph.graphUrl, this.ctx.directory.selectedGroups),
      users: await this.latestDeltaLink('/users/delta', this.select, PERM_USERS),
      groups: await this.latestDeltaLink('/groups/delta', GROUP_DELTA_SELECT, PERM_GROUPS),
    };
    return JSON.stringify(cursor);
  }

  /** The selected groups, checked to exist; GROUP_NOT_FOUND names every missing one. */
  async selectedGroups(): Promise<GraphGroup[]> {
    return this.groupsById(this.ctx.directory.selectedGroups, 'selected group');
  }

  /**
   * Groups by object id (trimmed, lower-cased, each once), checked to exist: an id that is no
   * GUID is CONFIG_INVALID, missing groups are one GROUP_NOT_FOUND naming every one. `label`
   * says what the ids are ("selected group", "admin role group").
   */
  async groupsById(raw: readonly string[], label: string): Promise<GraphGroup[]> {
    const ids = [...new Set(raw.map((g) => g.trim().toLowerCase()))];
    const bad = ids.filter((id) => !isGuid(id));
    if (bad.length > 0) {
      throw new DirsyncError(
        ErrorCode.CONFIG_INVALID,
        `${label}s must be Entra group object ids (GUIDs): ${bad.map((b) => `"${b}"`).join(', ')}`,
      );
    }
    const found: GraphGroup[] = [];
    const missing: string[] = [];
    for (const id of ids) {
      try {
        found.push(await this.graph.get<GraphGroup>(`/groups/${id}`, { $select: GROUP_SELECT }));
        this.ctx.countEntriesRead?.(1);
        this.midRun = true;
      } catch (err) {
        if (graphStatus(err) === 404) {
          missing.push(id);
          continue;
        }
        throw this.fail(err, `reading the ${label} ${id}`, PERM_GROUPS);
      }
    }
    if (missing.length > 0) {
      throw new DirsyncError(
        ErrorCode.GROUP_NOT_FOUND,
        `${label}${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')} not found in tenant ${this.ctx.settings.tenantId}`,
      );
    }
    return found;
  }

  /** Groups nested (at any depth) in the selected ones, not selected themselves. */
  async nestedGroups(selected: GraphGroup[]): Promise<GraphGroup[]> {
    const known = new Set(selected.map((g) => g.id));
    const nested: GraphGroup[] = [];
    for (const g of selected) {
      for await (const page of this.pages<GraphGroup>(
        `reading the groups nested in group ${g.id}`,
        PERM_GROUPS,
        `/groups/${g.id}/transitiveMembers/microsoft.graph.group`,
        { $select: GROUP_SELECT, $top: String(this.pageSize) },
      )) {
        for (const n of page) {
          if (known.has(n.id)) continue;
          known.add(n.id);
          nested.push(n);
        }
      }
    }
    return nested;
  }

  async emitGroup(g: GraphGroup): Promise<void> {
    await this.sink.group({
      externalId: g.id,
      name: g.displayName ?? g.id,
      description: g.description ?? undefined,
      sourceLocator: `groups/${g.id}`,
    });
  }

  /**
   * FULL: the selected groups' transitive user members with every mapped property (each user
   * handed over once), then the user ids of each nested group's transitive members.
   */
  async full(): Promise<void> {
    const selected = await this.selectedGroups();
    const nested = await this.nestedGroups(selected);
    for (const g of [...selected, ...nested]) await this.emitGroup(g);
    const emitted = new Set<string>();
    for (const g of selected) {
      for await (const page of this.pages<GraphUser>(
        `reading the members of group ${g.id}`,
        PERM_MEMBERS,
        `/groups/${g.id}/transitiveMembers/microsoft.graph.user`,
        { $select: this.select, $top: String(this.pageSize) },
      )) {
        const ids: string[] = [];
        for (const u of page) {
          if (typeof u.id !== 'string') continue;
          ids.push(u.id);
          if (emitted.has(u.id)) continue;
          emitted.add(u.id);
          await this.sink.user(mapUser(u, this.mapping));
        }
        await this.sink.members(g.id, ids);
      }
    }
    for (const g of nested) {
      for await (const page of this.pages<{ id: string }>(
        `reading the members of group ${g.id}`,
        PERM_MEMBERS,
        `/groups/${g.id}/transitiveMembers/microsoft.graph.user`,
        { $select: 'id', $top: String(this.pageSize) },
      )) {
        await this.sink.members(
          g.id,
          page.map((u) => u.id).filter((id) => emitted.has(id)),
        );
      }
    }
  }

  /**
   * USER: the user whose username property equals the name (an OData string literal, quotes
   * doubled: never a pattern), observed only when it is a transitive member of a selected group.
   */
  async user(username: string): Promise<void> {
    const selected = await this.selectedGroups();
    const nested = await this.nestedGroups(selected);
    const scope = new Map([...selected, ...nested].map((g) => [g.id, g]));
    const { query, headers } = usersWhere(this.mapping.username, username, this.select);
    for await (const page of this.pages<GraphUser>(
      `looking up the user "${username}"`,
      PERM_USERS,
      '/users',
      query,
      headers,
    )) {
      for (const u of page) {
        const groups: string[] = [];
        for await (const gp of this.pages<{ id: string }>(
          `reading the groups of user ${u.id}`,
          PERM_MEMBERS,
          `/users/${u.id}/transitiveMemberOf/microsoft.graph.group`,
          { $select: 'id', $top: String(this.pageSize) },
        )) {
          for (const g of gp) if (scope.has(g.id)) groups.push(g.id);
        }
        if (groups.length === 0) continue; // exists, but outside every selected group
        await this.sink.user(mapUser(u, this.mapping));
        for (const gid of groups) {
          await this.emitGroup(scope.get(gid) as GraphGroup);
          await this.sink.members(gid, [u.id]);
        }
      }
    }
  }
}
