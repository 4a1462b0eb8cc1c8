import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { Permission } from '@dirsync/kit/auth';
import { Guard } from '@dirsync/kit/graphql';
import { RunStatusEnum, SyncModeEnum } from '../graphql/enums.js';
import { DEFAULT_FIRST, paginate, type Connection } from '../graphql/pagination.js';
import { Run, type RunMode, type RunStatus } from '../run/run.entity.js';
import { SyncRunConnection, SyncRunObject, toRunNode } from '../run/run.type.js';
import type { SyncContext, SyncServices } from '../services.js';
import { Directory } from './directory.entity.js';
import { toConnectorNode } from '../connector/connector.resolver.js';
import { DirectoryConnectorObject } from '../connector/connector.type.js';
import { connectorKindOf } from '../connector/presence.js';
import {
  AdminRoleGroupsObject,
  CreateDirectoryInput,
  DeletionThresholdObject,
  DirectoryConnection,
  DirectoryObject,
  EntraSettingsObject,
  LdapSettingsObject,
  UpdateDirectoryInput,
} from './directory.type.js';

@Resolver(() => DirectoryObject)
export class DirectoryResolver {
  constructor(private readonly s: SyncServices) {}

  @Guard(Permission.READ)
  @Query(() => DirectoryConnection, { description: 'Directories by name.' })
  async directories(
    @Arg('first', () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null | undefined,
    @Ctx() ctx: SyncContext,
  ): Promise<Connection<Directory>> {
    return paginate(
      ctx.em,
      Directory,
      {},
      { first: first ?? DEFAULT_FIRST, after, orderBy: { name: 'asc', id: 'asc' } },
      (d) => d,
    );
  }

  @Guard(Permission.READ)
  @Query(() => DirectoryObject, { nullable: true })
  async directory(
    @Arg('id', () => ID) id: string,
    @Ctx() ctx: SyncContext,
  ): Promise<Directory | null> {
    return this.s.directories.get(ctx.em, id);
  }

  @Guard(Permission.DIRECTORY_MANAGE)
  @Mutation(() => DirectoryObject)
  async createDirectory(
    @Arg('input', () => CreateDirectoryInput) input: CreateDirectoryInput,
  ): Promise<Directory> {
    return this.s.directories.create(input);
  }

  @Guard(Permission.DIRECTORY_MANAGE)
  @Mutation(() => DirectoryObject, {
    description:
      'Change a directory; `bindPassword`, `clientSecret` or `clientCertificate` replaces the stored credential when given.',
  })
  async updateDirectory(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateDirectoryInput) input: UpdateDirectoryInput,
  ): Promise<Directory> {
    return this.s.directories.update(id, input);
  }

  @Guard(Permission.DIRECTORY_MANAGE)
  @Mutation(() => Boolean, {
    description:
      'Delete a directory with its runs; its users move to pending deletion. RUN_IN_PROGRESS while a run is active.',
  })
  async deleteDirectory(@Arg('id', () => ID) id: string): Promise<boolean> {
    await this.s.directories.delete(id);
    return true;
  }

  @FieldResolver(() => DeletionThresholdObject)
  deletionThreshold(@Root() dir: Directory): DeletionThresholdObject {
    return { maxCount: dir.deletionMaxCount, maxPercent: dir.deletionMaxPercent };
  }

  @FieldResolver(() => LdapSettingsObject, {
    nullable: true,
    description: 'LDAP directories only.',
  })
  ldap(@Root() dir: Directory): LdapSettingsObject | null {
    return dir.kind === 'LDAP' ? (dir.settings as LdapSettingsObject) : null;
  }

  @FieldResolver(() => EntraSettingsObject, {
    nullable: true,
    description: 'Entra ID directories only.',
  })
  entra(@Root() dir: Directory): EntraSettingsObject | null {
    return dir.kind === 'ENTRA' ? (dir.settings as EntraSettingsObject) : null;
  }

  @FieldResolver(() => [AdminRoleGroupsObject], {
    description:
      'Admin sync: role → source groups, most privileged role first. Empty: administrators are not synced.',
  })
  adminRoles(@Root() dir: Directory): AdminRoleGroupsObject[] {
    return dir.adminRoleGroups;
  }

  @FieldResolver(() => Boolean, {
    description:
      'Whether the credential (bind password, client secret or certificate) is stored; it is never returned.',
  })
  hasBindPassword(@Root() dir: Directory): boolean {
    return Boolean(dir.bindPasswordEnc);
  }

  @FieldResolver(() => DirectoryConnectorObject, {
    description:
      "Is a connector for this directory's kind running now (its processes, alive or stale)?",
  })
  async connector(@Root() dir: Directory): Promise<DirectoryConnectorObject> {
    const kind = connectorKindOf(dir.kind);
    const instances = await this.s.presence.list(kind);
    return {
      kind,
      alive: instances.some((c) => c.state === 'ALIVE'),
      lastSeenAt: instances[0]?.lastSeenAt ?? null,
      instances: instances.map(toConnectorNode),
    };
  }

  @FieldResolver(() => SyncRunObject, { nullable: true })
  async lastRun(@Root() dir: Directory, @Ctx() ctx: SyncContext): Promise<SyncRunObject | null> {
    if (!dir.lastRunId) return null;
    const run = await this.s.runs.get(dir.lastRunId, ctx.em);
    return run ? toRunNode(run) : null;
  }

  @FieldResolver(() => SyncRunConnection, {
    description:
      'Newest first. `mode` and `dryRun` narrow them: `runs(first: 1, mode: [FULL, DELTA], dryRun: false)` is the last user sync, `mode: [ADMIN]` the last admin sync (lastRun is whichever came last, a USER run too).',
  })
  async runs(
    @Root() dir: Directory,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null | undefined,
    @Arg('status', () => [RunStatusEnum], { nullable: true })
    status: RunStatus[] | null | undefined,
    @Arg('mode', () => [SyncModeEnum], { nullable: true })
    mode: RunMode[] | null | undefined,
    @Arg('dryRun', () => Boolean, { nullable: true }) dryRun: boolean | null | undefined,
    @Ctx() ctx: SyncContext,
  ): Promise<Connection<SyncRunObject>> {
    const where = {
      directoryId: dir.id,
      ...(status?.length ? { status: { $in: status } } : {}),
      ...(mode?.length ? { mode: { $in: mode } } : {}),
      ...(dryRun === null || dryRun === undefined ? {} : { dryRun }),
    };
    return paginate(
      ctx.em,
      Run,
      where,
      { first: first ?? DEFAULT_FIRST, after, orderBy: { queuedAt: 'desc', id: 'desc' } },
      toRunNode,
    );
  }
}
