import { ErrorCode } from '@dirsync/proto';
import { performance } from 'node:perf_hooks';
import { DirsyncError, type Logger, type RecordSink, type SourceRemoval } from '@dirsync/kit';
import type { Entry } from 'ldapts';
import { isWithin, tryNormalizeDn, type NormalizeOptions, equals, or } from '@dirsync/kit/ldap';
import { computeScope, resolveMembers, uidKey, type GroupNode } from '../graph.js';
import { AttributeNames, EntryAttributes } from '../mapping.js';
import type { LdapProfile } from '../profiles/index.js';
import type { LdapSession } from '../session.js';
import { changedSince } from './cursor.js';
import {
  childGroups,
  memberHash,
  scopeState,
  type DeltaState,
  type PublishedGroup,
  type StateJournal,
} from './state.js';

/** What a delta run needs from the connector's plan. */
export interface DeltaPlan {
  profile: LdapProfile;
  dnOptions: NormalizeOptions;
  baseDn: string;
  userBaseDn: string;
  groupBaseDn: string;
  /** The user filter with the profile's object classes. */
  userFilter: string;
  /** User attributes to read (the mapping's, the id, the memberUid attribute). */
  userAttributes: string[];
  /** Group attributes to read. */
  groupAttributes: string[];
  /** Normalised selected group DN → the DN as configured. */
  selected: Map<string, string>;
}

/** The connector's own ways of reading and publishing, shared with FULL runs. */
export interface DeltaIo {
  session: LdapSession;
  sink: RecordSink;
  /**
   * Read groups matching `filter` (ANDed with the profile's group filter) under groupBaseDn, or
   * the one entry `base` (a base search; an entry that does not exist is an empty map).
   */
  readGroups(filter: string | undefined, base?: string): Promise<Map<string, GroupNode>>;
  logger: Logger;
  /** Hand one user entry to the sink; `accepted` false when the kit refused it. */
  emitUser(dn: string, attrs: EntryAttributes): Promise<{ externalId: string; accepted: boolean }>;
  signal: AbortSignal;
}

/** A user entry read by the run. */
interface ReadUser {
  id: string;
  dn: string;
  attrs: EntryAttributes;
}

/** OR filters are cut into chunks of this many terms. */
const CHUNK = 100;
/** Base searches in flight at once when entries are looked up by DN. */
const LOOKUPS_IN_FLIGHT = 16;

function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const dnRef = (key: string) => `dn:${key}`;
const uidRef = (key: string) => `uid:${key}`;

/**
 * One DELTA run against OpenLDAP, from `state` (the scope the previous run published, at the
 * cursor `since`). Reads, in this order and nothing else:
 *
 * 1. users changed since the cursor: `(&<user filter>(entryCSN>since))` under userBaseDn;
 * 2. the in-scope groups, by `entryUUID` (OR filters of 100): their member lists now. Every
 *    delta re-reads them because OpenLDAP's refint overlay removes a deleted or renamed entry
 *    from its groups without changing their `entryCSN`; this is what makes deletions visible,
 *    and it costs the in-scope groups, never the directory's users;
 * 3. member values the state does not know (a user or group added to an in-scope group): one
 *    base search per DN, a user search per memberUid — the users entering the scope and the
 *    groups nested into it;
 * 4. for users and groups that left the scope: whether their entry still exists (by
 *    `entryUUID`), which decides the reason, `outOfScope` or `deleted`.
 *
 * The scope is then worked out again only where it can have changed: the groups whose member
 * values changed and the groups containing them (a nesting loop, or a user whose DN or
 * memberUid changed, makes it work out the whole scope). It publishes exactly the difference:
 * users changed or entering (full records), users and groups leaving (with the reason), groups
 * entering or renamed, and per group the members added and removed (transitive, like FULL
 * runs). Returns the state for the next run. `state` is left as it was when reading fails;
 * otherwise the maps the two share change only through `journal`, whose `revert()` gives
 * `state` back (for a next run from the same cursor, when this run's cursor was not stored).
 */
