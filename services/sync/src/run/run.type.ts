import { Directive, Field, ID, Int, ObjectType } from 'type-graphql';
import { GraphQLDateTimeISO } from 'graphql-scalars';
import { connectionTypes } from '../graphql/pagination.js';
import {
  FullReadReasonEnum,
  RunDecisionEnum,
  RunStatusEnum,
  RunTriggerEnum,
  SyncAdminOutcomeEnum,
  SyncModeEnum,
  SyncUserOutcomeEnum,
} from '../graphql/enums.js';
import {
  COUNT_FIELDS,
  type CountField,
  type FullReadReason,
  type Run,
  type RunDecisionName,
  type RunMode,
  type RunStatus,
  type RunTrigger,
  type UserOutcome,
} from './run.entity.js';

@ObjectType('RunCounts', { description: 'Cumulative counts of a run as identity committed them.' })
export class RunCountsObject {
  @Field(() => Int) seen!: number;
  @Field(() => Int) created!: number;
  @Field(() => Int) updated!: number;
  @Field(() => Int) unchanged!: number;
  @Field(() => Int) disabled!: number;
  @Field(() => Int) pendingDeletion!: number;
  @Field(() => Int) restored!: number;
  @Field(() => Int) errors!: number;
  @Field(() => Int) groupsSeen!: number;
  @Field(() => Int) groupsCreated!: number;
  @Field(() => Int) groupsUpdated!: number;
  @Field(() => Int) groupsRemoved!: number;
  @Field(() => Int) membershipsAdded!: number;
  @Field(() => Int) membershipsRemoved!: number;
  @Field(() => Int, {
    description:
      'Entries (objects) the connector read from the source: what the run cost. A DELTA run reads only what changed.',
  })
  entriesRead!: number;
  @Field(() => Int, { description: 'ADMIN runs: administrators observed.' }) adminsSeen!: number;
  @Field(() => Int) adminsCreated!: number;
  @Field(() => Int) adminsUpdated!: number;
  @Field(() => Int) adminsUnchanged!: number;
  @Field(() => Int) adminsDisabled!: number;
  @Field(() => Int) adminsPendingDeletion!: number;
  @Field(() => Int) adminsRestored!: number;
  @Field(() => Int, {
    description: 'Users the source enabled again (back to their status before: ACTIVE or BYPASS).',
  })
  enabled!: number;
  @Field(() => Int, {
    description:
      'Records not imported because another directory’s user holds the username (USERNAME_CONFLICT errors; conflict policy REPORT).',
  })
  conflicts!: number;
  @Field(() => Int, {
    description:
      'Users the run took over: manual users with the same username, and (conflict policy TAKE_OVER) users of another directory.',
  })
  claimed!: number;
}

@ObjectType('RemovalThreshold', {
  description: 'The deletion threshold a run was measured against (0 = that limit off).',
})
export class RemovalThresholdObject {
  @Field(() => Int) maxCount!: number;
  @Field(() => Int) maxPercent!: number;
}

@ObjectType('RemovalPlan', {
  description:
    'What a BLOCKED run held back: its removals, counted exactly, and what they were measured against.',
})
export class RemovalPlanObject {
  @Field(() => Int, { description: 'Users it would move to PENDING_DELETION.' }) users!: number;
  @Field(() => Int, { description: 'Group memberships it would remove (theirs included).' })
  memberships!: number;
  @Field(() => Int, { description: 'Groups it would remove.' }) groups!: number;
  @Field(() => Int, { description: "The directory's users before the run's removals." })
  baseUsers!: number;
  @Field(() => Int, { description: "The directory's memberships before the run's removals." })
  baseMemberships!: number;
  @Field(() => Int, {
    description:
      'ADMIN runs: synced administrators it would move to PENDING_DELETION (admins(filter: { heldByRunId }) lists them).',
  })
  admins!: number;
  @Field(() => Int, {
    description: "ADMIN runs: the directory's synced administrators before the run's removals.",
  })
  baseAdmins!: number;
  @Field(() => String, {
    description: 'Why, e.g. "would remove 950 of 1000 users (95 %); the deletion threshold is …".',
  })
  reason!: string;
  @Field(() => RemovalThresholdObject) threshold!: RemovalThresholdObject;
}

