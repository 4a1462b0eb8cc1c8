import { randomUUID } from 'node:crypto';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Logger } from '@dirsync/kit';
import { ApiErrorCode, apiError } from '@dirsync/kit/graphql';
import { DirectoryDeletedSchema, Subject, create, subject, toBinary } from '@dirsync/proto';
import type { EntityManager, SyncOrm } from '../db/orm.js';
import { sql, type Tables } from '../db/sql.js';
import type { SecretBox } from '../crypto/secret-box.js';
import type { OutboxRelay } from '../outbox/outbox.relay.js';
import { ACTIVE_STATUSES } from '../run/run.entity.js';
import { isUuid } from '../run/run.service.js';
import { rescheduled } from '../scheduler/schedules.js';
import { Directory, scopeKey } from './directory.entity.js';
import {
  InvalidInputError,
  validateCreate,
  validateUpdate,
  type DirectoryFields,
} from './directory.validation.js';

/** Msg id of the DirectoryDeleted event, so a re-publish is dropped by the server. */
export const directoryDeletedMsgId = (id: string) => `directory-deleted:${id}`;

/** Throw a BAD_USER_INPUT naming every bad field (`extensions.fields`). */
export function badInput(err: InvalidInputError): never {
  throw apiError(ApiErrorCode.BAD_USER_INPUT, `invalid input: ${err.message}`, {
    fields: err.problems,
  });
}

const nameTaken = (name: string) =>
  new InvalidInputError([{ field: 'name', message: `a directory named "${name}" already exists` }]);

/** Directory CRUD; secrets are encrypted here and never returned. */
export class DirectoryService {
  constructor(
    private readonly d: {
      orm: SyncOrm;
      tables: Tables;
      box: SecretBox;
      clock: () => Date;
      natsNamespace: string;
      outbox: OutboxRelay;
      logger: Logger;
    },
  ) {}

  async get(em: EntityManager, id: string): Promise<Directory | null> {
    if (!isUuid(id)) return null;
    return em.findOne(Directory, { id });
  }

  async getOrFail(em: EntityManager, id: string): Promise<Directory> {
    const dir = await this.get(em, id);
    if (!dir) throw apiError(ApiErrorCode.NOT_FOUND, `directory ${id} not found`);
    return dir;
  }

  async create(input: DirectoryFields): Promise<Directory> {
    let v;
    try {
      v = validateCreate(input);
    } catch (err) {
      if (err instanceof InvalidInputError) badInput(err);
      throw err;
    }
    const em = this.d.orm.em.fork();
    if (await this.nameInUse(em, v.name)) badInput(nameTaken(v.name));
    const id = randomUUID();
    const now = this.d.clock();
    const dir = em.create(Directory, {
      id,
      name: v.name,
      kind: v.kind,
      settings: v.settings,
      bindPasswordEnc: this.d.box.encrypt(v.secret, id),
      selectedGroups: v.selectedGroups,
      mapping: v.mapping,
      defaultRegion: v.defaultRegion,
      scheduleIntervalMinutes: v.scheduleIntervalMinutes,
      enabled: v.enabled,
      restoreWindowDays: v.restoreWindowDays,
      deletionMaxCount: v.deletionMaxCount,
      deletionMaxPercent: v.deletionMaxPercent,
      conflictPolicy: v.conflictPolicy,
      cursor: null,
      createdAt: now,
      updatedAt: now,
      lastRunId: null,
      adminRoleGroups: v.adminRoleGroups,
      adminScheduleIntervalMinutes: v.adminScheduleIntervalMinutes,
      deltaIntervalMinutes: v.deltaIntervalMinutes,
      nextRunAt: null,
      nextAdminRunAt: null,
      nextDeltaRunAt: null,
      scopeChangedAt: null,
      ...rescheduled(now, undefined, v),
    });
    try {
      await em.flush();
    } catch (err) {
      if (err instanceof UniqueConstraintViolationException) badInput(nameTaken(v.name));
      throw err;
    }
    this.d.logger.info({ directoryId: id, name: v.name }, 'directory created');
    return dir;
  }