export async function readDelta(
  p: DeltaPlan,
  io: DeltaIo,
  state: DeltaState,
  since: string,
  cursor: string,
  cursorCsn: string,
  journal: StateJournal,
): Promise<DeltaState> {
  const { session, sink } = io;
  const normalize = (dn: string) => tryNormalizeDn(dn, p.dnOptions);
  const names = new AttributeNames();
  const timings: Record<string, number> = {};
  let lap = performance.now();
  const mark = (phase: string) => {
    const t = performance.now();
    timings[phase] = Math.round(t - lap);
    lap = t;
  };

  // 1. Users changed since the cursor.
  const changed = new Map<string, ReadUser>();
  for await (const page of session.pages(p.userBaseDn, {
    filter: `(&${p.userFilter}${changedSince(since)})`,
    attributes: p.userAttributes,
    what: 'changed users',
  })) {
    for (const entry of page) {
      const u = readUser(entry, p, names);
      if (u) changed.set(u.id, u);
    }
    io.signal.throwIfAborted();
  }
  mark('changedUsers');

  // 2. The in-scope groups as they are now.
  const graph = new Map<string, GroupNode>();
  const hashes = new Map<string, string>();
  /** Groups read with other member values than the state holds, or new to it. */
  const dirty = new Set<string>();
  const adopt = (key: string, fresh: GroupNode) => {
    if (adoptGroup(key, fresh, state, graph, hashes)) dirty.add(key);
  };
  const ids = [...state.published.keys()];
  for (const part of chunks(ids)) {
    const found = await io.readGroups(or(...part.map((id) => equals(p.profile.idAttribute, id))));
    for (const [key, fresh] of found) adopt(key, fresh);
  }
  // In-scope groups without a usable id cannot be searched for by it: by DN.
  for (const [key, g] of state.groups) {
    if (g.id || graph.has(key)) continue;
    const found = await lookupDns(io, p, [g.dn], names);
    for (const [k, fresh] of found.groups) adopt(k, fresh);
  }
  const missing = [...p.selected].filter(([key]) => !graph.has(key)).map(([, dn]) => dn);
  if (missing.length > 0) {
    throw new DirsyncError(
      ErrorCode.GROUP_NOT_FOUND,
      `selected group${missing.length > 1 ? 's' : ''} ${missing.map((d) => `"${d}"`).join(', ')} ` +
        `not found under groupBaseDn "${p.groupBaseDn}"`,
    );
  }
  mark('groups');

  // Member references as they are now: the state's, with what this run learns on top (the
  // state itself changes only when the run is through, so a failed run leaves it usable).
  const refs = new RefView(state);
  const read = new Map<string, ReadUser>(changed);
  /** A changed user now answers to other references (renamed, new memberUid). */
  let refsMoved = false;
  const learn = (u: ReadUser) => {
    const now = refsFor(u, p);
    const before = refs.refsOf(u.id);
    if (now.length === before.length && now.every((r) => before.includes(r))) return;
    // It matters only if the user lost a reference a group used, or gained one a group used
    // without finding anyone behind it; other references name it where no group looks.
    if (before.some((r) => !now.includes(r)) || now.some((r) => refs.isUnresolved(r))) {
      refsMoved = true;
    }
    refs.learn(u.id, now);
  };
  for (const u of changed.values()) learn(u);

  // 3. The closure: member values of changed groups nobody knows yet are looked up, until none
  //    is left (a group found this way is new, so its members are looked at too).
  const newlyUnresolved: { ref: string; label: string; group: string }[] = [];
  const looked = new Set<string>();
  for (;;) {
    const unknownDns = new Map<string, { raw: string; group: string }>();
    const unknownUids = new Map<string, { raw: string; group: string }>();
    for (const key of dirty) {
      if (looked.has(key)) continue;
      looked.add(key);
      const g = graph.get(key) as GroupNode;
      resolveMembers(g, normalize);
      (g.memberDns ?? []).forEach((m, i) => {
        if (graph.has(m) || refs.has(dnRef(m)) || refs.isUnresolved(dnRef(m))) return;
        unknownDns.set(m, { raw: g.memberRaw?.[i] ?? m, group: g.dn });
      });
      for (const u of g.memberUids) {
        if (refs.has(uidRef(u)) || refs.isUnresolved(uidRef(u))) continue;
        unknownUids.set(u, { raw: u, group: g.dn });
      }
    }
    if (unknownDns.size === 0 && unknownUids.size === 0) break;
    const found = await lookupDns(
      io,
      p,
      [...unknownDns.values()].map((v) => v.raw),
      names,
    );
    for (const [key, fresh] of found.groups) adopt(key, fresh);
    for (const u of found.users) {
      read.set(u.id, u);
      learn(u);
    }
    for (const part of chunks([...unknownUids.values()].map((v) => v.raw))) {
      const filter = `(&${p.userFilter}${or(...part.map((v) => equals(p.profile.memberUidUserAttribute, v)))})`;
      for await (const page of session.pages(p.userBaseDn, {
        filter,
        attributes: p.userAttributes,
        what: 'users named by memberUid',
      })) {
        for (const entry of page) {
          const u = readUser(entry, p, names);
          if (!u) continue;
          read.set(u.id, u);
          learn(u);
        }
      }
    }
    // What is still unknown names no user (nor group): remember it, report it once.
    for (const [key, v] of unknownDns) {
      if (graph.has(key) || refs.has(dnRef(key))) continue;
      refs.markUnresolved(dnRef(key));
      newlyUnresolved.push({ ref: dnRef(key), label: v.raw, group: v.group });
    }
    for (const [key, v] of unknownUids) {
      if (refs.has(uidRef(key))) continue;
      refs.markUnresolved(uidRef(key));
      newlyUnresolved.push({ ref: uidRef(key), label: v.raw, group: v.group });
    }
  }
  mark('lookups');

  // The scope now: worked out where it can have changed.
  const next = refsMoved
    ? wholeScope(p, state, graph, refs, normalize)
    : (incrementalScope(p, state, graph, dirty, refs) ??
      wholeScope(p, state, graph, refs, normalize));
  const countNow = (id: string) => next.count(id);
  const countBefore = (id: string) => state.count.get(id) ?? 0;
  for (const cycle of next.cycles) {
    // A loop is reported by the run that sees it appear (and by every FULL run).
    if (!cycle.some((dn) => dirty.has(normalize(dn) ?? ''))) continue;
    await sink.objectError({
      sourceLocator: cycle[0] ?? '',
      code: ErrorCode.GROUP_CYCLE,
      message: `group nesting loops: ${cycle.map((d) => `"${d}"`).join(' ↔ ')}; their members are merged and the loop is not followed`,
    });
  }
  mark('scope');

  // Users: changed or entering → published (refused ones never are); leaving → removed.
  const candidates = new Set<string>([...changed.keys(), ...next.touchedUsers]);
  const entering = [...candidates].filter(
    (id) => countNow(id) > 0 && countBefore(id) === 0 && !read.has(id),
  );
  for (const u of await usersById(io, p, entering, names)) read.set(u.id, u);
  const accepted = new Set(state.accepted);
  const refused = new Set(state.refused);
  const newlyAccepted: string[] = [];
  const leaving: string[] = [];
  for (const id of candidates) {
    const known = state.accepted.has(id);
    if (countNow(id) === 0) {
      if (countBefore(id) > 0 && known) leaving.push(id);
      accepted.delete(id);
      refused.delete(id);
      continue;
    }
    const u = read.get(id);
    if (!u || !(changed.has(id) || countBefore(id) === 0 || !known)) continue;
    const { accepted: ok } = await io.emitUser(u.dn, u.attrs);
    // A user published before stays published (and a member) even if the kit refuses a newer
    // version of it: identity still holds it, as after a FULL run.
    if (ok || known) {
      accepted.add(id);
      refused.delete(id);
      if (!known) newlyAccepted.push(id);
    } else refused.add(id);
  }
  const gone = await existing(io, p, leaving);
  for (const id of leaving) await sink.removeUser(removal(id, gone, state.refsOf.get(id)));

  // Groups: entering or renamed → published; leaving → removed.
  const published = new Map<string, PublishedGroup>();
  for (const [key, g] of next.groups) {
    if (!g.id) continue;
    const now: PublishedGroup = { key, dn: g.dn, name: g.name, description: g.description };
    const before = state.published.get(g.id);
    published.set(g.id, now);
    if (!before || before.name !== now.name || before.description !== now.description) {
      await sink.group({
        externalId: g.id,
        name: g.name,
        description: g.description,
        sourceLocator: g.dn,
      });
    }
  }
  const leavingGroups = [...state.published.keys()].filter((id) => !published.has(id));
  const groupsGone = await existing(io, p, leavingGroups);
  for (const id of leavingGroups) {
    const r = removal(id, groupsGone);
    await sink.removeGroup({ ...r, sourceLocator: state.published.get(id)?.dn });
  }

  // Memberships: what each group's published membership (its members that were published)
  // gains and loses — worked out for the groups whose members changed, plus the groups of users
  // published for the first time.
  for (const key of next.touchedGroups) {
    const g = next.groups.get(key);
    if (!g?.id) continue;
    // by id: a renamed group (new DN) is the same group
    const beforeKey = state.published.get(g.id)?.key;
    const before = beforeKey ? (state.trans.get(beforeKey) ?? EMPTY) : EMPTY;
    const after = next.trans.get(key) ?? EMPTY;
    const added: string[] = [];
    const removed: string[] = [];
    for (const id of after) {
      if (accepted.has(id) && !(before.has(id) && state.accepted.has(id))) added.push(id);
    }
    for (const id of before) {
      if (state.accepted.has(id) && !(after.has(id) && accepted.has(id))) removed.push(id);
    }
    if (added.length || removed.length) await sink.membershipDelta(g.id, { added, removed });
  }
  if (newlyAccepted.length > 0) {
    for (const [key, g] of next.groups) {
      if (!g.id || next.touchedGroups.has(key)) continue;
      const set = next.trans.get(key) ?? EMPTY;
      const added = newlyAccepted.filter((id) => set.has(id));
      if (added.length) await sink.membershipDelta(g.id, { added });
    }
  }

  for (const u of newlyUnresolved) {
    if (refs.has(u.ref)) continue;
    const isDn = u.ref.startsWith('dn:');
    await sink.objectError({
      sourceLocator: isDn ? u.label : u.group,
      code: ErrorCode.UNRESOLVED_MEMBER,
      message: isDn
        ? `member "${u.label}" of group "${u.group}" is not a user under "${p.userBaseDn}" matching the user filter; skipped`
        : `memberUid "${u.label}" of group "${u.group}" matches no user under "${p.userBaseDn}"; skipped`,
    });
  }
  mark('publish');

  // The run is through: the state becomes the next one. The maps it shares with `state` change
  // through `journal`, so that `state` can be had back (its cursor may not be stored).
  refs.commit(journal);
  const count = next.commitCounts(state.count, journal);
  const forget = (id: string) => {
    for (const ref of state.refsOf.get(id) ?? []) {
      if (state.userRefs.get(ref) === id) journal.delete(state.userRefs, ref);
    }
    journal.delete(state.refsOf, id);
  };
  for (const key of [...hashes.keys()]) if (!next.groups.has(key)) hashes.delete(key);
  for (const g of next.groups.values()) g.memberRaw = undefined;
  // References of users out of scope are not kept (a user coming back is looked up again).
  for (const id of candidates) if ((count.get(id) ?? 0) === 0) forget(id);
  io.logger.debug(
    {
      ms: timings,
      changedUsers: changed.size,
      groups: graph.size,
      dirtyGroups: dirty.size,
      wholeScope: next.whole,
      usersTouched: next.touchedUsers.size,
      leavingUsers: leaving.length,
    },
    'delta read',
  );
  return {
    cursor,
    groups: next.groups,
    groupHash: hashes,
    children: next.children,
    trans: next.trans,
    count,
    published,
    userRefs: state.userRefs,
    unresolved: state.unresolved,
    refsOf: state.refsOf,
    accepted,
    refused,
    quiet: since === cursorCsn,
  };
}

