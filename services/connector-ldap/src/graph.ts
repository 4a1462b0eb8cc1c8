/**
 * The group graph of one run, built in memory from one paged search of every group: which
 * groups are in scope (the selected ones and every group nested below them), and each one's
 * transitive user members as "refs" — a member DN that is not a group, or a posixGroup
 * memberUid — to be resolved to users by the single user search that follows.
 */

/** One group entry as read from the server. */
export interface GroupNode {
  /** As the server returned it. */
  dn: string;
  /** Normalised DN (see dn.ts). */
  key: string;
  /** External id, undefined when the entry has none. */
  id: string | undefined;
  name: string;
  description: string | undefined;
  /**
   * Member DN values as the server returned them. They are normalised only when the group turns
   * out to be in scope (most groups of a big directory are not), into `memberDns`.
   */
  rawMembers: string[];
  /** Normalised member DNs (users or groups); filled by {@link resolveMembers}. */
  memberDns?: string[];
  /** The raw value each of `memberDns` came from (same order). */
  memberRaw?: string[];
  /** posixGroup memberUid values, lower-cased and NFC. */
  memberUids: string[];
  /** The group's SID (AD), whose RID users name as their `primaryGroupID`. */
  sid?: string | undefined;
  /** Member values that are not valid DNs, as they were; filled with `memberDns`. */
  invalidMembers?: string[];
}

/** Normalise a group's member values once. */
export function resolveMembers(
  g: GroupNode,
  normalize: (dn: string) => string | undefined,
): string[] {
  if (g.memberDns) return g.memberDns;
  const dns: string[] = [];
  const raws: string[] = [];
  const invalid: string[] = g.invalidMembers ?? [];
  for (const raw of g.rawMembers) {
    const dn = normalize(raw);
    if (dn === undefined) invalid.push(raw);
    else {
      dns.push(dn);
      raws.push(raw);
    }
  }
  g.memberDns = dns;
  g.memberRaw = raws;
  g.invalidMembers = invalid;
  g.rawMembers = [];
  return dns;
}

/** A cycle in the nesting: the groups (DNs) of one strongly connected component. */
export type GroupCycle = string[];

/** Scope of a run, computed from the graph. */
export interface Scope {
  /** The selected groups and every group nested in them. */
  groups: GroupNode[];
  /**
   * Ref strings by index: `dn:<normalised dn>`, `uid:<memberUid>` or `sid:<group SID>` (the
   * users whose primary group that is).
   */
  refs: string[];
  /** Normalised user DN → ref index. */
  dnRefs: Map<string, number>;
  /**
   * Member values exactly as groups wrote them → ref index. Servers usually return an entry's DN
   * in the very spelling its groups use, so most users are matched without normalising their DN.
   */
  rawDnRefs: Map<string, number>;
  /** memberUid value → ref index. */
  uidRefs: Map<string, number>;
  /** Primary group SID → ref index (AD: users whose primaryGroupID is that group's RID). */
  sidRefs: Map<string, number>;
  /** Group key → its transitive members (ref indexes). Groups of one cycle share one set. */
  members: Map<string, Set<number>>;
  /** The first in-scope group that referenced each ref (for "unresolved member" errors). */
  referencedBy: string[];
  /** Each ref as that group wrote it (the raw DN or memberUid), for messages. */
  labels: string[];
  /** Raw member values of in-scope groups that are not DNs, with their group's DN. */
  invalidMembers: { group: string; value: string }[];
  /** Each nesting cycle among in-scope groups, once. */
  cycles: GroupCycle[];
}

/** Key for memberUid matching: the value as LDAP's caseIgnore rule sees it. */
export function uidKey(value: string): string {
  return value.normalize('NFC').trim().toLowerCase();
}

/**
 * Compute the scope. `selected` are normalised DNs that must all be keys of `groups` (the
 * caller reports the missing ones). Iterative Tarjan, so deep nesting cannot overflow the stack.
 */
