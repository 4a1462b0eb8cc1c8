import {
  adminRoleFromName,
  serveRequests,
  type EntraSettings,
  type Logger,
  type NatsConnection,
  type Responder,
} from '@dirsync/kit';
import {
  AdminRoleGroupsSchema,
  AttributeMappingSchema,
  ConfigReplySchema,
  ConflictPolicy,
  ConfigRequestSchema,
  DeletionThresholdSchema,
  DirectoryConfigSchema,
  DirectoryPolicySchema,
  ErrorCode,
  ErrorInfoSchema,
  Subject,
  create,
  fromBinary,
  subject,
  toBinary,
  type ConfigReply,
  type DirectoryConfig,
} from '@dirsync/proto';
import type { SyncOrm } from '../db/orm.js';
import { Directory } from '../directory/directory.entity.js';
import type { SecretBox } from '../crypto/secret-box.js';
import { isUuid, type RunService } from '../run/run.service.js';

/** Queue group of the config responders: one replica answers each request. */
export const CONFIG_QUEUE = 'sync';

/**
 * Answers connectors' `ConfigRequest`s (core request/reply, never stored in a stream) with the
 * directory's `DirectoryConfig`, secrets decrypted. The only place a secret leaves the service.
 */
export class ConfigResponder {
  private responder: Responder | undefined;

  constructor(
    private readonly d: {
      nc: NatsConnection;
      natsNamespace: string;
      orm: SyncOrm;
      box: SecretBox;
      runs: RunService;
      logger: Logger;
    },
  ) {}

  start(): void {
    this.responder = serveRequests({
      nc: this.d.nc,
      subject: subject(Subject.CONFIG, { directory_id: '*' }, this.d.natsNamespace),
      queue: CONFIG_QUEUE,
      logger: this.d.logger,
      what: 'config request',
      answer: async (msg) => toBinary(ConfigReplySchema, await this.answer(msg.subject, msg.data)),
      onError: () =>
        toBinary(
          ConfigReplySchema,
          failure(ErrorCode.INTERNAL, 'the sync service could not read the directory'),
        ),
    });
  }

  /** Stop taking requests; the one in hand is answered first. */
  async stop(): Promise<void> {
    await this.responder?.stop();
    this.responder = undefined;
  }

  async answer(msgSubject: string, data: Uint8Array): Promise<ConfigReply> {
    let directoryId = msgSubject.split('.').pop() ?? '';
    let runId = '';
    try {
      const req = fromBinary(ConfigRequestSchema, data);
      if (req.directoryId) directoryId = req.directoryId;
      runId = req.runId;
    } catch {
      return failure(ErrorCode.INTERNAL, 'the config request is not a ConfigRequest');
    }
    const notFound = failure(
      ErrorCode.DIRECTORY_NOT_FOUND,
      `directory ${directoryId} does not exist or is disabled`,
    );
    if (!isUuid(directoryId)) return notFound;
    const dir = await this.d.orm.em.fork().findOne(Directory, { id: directoryId });
    if (!dir || !dir.enabled) return notFound;

    const secrets: Record<string, string> = {};
    if (dir.bindPasswordEnc) {
      try {
        secrets[secretName(dir)] = this.d.box.decrypt(dir.bindPasswordEnc, dir.id);
      } catch (err) {
        this.d.logger.error(
          { directoryId, reason: (err as Error).message },
          'secret does not decrypt',
        );
        return failure(
          ErrorCode.CONFIG_INVALID,
          `the ${secretName(dir)} of directory ${directoryId} cannot be decrypted: ${(err as Error).message}`,
        );
      }
    }
    if (runId) {
      // A job taken after its run ended (NO_CONNECTOR, RUN_TIMEOUT, …; normally dropped at the
      // pickup heartbeat already) gets no configuration: nothing is read for a finished run.
      const ended = await this.d.runs.markPickedUp(runId, dir.id);
      if (ended) {
        this.d.logger.warn({ directoryId, runId, ...ended }, 'config refused: the run has ended');
        const code = ended.errorCode
          ? (ErrorCode[ended.errorCode as keyof typeof ErrorCode] ?? ErrorCode.INTERNAL)
          : ErrorCode.INTERNAL;
        return failure(
          code,
          `run ${runId} has already ended (${ended.status}${ended.errorCode ? `, ${ended.errorCode}` : ''}); its job is not run`,
        );
      }
    }
    this.d.logger.info({ directoryId, runId }, 'config sent');
    return create(ConfigReplySchema, {
      result: { case: 'config', value: directoryConfig(dir, secrets) },
    });
  }
}

/** What a `DirectoryConfig` is built from: a saved directory, or settings being tested. */
export type ConfigSource = Pick<
  Directory,
  | 'id'
  | 'kind'
  | 'settings'
  | 'selectedGroups'
  | 'mapping'
  | 'defaultRegion'
  | 'cursor'
  | 'restoreWindowDays'
  | 'deletionMaxCount'
  | 'deletionMaxPercent'
  | 'conflictPolicy'
  | 'adminRoleGroups'
>;

/**
 * The `DirectoryConfig` a connector gets for a directory (a run's ConfigReply, a connection
 * test's request), with the given decrypted secrets.
 */
export function directoryConfig(
  dir: ConfigSource,
  secrets: Record<string, string>,
): DirectoryConfig {
  const m = dir.mapping;
  return create(DirectoryConfigSchema, {
    directoryId: dir.id,
    kind: dir.kind.toLowerCase(),
    settingsJson: JSON.stringify(dir.settings),
    secrets,
    selectedGroups: dir.selectedGroups,
    mapping: create(AttributeMappingSchema, {
      username: m.username,
      aliases: m.aliases,
      email: m.email,
      firstName: m.firstName,
      lastName: m.lastName,
      displayName: m.displayName,
      phones: m.phones,
      custom: Object.fromEntries(m.custom.map((c) => [c.name, c.attribute])),
    }),
    defaultRegion: dir.defaultRegion,
    cursor: dir.cursor ?? '',
    policy: create(DirectoryPolicySchema, {
      restoreWindowDays: dir.restoreWindowDays,
      // Always sent: identity applies no limit to a run without one.
      deletionThreshold: create(DeletionThresholdSchema, {
        maxCount: dir.deletionMaxCount,
        maxPercent: dir.deletionMaxPercent,
      }),
      conflictPolicy:
        dir.conflictPolicy === 'TAKE_OVER' ? ConflictPolicy.TAKE_OVER : ConflictPolicy.REPORT,
    }),
    adminRoleGroups: dir.adminRoleGroups.map((r) =>
      create(AdminRoleGroupsSchema, { role: adminRoleFromName(r.role), groups: r.groups }),
    ),
  });
}

/** The name a directory's stored credential goes by in `DirectoryConfig.secrets`. */
export function secretName(dir: Pick<Directory, 'kind' | 'settings'>): string {
  if (dir.kind === 'ENTRA') {
    return (dir.settings as EntraSettings).credential === 'clientCertificate'
      ? 'clientCertificate'
      : 'clientSecret';
  }
  return 'bindPassword';
}

function failure(code: ErrorCode, message: string): ConfigReply {
  return create(ConfigReplySchema, {
    result: { case: 'error', value: create(ErrorInfoSchema, { code, message }) },
  });
}