const EMPTY: ReadonlySet<string> = new Set<string>();

/** The scope after a delta: groups, nesting, transitive members, and what changed. */
interface NextScope {
  /** True when it was worked out for the whole scope. */
  whole: boolean;
  groups: Map<string, GroupNode>;
  children: Map<string, string[]>;
  trans: Map<string, Set<string>>;
  /** Groups whose transitive membership may differ from the state's (incl. entering, leaving). */
  touchedGroups: Set<string>;
  /** Users whose count may differ from the state's. */
  touchedUsers: Set<string>;
  count(id: string): number;
  /**
   * The new counts: written into the state's count map (through the journal) when few changed,
   * or a new map when the whole scope was worked out again.
   */
  commitCounts(into: Map<string, number>, journal: StateJournal): Map<string, number>;
  cycles: string[][];
}

/**
 * The scope worked out for the groups that changed and the groups containing them; undefined
 * when nesting loops among the in-scope groups (then {@link wholeScope} decides).
 */
function incrementalScope(
  p: DeltaPlan,
  state: DeltaState,
  graph: Map<string, GroupNode>,
  dirty: ReadonlySet<string>,
  refs: RefView,
): NextScope | undefined {
  // Nesting now: unchanged groups keep their children, changed ones are read anew.
  const childrenOf = (key: string): string[] => {
    const known = !dirty.has(key) ? state.children.get(key) : undefined;
    return (known ?? childGroups(graph.get(key) as GroupNode, graph)).filter((k) => graph.has(k));
  };
  const groups = new Map<string, GroupNode>();
  const children = new Map<string, string[]>();
  const stack = [...p.selected.keys()];
  while (stack.length) {
    const key = stack.pop() as string;
    if (groups.has(key)) continue;
    const g = graph.get(key);
    if (!g) continue;
    groups.set(key, g);
    const kids = childrenOf(key);
    children.set(key, kids);
    for (const k of kids) if (!groups.has(k)) stack.push(k);
  }
  // Post-order over the nesting; a group met again while open closes a loop.
  const order: string[] = [];
  const open = new Set<string>();
  const done = new Set<string>();
  const visit = (root: string): boolean => {
    const work: { key: string; next: number }[] = [{ key: root, next: 0 }];
    open.add(root);
    while (work.length) {
      const frame = work[work.length - 1] as { key: string; next: number };
      const kids = children.get(frame.key) ?? [];
      if (frame.next < kids.length) {
        const kid = kids[frame.next++] as string;
        if (open.has(kid)) return false;
        if (!done.has(kid)) {
          open.add(kid);
          work.push({ key: kid, next: 0 });
        }
        continue;
      }
      work.pop();
      open.delete(frame.key);
      done.add(frame.key);
      order.push(frame.key);
    }
    return true;
  };
  for (const key of groups.keys()) if (!done.has(key) && !visit(key)) return undefined;

  // Touched: the changed groups, groups entering the scope, and everything containing them.
  const parents = new Map<string, string[]>();
  for (const [key, kids] of children) {
    for (const k of kids) parents.set(k, [...(parents.get(k) ?? []), key]);
  }
  const touchedGroups = new Set<string>();
  const up = [...groups.keys()].filter((k) => dirty.has(k) || !state.trans.has(k));
  // A group that left the scope unseen (deleted with no overlay repairing its parents) touches
  // the groups that held it.
  for (const [key, kids] of state.children) {
    if (groups.has(key) && kids.some((k) => !groups.has(k))) up.push(key);
  }
  while (up.length) {
    const key = up.pop() as string;
    if (touchedGroups.has(key)) continue;
    touchedGroups.add(key);
    up.push(...(parents.get(key) ?? []));
  }
  for (const key of state.trans.keys()) if (!groups.has(key)) touchedGroups.add(key);

  const trans = new Map<string, Set<string>>();
  for (const [key, set] of state.trans)
    if (groups.has(key) && !touchedGroups.has(key)) trans.set(key, set);
  for (const key of order) {
    if (!touchedGroups.has(key)) continue;
    const g = groups.get(key) as GroupNode;
    const set = new Set<string>();
    for (const m of g.memberDns ?? []) {
      if (graph.has(m)) continue;
      const id = refs.id(dnRef(m));
      if (id) set.add(id);
    }
    for (const u of g.memberUids) {
      const id = refs.id(uidRef(u));
      if (id) set.add(id);
    }
    for (const k of children.get(key) ?? []) for (const id of trans.get(k) ?? EMPTY) set.add(id);
    trans.set(key, set);
  }

  // Counts move by what the touched groups gained and lost.
  const delta = new Map<string, number>();
  for (const key of touchedGroups) {
    const before = state.trans.get(key) ?? EMPTY;
    const after = trans.get(key) ?? EMPTY;
    for (const id of after) if (!before.has(id)) delta.set(id, (delta.get(id) ?? 0) + 1);
    for (const id of before) if (!after.has(id)) delta.set(id, (delta.get(id) ?? 0) - 1);
  }
  const count = (id: string) => (state.count.get(id) ?? 0) + (delta.get(id) ?? 0);
  return {
    whole: false,
    groups,
    children,
    trans,
    touchedGroups,
    touchedUsers: new Set(delta.keys()),
    count,
    commitCounts(into, journal) {
      for (const id of delta.keys()) {
        const n = count(id);
        if (n > 0) journal.set(into, id, n);
        else journal.delete(into, id);
      }
      return into;
    },
    cycles: [],
  };
}

