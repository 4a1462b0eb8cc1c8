import { ErrorCode, SyncMode, type AdminRole } from '@dirsync/proto';
import {
  CursorRejectedError,
  DirsyncError,
  ldapSettingsSchema,
  type LdapSettings,
  type RecordSink,
  type RunContext,
  type RunResult,
  type SourceConnector,
} from '@dirsync/kit';
import { configFingerprint, decodeCursor, encodeCursor, isCsn } from './delta/cursor.js';
import { readDelta, type DeltaPlan } from './delta/delta.js';
import {
  DeltaStateStore,
  StateJournal,
  scopeState,
  type DeltaState,
  type PublishedGroup,
} from './delta/state.js';
import {
  isWithin,
  tryNormalizeDn,
  type NormalizeOptions,
  and,
  equals,
  filterProblem,
} from '@dirsync/kit/ldap';
import { computeScope, uidKey, type GroupNode, type Scope } from './graph.js';
import {
  AttributeNames,
  EntryAttributes,
  mapUser,
  resolveMapping,
  userAttributes,
  type ResolvedMapping,
} from './mapping.js';
import { profileFor, type LdapProfile } from './profiles/index.js';
import { collectRanged, firstRange } from './ranges.js';
import { LdapSession } from './session.js';
import { adPosition, runAdDelta } from './ad/delta.js';
import { runAdmins } from './admins.js';
import { checkLdap } from './check.js';

export interface LdapConnectorOptions {
  /** Overrides every directory's `pageSize` (operator knob, `LDAP_PAGE_SIZE`). */
  pageSize?: number;
  /** Clock for disabled-ness checks (AD accountExpires); tests pin it. */
  now?: () => Date;
  /**
   * Ask for ranged member values (`member;range=0-<size-1>`) instead of plain `member`, as a
   * Windows DC answers a group larger than its MaxValRange anyway. Servers that range only when
   * asked (Samba) then take the same path; tests use it to exercise both.
   */
  memberRangeSize?: number;
  /**
   * Whether the connector declares delta support (default true: Active Directory reads changes
   * with DirSync, OpenLDAP with contextCSN/entryCSN).
   */
  offersDelta?: boolean;
  /**
   * How many directories' OpenLDAP delta state (the scope the last run published, see
   * `delta/state.ts`) this process keeps; a directory beyond that reads in full at its next
   * DELTA run. Default 32.
   */
  deltaStateDirectories?: number;
}

/** Everything a run derives from its configuration before touching the server. */
export interface Plan {
  settings: LdapSettings;
  profile: LdapProfile;
  dnOptions: NormalizeOptions;
  baseDn: string;
  userBaseDn: string;
  groupBaseDn: string;
  userFilter: string;
  mapping: ResolvedMapping;
  /** Normalised selected group DN → the DN as configured. */
  selected: Map<string, string>;
  /** Admin sync: normalised role group DN → the DN as configured and its role. */
  roleGroups: Map<string, { dn: string; role: AdminRole }>;
}

export function configInvalid(message: string): DirsyncError {
  return new DirsyncError(ErrorCode.CONFIG_INVALID, message);
}

/** What a run (or a connection test) derives its plan from. */
export type PlanInput = Pick<RunContext<LdapSettings>, 'settings' | 'directory'>;

