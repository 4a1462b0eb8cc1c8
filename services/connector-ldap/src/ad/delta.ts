/**
 * DELTA runs of an Active Directory directory: one DirSync search from the stored cookie says
 * what changed (objects with their changed attributes; `member` as values added and removed;
 * deleted objects as tombstones), the group graph is read again (groups only) to know each
 * group's transitive members now, and the previous graph is that one with the reported member
 * changes undone. Only the users the changes touch are read. See docs/ad-delta.md.
 */
import { ErrorCode } from '@dirsync/proto';
import { CursorRejectedError, DirsyncError, type Logger, type RecordSink } from '@dirsync/kit';
import type { Entry } from 'ldapts';
import { checkSelected, emitUser, primaryGroupSid, readGroups, type Plan } from '../connector.js';
import { tryNormalizeDn, and, escapeFilterValue, or } from '@dirsync/kit/ldap';
import { resolveMembers, type GroupNode } from '../graph.js';
import { AttributeNames, EntryAttributes, userAttributes } from '../mapping.js';
import { formatGuid } from '../profiles/index.js';
import type { LdapSession } from '../session.js';
import {
  DirSyncControl,
  ShowDeletedControl,
  adConfigFingerprint,
  decodeAdCursor,
  encodeAdCursor,
} from './dirsync.js';

/** Where a domain controller stands: its identity and its highest USN. */
interface DcState {
  dc: string;
  invocationId: string;
  usn: string;
  namingContext: string;
}

const one = (v: Entry[string] | undefined): string | undefined => {
  const x = Array.isArray(v) ? v[0] : v;
  return typeof x === 'string' && x !== '' ? x : undefined;
};

async function dcState(session: LdapSession): Promise<DcState> {
  const root = await session.rootDse([
    'dsServiceName',
    'highestCommittedUSN',
    'defaultNamingContext',
  ]);
  const dc = one(root?.dsServiceName);
  const usn = one(root?.highestCommittedUSN);
  const namingContext = one(root?.defaultNamingContext);
  if (!dc || !usn || !/^\d+$/.test(usn) || !namingContext) {
    throw new DirsyncError(
      ErrorCode.SOURCE_ERROR,
      `${session.server} does not say its dsServiceName, highestCommittedUSN and defaultNamingContext: is it an Active Directory domain controller?`,
    );
  }
  const [ntds] = await session.search(dc, {
    scope: 'base',
    filter: '(objectClass=*)',
    attributes: ['invocationId'],
    binaryAttributes: ['invocationId'],
    what: "the domain controller's invocationId",
  });
  const raw = ntds?.invocationId;
  const invocationId = Buffer.isBuffer(raw) ? formatGuid(raw) : undefined;
  if (!invocationId) {
    throw new DirsyncError(
      ErrorCode.SOURCE_ERROR,
      `${session.server} does not show the invocationId of "${dc}"`,
    );
  }
  return { dc, invocationId, usn, namingContext };
}

/** What a cursor is only valid for: the bases, filter, selected groups and mapping. */
export function adFingerprint(p: Plan): string {
  return adConfigFingerprint({
    baseDn: p.baseDn.toLowerCase(),
    userBaseDn: p.userBaseDn.toLowerCase(),
    groupBaseDn: p.groupBaseDn.toLowerCase(),
    userFilter: p.userFilter,
    selected: [...p.selected.keys()].sort(),
    mapping: p.mapping,
  });
}

/** DirSync over the domain, following `more` until the server has said everything. */
async function dirSync(
  session: LdapSession,
  namingContext: string,
  control: DirSyncControl,
  filter: string,
  attributes: string[],
  binaryAttributes: readonly string[],
): Promise<Entry[]> {
  const out: Entry[] = [];
  for (let round = 0; ; round++) {
    out.push(
      ...(await session.search(namingContext, {
        scope: 'sub',
        filter,
        attributes,
        binaryAttributes,
        controls: [control],
        what: 'changes (DirSync)',
      })),
    );
    if (!control.answered) {
      throw new CursorRejectedError(`${session.server} did not answer the DirSync control`);
    }
    if (!control.more) return out;
    if (round > 100_000) throw new DirsyncError(ErrorCode.SOURCE_ERROR, 'DirSync never ends');
  }
}

/**
 * FULL runs: the position the next DELTA run reads changes from, taken BEFORE reading (a change
 * made while the run reads is then read again, never lost). A DirSync search whose filter
 * matches nothing returns only the cookie for "now". Undefined (logged) when the server or the
 * bind account cannot do DirSync: delta runs then read in full.
 */
