import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { Permission } from '@dirsync/kit/auth';
import { ApiErrorCode, apiError, Guard } from '@dirsync/kit/graphql';
import { RunStatusEnum, SyncModeEnum } from '../graphql/enums.js';
import {
  DEFAULT_ERRORS_FIRST,
  DEFAULT_FIRST,
  paginate,
  type Connection,
} from '../graphql/pagination.js';
import { Directory } from '../directory/directory.entity.js';
import { DirectoryObject } from '../directory/directory.type.js';
import {
  InvalidInputError,
  validateEmail,
  validateUsername,
} from '../directory/directory.validation.js';
import { badInput } from '../directory/directory.service.js';
import type { SyncContext, SyncServices } from '../services.js';
import { Run, type RunMode, type RunStatus, type UserOutcome } from './run.entity.js';
import { RunError } from './run-error.entity.js';
import { isUuid } from './run.service.js';
import { uuidPrefixRange } from './run-id.js';
import {
  ObjectErrorConnection,
  ObjectErrorObject,
  SyncAdminResultObject,
  SyncRunConnection,
  SyncRunObject,
  SyncUserResultObject,
  toRunNode,
} from './run.type.js';

@Resolver(() => SyncRunObject)
export class RunResolver {
  constructor(private readonly s: SyncServices) {}

  @Guard(Permission.READ)
  @Query(() => SyncRunConnection, { description: 'Runs, newest first.' })
  async runs(
    @Arg('directoryId', () => ID, { nullable: true }) directoryId: string | null | undefined,
    @Arg('status', () => [RunStatusEnum], { nullable: true })
    status: RunStatus[] | null | undefined,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null | undefined,
    @Arg('idPrefix', () => String, {
      nullable: true,
      description:
        'Only runs whose id starts with this (case-insensitive; dashes where a UUID has them), e.g. the 8 characters the console shows. BAD_USER_INPUT when it cannot start a UUID.',
    })
    idPrefix: string | null | undefined,
    @Ctx() ctx: SyncContext,
  ): Promise<Connection<SyncRunObject>> {
    const where: Record<string, unknown> = {};
    if (idPrefix != null) {
      const range = uuidPrefixRange(idPrefix);
      if (!range) {
        const message = `"${idPrefix.slice(0, 40)}" is not the start of a run id (hex digits, dashes where a UUID has them)`;
        throw apiError(ApiErrorCode.BAD_USER_INPUT, `idPrefix: ${message}`, {
          fields: [{ field: 'idPrefix', message }],
        });
      }
      where.id = { $gte: range.from, $lte: range.to };
    }
    if (directoryId != null) {
      // A malformed id is a mistake to point out; a well-formed unknown one has no runs.
      if (!isUuid(directoryId)) {
        const shown = directoryId.length > 40 ? `${directoryId.slice(0, 40)}…` : directoryId;
        const message = `${JSON.stringify(shown)} is not a valid id (a UUID)`;
        throw apiError(ApiErrorCode.BAD_USER_INPUT, `directoryId ${message}`, {
          argumentName: 'directoryId',
          fields: [{ field: 'directoryId', message }],
        });
      }
      where.directoryId = directoryId.toLowerCase();
    }
    if (status?.length) where.status = { $in: status };
    return paginate(
      ctx.em,
      Run,
      where,
      { first: first ?? DEFAULT_FIRST, after, orderBy: { queuedAt: 'desc', id: 'desc' } },
      toRunNode,
    );
  }

  @Guard(Permission.READ)
  @Query(() => SyncRunObject, { nullable: true })
  async run(
    @Arg('id', () => ID) id: string,
    @Ctx() ctx: SyncContext,
  ): Promise<SyncRunObject | null> {
    const run = await this.s.runs.get(id, ctx.em);
    return run ? toRunNode(run) : null;
  }

