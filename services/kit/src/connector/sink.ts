import {
  AdminBatchSchema,
  ErrorCode,
  GroupBatchSchema,
  GroupMembersSchema,
  GroupMembershipDeltaSchema,
  GroupRemovalBatchSchema,
  MembershipBatchSchema,
  MembershipDeltaBatchSchema,
  ObjectErrorBatchSchema,
  ObjectErrorSchema,
  ObservedAdminSchema,
  ObservedGroupSchema,
  RemovalReason as ProtoRemovalReason,
  RemovedGroupSchema,
  RemovedUserSchema,
  SyncMode,
  UserBatchSchema,
  UserRemovalBatchSchema,
  create,
  type DirectoryEvent,
  type GroupMembers,
  type GroupMembershipDelta,
  type ObjectError,
  type ObservedAdmin,
  type ObservedGroup,
  type ObservedUser,
  type RemovedGroup,
  type RemovedUser,
} from '@dirsync/proto';
import { adminRoleRank, emailKey, emailProblem, sortAdminRoles } from '../admin-roles.js';
import type { Logger } from '../logger.js';
import { cleanText, normalizeUser, usernameKey } from './normalize.js';
import type {
  MembershipChange,
  RecordSink,
  RemovalReason,
  SourceAdmin,
  SourceGroup,
  SourceObjectError,
  SourceRemoval,
  SourceUser,
} from './types.js';

/** The body of one observation message. */
export type ObservationBody = Extract<
  DirectoryEvent['body'],
  {
    case:
      | 'admins'
      | 'users'
      | 'groups'
      | 'memberships'
      | 'objectErrors'
      | 'userRemovals'
      | 'groupRemovals'
      | 'membershipDeltas';
  }
>;

const REASON: Record<RemovalReason, ProtoRemovalReason> = {
  deleted: ProtoRemovalReason.DELETED,
  outOfScope: ProtoRemovalReason.OUT_OF_SCOPE,
};

export interface BatchingSinkOptions {
  /** Publishes one observation message (assigns its seq); awaited for back-pressure. */
  emit: (body: ObservationBody) => Promise<void>;
  /** At most this many records (users, groups, member ids, errors) per message. */
  batchSize: number;
  /**
   * Upper bound on the estimated encoded size of one message. The estimate over-counts (3 bytes
   * per UTF-16 unit), so a message never exceeds the broker's max_payload as long as this is
   * below it.
   */
  maxMessageBytes: number;
  defaultRegion: string;
  /** USER mode: only a user with this username (compared by `usernameKey`) may be observed. */
  onlyUsername?: string | undefined;
  /** ADMIN mode for one e-mail: only an administrator with this e-mail (by `emailKey`). */
  onlyEmail?: string | undefined;
  /** How the run reads; the removal and delta methods work in DELTA mode only. */
  mode: SyncMode;
  /** Values that must never leave the process (the directory's secrets). */
  scrub: (text: string) => string;
  logger: Logger;
}

/** Per-record overhead of the protobuf framing in the size estimate. */
const FIELD_OVERHEAD = 8;

function estimate(...values: (string | undefined)[]): number {
  let n = FIELD_OVERHEAD;
  for (const v of values) if (v) n += v.length * 3 + FIELD_OVERHEAD;
  return n;
}

function estimateUser(u: ObservedUser): number {
  let n = estimate(
    u.externalId,
    u.username,
    u.email,
    u.firstName,
    u.lastName,
    u.displayName,
    u.sourceLocator,
  );
  for (const a of u.aliases) n += estimate(a);
  for (const p of u.phones) n += estimate(p.number, p.kind);
  for (const [k, v] of Object.entries(u.customAttributes)) n += estimate(k, v);
  return n;
}

/**
 * The kit's {@link RecordSink}: normalises records, tracks the run's state (observed ids,
 * usernames, rejected users, removals) and cuts records into messages of at most `batchSize`
 * records.
 */