export async function adPosition(
  session: LdapSession,
  p: Plan,
  logger: Logger,
): Promise<string | undefined> {
  try {
    const state = await dcState(session);
    const control = new DirSyncControl();
    await dirSync(
      session,
      state.namingContext,
      control,
      '(&(objectClass=user)(objectClass=group))',
      ['objectGUID'],
      [],
    );
    return encodeAdCursor({
      dc: state.dc,
      invocationId: state.invocationId,
      usn: state.usn,
      cookie: control.cookie.toString('base64'),
      config: adFingerprint(p),
    });
  } catch (err) {
    const code = err instanceof DirsyncError ? err.code : undefined;
    if (
      err instanceof CursorRejectedError ||
      code === ErrorCode.INSUFFICIENT_ACCESS ||
      code === ErrorCode.SOURCE_ERROR
    ) {
      logger.warn(
        { error: err instanceof Error ? err.message : String(err) },
        'DirSync is not available for this directory: its delta runs will read in full',
      );
      return undefined;
    }
    throw err;
  }
}

const isTrue = (v: Entry[string] | undefined) => one(v)?.toUpperCase() === 'TRUE';

/** Whether a DirSync entry carries a changed attribute besides the ones listed. */
function changedBesides(entry: Entry, ignore: readonly string[]): boolean {
  const skip = new Set(['dn', 'objectguid', 'instancetype', 'isdeleted', ...ignore]);
  for (const [key, value] of Object.entries(entry)) {
    const name = (key.split(';')[0] ?? '').toLowerCase();
    if (skip.has(name)) continue;
    if (Array.isArray(value) ? value.length > 0 : value !== undefined) return true;
  }
  return false;
}

/** Incremental member values of a DirSync entry: `;range=1-1` added, `;range=0-0` removed. */
function memberChanges(entry: Entry, attribute: string): { added: string[]; removed: string[] } {
  const added: string[] = [];
  const removed: string[] = [];
  for (const [key, value] of Object.entries(entry)) {
    const [name, ...options] = key.split(';');
    if (name?.toLowerCase() !== attribute.toLowerCase()) continue;
    const values = (Array.isArray(value) ? value : [value]).filter(
      (v): v is string => typeof v === 'string',
    );
    const range = options.find((o) => /^range=/i.test(o))?.toLowerCase();
    if (range === 'range=0-0') removed.push(...values);
    else added.push(...values); // range=1-1, or a plain value list (no incremental values)
  }
  return { added, removed };
}

/** Groups reachable from the selected ones through nesting. */
function scopeOf(
  selected: readonly string[],
  members: Map<string, readonly string[]>,
): Set<string> {
  const seen = new Set<string>();
  const stack = selected.filter((k) => members.has(k));
  while (stack.length) {
    const k = stack.pop() as string;
    if (seen.has(k)) continue;
    seen.add(k);
    for (const m of members.get(k) ?? []) if (members.has(m) && !seen.has(m)) stack.push(m);
  }
  return seen;
}

function parentsOf(members: Map<string, readonly string[]>): Map<string, string[]> {
  const parents = new Map<string, string[]>();
  for (const [g, ms] of members) {
    for (const m of ms) {
      const list = parents.get(m);
      if (list) list.push(g);
      else parents.set(m, [g]);
    }
  }
  return parents;
}

/** Every group `key` is in, through any nesting (cycle-safe), plus those of `extra`. */
function ancestors(key: string, parents: Map<string, string[]>, extra?: string): Set<string> {
  const out = new Set<string>();
  const stack = [...(parents.get(key) ?? []), ...(extra ? [extra] : [])];
  while (stack.length) {
    const g = stack.pop() as string;
    if (out.has(g)) continue;
    out.add(g);
    for (const p of parents.get(g) ?? []) if (!out.has(p)) stack.push(p);
  }
  return out;
}

/** Users (non-group members) below `key`, through nesting. */
function descendants(key: string, members: Map<string, readonly string[]>, out: Set<string>): void {
  const seen = new Set<string>();
  const stack = [key];
  while (stack.length) {
    const g = stack.pop() as string;
    if (seen.has(g)) continue;
    seen.add(g);
    for (const m of members.get(g) ?? []) {
      if (members.has(m)) stack.push(m);
      else out.add(m);
    }
  }
}

/** Read the given user entries (by DN) that are under userBaseDn and match the user filter. */
async function readUsersByDn(session: LdapSession, p: Plan, dns: string[]): Promise<Entry[]> {
  const out: Entry[] = [];
  for (let i = 0; i < dns.length; i += 100) {
    const chunk = dns.slice(i, i + 100);
    const filter = and(
      p.userFilter,
      or(...chunk.map((dn) => `(distinguishedName=${escapeFilterValue(dn)})`)),
    );
    for await (const page of session.pages(p.userBaseDn, {
      filter,
      attributes: userAttributes(p.mapping, p.profile),
      what: 'changed users',
    })) {
      out.push(...page);
    }
  }
  return out;
}

