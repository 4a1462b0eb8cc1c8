import { EntitySchema } from '@mikro-orm/core';
import { Field, ObjectType } from 'type-graphql';

/** One alias of a user (`user_aliases`), in source order. */
export class UserAlias {
  userId!: string;
  position!: number;
  alias!: string;
  /** NFC + lower-case alias, for lookups. */
  aliasKey!: string;
}

export const UserAliasSchema = new EntitySchema<UserAlias>({
  class: UserAlias,
  tableName: 'user_aliases',
  properties: {
    userId: { type: 'uuid', primary: true },
    position: { type: 'smallint', primary: true },
    alias: { type: 'text' },
    aliasKey: { type: 'text' },
  },
});

/** One phone number of a user (`user_phones`), in source order. */
@ObjectType('Phone', { description: 'A phone number in E.164 form.' })
export class UserPhone {
  userId!: string;
  position!: number;

  @Field(() => String, { description: 'E.164, e.g. "+14155550123".' })
  number!: string;

  @Field(() => String, { description: 'The source attribute it came from, e.g. "mobile".' })
  kind!: string;
}

export const UserPhoneSchema = new EntitySchema<UserPhone>({
  class: UserPhone,
  tableName: 'user_phones',
  properties: {
    userId: { type: 'uuid', primary: true },
    position: { type: 'smallint', primary: true },
    number: { type: 'text' },
    kind: { type: 'text' },
  },
});

/** A custom attribute mapped per directory (name → value). */
@ObjectType('CustomAttribute')
export class CustomAttribute {
  @Field(() => String)
  name!: string;

  @Field(() => String)
  value!: string;
}
