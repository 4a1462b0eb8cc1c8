import { ErrorCode } from '@dirsync/proto';
import { CursorRejectedError, DirsyncError } from '@dirsync/kit';
import { graphStatus, isResyncRequired } from './errors.js';
import type { GraphPage } from './graph.js';
import { mapUser, type GraphUser } from './mapping.js';
import {
  PERM_GROUPS,
  PERM_MEMBERS,
  PERM_USERS,
  scopeKey,
  type EntraCursor,
  type GraphGroup,
  type TenantReader,
} from './reader.js';

/** A directory object as a delta round reports it. */
interface DeltaEntry {
  id: string;
  '@removed'?: { reason?: string };
  'members@delta'?: {
    '@odata.type'?: string;
    id: string;
    '@removed'?: { reason?: string };
  }[];
  [property: string]: unknown;
}

/** One group's changes in a delta round, merged over every entry it came in. */
interface GroupChange {
  /** Properties the round carried (absent when only members changed). */
  props: Record<string, unknown>;
  removed: boolean;
  /** Direct member id → { group or user, removed or added } — the last entry wins. */
  members: Map<string, { group: boolean; removed: boolean }>;
}

/** How many Graph calls a DELTA run makes at once for per-user lookups. */
const CONCURRENCY = 8;

function parseCursor(text: string): EntraCursor {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new CursorRejectedError('the cursor is not one this connector wrote');
  }
  const c = v as Partial<EntraCursor> | null;
  if (!c || c.v !== 1 || typeof c.users !== 'string' || typeof c.groups !== 'string') {
    throw new CursorRejectedError('the cursor is not one this connector wrote');
  }
  return c as EntraCursor;
}

/** Run `fn` over `items`, at most `limit` at once, in order of the results. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * A DELTA run: follow the cursor's users and groups delta links (Graph's change feed since the
 * cursor was taken), then translate the changes for the selected scope with as few reads as
 * the changes need:
 *
 * - users who changed, or whose direct membership changed in a group in scope, or who were in
 *   a group nested into or taken out of the scope, are "candidates": one
 *   `transitiveMemberOf` read says which groups in scope they are in now. In scope → their full
 *   record; in none any more → removed (out of scope); per group whose transitive membership
 *   they could have changed → a membership delta (added or removed);
 * - users `@removed` from the tenant → removed (deleted);
 * - a group nested into the scope → the group and its transitive members; a group taken out of
 *   the scope → removed (out of scope); groups in scope whose properties changed → re-sent.
 *
 * Delta links Graph no longer accepts (410 Gone, `syncStateNotFound`, `resyncRequired`), a
 * cursor for another scope, and a nested group deleted from the scope (its former members can
 * no longer be listed) are a `CursorRejectedError`: the kit reads everything in the same run.
 * Each object is handled once however often the round repeats it. Returns the new cursor.
 */
