import {
  AdminSnapshotSchema,
  GroupSnapshotSchema,
  LifecycleEntity,
  LifecycleEventSchema,
  LifecycleEventsSchema,
  RunStatus,
  Transition,
  UserSnapshotSchema,
  UserState,
  create,
  lifecycleEventId,
  lifecycleSubject,
  toBinary,
  type AdminRole,
  type LifecycleEvent,
  type RunUpdate,
} from '@dirsync/proto';
import type { Sql } from '../db/sql.js';

/**
 * Lifecycle events (`proto/dirsync/v1/lifecycle.proto`, `docs/events.md`): every transition of a
 * user, group or administrator and every end of a run is written to the outbox by the
 * transaction that made it, so an event exists if and only if its change committed. The relay
 * publishes them on DIRSYNC_LIFECYCLE.
 *
 * Contract of the callers: each transition bumps the entity's `version` in the same statement
 * that makes it, and passes the new version here; one transition per entity and version. The
 * event id (`lifecycleEventId()`) is built from it, so the same transition always has the same
 * id and a re-publish is dropped by the server (msg id) or by the subscriber (event id).
 */

/** Events per `LifecycleEvents` message (proto: "at most a few hundred"). */
export const MAX_EVENTS_PER_MESSAGE = 250;

/** Who or what caused the transitions of one transaction. */
export interface LifecycleCause {
  /** The run that caused it; "" for an operator's action or the purge job. */
  runId?: string;
  /** Operator actions: the authenticated principal. */
  actor?: string;
}

/** A stored status (`users.status`, `admins.status`) as the events' state. */
export function stateOf(status: string | null | undefined): UserState {
  switch (status) {
    case 'active':
      return UserState.ACTIVE;
    case 'disabled':
      return UserState.DISABLED;
    case 'bypass':
      return UserState.BYPASS;
    case 'pending_deletion':
      return UserState.PENDING_DELETION;
    case 'purged':
      return UserState.PURGED;
    default:
      return UserState.UNSPECIFIED;
  }
}

/**
 * The transition a synced write of a user or administrator makes, from the status before
 * (undefined: the row is new) and after. A change of status outranks a change of attributes:
 * one observation that disables someone and changes their e-mail is one DISABLED event (with
 * both fields in `changed_fields`), because one write is one version.
 */
export function syncTransition(before: string | undefined, after: string): Transition {
  if (before === undefined) return Transition.CREATED;
  if (before === 'pending_deletion' && after !== 'pending_deletion') return Transition.RESTORED;
  if (after === 'disabled' && before !== 'disabled') return Transition.DISABLED;
  if (before === 'disabled' && after !== 'disabled') return Transition.ENABLED;
  return Transition.UPDATED;
}

function ms(at: Date | string | number | null | undefined): bigint {
  if (at === null || at === undefined) return 0n;
  const t = at instanceof Date ? at.getTime() : new Date(at).getTime();
  return Number.isFinite(t) ? BigInt(t) : 0n;
}

/**
 * The envelope every user, group and administrator event shares: the id from (entity, id,
 * transition, version), when, the cause (run or actor), the directory and the changed fields.
 * One place, so the three kinds of event cannot drift apart.
 */
function entityEvent(
  entity: LifecycleEntity,
  transition: Transition,
  of: { id: string; directoryId: string | null; version: number },
  cause: LifecycleCause,
  changedFields: readonly string[],
  atMs: bigint,
  subject: LifecycleEvent['subject'],
): LifecycleEvent {
  return create(LifecycleEventSchema, {
    eventId: lifecycleEventId(entity, of.id, transition, of.version),
    entity,
    transition,
    atMs,
    runId: cause.runId ?? '',
    directoryId: of.directoryId ?? '',
    actor: cause.actor ?? '',
    changedFields: [...changedFields],
    subject,
  });
}

/** What user and administrator facts have in common (a person with a lifecycle status). */
interface PersonFacts {
  id: string;
  directoryId: string | null;
  externalId: string | null;
  email: string | null;
  displayName: string | null;
  /** Stored status after the transition ('purged' for a purge). */
  status: string;
  /** Stored status before it. */
  previousStatus: string | null;
  purgeAfter?: Date | string | null;
  version: number;
}