/** The whole scope worked out again (nesting loops, or users answering to new references). */
function wholeScope(
  p: DeltaPlan,
  state: DeltaState,
  graph: Map<string, GroupNode>,
  refs: RefView,
  normalize: (dn: string) => string | undefined,
): NextScope {
  const scope = computeScope(graph, [...p.selected.keys()], normalize);
  const built = scopeState(scope, (ref) => refs.id(ref));
  return {
    whole: true,
    groups: built.groups,
    children: built.children,
    trans: built.trans,
    touchedGroups: new Set([...state.trans.keys(), ...built.trans.keys()]),
    touchedUsers: new Set([...state.count.keys(), ...built.count.keys()]),
    count: (id) => built.count.get(id) ?? 0,
    commitCounts: () => built.count,
    cycles: scope.cycles,
  };
}

/** The state's member references with one run's changes on top, applied by `commit()`. */
class RefView {
  private readonly ids = new Map<string, string | null>();
  private readonly unresolvedNow = new Map<string, boolean>();
  private readonly refsNow = new Map<string, string[]>();

  constructor(private readonly state: DeltaState) {}

  id(ref: string): string | undefined {
    const mine = this.ids.get(ref);
    if (mine !== undefined) return mine ?? undefined;
    return this.state.userRefs.get(ref);
  }

