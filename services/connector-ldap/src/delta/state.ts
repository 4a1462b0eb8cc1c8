import { createHash } from 'node:crypto';
import type { GroupNode, Scope } from '../graph.js';

/** A group as the last run published it. */
export interface PublishedGroup {
  /** Normalised DN. */
  key: string;
  dn: string;
  name: string;
  description: string | undefined;
}

/**
 * What a delta run must know about the previous run and cannot read from the server: the scope
 * as it was published. The server says what an entry is now, never what it was — a group's
 * member list after a change, not who left it; a deleted user not at all (OpenLDAP's refint
 * overlay takes it out of its groups without touching their `entryCSN`). So the connector keeps,
 * per directory and in memory, the scope it last published, tied to the cursor of that run:
 *
 * - the in-scope groups (those reachable from the selected ones) with their member values
 *   normalised, a hash of those values to see at once whether a re-read group changed, and
 *   which in-scope groups each one contains;
 * - which user each member reference (`dn:<normalised DN>`, `uid:<memberUid>`) resolved to;
 * - per group, its transitive members (external ids), and per user the number of in-scope
 *   groups holding it (0 = out of scope) — so that a change is worked out for the groups it
 *   touches, never for the whole directory;
 * - which users in scope were published, and which the kit refused (no username, duplicate).
 *
 * It holds references and ids, no attributes, and is rebuilt by every full read. A delta run
 * with a cursor the process holds no state for (restarted, evicted, or another replica ran the
 * last sync) rejects the cursor and the run reads in full.
 */
export interface DeltaState {
  /** The cursor (text form) this state belongs to. */
  cursor: string;
  /** In-scope groups by normalised DN, members resolved (`memberDns`). */
  groups: Map<string, GroupNode>;
  /** Normalised DN → {@link memberHash} of the group's member values. */
  groupHash: Map<string, string>;
  /** Normalised DN → the in-scope groups among its members. */
  children: Map<string, string[]>;
  /** Normalised DN → the external ids of its transitive user members. */
  trans: Map<string, Set<string>>;
  /** User external id → how many in-scope groups hold it (absent = none: out of scope). */
  count: Map<string, number>;
  /** Published groups by external id. */
  published: Map<string, PublishedGroup>;
  /** Member reference → the external id of the user it names. */
  userRefs: Map<string, string>;
  /** References known to name no user (dangling DNs, unknown memberUids): not looked up again. */
  unresolved: Set<string>;
  /** External id → the references that name it. */
  refsOf: Map<string, string[]>;
  /** Users in scope that were published (the kit accepted them). */
  accepted: Set<string>;
  /** Users in scope the kit refused: never published, so never removed. */
  refused: Set<string>;
  /**
   * The run that made this state found nothing changed since its own cursor. Only then may the
   * next run, finding `contextCSN` unchanged too, skip reading: OpenLDAP's refint overlay
   * finishes its silent group repairs just after the delete that triggered them, so the run
   * after a change always looks at the groups once more.
   */
  quiet: boolean;
}

/**
 * A digest of a group's member values (DNs as the server wrote them, in its order, and
 * memberUids), the same before and after the node's members were normalised. A group whose
 * values come back reordered merely looks changed and is worked out again.
 */
export function memberHash(g: GroupNode): string {
  const values = g.memberDns
    ? [...(g.memberRaw ?? []), ...(g.invalidMembers ?? [])]
    : [...g.rawMembers, ...(g.invalidMembers ?? [])];
  const h = createHash('sha1');
  for (const v of values) h.update(v).update('\n');
  h.update('\u0000');
  for (const u of g.memberUids) h.update(u).update('\n');
  return h.digest('base64url');
}

/**
 * The scope part of a state from a computed scope: in-scope groups, their nesting, transitive
 * members by external id (`idOf` resolves a member reference) and per-user counts.
 */
export function scopeState(
  scope: Scope,
  idOf: (ref: string) => string | undefined,
): Pick<DeltaState, 'groups' | 'groupHash' | 'children' | 'trans' | 'count'> {
  const groups = new Map(scope.groups.map((g) => [g.key, g]));
  const groupHash = new Map<string, string>();
  const children = new Map<string, string[]>();
  const trans = new Map<string, Set<string>>();
  const count = new Map<string, number>();
  for (const g of scope.groups) {
    groupHash.set(g.key, memberHash(g));
    children.set(g.key, childGroups(g, groups));
    const ids = new Set<string>();
    for (const r of scope.members.get(g.key) ?? []) {
      const id = idOf(scope.refs[r] as string);
      if (id) ids.add(id);
    }
    trans.set(g.key, ids);
    for (const id of ids) count.set(id, (count.get(id) ?? 0) + 1);
    // Raw member values are only needed to build the graph, not to keep it.
    g.memberRaw = undefined;
  }
  return { groups, groupHash, children, trans, count };
}

/** The members of `g` that are groups of `graph`. */
export function childGroups(g: GroupNode, graph: ReadonlyMap<string, GroupNode>): string[] {
  return (g.memberDns ?? []).filter((m) => graph.has(m));
}