export function computeScope(
  groups: Map<string, GroupNode>,
  selected: string[],
  normalize: (dn: string) => string | undefined = (dn) => dn,
): Scope {
  const membersOf = (g: GroupNode) => resolveMembers(g, normalize);
  // 1. Groups reachable from the selection.
  const reachable: GroupNode[] = [];
  const seen = new Set<string>();
  const stack = [...selected];
  while (stack.length) {
    const key = stack.pop() as string;
    if (seen.has(key)) continue;
    const g = groups.get(key);
    if (!g) continue;
    seen.add(key);
    reachable.push(g);
    for (const m of membersOf(g)) if (groups.has(m) && !seen.has(m)) stack.push(m);
  }

  // 2. Direct user refs of each reachable group.
  const refs: string[] = [];
  const referencedBy: string[] = [];
  const labels: string[] = [];
  const dnRefs = new Map<string, number>();
  const rawDnRefs = new Map<string, number>();
  const uidRefs = new Map<string, number>();
  const sidRefs = new Map<string, number>();
  const direct = new Map<string, number[]>();
  const invalidMembers: Scope['invalidMembers'] = [];
  for (const g of reachable) {
    const own: number[] = [];
    const dns = membersOf(g);
    for (let i = 0; i < dns.length; i++) {
      const m = dns[i] as string;
      if (groups.has(m)) continue;
      let idx = dnRefs.get(m);
      if (idx === undefined) {
        idx = refs.length;
        refs.push(`dn:${m}`);
        referencedBy.push(g.dn);
        labels.push(g.memberRaw?.[i] ?? m);
        dnRefs.set(m, idx);
      }
      rawDnRefs.set(g.memberRaw?.[i] ?? m, idx);
      own.push(idx);
    }
    for (const u of g.memberUids) {
      let idx = uidRefs.get(u);
      if (idx === undefined) {
        idx = refs.length;
        refs.push(`uid:${u}`);
        referencedBy.push(g.dn);
        labels.push(u);
        uidRefs.set(u, idx);
      }
      own.push(idx);
    }
    if (g.sid !== undefined && !sidRefs.has(g.sid)) {
      const idx = refs.length;
      refs.push(`sid:${g.sid}`);
      referencedBy.push(g.dn);
      labels.push(g.sid);
      sidRefs.set(g.sid, idx);
      own.push(idx);
    }
    for (const value of g.invalidMembers ?? []) invalidMembers.push({ group: g.dn, value });
    direct.set(g.key, own);
  }

  // 3. Strongly connected components (iterative Tarjan). Tarjan emits a component only after
  //    every component reachable from it, so member sets can be completed in emission order.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const sccStack: string[] = [];
  const members = new Map<string, Set<number>>();
  const cycles: GroupCycle[] = [];
  let counter = 0;
  const children = (key: string): string[] =>
    (groups.get(key)?.memberDns ?? []).filter((m) => seen.has(m));
  // Children lists are asked for twice per group; build them once.
  const childCache = new Map<string, string[]>();
  const childrenOf = (key: string): string[] => {
    let c = childCache.get(key);
    if (!c) {
      c = children(key);
      childCache.set(key, c);
    }
    return c;
  };

  for (const root of reachable) {
    if (index.has(root.key)) continue;
    const work: { key: string; next: number; kids: string[] }[] = [];
    const enter = (key: string) => {
      index.set(key, counter);
      low.set(key, counter);
      counter++;
      sccStack.push(key);
      onStack.add(key);
      work.push({ key, next: 0, kids: childrenOf(key) });
    };
    enter(root.key);
    while (work.length) {
      const frame = work[work.length - 1] as (typeof work)[number];
      if (frame.next < frame.kids.length) {
        const kid = frame.kids[frame.next++] as string;
        if (!index.has(kid)) enter(kid);
        else if (onStack.has(kid)) {
          low.set(frame.key, Math.min(low.get(frame.key) as number, index.get(kid) as number));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) {
        low.set(parent.key, Math.min(low.get(parent.key) as number, low.get(frame.key) as number));
      }
      if (low.get(frame.key) !== index.get(frame.key)) continue;
      // frame.key roots a component: pop it.
      const component: string[] = [];
      for (;;) {
        const k = sccStack.pop() as string;
        onStack.delete(k);
        component.push(k);
        if (k === frame.key) break;
      }
      const inComponent = new Set(component);
      const set = new Set<number>();
      for (const k of component) {
        for (const r of direct.get(k) ?? []) set.add(r);
        for (const kid of childrenOf(k)) {
          if (inComponent.has(kid)) continue;
          for (const r of members.get(kid) ?? []) set.add(r);
        }
      }
      for (const k of component) members.set(k, set);
      const selfLoop = component.length === 1 && childrenOf(frame.key).includes(frame.key);
      if (component.length > 1 || selfLoop) {
        cycles.push(component.map((k) => groups.get(k)?.dn ?? k).sort());
      }
    }
  }

  return {
    groups: reachable,
    refs,
    dnRefs,
    rawDnRefs,
    uidRefs,
    sidRefs,
    members,
    referencedBy,
    labels,
    invalidMembers,
    cycles,
  };
}