  @Guard(Permission.SYNC_RUN)
  @Mutation(() => SyncRunObject, {
    description:
      'Queue a run of the directory and return it at once (QUEUED). FULL (default) reads everything and removes what it did not see; DELTA reads what changed since the stored cursor (in full when there is none); ADMIN reads every administrator of its role groups and removes those it did not see. RUN_IN_PROGRESS while another run is active.',
  })
  async syncAll(
    @Arg('directoryId', () => ID) directoryId: string,
    @Arg('mode', () => SyncModeEnum, { nullable: true, defaultValue: 'FULL' })
    mode: RunMode | null,
    @Arg('dryRun', () => Boolean, {
      nullable: true,
      defaultValue: false,
      description:
        'Plan only: read the source and record what the run would change (`SyncRun.changes`, counts, `removals` when it would be BLOCKED) without changing any user, group or membership, or the delta cursor. FULL and DELTA.',
    })
    dryRun: boolean | null,
  ): Promise<SyncRunObject> {
    if (mode === 'USER') {
      throw apiError(ApiErrorCode.BAD_USER_INPUT, 'mode: use syncUser to sync one user', {
        field: 'mode',
      });
    }
    if (dryRun && mode === 'ADMIN') {
      throw apiError(ApiErrorCode.BAD_USER_INPUT, 'dryRun: administrators have no dry run', {
        field: 'dryRun',
      });
    }
    if (mode === 'ADMIN') await this.checkAdminSync(directoryId);
    const run = await this.s.runs.startRun({
      directoryId,
      mode: mode ?? 'FULL',
      trigger: 'MANUAL',
      dryRun: dryRun ?? false,
    });
    return toRunNode(run);
  }

  @Guard(Permission.SYNC_USER)
  @Mutation(() => SyncUserResultObject, {
    description:
      'Sync one user by username and wait for the result (TIMEOUT with `runId` if it takes too long).',
  })
  async syncUser(
    @Arg('directoryId', () => ID) directoryId: string,
    @Arg('username', () => String) username: string,
    @Arg('dryRun', () => Boolean, {
      nullable: true,
      defaultValue: false,
      description:
        'Plan only: the outcome and `run.changes` say what the sync would do; nothing changes.',
    })
    dryRun: boolean | null,
  ): Promise<SyncUserResultObject> {
    try {
      validateUsername(username);
    } catch (err) {
      if (err instanceof InvalidInputError) badInput(err);
      throw err;
    }
    const started = await this.s.runs.startRun({
      directoryId,
      mode: 'USER',
      trigger: 'MANUAL',
      username,
      dryRun: dryRun ?? false,
    });
    const run = await this.wait(started);
    const outcome = finalOutcome(run, run.userOutcome, run.userId);
    const hasUser = outcome !== 'FAILED' && outcome !== 'NOT_FOUND' && run.userId;
    return { outcome, run: toRunNode(run), user: hasUser ? { id: run.userId! } : null };
  }

  @Guard(Permission.SYNC_RUN)
  @Mutation(() => SyncAdminResultObject, {
    description:
      'Sync one administrator by e-mail and wait for the result (TIMEOUT with `runId` if it takes too long). NOT_FOUND: the e-mail is neither an administrator of the directory nor in its role groups; nothing changed.',
  })
  async syncAdmin(
    @Arg('directoryId', () => ID) directoryId: string,
    @Arg('email', () => String) email: string,
  ): Promise<SyncAdminResultObject> {
    let checked: string;
    try {
      checked = validateEmail(email);
    } catch (err) {
      if (err instanceof InvalidInputError) badInput(err);
      throw err;
    }
    await this.checkAdminSync(directoryId);
    const started = await this.s.runs.startRun({
      directoryId,
      mode: 'ADMIN',
      trigger: 'MANUAL',
      email: checked,
    });
    const run = await this.wait(started);
    const outcome = finalOutcome(run, run.adminOutcome, run.adminId);
    const hasAdmin = outcome !== 'FAILED' && outcome !== 'NOT_FOUND' && run.adminId;
    return { outcome, run: toRunNode(run), admin: hasAdmin ? { id: run.adminId! } : null };
  }

  /**
   * The run once final, or TIMEOUT (with its id) after the syncUser/syncAdmin timeout. A run no
   * connector can take (none of its kind has reported in for SYNC_NO_CONNECTOR_SECONDS) fails
   * with NO_CONNECTOR at once rather than after the wait.
   */
  private async wait(started: Run): Promise<Run> {
    const runId = started.id;
    if (started.status === 'QUEUED') await this.s.runs.sweepNoConnector(runId);
    const timeoutMs = this.s.config.syncUserTimeoutSeconds * 1000;
    const run = await this.s.runs.waitForFinal(runId, timeoutMs);
    if (!run) {
      throw apiError(
        ApiErrorCode.TIMEOUT,
        `run ${runId} did not finish within ${this.s.config.syncUserTimeoutSeconds} s; follow it with run(id)`,
        { runId },
      );
    }
    return run;
  }