/**
 * The changes a delta run made to the maps its new state shares with the state it started from
 * (member references, unresolved references, per-user counts): a delta does not copy the
 * directory-sized maps, it changes them in place and remembers how to undo that, at the cost of
 * what changed. `revert()` gives the old state back, newest change undone first.
 */
export class StateJournal {
  private readonly undo: (() => void)[] = [];

  set<K, V>(map: Map<K, V>, key: K, value: V): void {
    if (map.has(key)) {
      const old = map.get(key) as V;
      this.undo.push(() => map.set(key, old));
    } else {
      this.undo.push(() => map.delete(key));
    }
    map.set(key, value);
  }

  delete<K, V>(map: Map<K, V>, key: K): void {
    if (!map.has(key)) return;
    const old = map.get(key) as V;
    this.undo.push(() => map.set(key, old));
    map.delete(key);
  }

  add<T>(set: Set<T>, value: T): void {
    if (set.has(value)) return;
    this.undo.push(() => set.delete(value));
    set.add(value);
  }

  remove<T>(set: Set<T>, value: T): void {
    if (!set.has(value)) return;
    this.undo.push(() => set.add(value));
    set.delete(value);
  }

  get size(): number {
    return this.undo.length;
  }

  revert(): void {
    for (let i = this.undo.length - 1; i >= 0; i--) (this.undo[i] as () => void)();
    this.undo.length = 0;
  }
}

/** A state the store can go back to: the one a run started from, and how to restore it. */
export interface PreviousState {
  state: DeltaState;
  /** Undo what the newer state changed in the maps they share (a no-op after a full read). */
  revert(): void;
}

/**
 * The delta state of each directory this process synced, least recently used evicted first.
 *
 * A state advances only with the stored cursor. A run's cursor is stored by `sync` only when
 * the run COMPLETED — not when it is BLOCKED by the deletion threshold (approving or rejecting
 * it leaves the cursor where it was), FAILED in identity (missing events) or timed out — and
 * the connector cannot tell which happened. So the store keeps, next to the newest state, the
 * one of the cursor stored when its run started (a DELTA run's starting state, or for a FULL run
 * the state of the job's `storedCursor`), until the next job says which cursor was stored: the
 * newest one confirms it (the previous one is dropped), the previous one brings it back (the
 * newest is reverted). Without this, a DELTA after a blocked DELTA or a blocked FULL found no
 * state for the stored cursor and read in full, and its sweep named the users "not observed"
 * rather than "out of scope".
 */
export class DeltaStateStore {
  private readonly states = new Map<string, { state: DeltaState; previous?: PreviousState }>();

  constructor(private readonly maxDirectories: number) {}

  /** The state for this directory and cursor (the stored one), if this process holds it. */
  get(directoryId: string, cursor: string): DeltaState | undefined {
    const entry = this.states.get(directoryId);
    if (!entry) return undefined;
    let state: DeltaState | undefined;
    if (entry.state.cursor === cursor) {
      state = entry.state;
    } else if (entry.previous?.state.cursor === cursor) {
      // The newest run's cursor was not stored: back to the state the stored cursor belongs to.
      entry.previous.revert();
      state = entry.previous.state;
    }
    if (!state) return undefined;
    this.states.delete(directoryId);
    this.states.set(directoryId, { state });
    return state;
  }

  /** The state a run ended with; `previous`, the one it started from, is kept until confirmed. */
  set(directoryId: string, state: DeltaState, previous?: PreviousState): void {
    this.states.delete(directoryId);
    this.states.set(directoryId, previous ? { state, previous } : { state });
    while (this.states.size > Math.max(0, this.maxDirectories)) {
      const oldest = this.states.keys().next().value;
      if (oldest === undefined) break;
      this.states.delete(oldest);
    }
  }

  /**
   * Why {@link get} found no state for this cursor (the reason of the `CursorRejectedError`,
   * which the kit logs when it reads in full): the process holds none for the directory, or only
   * states of other cursors.
   */
  whyNot(directoryId: string, cursor: string): string {
    const entry = this.states.get(directoryId);
    if (!entry) {
      return 'this connector process holds no delta state for the directory (it restarted or evicted it, or another replica ran its last sync)';
    }
    const held = [entry.state, entry.previous?.state]
      .filter((x): x is DeltaState => x !== undefined)
      .map((x) => csnOf(x.cursor))
      .join(' and ');
    return (
      `this connector process holds the directory's delta state of another cursor (contextCSN ${held}, ` +
      `not ${csnOf(cursor)}): it dropped this one's when a later job named another stored cursor, or another replica ran a sync since`
    );
  }

  get size(): number {
    return this.states.size;
  }
}

/** The CSN part of a cursor, for messages (the fingerprint says nothing to a reader). */
function csnOf(cursor: string): string {
  const cut = cursor.lastIndexOf(':');
  return cut >= 0 ? cursor.slice(cut + 1) : cursor;
}
