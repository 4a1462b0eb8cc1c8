import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { GraphQLDateTimeISO } from 'graphql-scalars';
import type { ConnectorState } from './presence.js';

export const ConnectorStateEnum = { ALIVE: 'ALIVE', STALE: 'STALE' } as const;
registerEnumType(ConnectorStateEnum, {
  name: 'ConnectorState',
  description: 'Whether a connector process is heard from.',
  valuesConfig: {
    ALIVE: { description: 'It sent a heartbeat within three of its intervals.' },
    STALE: {
      description:
        'No heartbeat for three of its intervals: killed, hung or cut off from NATS (forgotten after an hour).',
    },
  },
});

@ObjectType('Connector', {
  description:
    'A connector process that reports in (connectors heartbeat every CONNECTOR_HEARTBEAT_SECONDS, also while idle). One that stops gracefully is gone at once.',
})
export class ConnectorObject {
  @Field(() => String, { description: 'Connector kind, e.g. "ldap" or "entra".' })
  kind!: string;

  @Field(() => String, {
    description: 'The process (CONNECTOR_INSTANCE_ID, default host:pid:random).',
  })
  instance!: string;

  @Field(() => String, { nullable: true, description: 'Its version, when it says.' })
  version!: string | null;

  @Field(() => GraphQLDateTimeISO, {
    nullable: true,
    description: 'When it started taking jobs (as it says).',
  })
  startedAt!: Date | null;

  @Field(() => GraphQLDateTimeISO, { description: 'Its first heartbeat this sync service saw.' })
  firstSeenAt!: Date;

  @Field(() => GraphQLDateTimeISO, { description: 'Its last heartbeat.' })
  lastSeenAt!: Date;

  @Field(() => Int, { description: 'Its heartbeat interval, in seconds.' })
  heartbeatSeconds!: number;

  @Field(() => ConnectorStateEnum)
  state!: ConnectorState;

  @Field(() => [ID], {
    description: 'The active runs it is working on (reported, terminal event not yet published).',
  })
  runIds!: string[];
}

@ObjectType('DirectoryConnector', {
  description:
    "Whether a connector process of the directory's kind is running now: without one, its runs fail with NO_CONNECTOR after SYNC_NO_CONNECTOR_SECONDS.",
})
export class DirectoryConnectorObject {
  @Field(() => String, { description: 'The connector kind the directory needs, e.g. "entra".' })
  kind!: string;

  @Field(() => Boolean, { description: 'At least one instance of the kind is ALIVE.' })
  alive!: boolean;

  @Field(() => GraphQLDateTimeISO, {
    nullable: true,
    description: 'The last heartbeat of any instance of the kind (null: none known).',
  })
  lastSeenAt!: Date | null;

  @Field(() => [ConnectorObject], { description: 'The instances of the kind, alive or stale.' })
  instances!: ConnectorObject[];
}
