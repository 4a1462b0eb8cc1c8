import {
  AttributeMappingSchema,
  CheckName,
  CheckStatus,
  ConnectionCheckSchema,
  ConnectionTestReplySchema,
  ConnectionTestRequestSchema,
  ConnectionTestResultSchema,
  ErrorCode,
  ErrorInfoSchema,
  Subject,
  create,
  errorCodeName,
  fromBinary,
  subject,
  toBinary,
  type ConnectionCheck,
  type ConnectionTestReply,
  type DirectoryConfig,
} from '@dirsync/proto';
import type { NatsConnection, Subscription } from 'nats';
import { DirsyncError } from '../errors.js';
import type { Logger } from '../logger.js';
import { MAX_ALIAS_ATTRIBUTES, MAX_SELECTED_GROUPS } from '../sources/ldap.js';
import type { DirectoryContext, SourceConnector } from './types.js';

/** How long a connection test may take when the request does not say (30 s). */
export const DEFAULT_CHECK_TIMEOUT_MS = 30_000;
/** The longest a request may ask for (2 minutes). */
export const MAX_CHECK_TIMEOUT_MS = 120_000;

/**
 * What a connector's `check()` gets: the configuration to test (validated like a run's) and a
 * recorder for its checks. The kit times each check, turns what a check throws into a FAILED
 * check with the error's code (a `DirsyncError`; anything else is INTERNAL with a generic
 * message, the original only logged), scrubs every secret value from messages, and ends the
 * test at its deadline: `signal` aborts, checks still running are reported FAILED
 * (SOURCE_UNREACHABLE, "no answer within …") and the connector's promise is no longer awaited.
 */
export interface CheckContext<S = unknown> {
  readonly settings: S;
  /** Decrypted secrets by name. Never log them, never put them in a message. */
  readonly secrets: Readonly<Record<string, string>>;
  /** Selected groups, mapping, admin role groups (cursor "" and no policy: a test reads no delta). */
  readonly directory: DirectoryContext;
  readonly logger: Logger;
  /** Aborted at the test's deadline; close source connections promptly. */
  readonly signal: AbortSignal;
  /**
   * Run one check. `fn` resolves with the message of a passed check ("bound as … on host:port")
   * or throws (a `DirsyncError` with the code and a message naming the host, DN or group).
   * Resolves `true` when it passed, so the connector can skip what depends on it.
   */
  check(name: CheckName, target: string, fn: () => Promise<string>): Promise<boolean>;
  /** Record a check that was not tried: `why` names the failed step it depends on, or why it does not apply. */
  skip(name: CheckName, target: string, why: string): void;
}

/** A connection test's outcome, as the kit reports it (the proto's `ConnectionTestResult`). */
export interface CheckReport {
  checks: ConnectionCheck[];
  durationMs: number;
}

export function checkFailed(c: ConnectionCheck): boolean {
  return c.status === CheckStatus.FAILED;
}

/**
 * Check a directory configuration the way a run would, before anything touches the source:
 * kind, selected groups (≤ 400), alias attributes (≤ 4), required secrets, and the settings
 * JSON against the connector's schema. Throws `CONFIG_INVALID` (or `TOO_MANY_GROUPS`) naming
 * every bad field; returns the parsed settings.
 */
export function parseDirectorySettings<S>(
  connector: SourceConnector<S>,
  kind: string,
  config: DirectoryConfig,
): S {
  const invalid = (message: string) => new DirsyncError(ErrorCode.CONFIG_INVALID, message);
  const what = config.directoryId ? `directory ${config.directoryId}` : 'the directory';
  if (config.kind && config.kind !== kind) {
    throw invalid(`${what} is of kind "${config.kind}", not "${kind}"`);
  }
  if (config.selectedGroups.length > MAX_SELECTED_GROUPS) {
    throw new DirsyncError(
      ErrorCode.TOO_MANY_GROUPS,
      `${config.selectedGroups.length} groups are selected; at most ${MAX_SELECTED_GROUPS} are allowed`,
    );
  }
  if ((config.mapping?.aliases.length ?? 0) > MAX_ALIAS_ATTRIBUTES) {
    throw invalid(`at most ${MAX_ALIAS_ATTRIBUTES} alias attributes may be mapped`);
  }
  for (const name of connector.requiredSecrets ?? []) {
    if (!config.secrets[name]) throw invalid(`the secret "${name}" is not set`);
  }
  let raw: unknown;
  try {
    raw = config.settingsJson.trim() ? JSON.parse(config.settingsJson) : {};
  } catch {
    throw invalid(`the ${kind} settings are not valid JSON`);
  }
  const parsed = connector.settingsSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (i) => `${i.path.map(String).join('.') || '(settings)'}: ${i.message}`,
    );
    throw invalid(`invalid ${kind} settings: ${problems.join('; ')}`);
  }
  return parsed.data;
}

