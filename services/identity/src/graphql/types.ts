import { Directive, Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Group } from '../entities/group.entity.js';
import { User, UserStatus } from '../entities/user.entity.js';
import { encodeCursor, PageInfo, type Position } from './pagination.js';

/** A directory as this subgraph knows it: a reference the sync subgraph resolves. */
@ObjectType('Directory')
@Directive('@key(fields: "id", resolvable: false)')
export class Directory {
  @Field(() => ID)
  id!: string;
}

@ObjectType('UserEdge')
export class UserEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => User)
  node!: User;
}

@ObjectType('GroupEdge')
export class GroupEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => Group)
  node!: Group;
}

/** A page of users. `totalCount` is counted only when asked for. */
@ObjectType('UserConnection')
export class UserConnection {
  @Field(() => [UserEdge])
  edges!: UserEdge[];

  @Field(() => [User])
  nodes!: User[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  count!: () => Promise<number>;

  @Field(() => Int, { description: 'All users matching the arguments, on every page.' })
  totalCount(): Promise<number> {
    return this.count();
  }
}

@ObjectType('GroupConnection')
export class GroupConnection {
  @Field(() => [GroupEdge])
  edges!: GroupEdge[];

  @Field(() => [Group])
  nodes!: Group[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  count!: () => Promise<number>;

  @Field(() => Int, { description: 'All groups matching the arguments, on every page.' })
  totalCount(): Promise<number> {
    return this.count();
  }
}

function pageInfo(cursors: string[], hasNextPage: boolean): PageInfo {
  return Object.assign(new PageInfo(), { hasNextPage, endCursor: cursors.at(-1) ?? null });
}

/** Build a page from `first + 1` rows in keyset order. */
export function userConnection(
  rows: User[],
  first: number,
  count: () => Promise<number>,
): UserConnection {
  const nodes = rows.slice(0, first);
  const edges = nodes.map((node) =>
    Object.assign(new UserEdge(), { node, cursor: encodeCursor(userPosition(node)) }),
  );
  return Object.assign(new UserConnection(), {
    edges,
    nodes,
    pageInfo: pageInfo(
      edges.map((e) => e.cursor),
      rows.length > first,
    ),
    count,
  });
}

export function groupConnection(
  rows: Group[],
  first: number,
  count: () => Promise<number>,
): GroupConnection {
  const nodes = rows.slice(0, first);
  const edges = nodes.map((node) =>
    Object.assign(new GroupEdge(), { node, cursor: encodeCursor(groupPosition(node)) }),
  );
  return Object.assign(new GroupConnection(), {
    edges,
    nodes,
    pageInfo: pageInfo(
      edges.map((e) => e.cursor),
      rows.length > first,
    ),
    count,
  });
}

export function userPosition(u: User): Position {
  return { key: u.usernameKey, id: u.id };
}

export function groupPosition(g: Group): Position {
  return { key: g.nameKey, id: g.id };
}

export enum NameConflictCode {
  USERNAME_CONFLICT = 'USERNAME_CONFLICT',
  ALIAS_CONFLICT = 'ALIAS_CONFLICT',
}

registerEnumType(NameConflictCode, {
  name: 'NameConflictCode',
  description: 'Why a stored username or alias matches nothing (User.nameConflicts).',
  valuesConfig: {
    USERNAME_CONFLICT: { description: 'Another user has the same username (or alias).' },
    ALIAS_CONFLICT: { description: 'Another user has this alias as username or alias.' },
  },
});

/**
 * A name of the user that another user holds: usernames and aliases are unique across dirsync,
 * so the user keeps it stored but nobody finds the user by it. Rows two users had before the
 * rule, or before full case folding made two names equal (`Straße` / `STRASSE`), are kept this
 * way by the migrations instead of failing or dropping anyone; a sync reports the same thing as
 * a per-object conflict.
 */
@ObjectType('NameConflict')
export class NameConflict {
  @Field(() => NameConflictCode)
  code!: NameConflictCode;

  @Field(() => String, { description: 'The username or alias as stored.' })
  name!: string;

  @Field(() => User, {
    nullable: true,
    description:
      'Who holds the name; null once nobody does (the next sync of the user takes it back).',
  })
  holder?: User | null;

  userId!: string;
  holderId!: string | null;
}

@InputType('UserFilter')
export class UserFilter {
  @Field(() => [UserStatus], { nullable: true, description: 'Any of these statuses.' })
  status?: UserStatus[] | null;

  @Field(() => ID, { nullable: true })
  directoryId?: string | null;

  @Field(() => ID, { nullable: true, description: 'Members of this group.' })
  groupId?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'Case-insensitive substring of username, e-mail or a name; % and _ are literal.',
  })
  search?: string | null;

  @Field(() => ID, {
    nullable: true,
    description:
      'The users a BLOCKED run holds back for removal (its planned removals: who approveRun would move to pending deletion). Empty once the run is decided or superseded.',
  })
  heldByRunId?: string | null;

  @Field(() => Boolean, {
    nullable: true,
    description:
      'true: only users with a name conflict (User.nameConflicts not empty); false: only users without.',
  })
  nameConflict?: boolean | null;
}

@InputType('GroupFilter')
export class GroupFilter {
  @Field(() => ID, { nullable: true })
  directoryId?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'Case-insensitive substring of the name or description; % and _ are literal.',
  })
  search?: string | null;
}