export class BatchingSink implements RecordSink {
  private users: ObservedUser[] = [];
  private usersBytes = 0;
  private groups: ObservedGroup[] = [];
  private groupsBytes = 0;
  private memberChunks: GroupMembers[] = [];
  private memberCount = 0;
  private membersBytes = 0;
  private errors: ObjectError[] = [];
  private errorsBytes = 0;
  private removedUsers: RemovedUser[] = [];
  private removedUsersBytes = 0;
  private removedGroups: RemovedGroup[] = [];
  private removedGroupsBytes = 0;
  private deltaChunks: GroupMembershipDelta[] = [];
  private deltaCount = 0;
  private deltaBytes = 0;
  private readonly removedUserIds = new Set<string>();
  private readonly removedGroupIds = new Set<string>();

  private readonly userIds = new Set<string>();
  private readonly usernames = new Map<string, string>();
  /** External ids handed in but not observed: their memberships are dropped. */
  private readonly rejected = new Set<string>();
  private readonly groupIds = new Set<string>();
  private readonly onlyKey: string | undefined;
  /** ADMIN runs: administrators by e-mail key, merged until the reading is over. */
  private readonly admins = new Map<string, ObservedAdmin>();
  private readonly onlyEmailKey: string | undefined;
  private closedReason: Error | undefined;

  usersObserved = 0;
  groupsObserved = 0;
  objectErrors = 0;
  usersRemoved = 0;
  groupsRemoved = 0;
  /** The mode records are read in; the kit switches a DELTA run to FULL when it falls back. */
  mode: SyncMode;

  constructor(private readonly opts: BatchingSinkOptions) {
    this.onlyKey =
      opts.onlyUsername === undefined ? undefined : usernameKey(opts.onlyUsername.trim());
    this.mode = opts.mode;
    this.onlyEmailKey = opts.onlyEmail ? emailKey(opts.onlyEmail) : undefined;
  }

  /** Administrators handed over so far (after merging by e-mail). */
  get adminsObserved(): number {
    return this.admins.size;
  }

  /** Refuse every later call (the run is over or aborted). */
  close(reason: Error): void {
    this.closedReason ??= reason;
  }

  private check(): void {
    if (this.closedReason) throw this.closedReason;
  }

  private checkDelta(method: string): void {
    this.check();
    if (this.mode !== SyncMode.DELTA) {
      throw new Error(
        `sink.${method}() is for DELTA runs only; this run reads in ${SyncMode[this.mode]} mode`,
      );
    }
  }

  async user(source: SourceUser): Promise<boolean> {
    this.check();
    const { user, errors } = normalizeUser(source, this.opts.defaultRegion);
    for (const e of errors) await this.objectError(e);
    const externalId = cleanText(source.externalId);
    if (!user) {
      if (externalId) this.rejected.add(externalId);
      return false;
    }
    if (this.userIds.has(user.externalId)) {
      this.opts.logger.debug({ externalId: user.externalId }, 'user handed over twice; ignored');
      return true;
    }
    const key = usernameKey(user.username);
    if (this.onlyKey !== undefined && key !== this.onlyKey) {
      // A USER run observes one user only; anything else is a connector bug (e.g. a filter that
      // matched more than it should), and observing it could misattribute the user.
      this.opts.logger.warn(
        { externalId: user.externalId },
        'USER run: connector returned a user other than the one requested; ignored',
      );
      this.rejected.add(user.externalId);
      return false;
    }
    const first = this.usernames.get(key);
    if (first !== undefined) {
      this.rejected.add(user.externalId);
      await this.objectError({
        externalId: user.externalId,
        sourceLocator: user.sourceLocator,
        code: ErrorCode.DUPLICATE_USERNAME,
        message: `${user.sourceLocator || user.externalId} has username "${user.username}", which another user in scope already has (external id ${first}); it is not imported`,
      });
      return false;
    }
    this.usernames.set(key, user.externalId);
    this.userIds.add(user.externalId);
    this.usersObserved++;
    this.users.push(user);
    this.usersBytes += estimateUser(user);
    if (this.users.length >= this.opts.batchSize || this.usersBytes >= this.opts.maxMessageBytes) {
      await this.flushUsers();
    }
    return true;
  }