/** The snapshot fields users and administrators share; purgeAfter only when pending deletion. */
function personSnapshot(transition: Transition, p: PersonFacts) {
  return {
    id: p.id,
    directoryId: p.directoryId ?? '',
    externalId: p.externalId ?? '',
    email: p.email ?? '',
    displayName: p.displayName ?? '',
    state: stateOf(p.status),
    previousState: stateOf(p.previousStatus),
    purgeAfterMs: transition === Transition.PENDING_DELETION ? ms(p.purgeAfter) : 0n,
    version: p.version,
  };
}

export interface UserFacts extends PersonFacts {
  username: string;
}

export function userEvent(
  transition: Transition,
  u: UserFacts,
  cause: LifecycleCause,
  changedFields: readonly string[] = [],
  atMs: bigint = BigInt(Date.now()),
): LifecycleEvent {
  return entityEvent(LifecycleEntity.USER, transition, u, cause, changedFields, atMs, {
    case: 'user',
    value: create(UserSnapshotSchema, {
      ...personSnapshot(transition, u),
      username: u.username,
    }),
  });
}

export interface GroupFacts {
  id: string;
  directoryId: string;
  externalId: string;
  name: string;
  version: number;
}

export function groupEvent(
  transition: Transition,
  g: GroupFacts,
  cause: LifecycleCause,
  changedFields: readonly string[] = [],
  atMs: bigint = BigInt(Date.now()),
): LifecycleEvent {
  return entityEvent(LifecycleEntity.GROUP, transition, g, cause, changedFields, atMs, {
    case: 'group',
    value: create(GroupSnapshotSchema, {
      id: g.id,
      directoryId: g.directoryId,
      externalId: g.externalId,
      name: g.name,
      version: g.version,
    }),
  });
}

export interface AdminFacts extends PersonFacts {
  email: string;
  role: AdminRole;
}

export function adminEvent(
  transition: Transition,
  a: AdminFacts,
  cause: LifecycleCause,
  changedFields: readonly string[] = [],
  atMs: bigint = BigInt(Date.now()),
): LifecycleEvent {
  return entityEvent(LifecycleEntity.ADMIN, transition, a, cause, changedFields, atMs, {
    case: 'admin',
    value: create(AdminSnapshotSchema, { ...personSnapshot(transition, a), role: a.role }),
  });
}

/** The run transition of a final RunUpdate's status (undefined: not an end of a run). */
export function runTransition(status: RunStatus): Transition | undefined {
  switch (status) {
    case RunStatus.COMPLETED:
      return Transition.COMPLETED;
    case RunStatus.FAILED:
      return Transition.FAILED;
    case RunStatus.BLOCKED:
      return Transition.BLOCKED;
    case RunStatus.REJECTED:
      return Transition.REJECTED;
    default:
      return undefined;
  }
}

/**
 * The run event of a RunUpdate that ends a run (or blocks it), else undefined. A run has one
 * event per transition: `run:<id>:completed`; a BLOCKED run that is approved later has
 * `run:<id>:blocked` and then `run:<id>:completed`.
 */
export function runEvent(update: RunUpdate, actor = ''): LifecycleEvent | undefined {
  const transition = runTransition(update.status);
  if (transition === undefined) return undefined;
  return create(LifecycleEventSchema, {
    eventId: lifecycleEventId(LifecycleEntity.RUN, update.runId, transition),
    entity: LifecycleEntity.RUN,
    transition,
    atMs: update.atMs || BigInt(Date.now()),
    runId: update.runId,
    directoryId: update.directoryId,
    actor,
    subject: { case: 'run', value: update },
  });
}

interface Chunk {
  entity: LifecycleEntity;
  transition: Transition;
  events: LifecycleEvent[];
}

function entityKey(e: LifecycleEvent): string {
  const s = e.subject;
  const id = s.case === 'run' ? s.value.runId : s.case ? s.value.id : '';
  return `${e.entity}:${id}`;
}