  has(ref: string): boolean {
    return this.id(ref) !== undefined;
  }

  isUnresolved(ref: string): boolean {
    return this.unresolvedNow.get(ref) ?? this.state.unresolved.has(ref);
  }

  refsOf(id: string): readonly string[] {
    return this.refsNow.get(id) ?? this.state.refsOf.get(id) ?? [];
  }

  /** The user `id` answers to `refs` now (and no longer to the ones it had). */
  learn(id: string, refs: string[]): void {
    for (const old of this.refsOf(id)) if (this.id(old) === id) this.ids.set(old, null);
    for (const ref of refs) {
      this.ids.set(ref, id);
      this.unresolvedNow.set(ref, false);
    }
    this.refsNow.set(id, refs);
  }

  markUnresolved(ref: string): void {
    this.unresolvedNow.set(ref, true);
  }

  commit(journal: StateJournal): void {
    const s = this.state;
    for (const [ref, id] of this.ids) {
      if (id === null) journal.delete(s.userRefs, ref);
      else journal.set(s.userRefs, ref, id);
    }
    for (const [ref, on] of this.unresolvedNow) {
      if (on) journal.add(s.unresolved, ref);
      else journal.remove(s.unresolved, ref);
    }
    for (const [id, refs] of this.refsNow) journal.set(s.refsOf, id, refs);
  }
}