  async group(source: SourceGroup): Promise<void> {
    this.check();
    const externalId = cleanText(source.externalId);
    const locator = cleanText(source.sourceLocator) ?? '';
    if (!externalId) {
      await this.objectError({
        sourceLocator: locator,
        code: ErrorCode.MISSING_EXTERNAL_ID,
        message: `group ${locator || source.name} has no external id; it is not imported`,
      });
      return;
    }
    if (this.groupIds.has(externalId)) return;
    this.groupIds.add(externalId);
    const group = create(ObservedGroupSchema, {
      externalId,
      name: cleanText(source.name) ?? externalId,
      description: cleanText(source.description) ?? '',
      sourceLocator: locator,
    });
    this.groupsObserved++;
    this.groups.push(group);
    this.groupsBytes += estimate(group.externalId, group.name, group.description, locator);
    if (
      this.groups.length >= this.opts.batchSize ||
      this.groupsBytes >= this.opts.maxMessageBytes
    ) {
      await this.flushGroups();
    }
  }

  async members(groupExternalId: string, userExternalIds: Iterable<string>): Promise<void> {
    this.check();
    const groupId = cleanText(groupExternalId);
    if (!groupId) return;
    const seen = new Set<string>();
    let current: GroupMembers | undefined;
    for (const raw of userExternalIds) {
      const id = cleanText(raw);
      if (!id || seen.has(id) || this.rejected.has(id)) continue;
      seen.add(id);
      if (!current) {
        current = create(GroupMembersSchema, { groupExternalId: groupId, userExternalIds: [] });
        this.memberChunks.push(current);
        this.membersBytes += estimate(groupId);
      }
      current.userExternalIds.push(id);
      this.memberCount++;
      this.membersBytes += estimate(id);
      if (
        this.memberCount >= this.opts.batchSize ||
        this.membersBytes >= this.opts.maxMessageBytes
      ) {
        await this.flushMembers();
        current = undefined;
      }
    }
  }

  async objectError(error: SourceObjectError): Promise<void> {
    this.check();
    const e = create(ObjectErrorSchema, {
      externalId: error.externalId ?? '',
      sourceLocator: error.sourceLocator ?? '',
      code: error.code,
      message: this.opts.scrub(error.message),
    });
    this.objectErrors++;
    this.errors.push(e);
    this.errorsBytes += estimate(e.externalId, e.sourceLocator, e.message);
    if (
      this.errors.length >= this.opts.batchSize ||
      this.errorsBytes >= this.opts.maxMessageBytes
    ) {
      await this.flushErrors();
    }
  }

  async admin(source: SourceAdmin): Promise<void> {
    this.check();
    const externalId = cleanText(source.externalId) ?? '';
    const locator = cleanText(source.sourceLocator) ?? '';
    const roles = sortAdminRoles(source.roles);
    if (roles.length === 0) return; // in no role group: not an administrator
    const email = cleanText(source.email);
    const problem = email === undefined ? 'is empty' : emailProblem(email);
    if (email === undefined || problem) {
      await this.objectError({
        externalId,
        sourceLocator: locator,
        code: ErrorCode.MISSING_EMAIL,
        message: `${locator || externalId} is in an admin role group, but its e-mail ${problem}; administrators are matched by e-mail, so it is not one`,
      });
      return;
    }
    const key = emailKey(email);
    if (this.onlyEmailKey !== undefined && key !== this.onlyEmailKey) {
      // An ADMIN run for one e-mail observes that one only (a wider match is a connector bug).
      this.opts.logger.warn(
        { externalId },
        'ADMIN run: connector returned an administrator other than the one requested; ignored',
      );
      return;
    }
    const record = create(ObservedAdminSchema, {
      externalId,
      email,
      role: roles[0],
      roles,
      firstName: cleanText(source.firstName) ?? '',
      lastName: cleanText(source.lastName) ?? '',
      displayName: cleanText(source.displayName) ?? '',
      disabled: source.disabled ?? false,
      sourceLocator: locator,
    });
    const prev = this.admins.get(key);
    if (!prev) {
      this.admins.set(key, record);
      return;
    }
    // The same person (e-mail) again, e.g. a second account: one administrator, highest role.
    const merged = sortAdminRoles([...prev.roles, ...roles]);
    const winner = adminRoleRank(record.role) < adminRoleRank(prev.role) ? record : prev;
    this.admins.set(key, { ...winner, role: merged[0]!, roles: merged });
  }