  async update(id: string, input: DirectoryFields): Promise<Directory> {
    const em = this.d.orm.em.fork();
    const dir = await this.getOrFail(em, id);
    const locked = await this.usernameLock(em, id);
    let v;
    try {
      v = validateUpdate(dir, input, locked);
    } catch (err) {
      if (err instanceof InvalidInputError) badInput(err);
      throw err;
    }
    if (v.name.toLowerCase() !== dir.name.toLowerCase() && (await this.nameInUse(em, v.name))) {
      badInput(nameTaken(v.name));
    }
    const now = this.d.clock();
    const schedules = rescheduled(now, dir, v);
    const scopeChanged = scopeKey(dir) !== scopeKey(v);
    em.assign(dir, {
      name: v.name,
      settings: v.settings,
      selectedGroups: v.selectedGroups,
      mapping: v.mapping,
      defaultRegion: v.defaultRegion,
      scheduleIntervalMinutes: v.scheduleIntervalMinutes,
      restoreWindowDays: v.restoreWindowDays,
      deletionMaxCount: v.deletionMaxCount,
      deletionMaxPercent: v.deletionMaxPercent,
      conflictPolicy: v.conflictPolicy,
      enabled: v.enabled,
      adminRoleGroups: v.adminRoleGroups,
      adminScheduleIntervalMinutes: v.adminScheduleIntervalMinutes,
      deltaIntervalMinutes: v.deltaIntervalMinutes,
      updatedAt: now,
      ...(scopeChanged ? { scopeChangedAt: now } : {}),
      ...(v.secret !== undefined ? { bindPasswordEnc: this.d.box.encrypt(v.secret, id) } : {}),
      ...schedules,
    });
    try {
      await em.flush();
    } catch (err) {
      if (err instanceof UniqueConstraintViolationException) badInput(nameTaken(v.name));
      throw err;
    }
    this.d.logger.info({ directoryId: id }, 'directory updated');
    return dir;
  }

  /**
   * Delete a directory with its runs and errors, and announce it (DirectoryDeleted through the
   * outbox, in the same transaction) so identity moves its users to pending deletion. Refused
   * with RUN_IN_PROGRESS while a run is active.
   */
  async delete(id: string): Promise<void> {
    if (!isUuid(id)) throw apiError(ApiErrorCode.NOT_FOUND, `directory ${id} not found`);
    const t = this.d.tables;
    const now = this.d.clock();
    await this.d.orm.em.fork().transactional(async (tem) => {
      const q = sql(tem);
      const [dir] = await q<{ restore_window_days: number }>(
        `select restore_window_days from ${t.directories} where id = ? for update`,
        [id],
      );
      if (!dir) throw apiError(ApiErrorCode.NOT_FOUND, `directory ${id} not found`);
      const [active] = await q<{ id: string }>(
        `select id from ${t.runs} where directory_id = ? and status in (${ACTIVE_STATUSES.map((s) => `'${s}'`).join(', ')})`,
        [id],
      );
      if (active) {
        throw apiError(
          ApiErrorCode.RUN_IN_PROGRESS,
          `directory ${id} has an active run (${active.id}); wait for it to finish`,
          { runId: active.id, directoryId: id },
        );
      }
      await q(`delete from ${t.directories} where id = ?`, [id]);
      const event = create(DirectoryDeletedSchema, {
        directoryId: id,
        restoreWindowDays: dir.restore_window_days,
        atMs: BigInt(now.getTime()),
      });
      await q(
        `insert into ${t.outbox} (subject, msg_id, payload, created_at) values (?, ?, ?, ?)`,
        [
          subject(
            Subject.LIFECYCLE,
            { entity: 'directory', transition: 'deleted' },
            this.d.natsNamespace,
          ),
          directoryDeletedMsgId(id),
          Buffer.from(toBinary(DirectoryDeletedSchema, event)),
          now,
        ],
      );
    });
    this.d.logger.info({ directoryId: id }, 'directory deleted');
    void this.d.outbox.kick(); // retried by the periodic relay if NATS is down now
  }

  /** Why the username attribute can no longer change, if it cannot. */
  private async usernameLock(em: EntityManager, id: string): Promise<string | undefined> {
    const [row] = await sql(em)<{ id: string }>(
      `select id from ${this.d.tables.runs} where directory_id = ? and status = 'COMPLETED' limit 1`,
      [id],
    );
    return row
      ? `the directory has synced (run ${row.id} completed) and users are matched by it; create a new directory to use another attribute`
      : undefined;
  }

  private async nameInUse(em: EntityManager, name: string): Promise<boolean> {
    const rows = await sql(em)(
      `select 1 from ${this.d.tables.directories} where lower(name) = lower(?)`,
      [name],
    );
    return rows.length > 0;
  }
}
