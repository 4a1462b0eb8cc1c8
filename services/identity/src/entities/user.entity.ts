import { EntitySchema } from '@mikro-orm/core';
import { GraphQLDateTimeISO } from 'graphql-scalars';
import { Directive, Field, ID, ObjectType, registerEnumType } from 'type-graphql';

/** A user's lifecycle state. The enum values are what the `users.status` column stores. */
export enum UserStatus {
  ACTIVE = 'active',
  /** Disabled in the source; re-enabled by the source. */
  DISABLED = 'disabled',
  /** Set by an operator; survives syncs. */
  BYPASS = 'bypass',
  /** Removed from the source (or out of scope); restorable until `purgeAfter`. */
  PENDING_DELETION = 'pending_deletion',
}

registerEnumType(UserStatus, {
  name: 'UserStatus',
  description: 'Lifecycle state of a user.',
  valuesConfig: {
    DISABLED: { description: 'Disabled in the source directory.' },
    BYPASS: { description: 'Set by an operator; directory syncs do not change it.' },
    PENDING_DELETION: { description: 'Gone from the source; restorable until purgeAfter.' },
  },
});

/** Why a user is in pending deletion. The values are what `users.removal_reason` stores. */
export enum RemovalReason {
  /** A delta sync said the entry was deleted in the source. */
  DELETED = 'deleted',
  /** A delta sync said the user is in none of the selected groups any more. */
  OUT_OF_SCOPE = 'out_of_scope',
  /** A full sync (or a single-user sync) did not find the user in scope. */
  NOT_OBSERVED = 'not_observed',
  /** The directory was deleted. */
  DIRECTORY_DELETED = 'directory_deleted',
}

registerEnumType(RemovalReason, {
  name: 'RemovalReason',
  description: 'Why a user is in pending deletion.',
  valuesConfig: {
    DELETED: { description: 'A delta sync reported the entry deleted in the source.' },
    OUT_OF_SCOPE: { description: 'A delta sync reported it in none of the selected groups.' },
    NOT_OBSERVED: {
      description: 'A full or single-user sync did not find it in scope (deleted or out of scope).',
    },
    DIRECTORY_DELETED: { description: 'Its directory was deleted.' },
  },
});

/**
 * A user imported from a directory, or created through the API (a manual user: no directory, no
 * external id, until a sync that brings the same username claims it). A synced user's identity
 * is `(directoryId, externalId)` and its synced fields are read-only through the API. The row is
 * the MikroORM entity and the GraphQL type at once; fields computed from other tables are
 * resolved in `user.resolver.ts`.
 */
@ObjectType('User', {
  description:
    'A user imported from a directory, or created by hand (manual). Synced fields are read-only.',
})
@Directive('@key(fields: "id")')
export class User {
  @Field(() => ID)
  id!: string;

  @Field(() => ID, { nullable: true, description: 'The source directory; null for manual users.' })
  directoryId!: string | null;

  @Field(() => String, {
    nullable: true,
    description: "The source's immutable id (OpenLDAP entryUUID, ...); null for manual users.",
  })
  externalId!: string | null;

  @Field(() => String)
  username!: string;

  /** NFC + lower-case username: what uniqueness and lookups compare. */
  usernameKey!: string;

  @Field(() => String, { nullable: true })
  displayName!: string | null;

  @Field(() => String, { nullable: true })
  firstName!: string | null;

  @Field(() => String, { nullable: true })
  lastName!: string | null;

  @Field(() => String, { nullable: true })
  email!: string | null;

  @Field(() => UserStatus)
  status!: UserStatus;

  /** The status to return to when a pending deletion is undone. */
  previousStatus!: UserStatus | null;

  @Field(() => Boolean, {
    description:
      'Set by an operator (setUserBypass); survives syncs. The status is BYPASS while the user is neither disabled nor pending deletion.',
  })
  bypass!: boolean;

  customAttributes!: Record<string, string>;

  @Field(() => String, {
    nullable: true,
    description: 'Where the record lives in the source (an LDAP DN), for operators.',
  })
  sourceLocator!: string | null;

  /** Hash of the normalised source record; an observation with the same hash writes nothing. */
  contentHash!: string | null;

  @Field(() => GraphQLDateTimeISO)
  createdAt!: Date;

  @Field(() => GraphQLDateTimeISO)
  updatedAt!: Date;

  /** When a sync last wrote this row (created, changed or restored); creation for manual users. */
  syncedAt!: Date;

  @Field(() => GraphQLDateTimeISO, { nullable: true })
  pendingDeletionAt!: Date | null;

  @Field(() => RemovalReason, {
    nullable: true,
    description: 'Why the user is in pending deletion; null otherwise.',
  })
  removalReason!: RemovalReason | null;

  @Field(() => GraphQLDateTimeISO, {
    nullable: true,
    description: 'When a pending deletion becomes final.',
  })
  purgeAfter!: Date | null;
}

export const UserSchema = new EntitySchema<User>({
  class: User,
  tableName: 'users',
  properties: {
    id: { type: 'uuid', primary: true },
    directoryId: { type: 'text', nullable: true },
    externalId: { type: 'text', nullable: true },
    username: { type: 'text' },
    usernameKey: { type: 'text' },
    displayName: { type: 'text', nullable: true },
    firstName: { type: 'text', nullable: true },
    lastName: { type: 'text', nullable: true },
    email: { type: 'text', nullable: true },
    status: { type: 'text' },
    previousStatus: { type: 'text', nullable: true },
    bypass: { type: 'boolean' },
    customAttributes: { type: 'json' },
    sourceLocator: { type: 'text', nullable: true },
    contentHash: { type: 'text', nullable: true },
    createdAt: { type: 'datetime', columnType: 'timestamptz' },
    updatedAt: { type: 'datetime', columnType: 'timestamptz' },
    syncedAt: { type: 'datetime', columnType: 'timestamptz' },
    pendingDeletionAt: { type: 'datetime', columnType: 'timestamptz', nullable: true },
    removalReason: { type: 'text', nullable: true },
    purgeAfter: { type: 'datetime', columnType: 'timestamptz', nullable: true },
  },
});