export function plan(ctx: PlanInput): Plan {
  const settings = ctx.settings;
  const profile = profileFor(settings.profile);
  const dnOptions: NormalizeOptions = { caseIgnoreAll: profile.caseIgnoreAllDnValues };
  const checkDn = (name: string, dn: string) => {
    if (tryNormalizeDn(dn, dnOptions) === undefined) {
      throw configInvalid(`${name}: "${dn}" is not a valid DN`);
    }
    return dn.trim();
  };
  const baseDn = checkDn('baseDn', settings.baseDn);
  const userBaseDn = checkDn('userBaseDn', settings.userBaseDn || baseDn);
  const groupBaseDn = checkDn('groupBaseDn', settings.groupBaseDn || baseDn);
  let userFilter = profile.userObjectFilter;
  if (settings.userFilter?.trim()) {
    const problem = filterProblem(settings.userFilter);
    if (problem) throw configInvalid(`userFilter: "${settings.userFilter}" ${problem}`);
    userFilter = and(profile.userObjectFilter, settings.userFilter.trim());
  }
  const selected = new Map<string, string>();
  for (const dn of ctx.directory.selectedGroups) {
    const key = tryNormalizeDn(dn, dnOptions);
    if (key === undefined) throw configInvalid(`selected group "${dn}" is not a valid DN`);
    if (!selected.has(key)) selected.set(key, dn);
  }
  const roleGroups = new Map<string, { dn: string; role: AdminRole }>();
  for (const { role, groups } of ctx.directory.adminRoleGroups) {
    for (const dn of groups) {
      const key = tryNormalizeDn(dn, dnOptions);
      if (key === undefined) throw configInvalid(`admin role group "${dn}" is not a valid DN`);
      if (!roleGroups.has(key)) roleGroups.set(key, { dn, role });
    }
  }
  return {
    settings,
    profile,
    dnOptions,
    baseDn,
    userBaseDn,
    groupBaseDn,
    userFilter,
    mapping: resolveMapping(ctx.directory.mapping, profile),
    selected,
    roleGroups,
  };
}

function groupAttributes(profile: LdapProfile, memberRangeSize: number | undefined): string[] {
  const ranged = profile.rangedMembers;
  return [
    profile.idAttribute,
    profile.groupNameAttribute,
    profile.groupDescriptionAttribute,
    ...profile.memberDnAttributes.map((a) =>
      ranged && memberRangeSize ? firstRange(a, memberRangeSize) : a,
    ),
    ...(profile.memberUidAttribute ? [profile.memberUidAttribute] : []),
    ...(profile.primaryGroup ? [profile.primaryGroup.sidAttribute] : []),
  ];
}

/**
 * Read every group under groupBaseDn in one paged search (or those matching `only.filter` as
 * well, or the single entry `only.base`) and index them by normalised DN.
 */
export async function readGroups(
  session: LdapSession,
  p: Plan,
  sink: RecordSink,
  memberRangeSize: number | undefined,
  only: { filter?: string | undefined; base?: string | undefined } = {},
): Promise<Map<string, GroupNode>> {
  const { profile } = p;
  const ranged = profile.rangedMembers;
  const attributes = groupAttributes(profile, memberRangeSize);
  const groups = new Map<string, GroupNode>();
  /** Groups whose member values came in ranges, to be completed after the search. */
  const incomplete: { node: GroupNode; attribute: string; next: number }[] = [];
  const names = new AttributeNames();
  const filter = only.filter
    ? and(profile.groupObjectFilter, only.filter)
    : profile.groupObjectFilter;
  if (only.base !== undefined) {
    const entry = await session.entry(only.base, filter, attributes, 'a group member');
    if (!entry) return groups;
  }
  for await (const page of session.pages(only.base ?? p.groupBaseDn, {
    filter,
    attributes,
    scope: only.base !== undefined ? 'base' : 'sub',
    what: only.base !== undefined ? `the group "${only.base}"` : 'groups',
  })) {
    for (const entry of page) {
      const key = tryNormalizeDn(entry.dn, p.dnOptions);
      if (key === undefined) {
        await sink.objectError({
          sourceLocator: entry.dn,
          code: ErrorCode.INVALID_ATTRIBUTE,
          message: `group "${entry.dn}" has a DN that does not parse; skipped`,
        });
        continue;
      }
      const attrs = new EntryAttributes(entry, names);
      const rawMembers: string[] = [];
      const invalidMembers: string[] = [];
      const pending: { attribute: string; next: number }[] = [];
      for (const attr of profile.memberDnAttributes) {
        let values = attrs.get(attr);
        if (ranged) {
          const r = collectRanged(entry, attr);
          values = r.values;
          if (r.next !== undefined) pending.push({ attribute: attr, next: r.next });
        }
        for (const v of values) {
          if (typeof v === 'string') rawMembers.push(v);
          else invalidMembers.push(`#${v.toString('hex')}`);
        }
      }
      const memberUids = profile.memberUidAttribute
        ? attrs
            .strings(profile.memberUidAttribute)
            .values.map(uidKey)
            .filter((u) => u !== '')
        : [];
      const sidValue = profile.primaryGroup
        ? attrs.get(profile.primaryGroup.sidAttribute)[0]
        : undefined;
      const node: GroupNode = {
        dn: entry.dn,
        key,
        id: profile.readId(attrs.get(profile.idAttribute)[0]),
        name: attrs.first(profile.groupNameAttribute) ?? entry.dn,
        description: attrs.first(profile.groupDescriptionAttribute),
        rawMembers,
        memberUids,
        invalidMembers,
        sid: Buffer.isBuffer(sidValue) ? profile.primaryGroup?.sidOf(sidValue) : undefined,
      };
      groups.set(key, node);
      for (const r of pending) incomplete.push({ node, ...r });
    }
  }
  // The rest of each ranged member list: one base search per further range (1,500 values).
  for (const { node, attribute, next } of incomplete) {
    for (const v of await session.rangedValues(node.dn, attribute, next, `group "${node.dn}"`)) {
      if (typeof v === 'string') node.rawMembers.push(v);
      else node.invalidMembers?.push(`#${v.toString('hex')}`);
    }
  }
  return groups;
}

