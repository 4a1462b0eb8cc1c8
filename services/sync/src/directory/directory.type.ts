import { Directive, Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { GraphQLDateTimeISO } from 'graphql-scalars';
import { connectionTypes } from '../graphql/pagination.js';
import type { AdminRoleName } from '@dirsync/kit';
import { AdminRoleEnum, ConflictPolicyEnum, DirectoryKindEnum } from '../graphql/enums.js';
import type { ConflictPolicyName, DirectoryKind } from './directory.entity.js';

@ObjectType('LdapSettings', {
  description: 'Connection settings of an LDAP directory (no secrets).',
})
export class LdapSettingsObject {
  @Field(() => String)
  url!: string;

  @Field(() => String, { description: '"openldap" or "activedirectory".' })
  profile!: string;

  @Field(() => String)
  bindDn!: string;

  @Field(() => String)
  baseDn!: string;

  @Field(() => String, { nullable: true })
  userBaseDn?: string;

  @Field(() => String, { nullable: true })
  groupBaseDn?: string;

  @Field(() => String, { nullable: true })
  userFilter?: string;

  @Field(() => Boolean)
  startTls!: boolean;

  @Field(() => String, { nullable: true })
  tlsCaPem?: string;

  @Field(() => Boolean)
  tlsRejectUnauthorized!: boolean;

  @Field(() => Boolean, {
    description:
      'Active Directory: plain ldap:// without StartTLS allowed (bind password in clear).',
  })
  allowPlainLdap!: boolean;

  @Field(() => Int)
  pageSize!: number;

  @Field(() => Int)
  timeoutMs!: number;
}

@ObjectType('EntraSettings', {
  description: 'Connection settings of a Microsoft Entra ID directory (no secrets).',
})
export class EntraSettingsObject {
  @Field(() => String, { description: 'Directory (tenant) id or a verified domain.' })
  tenantId!: string;

  @Field(() => String, { description: 'Application (client) id of the app registration.' })
  clientId!: string;

  @Field(() => String, { description: '"clientSecret" or "clientCertificate".' })
  credential!: string;

  @Field(() => String, { description: '"global", "usgov", "usgovdod" or "china".' })
  cloud!: string;

  @Field(() => String, { nullable: true, description: "Overrides the cloud's login URL." })
  loginUrl?: string;

  @Field(() => String, { nullable: true, description: "Overrides the cloud's Graph URL." })
  graphUrl?: string;

  @Field(() => String, { nullable: true })
  tlsCaPem?: string;

  @Field(() => Int)
  pageSize!: number;

  @Field(() => Int)
  timeoutMs!: number;
}

@ObjectType('CustomAttributeMapping')
export class CustomAttributeMappingObject {
  @Field(() => String, { description: 'dirsync custom attribute name.' })
  name!: string;

  @Field(() => String, { description: 'Source attribute it is read from.' })
  attribute!: string;
}

@ObjectType('AttributeMapping', {
  description: 'Source attribute per dirsync field; an empty string means "not imported".',
})
export class AttributeMappingObject {
  @Field(() => String, { description: 'Cannot change once a run has completed.' })
  username!: string;

  @Field(() => [String])
  aliases!: string[];

  @Field(() => String)
  email!: string;

  @Field(() => String)
  firstName!: string;

  @Field(() => String)
  lastName!: string;

  @Field(() => String)
  displayName!: string;

  @Field(() => [String])
  phones!: string[];

  @Field(() => [CustomAttributeMappingObject])
  custom!: CustomAttributeMappingObject[];
}

@ObjectType('AdminRoleGroups', {
  description: 'The source groups whose members (transitive) are administrators with one role.',
})
export class AdminRoleGroupsObject {
  @Field(() => AdminRoleEnum)
  role!: AdminRoleName;

  @Field(() => [String], { description: 'Group DNs.' })
  groups!: string[];
}

@ObjectType('DeletionThreshold', {
  description:
    "The largest removal a FULL or DELTA run may make on its own. A run that would remove more than maxCount users, or more than maxPercent % of the directory's users — or as many of its group memberships, measured on their own against the same limits — removes nobody and ends BLOCKED until approveRun or rejectRun. 0 turns a limit off.",
})
export class DeletionThresholdObject {
  @Field(() => Int, { description: 'Default 500; 0 = no count limit.' })
  maxCount!: number;

  @Field(() => Int, { description: 'Default 20; 0 = no percentage limit.' })
  maxPercent!: number;
}

@InputType('DeletionThresholdInput', { description: 'Absent fields keep their value.' })
export class DeletionThresholdInput {
  @Field(() => Int, { nullable: true, description: '0–10,000,000; 0 = off. Default 500.' })
  maxCount?: number | null;

  @Field(() => Int, { nullable: true, description: '0–100; 0 = off. Default 20.' })
  maxPercent?: number | null;
}

@ObjectType('Directory', { description: 'A source dirsync imports users from.' })
@Directive('@key(fields: "id")')
export class DirectoryObject {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => DirectoryKindEnum)
  kind!: DirectoryKind;

  @Field(() => Boolean)
  enabled!: boolean;

  @Field(() => [String], {
    description: 'Groups whose members are imported (1–400): DNs for LDAP, object ids for Entra.',
  })
  selectedGroups!: string[];

  @Field(() => AttributeMappingObject)
  mapping!: AttributeMappingObject;

  @Field(() => String, { description: 'ISO 3166 region for phone numbers without a country code.' })
  defaultRegion!: string;

  @Field(() => Int, {
    description:
      'Minutes between scheduled FULL runs (read everything, remove what is gone); 0 = not scheduled. Default 30.',
  })
  scheduleIntervalMinutes!: number;

  @Field(() => Int, {
    description:
      'Minutes between scheduled DELTA runs (read what changed since the last sync; in full when there is no cursor); 0 = not scheduled. Default 5.',
  })
  deltaIntervalMinutes!: number;

  @Field(() => GraphQLDateTimeISO, {
    nullable: true,
    description: 'When the next scheduled DELTA run is due.',
  })
  nextDeltaRunAt!: Date | null;

  @Field(() => Int, { description: 'Days a removed user stays restorable.' })
  restoreWindowDays!: number;

  @Field(() => ConflictPolicyEnum, {
    description:
      "What a record whose username another directory's user holds does: REPORT (default) or TAKE_OVER.",
  })
  conflictPolicy!: ConflictPolicyName;

  @Field(() => GraphQLDateTimeISO, { nullable: true })
  nextRunAt!: Date | null;

  @Field(() => Int, {
    description: 'Minutes between scheduled admin runs; 0 = not scheduled. Default 30.',
  })
  adminScheduleIntervalMinutes!: number;

  @Field(() => GraphQLDateTimeISO, {
    nullable: true,
    description: 'When the next scheduled admin run is due (null without admin role groups).',
  })
  nextAdminRunAt!: Date | null;

  @Field(() => GraphQLDateTimeISO)
  createdAt!: Date;

  @Field(() => GraphQLDateTimeISO)
  updatedAt!: Date;
}