  /**
   * ADMIN runs need admin role groups, and never come from SCIM sources (which push their users
   * and have no groups to take roles from).
   */
  private async checkAdminSync(directoryId: string): Promise<void> {
    const dir = await this.s.directories.getOrFail(this.s.orm.em.fork(), directoryId);
    if (dir.kind === 'SCIM') {
      throw apiError(
        ApiErrorCode.BAD_USER_INPUT,
        `directory ${directoryId} is a SCIM source; administrators are never synced from SCIM`,
        { field: 'directoryId' },
      );
    }
    if (dir.adminRoleGroups.length === 0) {
      throw apiError(
        ApiErrorCode.BAD_USER_INPUT,
        `directory ${directoryId} has no admin role groups; set adminRoles to sync administrators`,
        { field: 'directoryId' },
      );
    }
  }

  @Guard(Permission.RUN_APPROVE)
  @Mutation(() => SyncRunObject, {
    description:
      "Approve a BLOCKED run: identity removes exactly the removals it held back (minus anyone a later run has observed again since) and the run becomes COMPLETED with decision APPROVE. RUN_NOT_BLOCKED when the run is not blocked (never was, or already decided), RUN_SUPERSEDED when a later run that read the source again made it stale, or the directory's scope settings (server, bases, filter, selected groups, mapping, role groups) changed after it was queued.",
  })
  async approveRun(
    @Arg('runId', () => ID) runId: string,
    @Ctx() ctx: SyncContext,
  ): Promise<SyncRunObject> {
    return toRunNode(await this.s.runs.decide(runId, 'APPROVE', actorOf(ctx)));
  }

  @Guard(Permission.RUN_APPROVE)
  @Mutation(() => SyncRunObject, {
    description:
      'Reject a BLOCKED run: its removals are discarded (nobody is removed) and the run becomes REJECTED with decision REJECT. Errors as approveRun.',
  })
  async rejectRun(
    @Arg('runId', () => ID) runId: string,
    @Ctx() ctx: SyncContext,
  ): Promise<SyncRunObject> {
    return toRunNode(await this.s.runs.decide(runId, 'REJECT', actorOf(ctx)));
  }

  @FieldResolver(() => SyncRunObject, {
    nullable: true,
    description: 'REJECTED runs without a decision: the later FULL run that superseded this one.',
  })
  async supersededBy(
    @Root() run: SyncRunObject,
    @Ctx() ctx: SyncContext,
  ): Promise<SyncRunObject | null> {
    if (!run.supersededById) return null;
    const later = await this.s.runs.get(run.supersededById, ctx.em);
    return later ? toRunNode(later) : null;
  }

  @FieldResolver(() => DirectoryObject)
  async directory(@Root() run: SyncRunObject, @Ctx() ctx: SyncContext): Promise<Directory> {
    return this.s.directories.getOrFail(ctx.em, run.directoryId);
  }

  @FieldResolver(() => ObjectErrorConnection, {
    description: 'Per-object errors, in the order reported.',
  })
  async errors(
    @Root() run: SyncRunObject,
    @Arg('first', () => Int, { nullable: true, defaultValue: 50 }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null | undefined,
    @Ctx() ctx: SyncContext,
  ): Promise<Connection<ObjectErrorObject>> {
    return paginate(
      ctx.em,
      RunError,
      { runId: run.id },
      { first: first ?? DEFAULT_ERRORS_FIRST, after, orderBy: { updateSeq: 'asc', idx: 'asc' } },
      (e) => ({
        externalId: e.externalId,
        sourceLocator: e.sourceLocator,
        code: e.code,
        message: e.message,
      }),
    );
  }
}

/** Who made a decision, for the run's record and its events: the principal's id, no secret. */
function actorOf(ctx: SyncContext): string {
  return ctx.principal?.id ?? '';
}

/** The outcome a single-object run ended with; FAILED unless it completed. */
function finalOutcome(run: Run, outcome: UserOutcome | null, id: string | null): UserOutcome {
  if (run.status !== 'COMPLETED') return 'FAILED';
  return outcome ?? (id ? 'UNCHANGED' : 'NOT_FOUND');
}