/** Fail the run when a selected group is not among the groups read. */
export function checkSelected(p: Plan, groups: Map<string, GroupNode>): void {
  const missing = [...p.selected].filter(([key]) => !groups.has(key)).map(([, dn]) => dn);
  if (missing.length === 0) return;
  throw new DirsyncError(
    ErrorCode.GROUP_NOT_FOUND,
    `selected group${missing.length > 1 ? 's' : ''} ${missing.map((d) => `"${d}"`).join(', ')} ` +
      `not found under groupBaseDn "${p.groupBaseDn}"`,
  );
}

export async function reportCycles(scope: Scope, sink: RecordSink): Promise<void> {
  for (const cycle of scope.cycles) {
    await sink.objectError({
      sourceLocator: cycle[0] ?? '',
      code: ErrorCode.GROUP_CYCLE,
      message: `group nesting loops: ${cycle.map((d) => `"${d}"`).join(' ↔ ')}; their members are merged and the loop is not followed`,
    });
  }
}

/** Ref indexes a user entry stands for (its DN, its memberUid name). */
export function refsOf(
  scope: Scope,
  p: Plan,
  dn: string,
  attrs: EntryAttributes | undefined,
  out: number[],
): void {
  out.length = 0;
  if (scope.dnRefs.size > 0) {
    let idx = scope.rawDnRefs.get(dn);
    if (idx === undefined) {
      const key = tryNormalizeDn(dn, p.dnOptions);
      idx = key === undefined ? undefined : scope.dnRefs.get(key);
    }
    if (idx !== undefined) out.push(idx);
  }
  if (scope.uidRefs.size > 0 && attrs) {
    for (const v of attrs.strings(p.profile.memberUidUserAttribute).values) {
      const idx = scope.uidRefs.get(uidKey(v));
      if (idx !== undefined && !out.includes(idx)) out.push(idx);
    }
  }
  const pg = p.profile.primaryGroup;
  if (pg && scope.sidRefs.size > 0 && attrs) {
    const sid = primaryGroupSid(attrs, pg);
    const idx = sid === undefined ? undefined : scope.sidRefs.get(sid);
    if (idx !== undefined && !out.includes(idx)) out.push(idx);
  }
}

