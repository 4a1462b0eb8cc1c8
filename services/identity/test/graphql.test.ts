import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fullRun, gql, group, runAndWait, startHarness, user, type Harness } from './harness.js';
import { nameKey } from '../src/apply/normalize.js';

let h: Harness;
let url: string;

// Directory ids are sync's UUIDs (filters refuse anything else).
const DIR_A = 'a0000000-0000-4000-8000-00000000000a';
const DIR_B = 'b0000000-0000-4000-8000-00000000000b';

interface Page {
  edges: { cursor: string; node: { username: string } }[];
  nodes: { username: string }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
}

const many = Array.from({ length: 120 }, (_, i) =>
  user(`m${i}`, `member${String(i).padStart(3, '0')}`, {
    firstName: 'Many',
    lastName: `Member ${i}`,
  }),
);

beforeAll(async () => {
  h = await startHarness();
  url = h.service.url;
  await runAndWait(
    h,
    fullRun(
      DIR_A,
      [
        ...many,
        user('p1', 'percent%', { displayName: 'Per Cent' }),
        user('p2', '100%_real', { email: 'real@example.org' }),
        user('p3', 'under_score'),
        user('p4', 'underXscore'),
        user('z1', 'Zoë', {
          aliases: ['zoe', 'zoë.b'],
          phones: [
            { number: '+33612345678', kind: 'mobile' },
            { number: '+33123456789', kind: 'telephoneNumber' },
          ],
          customAttributes: { site: 'Paris', badge: '42' },
        }),
        user('d1', 'dormant', { disabled: true }),
        user('shared', 'shared'),
      ],
      [group('gbig', 'Big group', { description: 'everyone' }), group('gsmall', 'small group')],
      { gbig: many.map((u) => u.externalId), gsmall: ['z1', 'p1'] },
    ),
  );
  // Usernames are unique across dirsync: B's SHARED is a conflict with A's shared.
  const b = await runAndWait(h, fullRun(DIR_B, [user('shared-b', 'SHARED'), user('b1', 'bea')]));
  expect(b.counts).toMatchObject({ created: 1, conflicts: 1 });
});

afterAll(async () => {
  await h?.close();
});

async function allPages(filter: Record<string, unknown>, first: number): Promise<string[]> {
  const names: string[] = [];
  let after: string | null = null;
  for (let i = 0; i < 50; i++) {
    const res: { data?: { users: Page } } = await gql<{ users: Page }>(
      url,
      `query($first: Int, $after: String, $filter: UserFilter) {
        users(first: $first, after: $after, filter: $filter) {
          edges { cursor node { username } } nodes { username }
          pageInfo { hasNextPage endCursor } totalCount
        }
      }`,
      { first, after, filter },
    );
    const page = res.data?.users;
    if (!page) throw new Error(JSON.stringify(res));
    expect(page.nodes.map((n) => n.username)).toEqual(page.edges.map((e) => e.node.username));
    names.push(...page.nodes.map((n) => n.username));
    if (!page.pageInfo.hasNextPage) return names;
    after = page.pageInfo.endCursor;
  }
  throw new Error('too many pages');
}