export interface AdDeltaResult {
  cursor: string;
}

/**
 * Read what changed since `cursorText` and hand it to the sink in DELTA terms. Throws
 * CursorRejectedError when the cursor cannot be used (another DC, a DC restored from backup,
 * another configuration, not ours).
 */
export async function runAdDelta(
  session: LdapSession,
  p: Plan,
  sink: RecordSink,
  cursorText: string,
  now: Date,
  memberRangeSize: number | undefined,
): Promise<AdDeltaResult> {
  const cursor = decodeAdCursor(cursorText);
  if (typeof cursor === 'string') throw new CursorRejectedError(cursor);
  if (cursor.config !== adFingerprint(p)) {
    throw new CursorRejectedError(
      'the directory configuration (bases, filter, groups or mapping) changed since the cursor was taken',
    );
  }
  const state = await dcState(session);
  if (state.dc.toLowerCase() !== cursor.dc.toLowerCase()) {
    throw new CursorRejectedError(`the cursor belongs to "${cursor.dc}", not to "${state.dc}"`);
  }
  if (state.invocationId !== cursor.invocationId) {
    throw new CursorRejectedError(
      "the domain controller's invocationId changed since the cursor was taken (restored from backup)",
    );
  }
  if (BigInt(state.usn) < BigInt(cursor.usn)) {
    throw new CursorRejectedError(
      `the domain controller's highestCommittedUSN ${state.usn} is behind the cursor's ${cursor.usn} (restored from backup)`,
    );
  }

  // 1. What changed. Only the attributes dirsync reads: changes to others do not show.
  const { profile } = p;
  const memberAttr = profile.memberDnAttributes[0] ?? 'member';
  const control = new DirSyncControl(Buffer.from(cursor.cookie, 'base64'));
  const attributes = [
    ...new Set([
      ...userAttributes(p.mapping, profile),
      profile.groupNameAttribute,
      profile.groupDescriptionAttribute,
      memberAttr,
      'isDeleted',
    ]),
  ];
  const changes = await dirSync(
    session,
    state.namingContext,
    control,
    '(|(objectClass=user)(objectClass=group))',
    attributes,
    profile.binaryAttributes,
  );
  const next = encodeAdCursor({
    dc: state.dc,
    invocationId: state.invocationId,
    usn: state.usn,
    cookie: control.cookie.toString('base64'),
    config: cursor.config,
  });
  if (changes.length === 0) return { cursor: next };

  // 2. The group graph now, and before: now with the reported member changes undone.
  const norm = (dn: string) => tryNormalizeDn(dn, p.dnOptions);
  const groups = await readGroups(session, p, sink, memberRangeSize);
  checkSelected(p, groups);
  const nowMembers = new Map<string, readonly string[]>();
  const rawOf = new Map<string, string>();
  const bySid = new Map<string, string>();
  for (const g of groups.values()) {
    const dns = resolveMembers(g, norm);
    nowMembers.set(g.key, dns);
    dns.forEach((k, i) => rawOf.set(k, g.memberRaw?.[i] ?? k));
    if (g.sid) bySid.set(g.sid, g.key);
  }
  const prevMembers = new Map(nowMembers);
  const changedEdges: [string, string][] = [];
  const changedUsers = new Set<string>();
  const primaryChanged = new Set<string>();
  const changedGroups = new Set<string>();
  const tombstones: Entry[] = [];
  for (const entry of changes) {
    if (isTrue(entry.isDeleted)) {
      tombstones.push(entry);
      continue;
    }
    const key = norm(entry.dn);
    if (key === undefined) continue;
    rawOf.set(key, entry.dn);
    const { added, removed } = memberChanges(entry, memberAttr);
    if (groups.has(key)) {
      if (changedBesides(entry, [memberAttr.toLowerCase()])) changedGroups.add(key);
      if (added.length === 0 && removed.length === 0) continue;
      const before = new Set(prevMembers.get(key) ?? []);
      for (const dn of added) {
        const k = norm(dn);
        if (k === undefined) continue;
        rawOf.set(k, rawOf.get(k) ?? dn);
        before.delete(k);
        changedEdges.push([key, k]);
      }
      for (const dn of removed) {
        const k = norm(dn);
        if (k === undefined) continue;
        rawOf.set(k, rawOf.get(k) ?? dn);
        before.add(k);
        changedEdges.push([key, k]);
      }
      prevMembers.set(key, [...before]);
    } else if (added.length === 0 && removed.length === 0 && changedBesides(entry, [])) {
      changedUsers.add(key);
      const pgAttr = profile.primaryGroup?.primaryGroupIdAttribute.toLowerCase();
      if (pgAttr && Object.keys(entry).some((k) => k.toLowerCase() === pgAttr)) {
        primaryChanged.add(key);
      }
    }
  }

  const selected = [...p.selected.keys()];
  const scopeNow = scopeOf(selected, nowMembers);
  const scopePrev = scopeOf(selected, prevMembers);
  const parentsNow = parentsOf(nowMembers);
  const parentsPrev = parentsOf(prevMembers);

  // 3. The users the changes touch: changed ones, and every user below a changed edge.
  const affected = new Set(changedUsers);
  for (const [, m] of changedEdges) {
    if (groups.has(m)) {
      descendants(m, nowMembers, affected);
      descendants(m, prevMembers, affected);
    } else affected.add(m);
  }
  const entries = await readUsersByDn(
    session,
    p,
    [...affected].map((k) => rawOf.get(k) ?? k),
  );

  // 4. Each touched user: in which in-scope groups it was and is, transitively.
  const added = new Map<string, string[]>();
  const removed = new Map<string, string[]>();
  const push = (m: Map<string, string[]>, g: string, id: string) => {
    const list = m.get(g);
    if (list) list.push(id);
    else m.set(g, [id]);
  };
  const names = new AttributeNames();
  for (const entry of entries) {
    const key = norm(entry.dn);
    if (key === undefined) continue;
    const attrs = new EntryAttributes(entry, names);
    const sid = profile.primaryGroup ? primaryGroupSid(attrs, profile.primaryGroup) : undefined;
    const primary = sid === undefined ? undefined : bySid.get(sid);
    const inNow = [...ancestors(key, parentsNow, primary)].filter((g) => scopeNow.has(g));
    const inPrev = [
      ...ancestors(key, parentsPrev, primaryChanged.has(key) ? undefined : primary),
    ].filter((g) => scopePrev.has(g));
    const id = profile.readId(attrs.get(profile.idAttribute)[0]);
    if (!id) continue;
    if (inNow.length > 0 && (changedUsers.has(key) || inPrev.length === 0)) {
      await emitUser(sink, p, entry.dn, attrs, now);
    }
    if (inPrev.length > 0 && inNow.length === 0) {
      await sink.removeUser({ externalId: id, reason: 'outOfScope', sourceLocator: entry.dn });
    }
    const was = new Set(inPrev);
    const is = new Set(inNow);
    for (const g of is) if (!was.has(g)) push(added, g, id);
    for (const g of was) if (!is.has(g)) push(removed, g, id);
  }

  // 5. Groups entering, leaving or changed within the scope; membership changes.
  const node = (k: string): GroupNode | undefined => groups.get(k);
  for (const k of scopeNow) {
    const g = node(k);
    if (!g?.id || (scopePrev.has(k) && !changedGroups.has(k))) continue;
    await sink.group({
      externalId: g.id,
      name: g.name,
      description: g.description,
      sourceLocator: g.dn,
    });
  }
  for (const k of scopePrev) {
    const g = node(k);
    if (g?.id && !scopeNow.has(k)) {
      await sink.removeGroup({ externalId: g.id, reason: 'outOfScope', sourceLocator: g.dn });
    }
  }
  for (const k of new Set([...added.keys(), ...removed.keys()])) {
    const g = node(k);
    if (!g?.id) continue;
    await sink.membershipDelta(g.id, { added: added.get(k) ?? [], removed: removed.get(k) ?? [] });
  }

  // 6. Deleted objects: a tombstone says only its GUID; its objectClass says user or group.
  for (const t of tombstones) {
    const raw = t[profile.idAttribute] ?? t[profile.idAttribute.toLowerCase()];
    const id = profile.readId(Array.isArray(raw) ? raw[0] : raw);
    if (!id) continue;
    const [full] = await session.search(t.dn, {
      scope: 'base',
      filter: '(objectClass=*)',
      attributes: ['objectClass'],
      controls: [new ShowDeletedControl()],
      what: 'a deleted object',
    });
    const classes = new Set([full?.objectClass ?? []].flat().map((c) => String(c).toLowerCase()));
    if (classes.has('group')) {
      await sink.removeGroup({ externalId: id, reason: 'deleted', sourceLocator: t.dn });
    } else if (classes.has('user') && !classes.has('computer')) {
      await sink.removeUser({ externalId: id, reason: 'deleted', sourceLocator: t.dn });
    }
  }
  return { cursor: next };
}