@ObjectType('ObjectError', {
  description: 'A record a run could not (fully) import; the run went on.',
})
export class ObjectErrorObject {
  @Field(() => String)
  externalId!: string;

  @Field(() => String, { description: 'Where the record lives in the source (LDAP DN).' })
  sourceLocator!: string;

  @Field(() => String, { description: 'An ErrorCode name, e.g. MISSING_USERNAME.' })
  code!: string;

  @Field(() => String)
  message!: string;
}

export const { ConnectionType: ObjectErrorConnection } = connectionTypes(
  'ObjectError',
  ObjectErrorObject,
);

@ObjectType('RunConnector', {
  description:
    'The connector process that works (or worked) on a run, as its heartbeats said (connector liveness).',
})
export class RunConnectorObject {
  @Field(() => String, { description: 'Connector kind, e.g. "ldap".' })
  kind!: string;

  @Field(() => String, {
    description: 'The process (CONNECTOR_INSTANCE_ID, default host:pid:random).',
  })
  instance!: string;

  @Field(() => GraphQLDateTimeISO, { description: 'Its last heartbeat for the run.' })
  lastHeartbeatAt!: Date;

  @Field(() => GraphQLDateTimeISO, {
    nullable: true,
    description:
      "When it reported the run's terminal event published (its part done; the run then waits for identity).",
  })
  publishedAt!: Date | null;
}

@ObjectType('SyncRun', { description: 'One synchronisation of a directory.' })
@Directive('@key(fields: "id")')
export class SyncRunObject {
  @Field(() => ID)
  id!: string;

  directoryId!: string;

  @Field(() => SyncModeEnum, { description: 'The mode asked for.' })
  mode!: RunMode;

  @Field(() => SyncModeEnum, {
    nullable: true,
    description:
      'Runs that read to their end (COMPLETED, BLOCKED, and a blocked run once decided or superseded): how the connector read. FULL for a DELTA run it served with a full read (see fullReadReason), which then removed what it did not see, like a FULL run.',
  })
  readMode!: RunMode | null;

  @Field(() => FullReadReasonEnum, {
    nullable: true,
    description: 'DELTA runs read in full (COMPLETED or BLOCKED): why.',
  })
  fullReadReason!: FullReadReason | null;

  @Field(() => RunTriggerEnum)
  trigger!: RunTrigger;

  @Field(() => RunStatusEnum)
  status!: RunStatus;

  @Field(() => String, { nullable: true, description: 'USER runs: the requested username.' })
  username!: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'ADMIN runs for one administrator: the requested e-mail (null: every one).',
  })
  email!: string | null;

  @Field(() => Boolean, {
    description:
      'A dry run: it read the source and planned (counts, `changes`, `removals` when a real run would be BLOCKED) but changed no user, group or membership, and moved no cursor.',
  })
  dryRun!: boolean;

  @Field(() => RunCountsObject)
  counts!: RunCountsObject;

  @Field(() => String, { nullable: true, description: 'FAILED runs: an ErrorCode name.' })
  errorCode!: string | null;

  @Field(() => String, { nullable: true })
  errorMessage!: string | null;

  @Field(() => GraphQLDateTimeISO)
  queuedAt!: Date;

  @Field(() => GraphQLDateTimeISO, { nullable: true })
  startedAt!: Date | null;

  @Field(() => GraphQLDateTimeISO, { nullable: true })
  finishedAt!: Date | null;

  @Field(() => Int, { nullable: true, description: 'From start (or queueing) to finish.' })
  durationMs!: number | null;

  @Field(() => RemovalPlanObject, {
    nullable: true,
    description:
      'Runs that were BLOCKED (whatever became of them): the removals the deletion threshold held back. Dry runs: set when a real run would have been BLOCKED.',
  })
  removals!: RemovalPlanObject | null;

  @Field(() => RunDecisionEnum, {
    nullable: true,
    description: 'A blocked run an operator approved (now COMPLETED) or rejected (REJECTED).',
  })
  decision!: RunDecisionName | null;

  @Field(() => String, {
    nullable: true,
    description: 'Who decided (an API key or OIDC subject id).',
  })
  decidedBy!: string | null;

  @Field(() => GraphQLDateTimeISO, { nullable: true })
  decidedAt!: Date | null;

  @Field(() => RunConnectorObject, {
    nullable: true,
    description:
      'The connector process on the run (null until one reports it). A run whose connector stops reporting fails with CONNECTOR_LOST.',
  })
  connector!: RunConnectorObject | null;

  supersededById!: string | null;

  userOutcome!: UserOutcome | null;
  userId!: string | null;
  adminOutcome!: UserOutcome | null;
  adminId!: string | null;
}