describe('users', () => {
  it('pages through every user once, in case-insensitive username order', async () => {
    const names = await allPages({ directoryId: DIR_A }, 50);
    expect(names).toHaveLength(127);
    expect(new Set(names).size).toBe(127);
    const keys = names.map(nameKey);
    expect(keys).toEqual([...keys].sort());
    const first = await gql<{ users: Page }>(
      url,
      `{ users(filter: { directoryId: "${DIR_A}" }) { totalCount pageInfo { hasNextPage } nodes { username } } }`,
    );
    expect(first.data?.users.totalCount).toBe(127);
    expect(first.data?.users.nodes).toHaveLength(50);
    expect(first.data?.users.pageInfo.hasNextPage).toBe(true);
  });

  it('filters by status, directory and group', async () => {
    expect(await allPages({ status: ['DISABLED'] }, 50)).toEqual(['dormant']);
    expect(await allPages({ directoryId: DIR_B }, 50)).toEqual(['bea']);
    expect(await allPages({ groupId: await groupId('gsmall') }, 1)).toEqual(['percent%', 'Zoë']);
    const big = await allPages({ groupId: await groupId('gbig'), status: ['ACTIVE'] }, 500);
    expect(big).toHaveLength(120);
  });

  it('searches case-insensitively with % and _ taken literally', async () => {
    expect(await allPages({ search: '%' }, 50)).toEqual(['100%_real', 'percent%']);
    expect(await allPages({ search: '_' }, 50)).toEqual(['100%_real', 'under_score']);
    expect(await allPages({ search: 'PER CENT' }, 50)).toEqual(['percent%']);
    expect(await allPages({ search: 'ZOE\u0308' }, 50)).toEqual(['Zoë']);
    expect(await allPages({ search: 'REAL@example' }, 50)).toEqual(['100%_real']);
    expect(await allPages({ search: 'member 11', directoryId: DIR_A }, 50)).toHaveLength(11);
  });

  it('finds a user by username, NFC and case-insensitively', async () => {
    const q = `query($u: String!, $d: ID) { userByUsername(username: $u, directoryId: $d) {
      id username directoryId directory { id } externalId aliases phones { number kind }
      customAttributes { name value } status lastDirectorySync createdAt sourceLocator
      groups { totalCount nodes { name memberCount } }
    } }`;
    const res = await gql<{ userByUsername: Record<string, unknown> }>(url, q, {
      u: 'ZOE\u0308',
    });
    expect(res.errors).toBeUndefined();
    expect(res.data?.userByUsername).toMatchObject({
      username: 'Zoë',
      directoryId: DIR_A,
      directory: { id: DIR_A },
      externalId: 'z1',
      aliases: ['zoe', 'zoë.b'],
      phones: [
        { number: '+33612345678', kind: 'mobile' },
        { number: '+33123456789', kind: 'telephoneNumber' },
      ],
      customAttributes: [
        { name: 'badge', value: '42' },
        { name: 'site', value: 'Paris' },
      ],
      status: 'ACTIVE',
      groups: { totalCount: 1, nodes: [{ name: 'small group', memberCount: 2 }] },
    });
    expect(typeof res.data?.userByUsername.lastDirectorySync).toBe('string');

    // One username, one user across dirsync; directoryId narrows the lookup.
    const anywhere = await gql<{ userByUsername: { externalId: string } }>(url, q, { u: 'Shared' });
    expect(anywhere.data?.userByUsername.externalId).toBe('shared');
    const inB = await gql<{ userByUsername: null }>(url, q, { u: 'shared', d: DIR_B });
    expect(inB.errors).toBeUndefined();
    expect(inB.data?.userByUsername).toBeNull();
    const missing = await gql<{ userByUsername: null }>(url, q, { u: 'nobody' });
    expect(missing.data?.userByUsername).toBeNull();
  });

  it('answers bad input with BAD_USER_INPUT and an unknown id with null', async () => {
    const bad = await gql(url, '{ user(id: "not-a-uuid") { id } }');
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(bad.errors?.[0]?.message).toContain('not-a-uuid');
    const unknown = await gql<{ user: null }>(
      url,
      '{ user(id: "00000000-0000-4000-8000-000000000000") { id } }',
    );
    expect(unknown.errors).toBeUndefined();
    expect(unknown.data?.user).toBeNull();
    const tooMany = await gql(url, '{ users(first: 501) { totalCount } }');
    expect(tooMany.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const cursor = await gql(url, '{ users(after: "garbage") { totalCount } }');
    expect(cursor.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const groupFilter = await gql(url, '{ users(filter: { groupId: "x" }) { totalCount } }');
    expect(groupFilter.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('answers a malformed id in a filter with BAD_USER_INPUT naming the field, an unknown one with an empty page', async () => {
    const cases: [string, string][] = [
      ['users(filter: { directoryId: $id }) { totalCount }', 'filter.directoryId'],
      ['users(filter: { groupId: $id }) { totalCount }', 'filter.groupId'],
      ['users(filter: { heldByRunId: $id }) { totalCount }', 'filter.heldByRunId'],
      ['groups(filter: { directoryId: $id }) { totalCount }', 'filter.directoryId'],
      ['admins(filter: { directoryId: $id }) { totalCount }', 'filter.directoryId'],
      ['admins(filter: { heldByRunId: $id }) { totalCount }', 'filter.heldByRunId'],
    ];
    for (const [field, arg] of cases) {
      for (const id of ['zzz', '', 'x'.repeat(5000)]) {
        const bad = await gql(url, `query($id: ID) { ${field} }`, { id });
        const e = bad.errors?.[0];
        expect(e?.extensions?.code, `${field} with ${id.slice(0, 10)}`).toBe('BAD_USER_INPUT');
        expect((e?.extensions as { argumentName?: string } | undefined)?.argumentName).toBe(arg);
        expect(e?.message).toContain(arg);
        // A refused value is repeated only in part.
        expect(e?.message.length).toBeLessThan(200);
      }
      const unknown = await gql<Record<string, { totalCount: number }>>(
        url,
        `query($id: ID) { ${field} }`,
        { id: '00000000-0000-4000-8000-000000000000' },
      );
      expect(unknown.errors, field).toBeUndefined();
      expect(Object.values(unknown.data ?? {})[0]?.totalCount).toBe(0);
    }
    // The filter still narrows by a real directory.
    const inA = await gql<{ users: { totalCount: number } }>(
      url,
      `query($id: ID) { users(filter: { directoryId: $id }) { totalCount } }`,
      { id: DIR_A.toUpperCase() },
    );
    expect(inA.data?.users.totalCount).toBe(127);
  });

  it('loads a page of users with their details in a handful of queries', async () => {
    let queries = 0;
    // The outbox relay shares the pool; its polling is not the request's doing.
    const count = (q: { sql: string }) => {
      if (!/outbox|advisory|^BEGIN|^COMMIT/.test(q.sql)) queries++;
    };
    const knex = h.service.database.knex;
    knex.on('query', count);
    try {
      const res = await gql<{ users: { nodes: unknown[] } }>(
        url,
        `{ users(first: 500) { nodes { username aliases phones { number } customAttributes { name }
            lastDirectorySync groups(first: 5) { totalCount nodes { name memberCount } } } } }`,
      );
      expect(res.errors).toBeUndefined();
      expect(res.data?.users.nodes.length).toBe(128);
    } finally {
      knex.off('query', count);
    }
    expect(queries).toBeGreaterThan(0);
    // users, aliases, phones, directory state, groups page, group counts, member counts.
    expect(queries).toBeLessThanOrEqual(7);
  });
});

async function groupId(externalId: string): Promise<string> {
  const [row] = await h.rows<{ id: string }>('select id from groups where external_id = ?', [
    externalId,
  ]);
  if (!row) throw new Error(`no group ${externalId}`);
  return row.id;
}

describe('groups', () => {
  it('lists groups with member counts and pages through members', async () => {
    const res = await gql<{
      groups: {
        totalCount: number;
        nodes: { name: string; memberCount: number; description: string | null }[];
      };
    }>(
      url,
      `{ groups(filter: { directoryId: "${DIR_A}" }) { totalCount nodes { name description memberCount } } }`,
    );
    expect(res.data?.groups).toEqual({
      totalCount: 2,
      nodes: [
        { name: 'Big group', description: 'everyone', memberCount: 120 },
        { name: 'small group', description: null, memberCount: 2 },
      ],
    });
    const search = await gql<{ groups: { nodes: { name: string }[] } }>(
      url,
      '{ groups(filter: { search: "SMALL" }) { nodes { name } } }',
    );
    expect(search.data?.groups.nodes).toEqual([{ name: 'small group' }]);

    const id = await groupId('gbig');
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: { data?: { group: { members: Page } } } = await gql<{ group: { members: Page } }>(
        url,
        `query($id: ID!, $after: String) { group(id: $id) { members(first: 40, after: $after) {
          nodes { username } pageInfo { hasNextPage endCursor } totalCount } } }`,
        { id, after },
      );
      const members = page.data?.group.members;
      if (!members) throw new Error(JSON.stringify(page));
      expect(members.totalCount).toBe(120);
      seen.push(...members.nodes.map((n) => n.username));
      if (!members.pageInfo.hasNextPage) break;
      after = members.pageInfo.endCursor;
    }
    expect(seen).toEqual(many.map((u) => u.username));
  });

  it('resolves User and Group references for the gateway', async () => {
    const gid = await groupId('gsmall');
    const [u] = await h.rows<{ id: string }>(`select id from users where external_id = 'z1'`);
    const res = await gql<{ _entities: ({ username?: string; name?: string } | null)[] }>(
      url,
      `query($r: [_Any!]!) { _entities(representations: $r) {
        ... on User { username } ... on Group { name } } }`,
      {
        r: [
          { __typename: 'User', id: u?.id },
          { __typename: 'Group', id: gid },
          { __typename: 'User', id: 'not-a-uuid' },
        ],
      },
    );
    expect(res.data?._entities).toEqual([{ username: 'Zoë' }, { name: 'small group' }, null]);
  });

  it('serves /healthz and /readyz', async () => {
    const base = url.replace(/\/graphql$/, '');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', problems: [] });
  });
});
