import type { ZodType } from 'zod';
import {
  ErrorCode,
  type AdminRole,
  type AttributeMapping,
  type DirectoryPolicy,
  type SyncJob,
  type SyncMode,
} from '@dirsync/proto';
import { DirsyncError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { CheckContext } from './check.js';

/**
 * A source connector: the small contract every source (OpenLDAP, Active Directory, Entra ID,
 * Google, Okta, …) implements. A connector ONLY reads its source and translates what it finds
 * into {@link SourceUser}s, {@link SourceGroup}s and memberships, handing them to the
 * {@link RecordSink} of the run. Everything else is done once, by the connector kit
 * (`createConnectorWorker`): taking jobs, fetching and validating the directory's configuration,
 * the event protocol (RunStarted → batches → RunCompleted | RunFailed), batching, bounded
 * publishing, message ids, phone normalisation, alias clean-up, duplicate-username detection,
 * secret scrubbing and graceful shutdown.
 *
 * Error contract: throwing a `DirsyncError` fails the run with that error's code and message
 * (so the connector translates its vendor's errors in one place, e.g. `INVALID_CREDENTIALS`,
 * `SOURCE_UNREACHABLE`). Anything else thrown fails the run as `INTERNAL` with a generic
 * message; the original is only logged. A problem with ONE record is not thrown: it is reported
 * with `sink.objectError(...)` and the run continues.
 */
export interface SourceConnector<S = unknown> {
  /** The connector kind, as in `dirsync.jobs.<kind>` and `DirectoryConfig.kind` (e.g. "ldap"). */
  readonly kind: string;
  /**
   * Validates `DirectoryConfig.settings_json` (parsed). A failure fails the run with
   * `CONFIG_INVALID`, naming each bad field. Settings never hold secrets; those come in
   * `RunContext.secrets`.
   */
  readonly settingsSchema: ZodType<S>;
  /**
   * Modes this connector can run (FULL, USER, ADMIN); others fail the run with
   * `CONFIG_INVALID`. Default: all. DELTA is not listed here: see {@link offersDelta}.
   */
  readonly modes?: readonly SyncMode[];
  /**
   * Whether the connector reads changes since a cursor — for all directories, or (a function)
   * for directories with these settings (e.g. one server profile and not another). Without it
   * every DELTA job is served
   * with a full read (`RunCompleted.read_mode` FULL, reason DELTA_UNSUPPORTED), which is correct,
   * only not cheaper. With it:
   *
   * - a FULL run must return a cursor (the position the next DELTA run starts from);
   * - a DELTA job with no stored cursor is served with a full read (reason NO_CURSOR) without
   *   calling the connector in DELTA mode;
   * - in DELTA mode, a cursor the source (or the connector) no longer accepts — expired, ahead
   *   of the source, made for another configuration, state the connector needs is gone — is
   *   reported by throwing {@link CursorRejectedError}; the kit then calls `run` again, in FULL
   *   mode, within the same run (reason CURSOR_REJECTED). Records handed over before the throw
   *   stay valid observations. Never report it in message text.
   */
  readonly offersDelta?: boolean | ((settings: S) => boolean);
  /** Secret names the connector requires (e.g. `["bindPassword"]`); missing → `CONFIG_INVALID`. */
  readonly requiredSecrets?: readonly string[];
  /**
   * Read the source for one run and hand every record to `ctx.sink`, awaiting each call (the
   * sink applies back-pressure when the broker is slow). Resolve when everything was handed
   * over; the kit then flushes and publishes `RunCompleted`.
   *
   * Branch on `ctx.mode` (how to read), not on `ctx.job.mode` (what was asked for):
   *
   * - FULL: every user in scope (members, transitive, of the selected groups), every group in
   *   scope (selected groups and the groups nested in them), and each group's transitive user
   *   members by external id (`sink.members`). Identity removes what a completed FULL run did
   *   not observe. A delta-capable connector returns the cursor to read changes from.
   * - DELTA (only when {@link offersDelta}): what changed since `ctx.directory.cursor`, and
   *   nothing else — users and groups that changed or entered the scope (full current
   *   records), users and groups that left the source or the scope (`sink.removeUser`,
   *   `sink.removeGroup`, with the reason), and how memberships changed
   *   (`sink.membershipDelta`). Identity never removes anything a DELTA run did not name.
   *   Return the new cursor; it must be taken BEFORE reading, so that a change made while the
   *   run reads is read again next time rather than lost.
   * - USER: the one user whose username attribute equals `ctx.job.username` (matched the way the
   *   source matches, never as a pattern), only if it is in scope, plus its memberships; nothing
   *   when it is unknown or out of scope.
   * - ADMIN (only when `modes` lists it): the administrators — every person who is, directly or
   *   through nesting, a member of one of `ctx.directory.adminRoleGroups`, handed to
   *   `sink.admin` with the roles of all their role groups and their e-mail from the mapping.
   *   With `ctx.job.email` set, only the person with that e-mail (matched the way the source
   *   matches, never as a pattern). A role group that does not exist fails the run
   *   (`GROUP_NOT_FOUND`). Users, groups and memberships are not read. Never for SCIM sources.
   */
  run(ctx: RunContext<S>): Promise<RunResult>;
  /**
   * The connection test ("test connection" in the console, `dirsync directories test`):
   * check, step by step, that the source can be reached and read with this configuration —
   * without reading it into dirsync. Optional: without it a test reports only the kit's
   * SETTINGS check. The kit has already validated the settings (SETTINGS check) and answers the
   * request; the connector only talks to its source and translates, one `ctx.check(name,
   * target, fn)` per step, in the order a run would meet them (reach the host, TLS, credentials,
   * bases, each selected group, a sample read), and `ctx.skip` for a step that depends on one
   * that failed. A check's error is a `DirsyncError` with the same code a run would fail with
   * (INVALID_CREDENTIALS, BASE_DN_NOT_FOUND, GROUP_NOT_FOUND, TLS_ERROR, INSUFFICIENT_ACCESS…)
   * and a message naming the host, DN, group or permission. It reads as little as it can (base
   * searches, one small page) and writes nothing.
   */
  check?(ctx: CheckContext<S>): Promise<void>;
}

/** The generic part of a directory's configuration, as the sync service sent it. */
export interface DirectoryContext {
  readonly directoryId: string;
  /** Selected groups in the source's notation (LDAP DNs), at most 400, as configured. */
  readonly selectedGroups: readonly string[];
  /**
   * Source attribute per dirsync field. Empty strings mean "use the connector's default"
   * (`mapping.username` is "" → the connector's default username attribute).
   */
  readonly mapping: AttributeMapping;
  /** ISO 3166 region for phone numbers without a country code; "" when none. */
  readonly defaultRegion: string;
  /**
   * The stored delta cursor, "" when none. In FULL mode (also a DELTA job served with a full
   * read) it is "": a full read starts from nothing.
   */
  readonly cursor: string;
  /**
   * The directory's stored delta cursor in every mode, "" when none — the one {@link cursor}
   * gives only in DELTA mode. For a connector that keeps per-directory state tied to a cursor:
   * sync stores a run's cursor only when the run COMPLETED (not when it is BLOCKED, or
   * FAILED/timed out in identity), so the next job may name this cursor again, whatever mode
   * this run reads in, and the state that belongs to it must survive this run.
   */
  readonly storedCursor: string;
  readonly policy: DirectoryPolicy | undefined;
  /** Admin sync: role → groups in the source's notation; empty when administrators are not synced. */
  readonly adminRoleGroups: readonly { role: AdminRole; groups: readonly string[] }[];
}

/** Everything a connector gets for one run. */
export interface RunContext<S = unknown> {
  readonly job: SyncJob;
  /**
   * How to read: FULL, DELTA, USER or ADMIN. The job's mode, except that a DELTA job is read
   * as FULL when the connector does not offer delta, when there is no cursor, or after the
   * connector rejected the cursor ({@link CursorRejectedError}).
   */
  readonly mode: SyncMode;
  readonly directory: DirectoryContext;
  /** The connector's settings, validated by its `settingsSchema`. */
  readonly settings: S;
  /** Decrypted secrets by name. Never log them, never put them in an error message. */
  readonly secrets: Readonly<Record<string, string>>;
  readonly sink: RecordSink;
  /** A child logger carrying the run id, directory id and connector kind. */
  readonly logger: Logger;
  /**
   * Aborted when the run must end early (graceful stop past its grace period). A connector
   * checks it between pages/requests and should close its source connection promptly; the kit
   * stops waiting for it and fails the run regardless.
   */
  readonly signal: AbortSignal;
  /** Tells the kit how the source behaves, for `/metrics` (`dirsync_source_*`); always set by the kit (optional so hand-built contexts in tests need not). */
  readonly report?: SourceReporter;
  /**
   * Count entries (objects) read from the source — every entry a search returned, every
   * object of an API page — so that the run reports what it cost (`RunCompleted.entries_read`,
   * the run's `entriesRead`). A delta run that reads only the changes shows it here. Always
   * set by the kit (optional so hand-built contexts in tests need not).
   */
  readonly countEntriesRead?: (n: number) => void;
}

/**
 * What a connector tells the kit about its source while it reads. The kit counts these into
 * `dirsync_source_errors_total`, `dirsync_source_throttled_total` and
 * `dirsync_source_throttle_wait_seconds_total`; a failed run is counted by the kit itself.
 */
export interface SourceReporter {
  /** The source asked to slow down (HTTP 429, "busy"); `waitMs` is how long the connector waits. */
  throttled(waitMs: number): void;
  /**
   * A request to the source failed, whether it is retried or not. `code` is an ErrorCode name
   * (`SOURCE_UNAVAILABLE`, …) or an HTTP status ("503"); never a message.
   */
  requestFailed(code: string): void;
}

/** What a finished run reports back. */
export interface RunResult {
  /**
   * The new delta cursor (FULL and DELTA runs of a delta-capable connector); "" or absent
   * stores none. It travels only in `RunCompleted`, and sync stores it only after identity
   * committed the run, so a run that fails or is lost never moves it.
   */
  cursor?: string;
}

/**
 * Thrown by a connector in DELTA mode when the stored cursor cannot be used: the source
 * rejects or no longer has it (expired change log, a domain controller restored from backup
 * so the cursor is ahead of it), or it was made for another configuration. The kit answers by
 * reading the whole source in the same run; nothing of the rejection reaches the run's result
 * but `full_read_reason` CURSOR_REJECTED and the `reason` in the log.
 */
export class CursorRejectedError extends DirsyncError {
  constructor(
    /** Why, for the log (never shown as an error): e.g. "the cursor is older than the change log". */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(ErrorCode.CURSOR_REJECTED, `the delta cursor was rejected: ${reason}`, options);
    this.name = 'CursorRejectedError';
  }
}

export function isCursorRejected(err: unknown): err is CursorRejectedError {
  return err instanceof DirsyncError && err.code === ErrorCode.CURSOR_REJECTED;
}

/**
 * Where a connector hands its records. Every call may wait (bounded publishing) and must be
 * awaited. The kit normalises what it receives: strings are trimmed and NFC-normalised, empty
 * values dropped, aliases de-duplicated and limited, phones normalised to E.164 (invalid numbers
 * reported as `INVALID_PHONE`, the user imported without them); a user without a username is
 * reported as `MISSING_USERNAME`, a second user with the same username (case-insensitive) as
 * `DUPLICATE_USERNAME`, and neither is observed. Records are batched into messages of at most
 * `batchSize` records (a membership message counts member ids).
 *
 * `user`, `group` and `members` hand over the source's current state and mean the same in
 * every mode, except that in DELTA mode `members` only adds. The removal and delta methods are
 * for DELTA mode only; calling them in another mode is a connector bug and throws.
 */
export interface RecordSink {
  /**
   * A user in scope, as the source holds it now (every field its full current value).
   * Resolves `true` when the user is observed (also when it was handed over before in this
   * run), `false` when the kit refused it (reported as a per-object error, or not the user a
   * USER run asked for): a connector that remembers what it published between runs (delta
   * state) must not count a refused user as published.
   */
  user(user: SourceUser): Promise<boolean>;
  /** A group in scope (selected, or nested in a selected one). */
  group(group: SourceGroup): Promise<void>;
  /**
   * Transitive user members of a group, by user external id. May be called several times for
   * the same group (the membership is the union); big lists are chunked by the kit. FULL and
   * USER runs: the group's complete membership. DELTA runs: members to add (a connector that
   * knows the group's complete membership but not what changed may send it; nobody is removed
   * for being absent).
   */
  members(groupExternalId: string, userExternalIds: Iterable<string>): Promise<void>;
  /** A record that could not be (fully) imported; the run continues. */
  objectError(error: SourceObjectError): Promise<void>;
  /**
   * ADMIN: a person in at least one admin role group. The kit matches administrators by e-mail
   * (NFC, case-insensitive): every record of the run with the same e-mail becomes ONE
   * administrator whose role is the most privileged of all their roles (the record with that
   * role speaks for the names). A record without a usable e-mail is reported as
   * `MISSING_EMAIL` and is no administrator. The administrators are published when the run's
   * reading is over.
   */
  admin(admin: SourceAdmin): Promise<void>;
  /**
   * DELTA: a user that left the source (`deleted`) or the scope (`outOfScope`: in none of the
   * selected groups any more). Identity moves it to pending deletion with the directory's
   * restore window — when the run completes, never before, and never when the run fails. A
   * user this run also observed is not removed; an unknown id is a no-op.
   */
  removeUser(removal: SourceRemoval): Promise<void>;
  /** DELTA: a group that left the source or the scope; its memberships go with it. */
  removeGroup(removal: SourceRemoval): Promise<void>;
  /**
   * DELTA: how a group's transitive membership changed, by user external id. May be called
   * several times; for one (group, user) pair the last call wins. An id in both lists of one
   * call throws. Added ids of users this run refused (no username, duplicate) are dropped,
   * like their memberships in FULL runs.
   */
  membershipDelta(groupExternalId: string, change: MembershipChange): Promise<void>;
}

/** Why a record left a DELTA run's view: deleted in the source, or out of scope. */
export type RemovalReason = 'deleted' | 'outOfScope';

/** A user or group a DELTA run removes. */
export interface SourceRemoval {
  externalId: string;
  reason: RemovalReason;
  /** Where the record lived in the source (LDAP DN), for operators. */
  sourceLocator?: string;
}

/** A group's membership change in a DELTA run, by user external id. */
export interface MembershipChange {
  added?: Iterable<string>;
  removed?: Iterable<string>;
}

/** A person in admin role groups, as the source sees it now. */
export interface SourceAdmin {
  /** The source's immutable id of the person's record. */
  externalId: string;
  /** From the directory's e-mail mapping; administrators are matched by it. */
  email: string | undefined;
  /** The roles of every role group the person is in (directly or through nesting). */
  roles: Iterable<AdminRole>;
  firstName?: string | undefined;
  lastName?: string | undefined;
  displayName?: string | undefined;
  disabled?: boolean;
  sourceLocator?: string;
}

/** One user as the source sees it now, before the kit's normalisation. */
export interface SourceUser {
  /** The source's immutable id (OpenLDAP entryUUID, AD objectGUID, Graph id, …). */
  externalId: string;
  /** Value of the directory's username attribute; empty → `MISSING_USERNAME`. */
  username: string | undefined;
  aliases?: Iterable<string | undefined>;
  email?: string | undefined;
  firstName?: string | undefined;
  lastName?: string | undefined;
  displayName?: string | undefined;
  /** Raw phone values; `kind` names the source attribute (e.g. "telephoneNumber", "mobile"). */
  phones?: Iterable<{ value: string; kind: string }>;
  disabled?: boolean;
  /** dirsync custom attribute name → value. */
  customAttributes?: Record<string, string | undefined>;
  /** Where the record lives in the source (LDAP DN), for operators; not an identity. */
  sourceLocator?: string;
}

/** One group as the source sees it now. */
export interface SourceGroup {
  externalId: string;
  name: string;
  description?: string | undefined;
  sourceLocator?: string;
}

/** A per-object problem. `code` is one of the per-object codes (100+) of errors.proto. */
export interface SourceObjectError {
  externalId?: string;
  sourceLocator?: string;
  code: ErrorCode;
  message: string;
}