export const { ConnectionType: SyncRunConnection } = connectionTypes('SyncRun', SyncRunObject);

/** The identity subgraph's user; this subgraph only refers to it by id. */
@ObjectType('User')
@Directive('@key(fields: "id", resolvable: false)')
export class UserReference {
  @Field(() => ID)
  id!: string;
}

/** The identity subgraph's administrator; this subgraph only refers to it by id. */
@ObjectType('Admin')
@Directive('@key(fields: "id", resolvable: false)')
export class AdminReference {
  @Field(() => ID)
  id!: string;
}

@ObjectType('SyncAdminResult')
export class SyncAdminResultObject {
  @Field(() => SyncAdminOutcomeEnum)
  outcome!: UserOutcome;

  @Field(() => SyncRunObject)
  run!: SyncRunObject;

  @Field(() => AdminReference, {
    nullable: true,
    description:
      'The administrator the run created, updated, restored or moved to pending deletion (resolved by the identity subgraph).',
  })
  admin!: AdminReference | null;
}

@ObjectType('SyncUserResult')
export class SyncUserResultObject {
  @Field(() => SyncUserOutcomeEnum)
  outcome!: UserOutcome;

  @Field(() => SyncRunObject)
  run!: SyncRunObject;

  @Field(() => UserReference, {
    nullable: true,
    description: 'The user the run created or updated (resolved by the identity subgraph).',
  })
  user!: UserReference | null;
}

/** The GraphQL view of a run row. */
export function toRunNode(run: Run): SyncRunObject {
  const counts = Object.fromEntries(COUNT_FIELDS.map((f) => [f, run[f]])) as Record<
    CountField,
    number
  >;
  const start = run.startedAt ?? run.queuedAt;
  return {
    id: run.id,
    directoryId: run.directoryId,
    mode: run.mode,
    readMode: run.readMode,
    fullReadReason: run.fullReadReason,
    trigger: run.trigger,
    status: run.status,
    username: run.username ? run.username.toString('utf8') : null,
    email: run.email,
    dryRun: run.dryRun,
    counts,
    errorCode: run.errorCode,
    errorMessage: run.errorMessage,
    queuedAt: run.queuedAt,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    durationMs: run.finishedAt ? Math.max(0, run.finishedAt.getTime() - start.getTime()) : null,
    removals: run.removals
      ? {
          users: run.removals.users,
          memberships: run.removals.memberships,
          groups: run.removals.groups,
          baseUsers: run.removals.baseUsers,
          baseMemberships: run.removals.baseMemberships,
          admins: run.removals.admins ?? 0,
          baseAdmins: run.removals.baseAdmins ?? 0,
          reason: run.removals.reason,
          threshold: { maxCount: run.removals.maxCount, maxPercent: run.removals.maxPercent },
        }
      : null,
    decision: run.decision,
    decidedBy: run.decidedBy,
    decidedAt: run.decidedAt,
    connector:
      run.heartbeatAt && run.connectorKind && run.connectorInstance
        ? {
            kind: run.connectorKind,
            instance: run.connectorInstance,
            lastHeartbeatAt: run.heartbeatAt,
            publishedAt: run.connectorPublishedAt,
          }
        : null,
    supersededById: run.supersededBy,
    userOutcome: run.userOutcome,
    userId: run.userId,
    adminOutcome: run.adminOutcome,
    adminId: run.adminId,
  };
}