export interface ConnectionTestOptions<S> {
  connector: SourceConnector<S>;
  kind: string;
  config: DirectoryConfig;
  /** The whole test's budget (default 30 s, at most 2 min). */
  timeoutMs?: number;
  logger: Logger;
  /** Replaces secret values in messages (the worker's `secretScrubber`). */
  scrub: (text: string) => string;
}

/**
 * Run one connection test: SETTINGS first (the kit's own check), then the connector's
 * `check()` if the settings are valid. Never throws: every problem is a check.
 */
export async function runConnectionTest<S>(opts: ConnectionTestOptions<S>): Promise<CheckReport> {
  const { connector, kind, config, logger, scrub } = opts;
  const started = Date.now();
  const timeoutMs = Math.min(
    MAX_CHECK_TIMEOUT_MS,
    Math.max(1_000, opts.timeoutMs || DEFAULT_CHECK_TIMEOUT_MS),
  );
  const checks: ConnectionCheck[] = [];
  const push = (c: Omit<ConnectionCheck, '$typeName'>) =>
    checks.push(create(ConnectionCheckSchema, { ...c, message: scrub(c.message) }));

  let settings: S;
  const settingsStarted = Date.now();
  try {
    settings = parseDirectorySettings(connector, kind, config);
    push({
      name: CheckName.SETTINGS,
      target: '',
      status: CheckStatus.OK,
      code: ErrorCode.UNSPECIFIED,
      message: `the ${kind} settings are valid`,
      durationMs: Date.now() - settingsStarted,
    });
  } catch (err) {
    const e = err instanceof DirsyncError ? err : new DirsyncError(ErrorCode.INTERNAL, String(err));
    push({
      name: CheckName.SETTINGS,
      target: '',
      status: CheckStatus.FAILED,
      code: e.code,
      message: e.message,
      durationMs: Date.now() - settingsStarted,
    });
    return { checks, durationMs: Date.now() - started };
  }
  if (!connector.check) {
    push({
      name: CheckName.REACH,
      target: '',
      status: CheckStatus.SKIPPED,
      code: ErrorCode.UNSPECIFIED,
      message: `the ${kind} connector cannot test connections; run a sync to see whether it reads`,
      durationMs: 0,
    });
    return { checks, durationMs: Date.now() - started };
  }

  const abort = new AbortController();
  /** Checks still running when the deadline passes, in start order. */
  const running = new Map<number, { name: CheckName; target: string; started: number }>();
  let nextId = 0;
  let over = false;
  const ctx: CheckContext<S> = {
    settings,
    secrets: config.secrets,
    directory: {
      directoryId: config.directoryId,
      selectedGroups: config.selectedGroups,
      mapping: config.mapping ?? create(AttributeMappingSchema),
      defaultRegion: config.defaultRegion,
      cursor: '',
      storedCursor: '',
      policy: undefined,
      adminRoleGroups: config.adminRoleGroups.map((r) => ({ role: r.role, groups: r.groups })),
    },
    logger,
    signal: abort.signal,
    async check(name, target, fn) {
      if (over) return false;
      const id = nextId++;
      const at = Date.now();
      running.set(id, { name, target, started: at });
      let outcome: { ok: true; message: string } | { ok: false; code: ErrorCode; message: string };
      try {
        outcome = { ok: true, message: await fn() };
      } catch (err) {
        if (err instanceof DirsyncError) {
          outcome = { ok: false, code: err.code, message: err.message };
        } else {
          logger.warn(
            { check: CheckName[name], error: scrub(String(err)) },
            'unexpected error in a connection check',
          );
          outcome = {
            ok: false,
            code: ErrorCode.INTERNAL,
            message: `unexpected error in the ${kind} connector while checking ${CheckName[name]} (see its log)`,
          };
        }
      }
      running.delete(id);
      if (over) return false; // reported as timed out already
      push({
        name,
        target,
        status: outcome.ok ? CheckStatus.OK : CheckStatus.FAILED,
        code: outcome.ok ? ErrorCode.UNSPECIFIED : outcome.code,
        message: outcome.message,
        durationMs: Date.now() - at,
      });
      return outcome.ok;
    },
    skip(name, target, why) {
      if (over) return;
      push({
        name,
        target,
        status: CheckStatus.SKIPPED,
        code: ErrorCode.UNSPECIFIED,
        message: why,
        durationMs: 0,
      });
    },
  };

  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs - (Date.now() - started));
  });
  const checking = connector.check(ctx).then(
    () => 'done' as const,
    (err: unknown) => err,
  );
  const result = await Promise.race([checking, deadline]);
  clearTimeout(timer);
  if (result === 'timeout') {
    over = true;
    abort.abort();
    for (const r of running.values()) {
      checks.push(
        create(ConnectionCheckSchema, {
          name: r.name,
          target: r.target,
          status: CheckStatus.FAILED,
          code: ErrorCode.SOURCE_UNREACHABLE,
          message: scrub(
            `no answer${r.target ? ` from ${r.target}` : ''} within the test's ${timeoutMs} ms`,
          ),
          durationMs: Date.now() - r.started,
        }),
      );
    }
  } else if (result !== 'done') {
    // check() itself threw outside any ctx.check(): a connector bug, reported as one failure.
    logger.warn({ error: scrub(String(result)) }, 'connection test failed outside a check');
    const e = result instanceof DirsyncError ? result : undefined;
    push({
      name: CheckName.UNSPECIFIED,
      target: '',
      status: CheckStatus.FAILED,
      code: e?.code ?? ErrorCode.INTERNAL,
      message: e?.message ?? `unexpected error in the ${kind} connector (see its log)`,
      durationMs: 0,
    });
  }
  abort.abort();
  return { checks, durationMs: Date.now() - started };
}

