import { ArrayType, EntitySchema } from '@mikro-orm/core';
import { ADMIN_ROLES, ADMIN_ROLE_DESCRIPTION, type AdminRoleName } from '@dirsync/kit';
import { GraphQLDateTimeISO } from 'graphql-scalars';
import { Directive, Field, ID, ObjectType, registerEnumType } from 'type-graphql';

/** An administrator's lifecycle state. The values are what `admins.status` stores. */
export enum AdminStatus {
  ACTIVE = 'active',
  /** Disabled in the source (synced admins) or by an operator (manual admins). */
  DISABLED = 'disabled',
  /** In no role group any more, or gone from the source; restorable until `purgeAfter`. */
  PENDING_DELETION = 'pending_deletion',
}

registerEnumType(AdminStatus, {
  name: 'AdminStatus',
  description: 'Lifecycle state of an administrator.',
  valuesConfig: {
    DISABLED: { description: 'Disabled in the source, or (manual admins) by an operator.' },
    PENDING_DELETION: {
      description:
        'In no role group any more, or gone from the source; restorable until purgeAfter.',
    },
  },
});

/** The roles as a GraphQL enum; the sync subgraph registers the same one. */
export const AdminRoleEnum = Object.fromEntries(ADMIN_ROLES.map((r) => [r, r])) as {
  [K in AdminRoleName]: K;
};
registerEnumType(AdminRoleEnum, { name: 'AdminRole', description: ADMIN_ROLE_DESCRIPTION });

/**
 * An administrator: synced from a directory's role groups (`directoryId` set; read-only through
 * the API) or created through the API (manual; editable). Matched by e-mail, which is unique
 * across dirsync. The row is the MikroORM entity and the GraphQL type at once.
 */
@ObjectType('Admin', {
  description:
    'An administrator. Synced administrators come from role groups and are read-only; manual ones are editable.',
})
@Directive('@key(fields: "id")')
export class Admin {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  email!: string;

  /**
   * `emailKey()` of the e-mail (full case folding): what matching and uniqueness compare; key,
   * U+0001, id for an administrator whose e-mail another holds (Admin.emailConflict).
   */
  emailKey!: string;

  @Field(() => AdminRoleEnum, { description: 'The most privileged of `roles`.' })
  role!: AdminRoleName;

  @Field(() => [AdminRoleEnum], {
    description:
      "Every role the administrator's role groups give, most privileged first (manual: the role).",
  })
  roles!: AdminRoleName[];

  @Field(() => String, { nullable: true })
  firstName!: string | null;

  @Field(() => String, { nullable: true })
  lastName!: string | null;

  @Field(() => String, { nullable: true })
  displayName!: string | null;

  @Field(() => AdminStatus)
  status!: AdminStatus;

  /** The status to return to when a pending deletion is undone. */
  previousStatus!: AdminStatus | null;

  /** Null for a manual administrator. */
  directoryId!: string | null;

  @Field(() => String, {
    nullable: true,
    description: "The source's immutable id of the person (null for manual administrators).",
  })
  externalId!: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'Where the person lives in the source (an LDAP DN), for operators.',
  })
  sourceLocator!: string | null;

  contentHash!: string | null;

  @Field(() => GraphQLDateTimeISO)
  createdAt!: Date;

  @Field(() => GraphQLDateTimeISO)
  updatedAt!: Date;

  @Field(() => GraphQLDateTimeISO, {
    nullable: true,
    description: 'When an admin sync last observed this administrator (null for manual ones).',
  })
  syncedAt!: Date | null;

  @Field(() => GraphQLDateTimeISO, { nullable: true })
  pendingDeletionAt!: Date | null;

  @Field(() => GraphQLDateTimeISO, {
    nullable: true,
    description: 'When a pending deletion becomes final.',
  })
  purgeAfter!: Date | null;
}

export const AdminSchema = new EntitySchema<Admin>({
  class: Admin,
  tableName: 'admins',
  properties: {
    id: { type: 'uuid', primary: true },
    email: { type: 'text' },
    emailKey: { type: 'text' },
    role: { type: 'text' },
    roles: { type: ArrayType, columnType: 'text[]' },
    firstName: { type: 'text', nullable: true },
    lastName: { type: 'text', nullable: true },
    displayName: { type: 'text', nullable: true },
    status: { type: 'text' },
    previousStatus: { type: 'text', nullable: true },
    directoryId: { type: 'text', nullable: true },
    externalId: { type: 'text', nullable: true },
    sourceLocator: { type: 'text', nullable: true },
    contentHash: { type: 'text', nullable: true },
    createdAt: { type: 'datetime', columnType: 'timestamptz' },
    updatedAt: { type: 'datetime', columnType: 'timestamptz' },
    syncedAt: { type: 'datetime', columnType: 'timestamptz', nullable: true },
    pendingDeletionAt: { type: 'datetime', columnType: 'timestamptz', nullable: true },
    purgeAfter: { type: 'datetime', columnType: 'timestamptz', nullable: true },
  },
});
