import type { Logger, NatsConnection } from '@dirsync/kit';
import { apiError } from '@dirsync/kit/graphql';
import {
  CheckName,
  CheckStatus,
  ConnectionTestReplySchema,
  ConnectionTestRequestSchema,
  ErrorCode,
  Subject,
  create,
  errorCodeName,
  fromBinary,
  subject,
  toBinary,
  type ConnectionCheck,
  type DirectoryConfig,
} from '@dirsync/proto';
import type { EntityManager } from '../db/orm.js';
import type { SecretBox } from '../crypto/secret-box.js';
import { directoryConfig, secretName } from '../config/config.responder.js';
import type { Directory } from './directory.entity.js';
import { badInput, type DirectoryService } from './directory.service.js';
import {
  InvalidInputError,
  validateCreate,
  validateUpdate,
  type DirectoryFields,
} from './directory.validation.js';
import type {
  CheckNameValue,
  CheckStatusValue,
  ConnectionCheckObject,
  ConnectionTestObject,
} from './connection-test.type.js';

/** How long a connection test may take by default (CONNECTION_TEST_TIMEOUT_SECONDS). */
export const DEFAULT_CONNECTION_TEST_SECONDS = 30;

/** `testDirectorySettings`' input: directory fields plus the saved directory they change. */
export interface TestSettingsFields extends DirectoryFields {
  directoryId?: string | null;
}

/**
 * Connection tests ("test connection"): sync builds the `DirectoryConfig` a run would get — of
 * a saved directory, or of settings not saved yet, validated as createDirectory/updateDirectory
 * validate them — and asks a connector of the directory's kind to check it over core NATS
 * request/reply (`dirsync.control.test.<kind>`, never a stream: the request carries the
 * decrypted credential). Nothing is stored; the test starts no run.
 */
export class ConnectionTester {
  constructor(
    private readonly d: {
      nc: NatsConnection;
      natsNamespace: string;
      box: SecretBox;
      directories: DirectoryService;
      logger: Logger;
      timeoutSeconds: number;
      clock: () => Date;
    },
  ) {}

  /** Test a saved directory as it is stored. NOT_FOUND for an unknown id. */
  async testSaved(em: EntityManager, id: string): Promise<ConnectionTestObject> {
    const dir = await this.d.directories.getOrFail(em, id);
    const secrets = this.storedSecrets(dir);
    return this.run(directoryConfig(dir, secrets), dir.kind, dir.id);
  }

  /**
   * Test settings before they are saved. With `directoryId` the input changes that directory
   * (its stored credential is used when the input has none, as updateDirectory keeps it);
   * without, it is a new directory whose name and selected groups may be left out.
   */
  async testSettings(em: EntityManager, input: TestSettingsFields): Promise<ConnectionTestObject> {
    const { directoryId, ...fields } = input;
    try {
      if (directoryId) {
        const dir = await this.d.directories.getOrFail(em, directoryId);
        const v = validateUpdate(dir, fields, undefined);
        const secrets =
          v.secret !== undefined
            ? { [secretName({ kind: dir.kind, settings: v.settings })]: v.secret }
            : this.storedSecrets(dir);
        return await this.run(
          directoryConfig({ ...dir, ...v, id: dir.id, cursor: null }, secrets),
          dir.kind,
          dir.id,
        );
      }
      const v = validateCreate(
        { ...fields, name: fields.name ?? 'connection test' },
        { selectedGroupsOptional: true },
      );
      const secrets = { [secretName({ kind: v.kind, settings: v.settings })]: v.secret };
      return await this.run(directoryConfig({ ...v, id: '', cursor: null }, secrets), v.kind, null);
    } catch (err) {
      if (err instanceof InvalidInputError) badInput(err);
      throw err;
    }
  }

  private storedSecrets(dir: Directory): Record<string, string> {
    if (!dir.bindPasswordEnc) return {};
    try {
      return { [secretName(dir)]: this.d.box.decrypt(dir.bindPasswordEnc, dir.id) };
    } catch (err) {
      this.d.logger.error(
        { directoryId: dir.id, reason: (err as Error).message },
        'secret does not decrypt',
      );
      throw apiError(
        errorCodeName(ErrorCode.CONFIG_INVALID),
        `the stored ${secretName(dir)} of directory ${dir.id} cannot be decrypted; set it again`,
      );
    }
  }

  private async run(
    config: DirectoryConfig,
    kind: Directory['kind'],
    directoryId: string | null,
  ): Promise<ConnectionTestObject> {
    const connectorKind = kind.toLowerCase();
    const subj = subject(
      Subject.CONNECTION_TESTS,
      { connector_kind: connectorKind },
      this.d.natsNamespace,
    );
    const timeoutMs = this.d.timeoutSeconds * 1000;
    const testedAt = this.d.clock();
    const request = create(ConnectionTestRequestSchema, { config, timeoutMs });
    let data: Uint8Array;
    try {
      const reply = await this.d.nc.request(subj, toBinary(ConnectionTestRequestSchema, request), {
        // the connector answers within timeoutMs; the margin covers the round trip
        timeout: timeoutMs + 5_000,
      });
      data = reply.data;
    } catch (err) {
      const noResponders = (err as { code?: string }).code === '503';
      throw apiError(
        errorCodeName(ErrorCode.CONNECTOR_UNAVAILABLE),
        noResponders
          ? `no ${connectorKind} connector is running: nothing answers connection tests on ${subj}`
          : `the ${connectorKind} connector did not answer the connection test within ${this.d.timeoutSeconds + 5} s`,
        { kind },
      );
    }
    const reply = fromBinary(ConnectionTestReplySchema, data);
    if (reply.outcome.case !== 'result') {
      const e = reply.outcome.case === 'error' ? reply.outcome.value : undefined;
      throw apiError(
        errorCodeName(e?.code || ErrorCode.INTERNAL),
        e?.message || `the ${connectorKind} connector sent an empty answer`,
      );
    }
    const result = reply.outcome.value;
    const checks = result.checks.map(toCheck);
    const failed = checks.filter((c) => c.status === 'FAILED');
    this.d.logger.info(
      {
        directoryId: directoryId ?? undefined,
        kind,
        ok: failed.length === 0,
        failed: failed.map((c) => `${c.name}:${c.code ?? ''}`),
        ms: result.durationMs,
      },
      'connection test',
    );
    return {
      ok: failed.length === 0,
      directoryId,
      kind,
      checks,
      durationMs: result.durationMs,
      testedAt,
    };
  }
}

function toCheck(c: ConnectionCheck): ConnectionCheckObject {
  const name = (c.name === CheckName.UNSPECIFIED ? 'OTHER' : CheckName[c.name]) as CheckNameValue;
  const status = (CheckStatus[c.status] ?? 'FAILED') as CheckStatusValue;
  return {
    name,
    target: c.target || null,
    status,
    code: c.status === CheckStatus.FAILED ? errorCodeName(c.code || ErrorCode.INTERNAL) : null,
    message: c.message,
    durationMs: c.durationMs,
  };
}