export interface ConnectionTestResponderOptions<S> {
  connector: SourceConnector<S>;
  nc: NatsConnection;
  namespace: string;
  kind: string;
  logger: Logger;
  scrubber: (secrets: Record<string, string>) => (text: string) => string;
}

/** The queue group of a kind's connection test responders: one replica answers each test. */
export const connectionTestQueue = (kind: string) => `connector-${kind}`;

/**
 * Answers `ConnectionTestRequest`s on `dirsync.control.test.<kind>` (core request/reply in the
 * queue group `connector-<kind>`, never a stream: the request carries secrets). Tests run
 * concurrently; each answers within its own deadline. `stop()` waits for those in hand.
 */
export function createConnectionTestResponder<S>(opts: ConnectionTestResponderOptions<S>): {
  start(): void;
  stop(): Promise<void>;
} {
  const { connector, nc, namespace, kind } = opts;
  const log = opts.logger.child({ connector: kind });
  let sub: Subscription | undefined;
  let loop: Promise<void> | undefined;
  const inHand = new Set<Promise<void>>();

  async function answer(data: Uint8Array): Promise<ConnectionTestReply> {
    let req;
    try {
      req = fromBinary(ConnectionTestRequestSchema, data);
    } catch {
      return errorReply(ErrorCode.INTERNAL, 'the request is not a ConnectionTestRequest');
    }
    const config = req.config;
    if (!config) return errorReply(ErrorCode.INTERNAL, 'the request carries no configuration');
    const scrub = opts.scrubber(config.secrets);
    const testLog = log.child({ directoryId: config.directoryId || undefined });
    const report = await runConnectionTest({
      connector,
      kind,
      config,
      timeoutMs: req.timeoutMs,
      logger: testLog,
      scrub,
    });
    testLog.info(
      {
        ms: report.durationMs,
        failed: report.checks
          .filter(checkFailed)
          .map((c) => `${CheckName[c.name]}:${errorCodeName(c.code)}`),
      },
      'connection test answered',
    );
    return create(ConnectionTestReplySchema, {
      outcome: {
        case: 'result',
        value: create(ConnectionTestResultSchema, {
          checks: report.checks,
          durationMs: report.durationMs,
        }),
      },
    });
  }

  return {
    start() {
      if (sub) return;
      const s = nc.subscribe(
        subject(Subject.CONNECTION_TESTS, { connector_kind: kind }, namespace),
        {
          queue: connectionTestQueue(kind),
        },
      );
      sub = s;
      loop = (async () => {
        for await (const msg of s) {
          const p = answer(msg.data)
            .catch((err: unknown) => {
              log.error({ error: String(err) }, 'connection test failed');
              return errorReply(ErrorCode.INTERNAL, `the ${kind} connector could not run the test`);
            })
            .then((reply) => {
              msg.respond(toBinary(ConnectionTestReplySchema, reply));
            })
            .finally(() => inHand.delete(p));
          inHand.add(p);
        }
      })();
    },
    async stop() {
      if (!sub) return;
      await sub.drain().catch(() => undefined);
      await loop;
      await Promise.all([...inHand]);
      sub = undefined;
    },
  };
}

function errorReply(code: ErrorCode, message: string): ConnectionTestReply {
  return create(ConnectionTestReplySchema, {
    outcome: { case: 'error', value: create(ErrorInfoSchema, { code, message }) },
  });
}