export const { ConnectionType: DirectoryConnection } = connectionTypes(
  'Directory',
  DirectoryObject,
);

@InputType('LdapSettingsInput')
export class LdapSettingsInput {
  @Field(() => String, { description: 'ldap://host:port or ldaps://host:port.' })
  url!: string;

  @Field(() => String, {
    nullable: true,
    description: '"openldap" (default) or "activedirectory".',
  })
  profile?: 'openldap' | 'activedirectory' | null;

  @Field(() => String)
  bindDn!: string;

  @Field(() => String)
  baseDn!: string;

  @Field(() => String, { nullable: true })
  userBaseDn?: string | null;

  @Field(() => String, { nullable: true })
  groupBaseDn?: string | null;

  @Field(() => String, { nullable: true })
  userFilter?: string | null;

  @Field(() => Boolean, { nullable: true })
  startTls?: boolean | null;

  @Field(() => String, { nullable: true })
  tlsCaPem?: string | null;

  @Field(() => Boolean, { nullable: true })
  tlsRejectUnauthorized?: boolean | null;

  @Field(() => Boolean, {
    nullable: true,
    description:
      'Active Directory: allow plain ldap:// without StartTLS, which sends the bind password in clear (default false).',
  })
  allowPlainLdap?: boolean | null;

  @Field(() => Int, { nullable: true })
  pageSize?: number | null;

  @Field(() => Int, { nullable: true })
  timeoutMs?: number | null;
}

@InputType('LdapSettingsUpdateInput', {
  description: 'Fields to change; absent fields keep their value, null clears an optional one.',
})
export class LdapSettingsUpdateInput {
  @Field(() => String, { nullable: true })
  url?: string | null;

  @Field(() => String, { nullable: true })
  profile?: 'openldap' | 'activedirectory' | null;

  @Field(() => String, { nullable: true })
  bindDn?: string | null;

  @Field(() => String, { nullable: true })
  baseDn?: string | null;

  @Field(() => String, { nullable: true })
  userBaseDn?: string | null;

  @Field(() => String, { nullable: true })
  groupBaseDn?: string | null;