/**
 * Group a transaction's events into messages: one per entity and transition, in the order the
 * first of each happened, at most {@link MAX_EVENTS_PER_MESSAGE} events each. An entity that has
 * several transitions in one transaction keeps them in order (a later event never lands in an
 * earlier message than one before it).
 */
export function chunkEvents(events: readonly LifecycleEvent[]): Chunk[] {
  const chunks: Chunk[] = [];
  const open = new Map<string, number>();
  const lastChunkOf = new Map<string, number>();
  for (const e of events) {
    const key = `${e.entity}:${e.transition}`;
    const ent = entityKey(e);
    let i = open.get(key);
    const last = lastChunkOf.get(ent);
    const chunk = i === undefined ? undefined : chunks[i];
    if (
      i === undefined ||
      !chunk ||
      chunk.events.length >= MAX_EVENTS_PER_MESSAGE ||
      (last !== undefined && last > i)
    ) {
      i = chunks.length;
      chunks.push({ entity: e.entity, transition: e.transition, events: [] });
      open.set(key, i);
    }
    chunks[i]!.events.push(e);
    lastChunkOf.set(ent, i);
  }
  return chunks;
}

/** Rows per outbox insert: 3 parameters each, far below the protocol's 65,535. */
const OUTBOX_ROWS_PER_INSERT = 5_000;

/**
 * Write events to the outbox in the caller's transaction: one row per message, subject
 * `dirsync.lifecycle.<entity>.<transition>`, msg id the message's first event id. Returns the
 * number of rows written.
 */
export async function writeLifecycle(
  sql: Sql,
  namespace: string,
  events: readonly LifecycleEvent[],
): Promise<number> {
  if (events.length === 0) return 0;
  const chunks = chunkEvents(events);
  const subjects: string[] = [];
  const msgIds: string[] = [];
  const payloads: Buffer[] = [];
  for (const c of chunks) {
    subjects.push(lifecycleSubject(c.entity, c.transition, namespace));
    msgIds.push(c.events[0]!.eventId);
    const msg = create(LifecycleEventsSchema, {
      entity: c.entity,
      transition: c.transition,
      events: c.events,
    });
    payloads.push(Buffer.from(toBinary(LifecycleEventsSchema, msg)));
  }
  // Multi-row inserts with one parameter per value, not arrays: a Buffer parameter travels in
  // binary, where a bytea[] array is hex text that the driver writes and Postgres parses again
  // (a 100k first import has ~15 MB of events). Rows keep the order of the messages.
  for (let from = 0; from < chunks.length; from += OUTBOX_ROWS_PER_INSERT) {
    const to = Math.min(from + OUTBOX_ROWS_PER_INSERT, chunks.length);
    const params: unknown[] = [];
    for (let i = from; i < to; i++) params.push(subjects[i], msgIds[i], payloads[i]);
    await sql.exec(
      `insert into outbox (subject, msg_id, payload) values ${'(?, ?, ?), '.repeat(to - from - 1)}(?, ?, ?)`,
      params,
    );
  }
  return chunks.length;
}

/**
 * The events of the open transactions. `Database.tx()` opens a collection for every transaction
 * and writes it to the outbox just before the commit ({@link flushLifecycle}); the apply path
 * and the mutations only {@link emitLifecycle}. So the events of a transaction are grouped into
 * as few messages as possible, and they commit or roll back with it.
 */
const collected = new WeakMap<Sql, LifecycleEvent[]>();
/** Transactions whose events are dropped (a dry run's: it changes nobody). */
const suppressed = new WeakSet<Sql>();

/**
 * Drop every lifecycle event of the transaction `sql`, collected or still to come. A dry run
 * changes nobody, so it tells subscribers nothing — not even its end (sync still gets its
 * RunUpdates).
 */
export function suppressLifecycle(sql: Sql): void {
  suppressed.add(sql);
  const list = collected.get(sql);
  if (list) list.length = 0;
}

/** Start collecting the events of the transaction `sql` (Database.tx does this). */
export function beginLifecycle(sql: Sql): void {
  collected.set(sql, []);
}