export async function readDelta(r: TenantReader, cursorText: string): Promise<string> {
  const cursor = parseCursor(cursorText);
  const { ctx, graph } = r;
  const scope = scopeKey(ctx.settings, graph.graphUrl, ctx.directory.selectedGroups);
  if (cursor.scope !== scope) {
    throw new CursorRejectedError(
      'the cursor was taken for other selected groups, tenant or Graph URL',
    );
  }
  for (const link of [cursor.users, cursor.groups]) {
    if (!link.startsWith(`${graph.graphUrl}/`)) {
      throw new CursorRejectedError('the cursor points at another Graph URL');
    }
  }

  const groupsRound = await followRound(r, cursor.groups, 'groups', PERM_GROUPS);
  const usersRound = await followRound(r, cursor.users, 'users', PERM_USERS);
  const next: EntraCursor = {
    v: 1,
    scope,
    users: usersRound.deltaLink,
    groups: groupsRound.deltaLink,
  };

  const groupChanges = new Map<string, GroupChange>();
  for (const e of groupsRound.entries) {
    const c: GroupChange = groupChanges.get(e.id) ?? {
      props: {},
      removed: false,
      members: new Map(),
    };
    if (e['@removed']) c.removed = true;
    for (const [k, v] of Object.entries(e)) {
      if (k !== 'id' && !k.startsWith('@') && k !== 'members@delta') c.props[k] = v;
    }
    for (const m of e['members@delta'] ?? []) {
      c.members.set(m.id, {
        group: m['@odata.type'] === '#microsoft.graph.group',
        removed: m['@removed'] !== undefined,
      });
    }
    groupChanges.set(e.id, c);
  }
  const userChanges = new Map<string, DeltaEntry>();
  const deletedUsers = new Set<string>();
  for (const e of usersRound.entries) {
    if (e['@removed']) {
      deletedUsers.add(e.id);
      userChanges.delete(e.id);
    } else if (!deletedUsers.has(e.id)) {
      userChanges.set(e.id, { ...userChanges.get(e.id), ...e });
    }
  }

  const nothingChanged =
    groupChanges.size === 0 && userChanges.size === 0 && deletedUsers.size === 0;
  if (nothingChanged) return JSON.stringify(next);

  // The scope now.
  const selected = await r.selectedGroups();
  const nested = await r.nestedGroups(selected);
  const inScope = new Map<string, GraphGroup>([...selected, ...nested].map((g) => [g.id, g]));

  const ancestorsCache = new Map<string, string[]>();
  /** Groups in scope whose transitive membership a change to group `x` reaches: x and its ancestors. */
  const reach = async (x: string): Promise<string[]> => {
    let hit = ancestorsCache.get(x);
    if (!hit) {
      const out = inScope.has(x) ? [x] : [];
      for await (const page of r.pages<{ id: string }>(
        `reading the groups group ${x} is nested in`,
        PERM_GROUPS,
        `/groups/${x}/transitiveMemberOf/microsoft.graph.group`,
        { $select: 'id', $top: String(r.pageSize) },
      )) {
        for (const g of page) if (inScope.has(g.id)) out.push(g.id);
      }
      hit = out;
      ancestorsCache.set(x, hit);
    }
    return hit;
  };

  /** Candidate user → the groups in scope whose membership of that user may have changed. */
  const candidates = new Map<string, Set<string>>();
  const addCandidate = (user: string, groups: Iterable<string>) => {
    const set = candidates.get(user) ?? new Set<string>();
    for (const g of groups) set.add(g);
    candidates.set(user, set);
  };
  const enteringGroups = new Set<string>();
  const leavingGroups = new Set<string>();

  for (const [gid, change] of groupChanges) {
    if (change.removed) continue; // a deleted group: see its parents' member removals
    if (!inScope.has(gid) || change.members.size === 0) continue;
    const reached = await reach(gid);
    for (const [mid, m] of change.members) {
      if (!m.group) {
        addCandidate(mid, reached);
        continue;
      }
      if (m.removed && !inScope.has(mid)) {
        // Taken out of the scope: its members may have left with it.
        if (groupChanges.get(mid)?.removed) {
          throw new CursorRejectedError(
            `group ${mid}, nested in the scope, was deleted: who was in it can only be read in full`,
          );
        }
        leavingGroups.add(mid);
      }
      if (!m.removed && inScope.has(mid)) enteringGroups.add(mid);
      for (const u of await transitiveUserIds(r, mid)) addCandidate(u, reached);
    }
  }
  // A group that came into the scope brings its nested groups.
  for (const gid of [...enteringGroups]) {
    for await (const page of r.pages<{ id: string }>(
      `reading the groups nested in group ${gid}`,
      PERM_GROUPS,
      `/groups/${gid}/transitiveMembers/microsoft.graph.group`,
      { $select: 'id', $top: String(r.pageSize) },
    )) {
      for (const g of page) if (inScope.has(g.id)) enteringGroups.add(g.id);
    }
  }
  for (const uid of userChanges.keys()) if (!candidates.has(uid)) addCandidate(uid, []);
  for (const uid of deletedUsers) candidates.delete(uid);

  // Which groups in scope each candidate is in now.
  const uids = [...candidates.keys()];
  const groupsNow = await mapLimit(uids, CONCURRENCY, (uid) => memberOfInScope(r, uid, inScope));

  const emitted = new Set<string>();
  const deltas = new Map<string, { added: string[]; removed: string[] }>();
  const delta = (g: string) => {
    let d = deltas.get(g);
    if (!d) deltas.set(g, (d = { added: [], removed: [] }));
    return d;
  };
  const toRead: string[] = [];
  for (let i = 0; i < uids.length; i++) {
    const uid = uids[i] as string;
    const now = groupsNow[i];
    if (now === undefined) continue; // gone from the tenant meanwhile: the next round says so
    for (const g of candidates.get(uid) ?? []) {
      if (enteringGroups.has(g)) continue; // sent in full below
      if (now.has(g)) delta(g).added.push(uid);
      else delta(g).removed.push(uid);
    }
    if (now.size > 0) toRead.push(uid);
    else if ((candidates.get(uid)?.size ?? 0) > 0) {
      await r.sink.removeUser({
        externalId: uid,
        reason: 'outOfScope',
        sourceLocator: `users/${uid}`,
      });
    }
  }

  // Full records of the candidates in scope (a delta entry carries only what changed).
  const records = await mapLimit(toRead, CONCURRENCY, (uid) => {
    const entry = userChanges.get(uid);
    const complete = entry && r.select.split(',').every((p) => p in entry);
    return complete ? Promise.resolve(entry as GraphUser) : readUser(r, uid);
  });
  for (const u of records) {
    if (!u || emitted.has(u.id)) continue;
    emitted.add(u.id);
    await r.sink.user(mapUser(u, r.mapping));
  }
  for (const uid of deletedUsers) {
    await r.sink.removeUser({ externalId: uid, reason: 'deleted', sourceLocator: `users/${uid}` });
  }

  // Groups: entering ones in full, leaving ones removed, changed ones re-sent.
  for (const gid of leavingGroups) {
    await r.sink.removeGroup({
      externalId: gid,
      reason: 'outOfScope',
      sourceLocator: `groups/${gid}`,
    });
  }
  for (const [gid, change] of groupChanges) {
    if (change.removed) {
      await r.sink.removeGroup({
        externalId: gid,
        reason: 'deleted',
        sourceLocator: `groups/${gid}`,
      });
    } else if (
      inScope.has(gid) &&
      !enteringGroups.has(gid) &&
      Object.keys(change.props).some((k) => k === 'displayName' || k === 'description')
    ) {
      await r.emitGroup(inScope.get(gid) as GraphGroup);
    }
  }
  for (const gid of enteringGroups) {
    await r.emitGroup(inScope.get(gid) as GraphGroup);
    const members = await transitiveUserIds(r, gid);
    const fresh = members.filter((u) => !emitted.has(u));
    for (const u of await mapLimit(fresh, CONCURRENCY, (uid) => readUser(r, uid))) {
      if (u && !emitted.has(u.id)) {
        emitted.add(u.id);
        await r.sink.user(mapUser(u, r.mapping));
      }
    }
    await r.sink.members(gid, members);
  }
  for (const [gid, d] of deltas) {
    if (d.added.length > 0 || d.removed.length > 0) await r.sink.membershipDelta(gid, d);
  }
  return JSON.stringify(next);
}

