import { AdminSchema } from './admin.entity.js';
import { GroupSchema, MembershipSchema } from './group.entity.js';
import { DirectoryStateSchema, RunSchema } from './run.entity.js';
import { UserAliasSchema, UserPhoneSchema } from './user-detail.entity.js';
import { UserSchema } from './user.entity.js';

export * from './admin.entity.js';
export * from './group.entity.js';
export * from './run.entity.js';
export * from './user-detail.entity.js';
export * from './user.entity.js';

export const entities = [
  UserSchema,
  UserAliasSchema,
  UserPhoneSchema,
  GroupSchema,
  MembershipSchema,
  RunSchema,
  DirectoryStateSchema,
  AdminSchema,
];