/**
 * Add events to the transaction `sql`. Throws outside a `Database.tx()` transaction: an
 * autocommit statement has nowhere to put its event, and a lost event is a bug.
 */
export function emitLifecycle(sql: Sql, events: readonly LifecycleEvent[]): void {
  const list = collected.get(sql);
  if (!list) {
    throw new Error('lifecycle events need a transaction of Database.tx() (they commit with it)');
  }
  if (suppressed.has(sql)) return;
  for (const e of events) list.push(e);
}

/**
 * How many events the transaction `sql` has collected so far: take it with a savepoint, and
 * {@link rollbackLifecycle} to it when rolling back to that savepoint (the deletion threshold's
 * sweep does), so that no event survives a change that was undone.
 */
export function markLifecycle(sql: Sql): number {
  return collected.get(sql)?.length ?? 0;
}

/** Forget the events collected after `mark` (see {@link markLifecycle}). */
export function rollbackLifecycle(sql: Sql, mark: number): void {
  const list = collected.get(sql);
  if (list && list.length > mark) list.length = mark;
}

/** Write what the transaction collected to the outbox; returns the number of rows written. */
export async function flushLifecycle(sql: Sql, namespace: string): Promise<number> {
  const list = collected.get(sql);
  collected.delete(sql);
  if (!list || list.length === 0) return 0;
  return writeLifecycle(sql, namespace, list);
}

/** The columns of `users u` a user event needs (a `returning` list). */
export const USER_EVENT_COLUMNS = `u.id, u.directory_id, u.external_id, u.username, u.email,
  u.display_name, u.status, u.previous_status, u.purge_after, u.version`;

interface UserEventRow {
  id: string;
  directory_id: string | null;
  external_id: string | null;
  username: string;
  email: string | null;
  display_name: string | null;
  status: string;
  previous_status: string | null;
  purge_after: string | Date | null;
  version: number;
}

/**
 * The event of one user's transition made by a statement other than the apply path's (an
 * operator's mutation): `bump` increases the version (a write that did not), then the user as
 * it is now is the snapshot. `before`: its status before (undefined: it was just created).
 * `transition` defaults to {@link syncTransition}. Returns false when the user does not exist.
 */
export async function emitUserTransition(
  sql: Sql,
  userId: string,
  opts: {
    before: string | undefined;
    cause: LifecycleCause;
    changedFields?: readonly string[];
    bump: boolean;
    transition?: Transition;
  },
): Promise<boolean> {
  const [u] = await sql.rows<UserEventRow>(
    opts.bump
      ? `update users u set version = u.version + 1 where u.id = ? returning ${USER_EVENT_COLUMNS}`
      : `select ${USER_EVENT_COLUMNS} from users u where u.id = ?`,
    [userId],
  );
  if (!u) return false;
  const transition = opts.transition ?? syncTransition(opts.before, u.status);
  emitLifecycle(sql, [
    userEvent(
      transition,
      {
        id: u.id,
        directoryId: u.directory_id,
        externalId: u.external_id,
        username: u.username,
        email: u.email,
        displayName: u.display_name,
        status: u.status,
        previousStatus: opts.before ?? null,
        purgeAfter: u.purge_after,
        version: u.version,
      },
      opts.cause,
      opts.changedFields ?? [],
    ),
  ]);
  return true;
}

/**
 * PURGED events of users deleted by `delete from users u … returning USER_EVENT_COLUMNS`: the
 * snapshot as they were, state PURGED, version one past their last.
 */
export function emitUsersPurged(
  sql: Sql,
  rows: readonly UserEventRow[],
  cause: LifecycleCause,
): void {
  if (rows.length === 0) return;
  const at = BigInt(Date.now());
  emitLifecycle(
    sql,
    rows.map((u) =>
      userEvent(
        Transition.PURGED,
        {
          id: u.id,
          directoryId: u.directory_id,
          externalId: u.external_id,
          username: u.username,
          email: u.email,
          displayName: u.display_name,
          status: 'purged',
          previousStatus: u.status,
          version: u.version + 1,
        },
        cause,
        [],
        at,
      ),
    ),
  );
}