  @Field(() => String, { nullable: true })
  userFilter?: string | null;

  @Field(() => Boolean, { nullable: true })
  startTls?: boolean | null;

  @Field(() => String, { nullable: true })
  tlsCaPem?: string | null;

  @Field(() => Boolean, { nullable: true })
  tlsRejectUnauthorized?: boolean | null;

  @Field(() => Boolean, {
    nullable: true,
    description:
      'Active Directory: allow plain ldap:// without StartTLS, which sends the bind password in clear (default false).',
  })
  allowPlainLdap?: boolean | null;

  @Field(() => Int, { nullable: true })
  pageSize?: number | null;

  @Field(() => Int, { nullable: true })
  timeoutMs?: number | null;
}

@InputType('EntraSettingsInput')
export class EntraSettingsInput {
  @Field(() => String, { description: 'Directory (tenant) id or a verified domain.' })
  tenantId!: string;

  @Field(() => String, { description: 'Application (client) id of the app registration.' })
  clientId!: string;

  @Field(() => String, {
    nullable: true,
    description: '"clientSecret" (default) or "clientCertificate": which secret is given.',
  })
  credential?: 'clientSecret' | 'clientCertificate' | null;

  @Field(() => String, {
    nullable: true,
    description: '"global" (default), "usgov", "usgovdod" or "china".',
  })
  cloud?: 'global' | 'usgov' | 'usgovdod' | 'china' | null;

  @Field(() => String, { nullable: true, description: 'https:// login URL (authority host).' })
  loginUrl?: string | null;

  @Field(() => String, { nullable: true, description: 'https:// Microsoft Graph URL.' })
  graphUrl?: string | null;

  @Field(() => String, { nullable: true, description: 'PEM CA to trust besides the system store.' })
  tlsCaPem?: string | null;

  @Field(() => Int, { nullable: true, description: 'Objects per Graph page, 1–999 (default 999).' })
  pageSize?: number | null;

  @Field(() => Int, { nullable: true })
  timeoutMs?: number | null;
}

@InputType('EntraSettingsUpdateInput', {
  description: 'Fields to change; absent fields keep their value, null clears an optional one.',
})
export class EntraSettingsUpdateInput {
  @Field(() => String, { nullable: true })
  tenantId?: string | null;

  @Field(() => String, { nullable: true })
  clientId?: string | null;

  @Field(() => String, { nullable: true })
  credential?: 'clientSecret' | 'clientCertificate' | null;

  @Field(() => String, { nullable: true })
  cloud?: 'global' | 'usgov' | 'usgovdod' | 'china' | null;

  @Field(() => String, { nullable: true })
  loginUrl?: string | null;

  @Field(() => String, { nullable: true })
  graphUrl?: string | null;

  @Field(() => String, { nullable: true })
  tlsCaPem?: string | null;

  @Field(() => Int, { nullable: true })
  pageSize?: number | null;

  @Field(() => Int, { nullable: true })
  timeoutMs?: number | null;
}

@InputType('CustomAttributeInput')
export class CustomAttributeInput {
  @Field(() => String)
  name!: string;

  @Field(() => String)
  attribute!: string;
}

@InputType('AttributeMappingInput', {
  description:
    'Absent fields keep their value (defaults on create); "" stops importing an optional field; lists replace.',
})
export class AttributeMappingInput {
  @Field(() => String, { nullable: true })
  username?: string | null;

  @Field(() => [String], { nullable: true })
  aliases?: string[] | null;

  @Field(() => String, { nullable: true })
  email?: string | null;

  @Field(() => String, { nullable: true })
  firstName?: string | null;

  @Field(() => String, { nullable: true })
  lastName?: string | null;

  @Field(() => String, { nullable: true })
  displayName?: string | null;

  @Field(() => [String], { nullable: true })
  phones?: string[] | null;

  @Field(() => [CustomAttributeInput], {
    nullable: true,
    description: 'dirsync custom attribute name → source attribute, as a list of pairs.',
  })
  custom?: CustomAttributeInput[] | null;
}

@InputType('AdminRoleGroupsInput')
export class AdminRoleGroupsInput {
  @Field(() => AdminRoleEnum)
  role!: AdminRoleName;

  @Field(() => [String], {
    description:
      'Groups (1–50) in the source’s notation: DNs for LDAP, group object ids for Entra ID; a group gives one role only.',
  })
  groups!: string[];
}

@InputType('CreateDirectoryInput')
export class CreateDirectoryInput {
  @Field(() => String)
  name!: string;