/**
 * Keep a fresh group node, or the state's one (members already normalised) when its member
 * values are the same. True when the members changed (or the group is new to the state).
 */
function adoptGroup(
  key: string,
  fresh: GroupNode,
  state: DeltaState,
  graph: Map<string, GroupNode>,
  hashes: Map<string, string>,
): boolean {
  const hash = memberHash(fresh);
  const known = state.groups.get(key);
  const same =
    known && state.groupHash.get(key) === hash && known.id === fresh.id ? known : undefined;
  const node = same
    ? { ...same, name: fresh.name, description: fresh.description, dn: fresh.dn }
    : fresh;
  graph.set(key, node);
  hashes.set(key, hash);
  return !same;
}

function readUser(entry: Entry, p: DeltaPlan, names: AttributeNames): ReadUser | undefined {
  const attrs = new EntryAttributes(entry, names);
  const id = p.profile.readId(attrs.get(p.profile.idAttribute)[0]);
  return id ? { id, dn: entry.dn, attrs } : undefined;
}

/** The member references a user entry answers to. */
function refsFor(u: ReadUser, p: DeltaPlan): string[] {
  const refs: string[] = [];
  const key = tryNormalizeDn(u.dn, p.dnOptions);
  if (key !== undefined) refs.push(dnRef(key));
  for (const v of u.attrs.strings(p.profile.memberUidUserAttribute).values) {
    const k = uidKey(v);
    if (k) refs.push(uidRef(k));
  }
  return refs;
}

