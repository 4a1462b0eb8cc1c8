// Fuzz-style tests of the GraphQL inputs that reach SQL and LDAP: search filters, usernames and
// ids. A seeded generator builds hostile strings (SQL and LDAP metacharacters, LIKE wildcards,
// NUL and control characters, lone surrogates, combining marks, huge values); every answer must
// be data or a client error with a stable code — never INTERNAL — and the services stay up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prng, startSlapd, type Slapd } from '@dirsync/testkit';
import { startStack, syncAllAndWait, type GraphQLResult, type Stack } from './support/stack.js';

const SUFFIX = 'dc=example,dc=org';
/** Usernames that are themselves hostile; each must be found literally. */
const NAMES = [
  'pct%user',
  'under_score',
  'back\\slash',
  "o'brien",
  'star*',
  'paren(x)',
  'müller',
  'plainname',
];

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

function ldif(): string {
  const people = NAMES.map(
    (name, i) => `dn: cn=user${i},ou=people,${SUFFIX}
objectClass: inetOrgPerson
cn: user${i}
sn:: ${b64(name)}
uid:: ${b64(name)}
mail: user${i}@example.org
memberOf: cn=staff,ou=groups,${SUFFIX}
`,
  );
  const group = `dn: cn=staff,ou=groups,${SUFFIX}
objectClass: groupOfNames
cn: staff
${NAMES.map((_, i) => `member: cn=user${i},ou=people,${SUFFIX}`).join('\n')}
`;
  return [...people, group].join('\n');
}

const PIECES = [
  '%',
  '_',
  '\\',
  "'",
  '"',
  '*',
  '(',
  ')',
  '\u0000',
  '\u0001',
  '\u001f',
  '\n',
  '\r\n',
  '\t',
  'é',
  'e\u0301',
  'ß',
  'İ',
  '😀',
  '\u202e',
  '\ud800',
  '\uffff',
  ';--',
  "' OR '1'='1",
  '$1',
  '?',
  '${x}',
  '../',
  '<script>',
  '))(|(uid=*',
  'admin)(&',
  '\\2a',
  ' ',
  'MÜLLER',
  'a'.repeat(300),
];

function hostile(rng: Prng): string {
  if (rng.chance(0.05)) return rng.pick(PIECES).repeat(rng.range(1_000, 20_000)).slice(0, 100_000);
  let s = '';
  const n = rng.range(1, 6);
  for (let i = 0; i < n; i++)
    s += rng.chance(0.3) ? String.fromCharCode(rng.int(0x3000)) : rng.pick(PIECES);
  return s;
}

/** Codes a hostile input may earn; anything else (INTERNAL above all) is a bug. */
const CLIENT_CODES = [
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'GRAPHQL_VALIDATION_FAILED',
  'RUN_IN_PROGRESS',
  'PAYLOAD_TOO_LARGE',
];

function expectHandled(r: GraphQLResult, what: string): void {
  for (const e of r.errors ?? []) {
    expect(CLIENT_CODES, `${what}: ${e.extensions?.code} ${e.message}`).toContain(
      e.extensions?.code,
    );
  }
}

let slapd: Slapd;
let stack: Stack;
let directoryId = '';

beforeAll(async () => {
  slapd = await startSlapd({ ldif: ldif(), name: 'hostile' });
  stack = await startStack();
  const { createDirectory } = await stack.gql<{ createDirectory: { id: string } }>(
    `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { id } }`,
    {
      input: {
        name: 'Hostile',
        ldap: {
          url: slapd.url,
          bindDn: slapd.rootDn,
          baseDn: SUFFIX,
          userBaseDn: slapd.peopleDn,
          groupBaseDn: slapd.groupsDn,
        },
        bindPassword: slapd.rootPassword,
        selectedGroups: [`cn=staff,ou=groups,${SUFFIX}`],
        mapping: { username: 'uid', email: 'mail', lastName: 'sn' },
        scheduleIntervalMinutes: 0,
      },
    },
  );
  directoryId = createDirectory.id;
  const run = await syncAllAndWait(stack, directoryId);
  expect(run.status).toBe('COMPLETED');
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await slapd?.dispose();
});