  @Field(() => DirectoryKindEnum, {
    nullable: true,
    description: 'Default: ENTRA when only `entra` is given, else LDAP.',
  })
  kind?: DirectoryKind | null;

  @Field(() => LdapSettingsInput, { nullable: true, description: 'LDAP directories.' })
  ldap?: LdapSettingsInput | null;

  @Field(() => String, {
    nullable: true,
    description: 'LDAP: the bind password. Stored encrypted; never returned.',
  })
  bindPassword?: string | null;

  @Field(() => EntraSettingsInput, { nullable: true, description: 'Entra ID directories.' })
  entra?: EntraSettingsInput | null;

  @Field(() => String, {
    nullable: true,
    description:
      'Entra, credential "clientSecret": the client secret value. Stored encrypted; never returned.',
  })
  clientSecret?: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      'Entra, credential "clientCertificate": PEM private key and certificate. Stored encrypted; never returned.',
  })
  clientCertificate?: string | null;

  @Field(() => [String])
  selectedGroups!: string[];

  @Field(() => AttributeMappingInput, { nullable: true })
  mapping?: AttributeMappingInput | null;

  @Field(() => String, { nullable: true, description: 'Default "US".' })
  defaultRegion?: string | null;

  @Field(() => Int, {
    nullable: true,
    description: 'Minutes between FULL runs. Default 30; 0 = no full schedule.',
  })
  scheduleIntervalMinutes?: number | null;

  @Field(() => Int, {
    nullable: true,
    description: 'Days a removed user stays restorable before it is purged: 1–3650, default 7.',
  })
  restoreWindowDays?: number | null;

  @Field(() => DeletionThresholdInput, {
    nullable: true,
    description: 'Default 500 users or 20 % (memberships measured the same way).',
  })
  deletionThreshold?: DeletionThresholdInput | null;
  @Field(() => ConflictPolicyEnum, { nullable: true, description: 'Default REPORT.' })
  conflictPolicy?: ConflictPolicyName | null;

  @Field(() => Boolean, { nullable: true, description: 'Default true.' })
  enabled?: boolean | null;

  @Field(() => [AdminRoleGroupsInput], {
    nullable: true,
    description:
      'Admin sync: role → source groups (each role once; at most 100 groups in all). Default: none.',
  })
  adminRoles?: AdminRoleGroupsInput[] | null;

  @Field(() => Int, { nullable: true, description: 'Default 30; 0 = no admin schedule.' })
  adminScheduleIntervalMinutes?: number | null;

  @Field(() => Int, {
    nullable: true,
    description: 'Minutes between DELTA runs. Default 5; 0 = no delta schedule.',
  })
  deltaIntervalMinutes?: number | null;
}

@InputType('UpdateDirectoryInput', {
  description: 'Fields to change; absent fields keep their value.',
})
export class UpdateDirectoryInput {
  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => LdapSettingsUpdateInput, { nullable: true })
  ldap?: LdapSettingsUpdateInput | null;

  @Field(() => String, { nullable: true, description: 'Replaces the stored secret.' })
  bindPassword?: string | null;

  @Field(() => EntraSettingsUpdateInput, { nullable: true })
  entra?: EntraSettingsUpdateInput | null;

  @Field(() => String, { nullable: true, description: 'Replaces the stored client secret.' })
  clientSecret?: string | null;

  @Field(() => String, { nullable: true, description: 'Replaces the stored client certificate.' })
  clientCertificate?: string | null;

  @Field(() => [String], { nullable: true })
  selectedGroups?: string[] | null;

  @Field(() => AttributeMappingInput, { nullable: true })
  mapping?: AttributeMappingInput | null;

  @Field(() => String, { nullable: true })
  defaultRegion?: string | null;

  @Field(() => Int, { nullable: true })
  scheduleIntervalMinutes?: number | null;

  @Field(() => Int, { nullable: true })
  restoreWindowDays?: number | null;

  @Field(() => DeletionThresholdInput, { nullable: true })
  deletionThreshold?: DeletionThresholdInput | null;
  @Field(() => ConflictPolicyEnum, { nullable: true })
  conflictPolicy?: ConflictPolicyName | null;

  @Field(() => Boolean, { nullable: true })
  enabled?: boolean | null;

  @Field(() => [AdminRoleGroupsInput], {
    nullable: true,
    description: 'Replaces the admin role groups; [] turns admin sync off.',
  })
  adminRoles?: AdminRoleGroupsInput[] | null;

  @Field(() => Int, { nullable: true })
  adminScheduleIntervalMinutes?: number | null;

  @Field(() => Int, { nullable: true })
  deltaIntervalMinutes?: number | null;
}
