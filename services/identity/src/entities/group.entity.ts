import { EntitySchema } from '@mikro-orm/core';
import { GraphQLDateTimeISO } from 'graphql-scalars';
import { Directive, Field, ID, ObjectType } from 'type-graphql';

/** A group imported from a directory; identity is `(directoryId, externalId)`. */
@ObjectType('Group', { description: 'A group imported from a directory. Read-only.' })
@Directive('@key(fields: "id")')
export class Group {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  directoryId!: string;

  @Field(() => String)
  externalId!: string;

  @Field(() => String)
  name!: string;

  /** NFC + lower-case name: the sort key. */
  nameKey!: string;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => String, { nullable: true })
  sourceLocator!: string | null;

  contentHash!: string;

  @Field(() => GraphQLDateTimeISO)
  createdAt!: Date;

  @Field(() => GraphQLDateTimeISO)
  updatedAt!: Date;
}

export const GroupSchema = new EntitySchema<Group>({
  class: Group,
  tableName: 'groups',
  properties: {
    id: { type: 'uuid', primary: true },
    directoryId: { type: 'text' },
    externalId: { type: 'text' },
    name: { type: 'text' },
    nameKey: { type: 'text' },
    description: { type: 'text', nullable: true },
    sourceLocator: { type: 'text', nullable: true },
    contentHash: { type: 'text' },
    createdAt: { type: 'datetime', columnType: 'timestamptz' },
    updatedAt: { type: 'datetime', columnType: 'timestamptz' },
  },
});

/** Group membership (transitive, as the source reports it). */
export class Membership {
  groupId!: string;
  userId!: string;
}

export const MembershipSchema = new EntitySchema<Membership>({
  class: Membership,
  tableName: 'memberships',
  properties: {
    groupId: { type: 'uuid', primary: true },
    userId: { type: 'uuid', primary: true },
  },
});