  async removeUser(removal: SourceRemoval): Promise<void> {
    this.checkDelta('removeUser');
    const externalId = cleanText(removal.externalId);
    if (!externalId) return;
    if (this.userIds.has(externalId)) {
      // An observation wins: identity would keep the user anyway.
      this.opts.logger.debug({ externalId }, 'removal of a user this run observed; ignored');
      return;
    }
    if (this.removedUserIds.has(externalId)) return;
    this.removedUserIds.add(externalId);
    const r = create(RemovedUserSchema, {
      externalId,
      reason: REASON[removal.reason],
      sourceLocator: cleanText(removal.sourceLocator) ?? '',
    });
    this.usersRemoved++;
    this.removedUsers.push(r);
    this.removedUsersBytes += estimate(r.externalId, r.sourceLocator);
    if (
      this.removedUsers.length >= this.opts.batchSize ||
      this.removedUsersBytes >= this.opts.maxMessageBytes
    ) {
      await this.flushRemovedUsers();
    }
  }

  async removeGroup(removal: SourceRemoval): Promise<void> {
    this.checkDelta('removeGroup');
    const externalId = cleanText(removal.externalId);
    if (!externalId || this.groupIds.has(externalId) || this.removedGroupIds.has(externalId)) {
      return;
    }
    this.removedGroupIds.add(externalId);
    const r = create(RemovedGroupSchema, {
      externalId,
      reason: REASON[removal.reason],
      sourceLocator: cleanText(removal.sourceLocator) ?? '',
    });
    this.groupsRemoved++;
    this.removedGroups.push(r);
    this.removedGroupsBytes += estimate(r.externalId, r.sourceLocator);
    if (
      this.removedGroups.length >= this.opts.batchSize ||
      this.removedGroupsBytes >= this.opts.maxMessageBytes
    ) {
      await this.flushRemovedGroups();
    }
  }

  async membershipDelta(groupExternalId: string, change: MembershipChange): Promise<void> {
    this.checkDelta('membershipDelta');
    const groupId = cleanText(groupExternalId);
    if (!groupId) return;
    const clean = (ids: Iterable<string> | undefined, dropRejected: boolean): string[] => {
      const out = new Set<string>();
      for (const raw of ids ?? []) {
        const id = cleanText(raw);
        if (id && !(dropRejected && this.rejected.has(id))) out.add(id);
      }
      return [...out];
    };
    const added = clean(change.added, true);
    const removed = clean(change.removed, false);
    const both = new Set(added);
    const conflict = removed.find((id) => both.has(id));
    if (conflict !== undefined) {
      throw new Error(
        `sink.membershipDelta(): user ${conflict} is both added to and removed from group ${groupId}`,
      );
    }
    let current: GroupMembershipDelta | undefined;
    const push = async (id: string, list: 'addedUserExternalIds' | 'removedUserExternalIds') => {
      if (!current) {
        current = create(GroupMembershipDeltaSchema, { groupExternalId: groupId });
        this.deltaChunks.push(current);
        this.deltaBytes += estimate(groupId);
      }
      current[list].push(id);
      this.deltaCount++;
      this.deltaBytes += estimate(id);
      if (this.deltaCount >= this.opts.batchSize || this.deltaBytes >= this.opts.maxMessageBytes) {
        await this.flushDeltas();
        current = undefined;
      }
    };
    for (const id of added) await push(id, 'addedUserExternalIds');
    for (const id of removed) await push(id, 'removedUserExternalIds');
  }

