import { randomUUID } from 'node:crypto';

/**
 * The user properties the fake knows (a subset of microsoft.graph.user, v1.0). Selecting any
 * other property is a 400, as in Graph.
 */
export const USER_PROPERTIES = [
  'id',
  'userPrincipalName',
  'displayName',
  'givenName',
  'surname',
  'mail',
  'mobilePhone',
  'businessPhones',
  'accountEnabled',
  'onPremisesSamAccountName',
  'onPremisesImmutableId',
  'jobTitle',
  'department',
  'employeeId',
  'employeeType',
  'officeLocation',
  'companyName',
  'city',
  'country',
  'preferredLanguage',
  'userType',
  'otherMails',
  'proxyAddresses',
  'createdDateTime',
] as const;
export type UserProperty = (typeof USER_PROPERTIES)[number];

/**
 * User properties whose `eq` / `in` filter works by default. Every other property the fake knows
 * filters only in an advanced query (`ConsistencyLevel: eventual` header and `$count=true`):
 * Microsoft's table "Support for filter by properties of Microsoft Entra ID (directory) objects"
 * (learn.microsoft.com/graph/aad-advanced-queries) — e.g. `onPremisesSamAccountName`,
 * `mobilePhone`, `officeLocation`, `companyName`, `employeeType`.
 */
export const USER_DEFAULT_FILTER_PROPERTIES: readonly UserProperty[] = [
  'id',
  'userPrincipalName',
  'displayName',
  'givenName',
  'surname',
  'mail',
  'businessPhones',
  'accountEnabled',
  'jobTitle',
  'department',
  'employeeId',
  'city',
  'country',
  'userType',
  'otherMails',
  'proxyAddresses',
  'createdDateTime',
];

/** Properties Graph returns for a user when the request has no `$select`. */
export const DEFAULT_USER_SELECT: readonly UserProperty[] = [
  'businessPhones',
  'displayName',
  'givenName',
  'jobTitle',
  'mail',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
  'surname',
  'userPrincipalName',
  'id',
];

export const GROUP_PROPERTIES = [
  'id',
  'displayName',
  'description',
  'mail',
  'mailEnabled',
  'mailNickname',
  'securityEnabled',
  'groupTypes',
  'createdDateTime',
] as const;
export type GroupProperty = (typeof GROUP_PROPERTIES)[number];

const COLLECTION_PROPS = new Set<string>([
  'businessPhones',
  'otherMails',
  'proxyAddresses',
  'groupTypes',
]);

/** A user as a test describes it; everything but the UPN is optional. */
export interface UserInput {
  id?: string;
  userPrincipalName: string;
  displayName?: string | null;
  givenName?: string | null;
  surname?: string | null;
  mail?: string | null;
  mobilePhone?: string | null;
  businessPhones?: string[];
  accountEnabled?: boolean;
  onPremisesSamAccountName?: string | null;
  [property: string]: unknown;
}

export interface GroupInput {
  id?: string;
  displayName: string;
  description?: string | null;
  mail?: string | null;
  securityEnabled?: boolean;
  /** Ids of direct members: users or groups. */
  members?: string[];
  [property: string]: unknown;
}

export type ObjectKind = 'user' | 'group';
type Json = Record<string, unknown>;

interface DirectoryRecord {
  kind: ObjectKind;
  data: Json;
  /** Change sequence of each property's last write (creation counts as a write of all). */
  propSeq: Map<string, number>;
  createdSeq: number;
}

interface GroupRecord extends DirectoryRecord {
  kind: 'group';
  /** Direct member id → the seq it was added at. */
  members: Map<string, number>;
  /** Membership changes, in order (for members@delta). */
  memberLog: { seq: number; id: string; removed: boolean }[];
}

/** A deleted object as `@removed` reports it (reason "changed": soft-deleted; "deleted": gone). */
interface Tombstone {
  kind: ObjectKind;
  id: string;
  seq: number;
  reason: 'changed' | 'deleted';
  /** Kept for soft-deleted users, so they can be restored. */
  record?: DirectoryRecord;
}