describe('hostile GraphQL input', () => {
  it('search treats LIKE wildcards, quotes and backslashes literally', async () => {
    const search = async (s: string) =>
      (
        await stack.gql<{ users: { nodes: { username: string }[] } }>(
          `query($s: String) { users(first: 50, filter: { search: $s }) { nodes { username } } }`,
          { s },
        )
      ).users.nodes.map((u) => u.username);
    expect(await search('%')).toEqual(['pct%user']);
    expect(await search('_')).toEqual(['under_score']);
    expect(await search('\\')).toEqual(['back\\slash']);
    expect(await search("'")).toEqual(["o'brien"]);
    expect(await search('*')).toEqual(['star*']);
    expect(await search('MU\u0308LLER')).toEqual(['müller']);
    expect((await search('')).length).toBe(NAMES.length);
  });

  it('usernames with metacharacters are found exactly, and re-synced exactly', async () => {
    for (const name of NAMES) {
      const { userByUsername } = await stack.gql<{ userByUsername: { username: string } | null }>(
        `query($u: String!, $d: ID) { userByUsername(username: $u, directoryId: $d) { username } }`,
        { u: name.toUpperCase(), d: directoryId },
      );
      expect(userByUsername?.username, name).toBe(name);
    }
    for (const name of ['star*', 'paren(x)', 'back\\slash']) {
      const { syncUser } = await stack.gql<{
        syncUser: { outcome: string; user: { username: string } | null };
      }>(
        `mutation($d: ID!, $u: String!) { syncUser(directoryId: $d, username: $u) { outcome user { username } } }`,
        { d: directoryId, u: name },
      );
      expect(syncUser, name).toEqual({ outcome: 'UNCHANGED', user: { username: name } });
    }
    // An LDAP wildcard is a literal: "*" alone matches nobody.
    const { syncUser } = await stack.gql<{ syncUser: { outcome: string } }>(
      `mutation($d: ID!) { syncUser(directoryId: $d, username: "*") { outcome } }`,
      { d: directoryId },
    );
    expect(syncUser.outcome).toBe('NOT_FOUND');
  });

  it('random hostile filters, usernames and ids never cause an internal error', async () => {
    const rng = new Prng(0x5ec);
    const queries: [string, (s: string) => Record<string, unknown>][] = [
      [
        `query($s: String) { users(first: 5, filter: { search: $s }) { totalCount nodes { id } } }`,
        (s) => ({ s }),
      ],
      [
        `query($s: String) { groups(first: 5, filter: { search: $s }) { totalCount } }`,
        (s) => ({ s }),
      ],
      [`query($s: String!) { userByUsername(username: $s) { id } }`, (s) => ({ s })],
      [`query($s: ID!) { user(id: $s) { id } }`, (s) => ({ s })],
      [`query($s: ID!) { group(id: $s) { id } }`, (s) => ({ s })],
      [`query($s: ID!) { directory(id: $s) { id } }`, (s) => ({ s })],
      [`query($s: ID!) { run(id: $s) { id } }`, (s) => ({ s })],
      [`query($s: ID) { runs(directoryId: $s) { totalCount } }`, (s) => ({ s })],
      [
        `query($s: ID) { users(filter: { directoryId: $s, groupId: $s }) { totalCount } }`,
        (s) => ({ s }),
      ],
      [`query($s: String) { users(first: 5, after: $s) { totalCount } }`, (s) => ({ s })],
      [`query($s: String) { runs(first: 5, after: $s) { totalCount } }`, (s) => ({ s })],
    ];
    for (let i = 0; i < 400; i++) {
      const value = hostile(rng);
      const [query, vars] = queries[i % queries.length]!;
      const r0 = await stack.gqlRaw(query, vars(value));
      expectHandled(r0, `${query} with ${JSON.stringify(value).slice(0, 80)}`);
    }
    for (let i = 0; i < 25; i++) {
      const value = hostile(rng);
      const r = await stack.gqlRaw(
        `mutation($d: ID!, $u: String!) { syncUser(directoryId: $d, username: $u) { outcome } }`,
        { d: directoryId, u: value },
      );
      expectHandled(r, `syncUser ${JSON.stringify(value).slice(0, 80)}`);
      if (!r.errors)
        expect(['NOT_FOUND', 'FAILED', 'UNCHANGED']).toContain(
          (r.data?.syncUser as { outcome: string }).outcome,
        );
    }
    for (const url of [stack.gatewayUrl, stack.identity.url, stack.sync.url, stack.auth.url]) {
      expect((await fetch(url.replace('/graphql', '/readyz'))).status, url).toBe(200);
    }
  }, 120_000);
});