  /** Emit every partial batch. Used at the end of a run, successful or not. */
  async flush(): Promise<void> {
    await this.flushAdmins();
    await this.flushGroups();
    await this.flushUsers();
    await this.flushMembers();
    await this.flushErrors();
    await this.flushRemovedGroups();
    await this.flushRemovedUsers();
    await this.flushDeltas();
  }

  /** Administrators go out once the reading is over: only then is each one's role final. */
  private async flushAdmins(): Promise<void> {
    if (this.admins.size === 0) return;
    const all = [...this.admins.values()];
    this.admins.clear();
    let batch: ObservedAdmin[] = [];
    let bytes = 0;
    for (const a of all) {
      batch.push(a);
      bytes += estimate(
        a.externalId,
        a.email,
        a.firstName,
        a.lastName,
        a.displayName,
        a.sourceLocator,
      );
      if (batch.length >= this.opts.batchSize || bytes >= this.opts.maxMessageBytes) {
        await this.opts.emit({
          case: 'admins',
          value: create(AdminBatchSchema, { admins: batch }),
        });
        batch = [];
        bytes = 0;
      }
    }
    if (batch.length > 0) {
      await this.opts.emit({ case: 'admins', value: create(AdminBatchSchema, { admins: batch }) });
    }
  }

  private async flushUsers(): Promise<void> {
    if (this.users.length === 0) return;
    const users = this.users;
    this.users = [];
    this.usersBytes = 0;
    await this.opts.emit({ case: 'users', value: create(UserBatchSchema, { users }) });
  }

  private async flushGroups(): Promise<void> {
    if (this.groups.length === 0) return;
    const groups = this.groups;
    this.groups = [];
    this.groupsBytes = 0;
    await this.opts.emit({ case: 'groups', value: create(GroupBatchSchema, { groups }) });
  }

  private async flushMembers(): Promise<void> {
    if (this.memberChunks.length === 0) return;
    const groups = this.memberChunks;
    this.memberChunks = [];
    this.memberCount = 0;
    this.membersBytes = 0;
    await this.opts.emit({
      case: 'memberships',
      value: create(MembershipBatchSchema, { groups }),
    });
  }

  private async flushErrors(): Promise<void> {
    if (this.errors.length === 0) return;
    const errors = this.errors;
    this.errors = [];
    this.errorsBytes = 0;
    await this.opts.emit({
      case: 'objectErrors',
      value: create(ObjectErrorBatchSchema, { errors }),
    });
  }

  private async flushRemovedUsers(): Promise<void> {
    if (this.removedUsers.length === 0) return;
    const users = this.removedUsers;
    this.removedUsers = [];
    this.removedUsersBytes = 0;
    await this.opts.emit({
      case: 'userRemovals',
      value: create(UserRemovalBatchSchema, { users }),
    });
  }

  private async flushRemovedGroups(): Promise<void> {
    if (this.removedGroups.length === 0) return;
    const groups = this.removedGroups;
    this.removedGroups = [];
    this.removedGroupsBytes = 0;
    await this.opts.emit({
      case: 'groupRemovals',
      value: create(GroupRemovalBatchSchema, { groups }),
    });
  }

  private async flushDeltas(): Promise<void> {
    if (this.deltaChunks.length === 0) return;
    const groups = this.deltaChunks;
    this.deltaChunks = [];
    this.deltaCount = 0;
    this.deltaBytes = 0;
    await this.opts.emit({
      case: 'membershipDeltas',
      value: create(MembershipDeltaBatchSchema, { groups }),
    });
  }
}
