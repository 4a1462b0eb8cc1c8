import { GraphQLDateTimeISO, GraphQLJSON } from 'graphql-scalars';
import { Directive, Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Permission, Role, PrincipalKind } from '@dirsync/kit/auth';
import { AUDIT_RESULTS, type AuditResult } from '../audit/audit.service.js';

export const AccessRoleEnum = Role;
registerEnumType(AccessRoleEnum, {
  name: 'AccessRole',
  description:
    'What an API key or OIDC token may do (docs/security.md has the table): OWNER everything; ' +
    'ADMINISTRATOR syncs, restores and purges users; USER_MANAGER syncs and restores; HELP_DESK ' +
    're-syncs single users; READ_ONLY reads.',
});
export const PrincipalKindEnum = PrincipalKind;
registerEnumType(PrincipalKindEnum, { name: 'PrincipalKind' });
export const AuditResultEnum = Object.fromEntries(AUDIT_RESULTS.map((r) => [r, r])) as {
  [K in AuditResult]: K;
};
registerEnumType(AuditResultEnum, {
  name: 'AuditResult',
  description:
    'OK: the mutation succeeded; ERROR: it answered an error; DENIED: refused (FORBIDDEN, limits); ' +
    'PENDING: it started and the gateway never reported the end (crash).',
});

export const ApiKeyStatusEnum = {
  ACTIVE: 'ACTIVE',
  EXPIRED: 'EXPIRED',
  REVOKED: 'REVOKED',
} as const;
export type ApiKeyStatus = keyof typeof ApiKeyStatusEnum;
registerEnumType(ApiKeyStatusEnum, { name: 'ApiKeyStatus' });

/** Relay page info; every subgraph declares the same shareable type. */
@ObjectType('PageInfo')
@Directive('@shareable')
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true, description: 'Pass as `after` for the next page.' })
  endCursor!: string | null;
}

@ObjectType('ApiKey', { description: 'An API key. The key itself is shown once, at creation.' })
export class ApiKeyObject {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => AccessRoleEnum) role!: Role;
  @Field(() => String, {
    description: 'The start of the key (`dsk_<prefix>_`), to recognise it; not a secret.',
  })
  prefix!: string;
  @Field(() => ApiKeyStatusEnum) status!: ApiKeyStatus;
  @Field(() => GraphQLDateTimeISO) createdAt!: Date;
  @Field(() => String, { description: 'Principal id of who created it.' }) createdBy!: string;
  @Field(() => GraphQLDateTimeISO, { nullable: true }) expiresAt!: Date | null;
  @Field(() => GraphQLDateTimeISO, { nullable: true }) revokedAt!: Date | null;
  @Field(() => String, { nullable: true }) revokedBy!: string | null;
  @Field(() => GraphQLDateTimeISO, {
    nullable: true,
    description: 'Last request made with it (to the minute).',
  })
  lastUsedAt!: Date | null;
}

@ObjectType('ApiKeyEdge')
export class ApiKeyEdge {
  @Field(() => String) cursor!: string;
  @Field(() => ApiKeyObject) node!: ApiKeyObject;
}

@ObjectType('ApiKeyConnection')
export class ApiKeyConnection {
  @Field(() => [ApiKeyEdge]) edges!: ApiKeyEdge[];
  @Field(() => [ApiKeyObject]) nodes!: ApiKeyObject[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
  @Field(() => Int) totalCount!: number;
}

@ObjectType('CreatedApiKey')
export class CreatedApiKeyObject {
  @Field(() => ApiKeyObject) apiKey!: ApiKeyObject;
  @Field(() => String, {
    description:
      'The key, to send as `Authorization: Bearer <key>`. Shown this once: dirsync stores only its hash.',
  })
  key!: string;
}

@InputType('CreateApiKeyInput')
export class CreateApiKeyInput {
  @Field(() => String, { description: 'What the key is for (1–200 characters).' }) name!: string;
  @Field(() => AccessRoleEnum) role!: Role;
  @Field(() => GraphQLDateTimeISO, { nullable: true, description: 'No expiry when absent.' })
  expiresAt?: Date | null;
}

@ObjectType('Viewer', { description: 'Who the current request is authenticated as.' })
export class ViewerObject {
  @Field(() => String, { description: '`key:<id>` or `oidc:<issuer>#<subject>`.' }) id!: string;
  @Field(() => String) name!: string;
  @Field(() => PrincipalKindEnum) kind!: PrincipalKind;
  @Field(() => AccessRoleEnum) role!: Role;
  @Field(() => [String], { description: 'The permissions the role grants.' })
  permissions!: Permission[];
}

@ObjectType('AuditEntry', { description: 'One mutation request: who, what, when, result.' })
export class AuditEntryObject {
  @Field(() => ID) id!: string;
  @Field(() => GraphQLDateTimeISO) at!: Date;
  @Field(() => String) principalId!: string;
  @Field(() => String) principalName!: string;
  @Field(() => PrincipalKindEnum) principalKind!: string;
  @Field(() => AccessRoleEnum) role!: string;
  @Field(() => String, { nullable: true }) operationName!: string | null;
  @Field(() => [String], { description: 'The mutation fields requested, in order.' })
  fields!: string[];
  @Field(() => GraphQLJSON, {
    description: 'Their arguments by field, secret values replaced by "[redacted]".',
  })
  arguments!: unknown;
  @Field(() => AuditResultEnum) result!: AuditResult;
  @Field(() => [String], { description: '`extensions.code` of every error answered.' })
  errorCodes!: string[];
  @Field(() => GraphQLDateTimeISO, { nullable: true }) finishedAt!: Date | null;
  @Field(() => Int, { nullable: true }) durationMs!: number | null;
  @Field(() => String, { nullable: true }) clientAddress!: string | null;
  @Field(() => String, { nullable: true }) requestId!: string | null;
}

@ObjectType('AuditEntryEdge')
export class AuditEntryEdge {
  @Field(() => String) cursor!: string;
  @Field(() => AuditEntryObject) node!: AuditEntryObject;
}

@ObjectType('AuditEntryConnection')
export class AuditEntryConnection {
  @Field(() => [AuditEntryEdge]) edges!: AuditEntryEdge[];
  @Field(() => [AuditEntryObject]) nodes!: AuditEntryObject[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
  @Field(() => Int) totalCount!: number;
}

@InputType('AuditFilter')
export class AuditFilterInput {
  @Field(() => String, { nullable: true }) principalId?: string | null;
  @Field(() => String, { nullable: true, description: 'Entries whose fields include this one.' })
  field?: string | null;
  @Field(() => [AuditResultEnum], { nullable: true }) result?: AuditResult[] | null;
  @Field(() => GraphQLDateTimeISO, { nullable: true }) since?: Date | null;
  @Field(() => GraphQLDateTimeISO, { nullable: true }) until?: Date | null;
}
