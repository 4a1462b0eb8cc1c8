import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { GraphQLDateTimeISO } from 'graphql-scalars';
import { DirectoryKindEnum } from '../graphql/enums.js';
import type { DirectoryKind } from './directory.entity.js';
import {
  AdminRoleGroupsInput,
  AttributeMappingInput,
  EntraSettingsUpdateInput,
  LdapSettingsUpdateInput,
} from './directory.type.js';

/** The steps of a connection test, as `CheckName` in connection.proto (without the prefix). */
export const CHECK_NAMES = [
  'SETTINGS',
  'REACH',
  'TLS',
  'BIND',
  'BASE_DN',
  'USER_BASE_DN',
  'GROUP_BASE_DN',
  'GROUP',
  'SEARCH',
  'TOKEN',
  'API',
  'PERMISSION',
  'ADMIN_GROUP',
  'OTHER',
] as const;
export type CheckNameValue = (typeof CHECK_NAMES)[number];
export const CHECK_STATUSES = ['OK', 'FAILED', 'SKIPPED'] as const;
export type CheckStatusValue = (typeof CHECK_STATUSES)[number];

export const ConnectionCheckNameEnum = Object.fromEntries(CHECK_NAMES.map((v) => [v, v])) as {
  [K in CheckNameValue]: K;
};
export const ConnectionCheckStatusEnum = Object.fromEntries(CHECK_STATUSES.map((v) => [v, v])) as {
  [K in CheckStatusValue]: K;
};

registerEnumType(ConnectionCheckNameEnum, {
  name: 'ConnectionCheckName',
  description: 'A step of a connection test, in the order a sync meets them.',
  valuesConfig: {
    SETTINGS: { description: 'The settings are valid for the connector.' },
    REACH: { description: 'The host answers on its port (target: host:port).' },
    TLS: { description: 'TLS is negotiated and the certificate verifies (LDAPS or StartTLS).' },
    BIND: { description: 'LDAP: the bind DN and password are accepted (target: the bind DN).' },
    BASE_DN: { description: 'LDAP: the base DN exists.' },
    USER_BASE_DN: { description: 'LDAP: userBaseDn exists (only when set).' },
    GROUP_BASE_DN: { description: 'LDAP: groupBaseDn exists (only when set).' },
    GROUP: { description: 'A selected group exists where a sync looks for it (one per group).' },
    SEARCH: { description: 'A sample search of users in scope answers and finds users.' },
    TOKEN: { description: 'Entra: the app gets an access token with its credential.' },
    API: { description: 'Entra: Microsoft Graph answers with that token.' },
    PERMISSION: {
      description: 'Entra: the app has an application permission a sync needs (target: its name).',
    },
    ADMIN_GROUP: { description: 'An admin role group exists (one per group).' },
    OTHER: { description: 'A problem outside any step (a connector fault).' },
  },
});
registerEnumType(ConnectionCheckStatusEnum, {
  name: 'ConnectionCheckStatus',
  description:
    'SKIPPED: not tried because a step it depends on failed, or it does not apply (the message says which).',
});

@ObjectType('ConnectionCheck', { description: 'One step of a connection test.' })
export class ConnectionCheckObject {
  @Field(() => ConnectionCheckNameEnum)
  name!: CheckNameValue;

  @Field(() => String, {
    nullable: true,
    description: 'What was checked: host:port, a DN, a group id, a permission.',
  })
  target!: string | null;

  @Field(() => ConnectionCheckStatusEnum)
  status!: CheckStatusValue;

  @Field(() => String, {
    nullable: true,
    description:
      'FAILED: a stable error code (INVALID_CREDENTIALS, BASE_DN_NOT_FOUND, GROUP_NOT_FOUND, TLS_ERROR, SOURCE_UNREACHABLE, INSUFFICIENT_ACCESS, CONFIG_INVALID, …).',
  })
  code!: string | null;

  @Field(() => String, {
    description: 'What was found or what is wrong, naming the host, DN, group or permission.',
  })
  message!: string;

  @Field(() => Int)
  durationMs!: number;
}

@ObjectType('ConnectionTest', {
  description:
    "The outcome of testing a directory's connection: each step the connector took. Nothing is imported.",
})
export class ConnectionTestObject {
  @Field(() => Boolean, { description: 'True when no check FAILED.' })
  ok!: boolean;

  @Field(() => ID, { nullable: true, description: 'The saved directory tested, if any.' })
  directoryId!: string | null;

  @Field(() => DirectoryKindEnum)
  kind!: DirectoryKind;

  @Field(() => [ConnectionCheckObject], { description: 'In the order they ran.' })
  checks!: ConnectionCheckObject[];

  @Field(() => Int)
  durationMs!: number;

  @Field(() => GraphQLDateTimeISO)
  testedAt!: Date;
}

@InputType('TestDirectorySettingsInput', {
  description:
    'Settings to test before saving them. With `directoryId`, they are changes to that saved directory (absent fields, the credential included, keep their saved value); without it, a new directory (`name` and `selectedGroups` optional).',
})
export class TestDirectorySettingsInput {
  @Field(() => ID, { nullable: true })
  directoryId?: string | null;

  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => DirectoryKindEnum, {
    nullable: true,
    description: 'Without directoryId: ENTRA when only `entra` is given, else LDAP.',
  })
  kind?: DirectoryKind | null;

  @Field(() => LdapSettingsUpdateInput, { nullable: true })
  ldap?: LdapSettingsUpdateInput | null;

  @Field(() => String, {
    nullable: true,
    description:
      'LDAP bind password; with directoryId, omitted = the saved one. Never stored by a test.',
  })
  bindPassword?: string | null;

  @Field(() => EntraSettingsUpdateInput, { nullable: true })
  entra?: EntraSettingsUpdateInput | null;

  @Field(() => String, { nullable: true, description: 'Entra client secret; as bindPassword.' })
  clientSecret?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'Entra client certificate (PEM); as bindPassword.',
  })
  clientCertificate?: string | null;

  @Field(() => [String], { nullable: true })
  selectedGroups?: string[] | null;

  @Field(() => AttributeMappingInput, { nullable: true })
  mapping?: AttributeMappingInput | null;

  @Field(() => [AdminRoleGroupsInput], { nullable: true })
  adminRoles?: AdminRoleGroupsInput[] | null;
}