/** A directory object as the API serialises it. */
export interface MemberRef {
  id: string;
  kind: ObjectKind;
}

export class TenantError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const notFound = (id: string) =>
  new TenantError(
    404,
    'Request_ResourceNotFound',
    `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
  );

/**
 * The state of one fake Entra tenant: users, groups, direct memberships, and a change log (a
 * sequence number per write) from which delta rounds are answered.
 */
export class Tenant {
  readonly tenantId: string;
  /** Last change sequence number; every write takes the next one. */
  seq = 0;
  private readonly objects = new Map<string, DirectoryRecord>();
  private readonly tombstones = new Map<string, Tombstone>();
  /** Lower-cased userPrincipalName → user id: UPNs are unique in a tenant. */
  private readonly upns = new Map<string, string>();
  private transitiveCache = new Map<
    string,
    { seq: number; members: MemberRef[]; ids: Set<string> }
  >();

  constructor(tenantId: string = randomUUID()) {
    this.tenantId = tenantId;
  }

  private next(): number {
    this.seq += 1;
    return this.seq;
  }

  /** Remove everything (a new, empty tenant; delta links issued before stay answerable). */
  clear(): void {
    const seq = this.next();
    for (const rec of this.objects.values()) {
      const id = String(rec.data.id);
      this.tombstones.set(id, { kind: rec.kind, id, seq, reason: 'deleted' });
    }
    this.objects.clear();
    this.upns.clear();
    this.transitiveCache.clear();
  }

  get userCount(): number {
    let n = 0;
    for (const r of this.objects.values()) if (r.kind === 'user') n++;
    return n;
  }

  get groupCount(): number {
    return this.objects.size - this.userCount;
  }

  addUser(input: UserInput): Json {
    const id = input.id ?? randomUUID();
    if (this.objects.has(id))
      throw new TenantError(400, 'Request_BadRequest', `object ${id} exists`);
    const upnKey = input.userPrincipalName.toLowerCase();
    if (this.upns.has(upnKey)) {
      throw new TenantError(
        400,
        'Request_BadRequest',
        `Another object with the same value for property userPrincipalName already exists.`,
      );
    }
    const seq = this.next();
    const data: Json = {
      businessPhones: [],
      accountEnabled: true,
      createdDateTime: new Date().toISOString(),
      ...input,
      id,
    };
    this.upns.set(upnKey, id);
    this.objects.set(id, {
      kind: 'user',
      data,
      propSeq: new Map(Object.keys(data).map((k) => [k, seq])),
      createdSeq: seq,
    });
    this.tombstones.delete(id);
    return data;
  }

  addGroup(input: GroupInput): Json {
    const id = input.id ?? randomUUID();
    if (this.objects.has(id))
      throw new TenantError(400, 'Request_BadRequest', `object ${id} exists`);
    const seq = this.next();
    const { members = [], ...props } = input;
    const data: Json = {
      securityEnabled: true,
      mailEnabled: false,
      groupTypes: [],
      createdDateTime: new Date().toISOString(),
      ...props,
      id,
    };
    const rec: GroupRecord = {
      kind: 'group',
      data,
      propSeq: new Map(Object.keys(data).map((k) => [k, seq])),
      createdSeq: seq,
      members: new Map(),
      memberLog: [],
    };
    this.objects.set(id, rec);
    this.tombstones.delete(id);
    for (const m of members) this.addMember(id, m);
    return data;
  }

  /** Change properties of a user or group (null clears one). */
  update(id: string, changes: Json): Json {
    const rec = this.objects.get(id);
    if (!rec) throw notFound(id);
    const upn = changes.userPrincipalName;
    if (rec.kind === 'user' && typeof upn === 'string') {
      const key = upn.toLowerCase();
      const holder = this.upns.get(key);
      if (holder !== undefined && holder !== id) {
        throw new TenantError(
          400,
          'Request_BadRequest',
          `Another object with the same value for property userPrincipalName already exists.`,
        );
      }
      this.upns.delete(String(rec.data.userPrincipalName).toLowerCase());
      this.upns.set(key, id);
    }
    const seq = this.next();
    for (const [k, v] of Object.entries(changes)) {
      if (k === 'id' || k === 'members') continue;
      rec.data[k] = v === undefined ? null : v;
      rec.propSeq.set(k, seq);
    }
    return rec.data;
  }

  /**
   * Delete a user or group. `soft` (the default for users, as in Entra) moves a user to deleted
   * items (`@removed: changed`); hard deletion reports `@removed: deleted`. Either way it leaves
   * every group it was a member of.
   */
  delete(id: string, opts: { soft?: boolean } = {}): void {
    const rec = this.objects.get(id);
    if (!rec) throw notFound(id);
    const soft = opts.soft ?? rec.kind === 'user';
    for (const g of this.groupRecords()) {
      if (g.members.has(id)) this.removeMember(String(g.data.id), id);
    }
    const seq = this.next();
    this.objects.delete(id);
    if (rec.kind === 'user') this.upns.delete(String(rec.data.userPrincipalName).toLowerCase());
    this.tombstones.set(id, {
      kind: rec.kind,
      id,
      seq,
      reason: soft ? 'changed' : 'deleted',
      record: soft ? rec : undefined,
    });
    this.transitiveCache.clear();
  }

  /** Restore a soft-deleted user (its memberships are not restored). */
  restore(id: string): Json {
    const t = this.tombstones.get(id);
    if (!t?.record) throw notFound(id);
    const seq = this.next();
    this.tombstones.delete(id);
    this.upns.set(String(t.record.data.userPrincipalName).toLowerCase(), id);
    for (const k of t.record.propSeq.keys()) t.record.propSeq.set(k, seq);
    t.record.createdSeq = seq;
    this.objects.set(id, t.record);
    return t.record.data;
  }

  addMember(groupId: string, memberId: string): void {
    const g = this.group(groupId);
    if (!this.objects.has(memberId)) throw notFound(memberId);
    if (g.members.has(memberId)) {
      throw new TenantError(
        400,
        'Request_BadRequest',
        `One or more added object references already exist for the following modified properties: 'members'.`,
      );
    }
    const seq = this.next();
    g.members.set(memberId, seq);
    g.memberLog.push({ seq, id: memberId, removed: false });
    this.transitiveCache.clear();
  }

  removeMember(groupId: string, memberId: string): void {
    const g = this.group(groupId);
    if (!g.members.has(memberId)) throw notFound(memberId);
    const seq = this.next();
    g.members.delete(memberId);
    g.memberLog.push({ seq, id: memberId, removed: true });
    this.transitiveCache.clear();
  }

  getUser(id: string): Json {
    const rec = this.objects.get(id);
    if (!rec || rec.kind !== 'user') throw notFound(id);
    return rec.data;
  }

  /** A user by userPrincipalName (case-insensitive), as `/users/{upn}` finds it. */
  findByUpn(upn: string): Json | undefined {
    const id = this.upns.get(upn.toLowerCase());
    return id === undefined ? undefined : this.objects.get(id)?.data;
  }

  getGroup(id: string): Json {
    return this.group(id).data;
  }

  /** The kind of a current object, else of a deleted one; undefined when never seen. */
  kindOf(id: string): ObjectKind | undefined {
    return this.objects.get(id)?.kind ?? this.tombstones.get(id)?.kind;
  }

  exists(id: string): boolean {
    return this.objects.has(id);
  }

  private group(id: string): GroupRecord {
    const rec = this.objects.get(id);
    if (!rec || rec.kind !== 'group') throw notFound(id);
    return rec as GroupRecord;
  }

  private *groupRecords(): Iterable<GroupRecord> {
    for (const r of this.objects.values()) if (r.kind === 'group') yield r as GroupRecord;
  }

  /** Every user, in a stable order (creation). */
  users(): Json[] {
    const out: Json[] = [];
    for (const r of this.objects.values()) if (r.kind === 'user') out.push(r.data);
    return out;
  }

  groups(): Json[] {
    return [...this.groupRecords()].map((g) => g.data);
  }

  directMembers(groupId: string): MemberRef[] {
    return [...this.group(groupId).members.keys()].map((id) => ({
      id,
      kind: this.objects.get(id)?.kind ?? 'user',
    }));
  }

  /**
   * Users and groups reachable from a group through nesting (the group itself excluded, cycles
   * followed once), in breadth-first order — what `/groups/{id}/transitiveMembers` returns.
   */
  transitiveMembers(groupId: string): MemberRef[] {
    const root = this.group(groupId);
    const cached = this.transitiveCache.get(groupId);
    if (cached && cached.seq === this.seq) return cached.members;
    const seen = new Set<string>([groupId]);
    const out: MemberRef[] = [];
    const queue: GroupRecord[] = [root];
    while (queue.length > 0) {
      const g = queue.shift() as GroupRecord;
      for (const id of g.members.keys()) {
        if (seen.has(id)) continue;
        seen.add(id);
        const rec = this.objects.get(id);
        if (!rec) continue;
        out.push({ id, kind: rec.kind });
        if (rec.kind === 'group') queue.push(rec as GroupRecord);
      }
    }
    this.transitiveCache.set(groupId, {
      seq: this.seq,
      members: out,
      ids: new Set(out.map((m) => m.id)),
    });
    return out;
  }

  /** Groups a user (or group) belongs to, directly or through nesting. */
  transitiveMemberOf(id: string): string[] {
    if (!this.objects.has(id)) throw notFound(id);
    const out: string[] = [];
    for (const g of this.groupRecords()) {
      const gid = String(g.data.id);
      this.transitiveMembers(gid);
      if (this.transitiveCache.get(gid)?.ids.has(id)) out.push(gid);
    }
    return out;
  }

  /**
   * Objects of a kind changed after `sinceSeq` (all current ones when 0), and the ones removed
   * since: what one delta round reports. `changed` lists the properties written after `sinceSeq`
   * (every property for objects created since).
   */
  changesSince(
    kind: ObjectKind,
    sinceSeq: number,
  ): {
    changed: {
      data: Json;
      changedProps: Set<string>;
      members?: { id: string; removed: boolean }[];
    }[];
    removed: { id: string; reason: 'changed' | 'deleted' }[];
  } {
    const changed: {
      data: Json;
      changedProps: Set<string>;
      members?: { id: string; removed: boolean }[];
    }[] = [];
    for (const rec of this.objects.values()) {
      if (rec.kind !== kind) continue;
      const isNew = rec.createdSeq > sinceSeq;
      const props = new Set<string>();
      for (const [k, s] of rec.propSeq) if (isNew || s > sinceSeq) props.add(k);
      let members: { id: string; removed: boolean }[] | undefined;
      if (rec.kind === 'group') {
        const g = rec as GroupRecord;
        if (isNew || sinceSeq === 0) {
          members = [...g.members.keys()].map((id) => ({ id, removed: false }));
        } else {
          const net = new Map<string, boolean>();
          for (const e of g.memberLog) if (e.seq > sinceSeq) net.set(e.id, e.removed);
          members = [...net].map(([id, removed]) => ({ id, removed }));
        }
        if (members.length === 0) members = undefined;
      }
      if (props.size > 0 || members) changed.push({ data: rec.data, changedProps: props, members });
    }
    const removed: { id: string; reason: 'changed' | 'deleted' }[] = [];
    if (sinceSeq > 0) {
      for (const t of this.tombstones.values()) {
        if (t.kind === kind && t.seq > sinceSeq) removed.push({ id: t.id, reason: t.reason });
      }
    }
    return { changed, removed };
  }
}

export function isCollectionProperty(name: string): boolean {
  return COLLECTION_PROPS.has(name);
}