/** The SID of a user's primary group: its own domain SID followed by its primaryGroupID. */
export function primaryGroupSid(
  attrs: EntryAttributes,
  pg: NonNullable<LdapProfile['primaryGroup']>,
): string | undefined {
  const raw = attrs.get(pg.sidAttribute)[0];
  const rid = attrs.first(pg.primaryGroupIdAttribute)?.trim();
  if (!Buffer.isBuffer(raw) || !rid || !/^\d+$/.test(rid)) return undefined;
  const userSid = pg.sidOf(raw);
  const cut = userSid?.lastIndexOf('-') ?? -1;
  return userSid && cut > 0 ? `${userSid.slice(0, cut)}-${rid}` : undefined;
}

async function emitGroups(scope: Scope, sink: RecordSink, only?: Set<string>): Promise<void> {
  for (const g of scope.groups) {
    if (only && !only.has(g.key)) continue;
    await sink.group({
      externalId: g.id ?? '',
      name: g.name,
      description: g.description,
      sourceLocator: g.dn,
    });
  }
}

export async function emitUser(
  sink: RecordSink,
  p: Plan,
  dn: string,
  attrs: EntryAttributes,
  now: Date,
): Promise<{ externalId: string; accepted: boolean }> {
  const { user, problems } = mapUser(dn, attrs, p.mapping, p.profile, now);
  for (const problem of problems) {
    await sink.objectError({ externalId: user.externalId, sourceLocator: dn, ...problem });
  }
  const accepted = await sink.user(user);
  return { externalId: user.externalId, accepted: accepted === true };
}

/** What a FULL run resolved, for the delta state. */
interface FullResult {
  /** Ref index → the external id of the user it names. */
  resolved: (string | undefined)[];
  /** Users the kit accepted. */
  accepted: Set<string>;
}

async function runFull(
  session: LdapSession,
  p: Plan,
  scope: Scope,
  sink: RecordSink,
  now: Date,
  signal: AbortSignal,
): Promise<FullResult> {
  await emitGroups(scope, sink);

  // One paged search of every user; keep the ones in scope and stream them out.
  const resolved: (string | undefined)[] = new Array<string | undefined>(scope.refs.length);
  const seenRef = new Uint8Array(scope.refs.length);
  const refs: number[] = [];
  const needAttrsForScope = scope.uidRefs.size > 0 || scope.sidRefs.size > 0;
  const names = new AttributeNames();
  const accepted = new Set<string>();
  for await (const page of session.pages(p.userBaseDn, {
    filter: p.userFilter,
    attributes: userAttributes(p.mapping, p.profile),
    what: 'users',
  })) {
    for (const entry of page) {
      const attrs = needAttrsForScope ? new EntryAttributes(entry, names) : undefined;
      refsOf(scope, p, entry.dn, attrs, refs);
      if (refs.length === 0) continue;
      const emitted = await emitUser(
        sink,
        p,
        entry.dn,
        attrs ?? new EntryAttributes(entry, names),
        now,
      );
      const externalId = emitted.externalId;
      if (emitted.accepted) accepted.add(externalId);
      for (const r of refs) {
        seenRef[r] = 1;
        if (externalId && resolved[r] === undefined) resolved[r] = externalId;
      }
    }
    signal.throwIfAborted();
  }

  for (const g of scope.groups) {
    if (!g.id) continue;
    const set = scope.members.get(g.key);
    if (!set || set.size === 0) continue;
    const ids: string[] = [];
    for (const r of set) {
      const id = resolved[r];
      if (id) ids.push(id);
    }
    await sink.members(g.id, ids);
  }

  await reportUnresolved(scope, seenRef, p, sink);
  return { resolved, accepted };
}