/** Every page of a delta round from a delta link; the entries and the next delta link. */
async function followRound(
  r: TenantReader,
  link: string,
  what: 'users' | 'groups',
  permission: string,
): Promise<{ entries: DeltaEntry[]; deltaLink: string }> {
  const entries: DeltaEntry[] = [];
  let url = link;
  for (;;) {
    let page: GraphPage<DeltaEntry>;
    try {
      page = await r.graph.get<GraphPage<DeltaEntry>>(url);
      r.midRun = true;
    } catch (err) {
      if (isResyncRequired(err)) {
        throw new CursorRejectedError(
          `Graph no longer accepts the ${what} delta link (HTTP ${graphStatus(err) ?? '?'})`,
          { cause: err },
        );
      }
      throw r.fail(err, `reading the ${what} changes`, permission);
    }
    entries.push(...page.value);
    r.ctx.countEntriesRead?.(page.value.length);
    r.ctx.signal.throwIfAborted();
    if (page['@odata.nextLink']) {
      url = page['@odata.nextLink'];
      continue;
    }
    const next = page['@odata.deltaLink'];
    if (!next) {
      throw new DirsyncError(
        ErrorCode.SOURCE_ERROR,
        `the ${what} delta round ended without an @odata.deltaLink`,
      );
    }
    return { entries, deltaLink: next };
  }
}

/** User ids of a group's transitive members (a group already gone reads as empty). */
async function transitiveUserIds(r: TenantReader, gid: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const page of r.pages<{ id: string }>(
      `reading the members of group ${gid}`,
      PERM_MEMBERS,
      `/groups/${gid}/transitiveMembers/microsoft.graph.user`,
      { $select: 'id', $top: String(r.pageSize) },
    )) {
      for (const u of page) out.push(u.id);
    }
  } catch (err) {
    if (isNotFound(err)) return out;
    throw err;
  }
  return out;
}

/** The groups in scope a user is a transitive member of now; undefined when the user is gone. */
async function memberOfInScope(
  r: TenantReader,
  uid: string,
  inScope: Map<string, GraphGroup>,
): Promise<Set<string> | undefined> {
  const out = new Set<string>();
  try {
    for await (const page of r.pages<{ id: string }>(
      `reading the groups of user ${uid}`,
      PERM_MEMBERS,
      `/users/${uid}/transitiveMemberOf/microsoft.graph.group`,
      { $select: 'id', $top: String(r.pageSize) },
    )) {
      for (const g of page) if (inScope.has(g.id)) out.add(g.id);
    }
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  return out;
}

async function readUser(r: TenantReader, uid: string): Promise<GraphUser | undefined> {
  try {
    return await r.graph.get<GraphUser>(`/users/${uid}`, { $select: r.select });
  } catch (err) {
    if (graphStatus(err) === 404) return undefined;
    throw r.fail(err, `reading user ${uid}`, PERM_USERS);
  }
}

/** A Graph 404, raw or already translated (the translation keeps it as the cause). */
function isNotFound(err: unknown): boolean {
  return (
    graphStatus(err) === 404 || graphStatus((err as { cause?: unknown } | null)?.cause) === 404
  );
}