/**
 * Look entries up by DN (base searches, a few in flight): groups under groupBaseDn and users
 * under userBaseDn matching the user filter. DNs that name neither are left out.
 */
async function lookupDns(
  io: DeltaIo,
  p: DeltaPlan,
  dns: string[],
  names: AttributeNames,
): Promise<{ groups: Map<string, GroupNode>; users: ReadUser[] }> {
  const groups = new Map<string, GroupNode>();
  const users: ReadUser[] = [];
  const groupBase = tryNormalizeDn(p.groupBaseDn, p.dnOptions) ?? '';
  const userBase = tryNormalizeDn(p.userBaseDn, p.dnOptions) ?? '';
  let next = 0;
  const worker = async () => {
    while (next < dns.length) {
      const dn = dns[next++] as string;
      const key = tryNormalizeDn(dn, p.dnOptions);
      if (key === undefined) continue;
      if (isWithin(key, groupBase)) {
        const g = (await io.readGroups(undefined, dn))?.get(key);
        if (g) {
          groups.set(key, g);
          continue;
        }
      }
      if (!isWithin(key, userBase)) continue;
      const entry = await io.session.entry(dn, p.userFilter, p.userAttributes, 'a group member');
      const u = entry && readUser(entry, p, names);
      if (u) users.push(u);
    }
  };
  await Promise.all(Array.from({ length: Math.min(LOOKUPS_IN_FLIGHT, dns.length) }, worker));
  return { groups, users };
}

/** Users by external id (entering the scope without having been read yet). */
async function usersById(
  io: DeltaIo,
  p: DeltaPlan,
  ids: string[],
  names: AttributeNames,
): Promise<ReadUser[]> {
  const out: ReadUser[] = [];
  for (const part of chunks(ids)) {
    for await (const page of io.session.pages(p.userBaseDn, {
      filter: `(&${p.userFilter}${or(...part.map((id) => equals(p.profile.idAttribute, id)))})`,
      attributes: p.userAttributes,
      what: 'users entering the scope',
    })) {
      for (const entry of page) {
        const u = readUser(entry, p, names);
        if (u) out.push(u);
      }
    }
  }
  return out;
}

/** Which of these external ids still name an entry under baseDn. */
async function existing(io: DeltaIo, p: DeltaPlan, ids: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (const part of chunks(ids)) {
    for await (const page of io.session.pages(p.baseDn, {
      filter: or(...part.map((id) => equals(p.profile.idAttribute, id))),
      attributes: [p.profile.idAttribute],
      what: 'entries that left the scope',
    })) {
      for (const entry of page) {
        const id = p.profile.readId(new EntryAttributes(entry).get(p.profile.idAttribute)[0]);
        if (id) found.add(id);
      }
    }
  }
  return found;
}

function removal(id: string, stillThere: Set<string>, refs?: string[]): SourceRemoval {
  const dn = refs?.find((r) => r.startsWith('dn:'))?.slice(3);
  return {
    externalId: id,
    reason: stillThere.has(id) ? 'outOfScope' : 'deleted',
    ...(dn ? { sourceLocator: dn } : {}),
  };
}