/** Report the member references of in-scope groups that matched no user entry read. */
export async function reportUnresolved(
  scope: Scope,
  seenRef: Uint8Array,
  p: Plan,
  sink: RecordSink,
): Promise<void> {
  for (let r = 0; r < scope.refs.length; r++) {
    if (seenRef[r]) continue;
    // a primary group nobody has as theirs is not a dangling reference
    if ((scope.refs[r] as string).startsWith('sid:')) continue;
    const isDn = (scope.refs[r] as string).startsWith('dn:');
    const label = scope.labels[r] ?? '';
    const group = scope.referencedBy[r] ?? '';
    const message = isDn
      ? `member "${label}" of group "${group}" is not a user under "${p.userBaseDn}" matching the user filter; skipped`
      : `memberUid "${label}" of group "${group}" matches no user under "${p.userBaseDn}"; skipped`;
    await sink.objectError({
      sourceLocator: isDn ? label : group,
      code: ErrorCode.UNRESOLVED_MEMBER,
      message,
    });
  }
  for (const { group, value } of scope.invalidMembers) {
    await sink.objectError({
      sourceLocator: group,
      code: ErrorCode.UNRESOLVED_MEMBER,
      message: `member value "${value}" of group "${group}" is not a valid DN; skipped`,
    });
  }
}

async function runUser(
  session: LdapSession,
  p: Plan,
  scope: Scope,
  sink: RecordSink,
  username: string,
  now: Date,
): Promise<void> {
  const filter = and(p.userFilter, equals(p.mapping.username, username));
  const refs: number[] = [];
  for await (const page of session.pages(p.userBaseDn, {
    filter,
    attributes: userAttributes(p.mapping, p.profile),
    what: `the user "${username}"`,
  })) {
    for (const entry of page) {
      const attrs = new EntryAttributes(entry);
      refsOf(scope, p, entry.dn, attrs, refs);
      if (refs.length === 0) continue; // exists, but outside every selected group
      const inGroups = new Set<string>();
      for (const g of scope.groups) {
        const set = scope.members.get(g.key);
        if (set && refs.some((r) => set.has(r))) inGroups.add(g.key);
      }
      const { externalId } = await emitUser(sink, p, entry.dn, attrs, now);
      await emitGroups(scope, sink, inGroups);
      if (!externalId) continue;
      for (const g of scope.groups) {
        if (g.id && inGroups.has(g.key)) await sink.members(g.id, [externalId]);
      }
    }
  }
}

/** The scope a FULL run published, as the delta state of the next run. */
function stateOfFull(cursor: string, scope: Scope, full: FullResult): DeltaState {
  const userRefs = new Map<string, string>();
  const unresolved = new Set<string>();
  const refsOf = new Map<string, string[]>();
  const refused = new Set<string>();
  scope.refs.forEach((ref, r) => {
    const id = full.resolved[r];
    if (!id) {
      unresolved.add(ref);
      return;
    }
    userRefs.set(ref, id);
    const refs = refsOf.get(id);
    if (refs) refs.push(ref);
    else refsOf.set(id, [ref]);
    if (!full.accepted.has(id)) refused.add(id);
  });
  const published = new Map<string, PublishedGroup>();
  for (const g of scope.groups) {
    if (g.id) {
      published.set(g.id, { key: g.key, dn: g.dn, name: g.name, description: g.description });
    }
  }
  return {
    cursor,
    ...scopeState(scope, (ref) => userRefs.get(ref)),
    published,
    userRefs,
    unresolved,
    refsOf,
    accepted: full.accepted,
    refused,
    quiet: false,
  };
}

/**
 * The server's `contextCSN` for the naming context holding baseDn (maintained by the syncprov
 * overlay), the oldest of its values; undefined when the server keeps none (no delta then).
 */
async function contextCsn(session: LdapSession, p: Plan): Promise<string | undefined> {
  const read = async (dn: string) => {
    const entry = await session.entry(dn, '(objectClass=*)', ['contextCSN'], 'the contextCSN');
    if (!entry) return undefined;
    const values = new EntryAttributes(entry).strings('contextCSN').values.filter(isCsn);
    return values.sort()[0];
  };
  const own = await read(p.baseDn);
  if (own) return own;
  const root = await session.entry('', '(objectClass=*)', ['namingContexts'], 'the root DSE');
  const base = tryNormalizeDn(p.baseDn, p.dnOptions) ?? '';
  for (const ctx of root ? new EntryAttributes(root).strings('namingContexts').values : []) {
    const key = tryNormalizeDn(ctx, p.dnOptions);
    if (key !== undefined && key !== base && isWithin(base, key)) return read(ctx);
  }
  return undefined;
}

