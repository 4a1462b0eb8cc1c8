import type { ZodType } from 'zod';
import type {
  AttributeMapping,
  DirectoryPolicy,
  ErrorCode,
  SyncJob,
  SyncMode,
} from '@dirsync/proto';
import type { Logger } from '../logger.js';

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
  /** Modes this connector can run; others fail the run with `CONFIG_INVALID`. Default: all. */
  readonly modes?: readonly SyncMode[];
  /** Secret names the connector requires (e.g. `["bindPassword"]`); missing → `CONFIG_INVALID`. */
  readonly requiredSecrets?: readonly string[];
  /**
   * Read the source for one run and hand every record to `ctx.sink`, awaiting each call (the
   * sink applies back-pressure when the broker is slow). Resolve when everything was handed
   * over; the kit then flushes and publishes `RunCompleted`.
   *
   * - FULL: every user in scope (members, transitive, of the selected groups), every group in
   *   scope (selected groups and the groups nested in them), and each group's transitive user
   *   members by external id.
   * - DELTA: what changed since `ctx.directory.cursor`; a connector without a delta mechanism may
   *   read everything (identity never sweeps on DELTA runs).
   * - USER: the one user whose username attribute equals `ctx.job.username` (matched the way the
   *   source matches, never as a pattern), only if it is in scope, plus its memberships; nothing
   *   when it is unknown or out of scope.
   */
  run(ctx: RunContext<S>): Promise<RunResult>;
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
  /** The stored delta cursor, "" when none. */
  readonly cursor: string;
  readonly policy: DirectoryPolicy | undefined;
}

/** Everything a connector gets for one run. */
export interface RunContext<S = unknown> {
  readonly job: SyncJob;
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
  /** The new delta cursor; "" or absent keeps no cursor. Stored only after identity commits. */
  cursor?: string;
}

/**
 * Where a connector hands its records. Every call may wait (bounded publishing) and must be
 * awaited. The kit normalises what it receives: strings are trimmed and NFC-normalised, empty
 * values dropped, aliases de-duplicated and limited, phones normalised to E.164 (invalid numbers
 * reported as `INVALID_PHONE`, the user imported without them); a user without a username is
 * reported as `MISSING_USERNAME`, a second user with the same username (case-insensitive) as
 * `DUPLICATE_USERNAME`, and neither is observed. Records are batched into messages of at most
 * `batchSize` records.
 */
export interface RecordSink {
  user(user: SourceUser): Promise<void>;
  group(group: SourceGroup): Promise<void>;
  /**
   * Transitive user members of a group, by user external id. May be called several times for
   * the same group (the membership is the union); big lists are chunked by the kit.
   */
  members(groupExternalId: string, userExternalIds: Iterable<string>): Promise<void>;
  /** A record that could not be (fully) imported; the run continues. */
  objectError(error: SourceObjectError): Promise<void>;
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