/** What a cursor was made for: a change means the delta would read the wrong things. */
function fingerprintOf(p: Plan): string {
  return configFingerprint({
    profile: p.profile.name,
    baseDn: tryNormalizeDn(p.baseDn, p.dnOptions),
    userBaseDn: tryNormalizeDn(p.userBaseDn, p.dnOptions),
    groupBaseDn: tryNormalizeDn(p.groupBaseDn, p.dnOptions),
    userFilter: p.userFilter,
    selected: [...p.selected.keys()].sort(),
    mapping: p.mapping,
  });
}

/**
 * The LDAP connector (OpenLDAP and Active Directory profiles). A FULL run reads every group
 * under groupBaseDn in one paged search, computes the scope in memory, then reads users in ONE
 * paged search under userBaseDn (USER mode: one escaped equality search), streaming the users in
 * scope to the sink page by page. It first takes the position a DELTA run starts from: Active
 * Directory's DirSync cookie (`ad/delta.ts`), OpenLDAP's `contextCSN` (`delta/`, design in
 * docs/ldap-delta.md).
 */
export function createLdapConnector(
  opts: LdapConnectorOptions = {},
): SourceConnector<LdapSettings> {
  const now = opts.now ?? (() => new Date());
  const states = new DeltaStateStore(opts.deltaStateDirectories ?? 32);
  return {
    kind: 'ldap',
    settingsSchema: ldapSettingsSchema,
    modes: [SyncMode.FULL, SyncMode.USER, SyncMode.ADMIN],
    offersDelta: opts.offersDelta ?? true,
    requiredSecrets: ['bindPassword'],
    check: (ctx) => checkLdap(ctx, { pageSize: opts.pageSize }),
    async run(ctx: RunContext<LdapSettings>): Promise<RunResult> {
      const p = plan(ctx);
      const ad = p.profile.name === 'activedirectory';
      const csnDelta = p.profile.name === 'openldap';
      const dir = ctx.directory.directoryId;
      const fingerprint = fingerprintOf(p);
      // OpenLDAP: what the cursor needs is checked before connecting.
      let state: DeltaState | undefined;
      let since = '';
      // A FULL run rebuilds the state; the one of the stored cursor stays until the next job
      // says whether this run's cursor was stored (DeltaStateStore). A FULL run's `cursor` is
      // always "": the stored one is `storedCursor` (also for a DELTA job read in full).
      const stored =
        ctx.mode === SyncMode.FULL && csnDelta && ctx.directory.storedCursor
          ? states.get(dir, ctx.directory.storedCursor)
          : undefined;
      if (ctx.mode === SyncMode.DELTA && csnDelta) {
        const cursor = decodeCursor(ctx.directory.cursor);
        if (!cursor) throw new CursorRejectedError('it is not an OpenLDAP CSN cursor');
        if (cursor.fingerprint !== fingerprint) {
          throw new CursorRejectedError(
            'it was made for other settings (bases, filters, selected groups or mapping)',
          );
        }
        state = states.get(dir, ctx.directory.cursor);
        if (!state) throw new CursorRejectedError(states.whyNot(dir, ctx.directory.cursor));
        since = cursor.csn;
      }
      const session = await LdapSession.open({
        settings: p.settings,
        password: ctx.secrets.bindPassword ?? '',
        pageSize: Math.min(
          opts.pageSize ?? p.settings.pageSize,
          p.profile.maxPageSize ?? Number.MAX_SAFE_INTEGER,
        ),
        binaryAttributes: p.profile.binaryAttributes,
        signal: ctx.signal,
        logger: ctx.logger,
        countEntries: (n) => ctx.countEntriesRead?.(n),
      });
      try {
        // OpenLDAP's position is taken before anything is read: what changes while the run
        // reads is read again by the next one.
        const csn =
          csnDelta && (ctx.mode === SyncMode.FULL || ctx.mode === SyncMode.DELTA)
            ? await contextCsn(session, p)
            : undefined;
        if (!(await session.exists(p.baseDn, 'the base DN'))) {
          throw new DirsyncError(
            ErrorCode.BASE_DN_NOT_FOUND,
            `baseDn "${p.baseDn}" does not exist on ${session.server}`,
          );
        }
        const csnCursor = csn ? encodeCursor({ fingerprint, csn }) : '';
        if (ctx.mode === SyncMode.DELTA) {
          if (ad) {
            return await runAdDelta(
              session,
              p,
              ctx.sink,
              ctx.directory.cursor,
              now(),
              opts.memberRangeSize,
            );
          }
          if (!state)
            throw new CursorRejectedError(`the ${p.profile.name} profile keeps no cursor`);
          if (!csn)
            throw new CursorRejectedError(`${session.server} reports no contextCSN any more`);
          if (csn < since) {
            throw new CursorRejectedError(
              `it is ahead of ${session.server} (contextCSN ${csn}): restored from a backup, or another server`,
            );
          }
          const deltaPlan: DeltaPlan = {
            ...p,
            userAttributes: userAttributes(p.mapping, p.profile),
            groupAttributes: groupAttributes(p.profile, opts.memberRangeSize),
          };
          const journal = new StateJournal();
          const next =
            csn === since && state.quiet
              ? { ...state, cursor: csnCursor }
              : await readDelta(
                  deltaPlan,
                  {
                    session,
                    sink: ctx.sink,
                    readGroups: (filter, base) =>
                      readGroups(session, p, ctx.sink, opts.memberRangeSize, { filter, base }),
                    emitUser: (dn, attrs) => emitUser(ctx.sink, p, dn, attrs, now()),
                    signal: ctx.signal,
                    logger: ctx.logger,
                  },
                  state,
                  since,
                  csnCursor,
                  csn,
                  journal,
                );
          const from = state;
          states.set(dir, next, { state: from, revert: () => journal.revert() });
          return { cursor: csnCursor };
        }
        // Where Active Directory's next DELTA run starts: taken before reading too.
        const position =
          ad && ctx.mode === SyncMode.FULL ? await adPosition(session, p, ctx.logger) : undefined;
        const started = Date.now();
        const groups = await readGroups(session, p, ctx.sink, opts.memberRangeSize);
        if (ctx.mode === SyncMode.ADMIN) {
          await runAdmins(session, p, groups, ctx, now());
          return {};
        }
        checkSelected(p, groups);
        const scope = computeScope(groups, [...p.selected.keys()], (dn) =>
          tryNormalizeDn(dn, p.dnOptions),
        );
        ctx.logger.debug(
          {
            groupsRead: groups.size,
            groupsInScope: scope.groups.length,
            refs: scope.refs.length,
            ms: Date.now() - started,
          },
          'group graph built',
        );
        if (ctx.mode === SyncMode.USER) {
          // A USER run reports errors about its user only: a nesting cycle is about groups (the
          // user's groups are still computed with the loop cut), reported by FULL runs.
          await runUser(session, p, scope, ctx.sink, ctx.job.username, now());
          return {};
        }
        await reportCycles(scope, ctx.sink);
        const full = await runFull(session, p, scope, ctx.sink, now(), ctx.signal);
        if (position) return { cursor: position };
        if (csnCursor) {
          states.set(
            dir,
            stateOfFull(csnCursor, scope, full),
            stored && { state: stored, revert: () => undefined },
          );
          return { cursor: csnCursor };
        }
        if (csnDelta) {
          ctx.logger.info({ server: session.server }, 'the server keeps no contextCSN: no delta');
        }
        return {};
      } finally {
        await session.close();
      }
    },
  };
}
