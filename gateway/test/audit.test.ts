import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Client, type Stack } from './support/stack.js';

interface Entry {
  id: string;
  at: string;
  principalId: string;
  principalName: string;
  principalKind: string;
  role: string;
  operationName: string | null;
  fields: string[];
  arguments: Record<string, unknown>;
  result: string;
  errorCodes: string[];
  finishedAt: string | null;
  durationMs: number | null;
  clientAddress: string | null;
  requestId: string | null;
}

const ENTRY = `id at principalId principalName principalKind role operationName fields arguments
  result errorCodes finishedAt durationMs clientAddress requestId`;

let stack: Stack;
let readOnly: Client;
let manager: Client;

async function audit(filter: Record<string, unknown> = {}): Promise<Entry[]> {
  const { auditLog } = await stack.gql<{ auditLog: { nodes: Entry[] } }>(
    `query($f: AuditFilter) { auditLog(first: 500, filter: $f) { nodes { ${ENTRY} } } }`,
    { f: filter },
  );
  return auditLog.nodes;
}

const LDAP = {
  url: 'ldap://127.0.0.1:1',
  bindDn: 'cn=admin,dc=example,dc=org',
  baseDn: 'dc=example,dc=org',
};

beforeAll(async () => {
  stack = await startStack();
  readOnly = await stack.client('READ_ONLY', { name: 'auditor test reader' });
  manager = await stack.client('USER_MANAGER', { name: 'auditor test manager' });
});

afterAll(async () => {
  await stack?.stop();
});

describe('audit log', () => {
  it('records a mutation: who, what (secrets redacted), when, result', async () => {
    const before = Date.now();
    const { createDirectory } = await stack.gql<{ createDirectory: { id: string } }>(
      `mutation Create($input: CreateDirectoryInput!) { createDirectory(input: $input) { id } }`,
      {
        input: {
          name: 'Audited',
          ldap: LDAP,
          bindPassword: 'audited-bind-password',
          selectedGroups: ['cn=staff,ou=groups,dc=example,dc=org'],
        },
      },
    );
    const [entry] = await audit({ field: 'createDirectory' });
    expect(entry).toMatchObject({
      principalName: 'first owner key',
      principalKind: 'API_KEY',
      role: 'OWNER',
      operationName: 'Create',
      fields: ['createDirectory'],
      result: 'OK',
      errorCodes: [],
      clientAddress: '127.0.0.1',
    });
    expect(entry!.principalId).toMatch(/^key:[0-9a-f-]{36}$/);
    expect(Date.parse(entry!.at)).toBeGreaterThanOrEqual(before - 1000);
    expect(entry!.finishedAt).not.toBeNull();
    expect(entry!.durationMs).toBeGreaterThanOrEqual(0);
    expect(entry!.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(entry!.arguments).toEqual({
      createDirectory: {
        input: {
          name: 'Audited',
          ldap: LDAP,
          bindPassword: '[redacted]',
          selectedGroups: ['cn=staff,ou=groups,dc=example,dc=org'],
        },
      },
    });
    expect(JSON.stringify(await audit())).not.toContain('audited-bind-password');
    expect(createDirectory.id).toBeTruthy();
  });

  it('never keeps a password typed into a URL, though the mutation is refused', async () => {
    stack.secretScanner.add('password in a URL', 'url-typed-Secret-77');
    const refused = await stack.gqlRaw(
      `mutation { testDirectorySettings(input: {
         ldap: { url: "ldap://cn=admin:url-typed-Secret-77@127.0.0.1:389", bindDn: "cn=admin,dc=example,dc=org", baseDn: "dc=example,dc=org" }
         bindPassword: "x" }) { ok } }`,
    );
    expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const [entry] = await audit({ field: 'testDirectorySettings' });
    expect(JSON.stringify(entry!.arguments)).toContain('ldap://[redacted]@127.0.0.1:389');
    expect(JSON.stringify(await audit())).not.toContain('url-typed-Secret-77');
  });

  it('records denied and failed mutations with their codes', async () => {
    const denied = await readOnly.gqlRaw(
      `mutation { syncAll(directoryId: "${crypto.randomUUID()}") { id } }`,
    );
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const failed = await manager.gqlRaw(
      `mutation { syncAll(directoryId: "${crypto.randomUUID()}") { id } }`,
    );
    expect(failed.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const entries = await audit({ field: 'syncAll' });
    expect(entries.map((e) => [e.principalName, e.result, e.errorCodes])).toEqual([
      ['auditor test manager', 'ERROR', ['NOT_FOUND']],
      ['auditor test reader', 'DENIED', ['FORBIDDEN']],
    ]);
  });

  it('records a mutation refused by the limits, which then changes nothing', async () => {
    const runs = async () =>
      (await stack.gql<{ runs: { totalCount: number } }>('{ runs { totalCount } }')).runs
        .totalCount;
    const before = await runs();
    const { directories } = await stack.gql<{ directories: { nodes: { id: string }[] } }>(
      '{ directories { nodes { id } } }',
    );
    const id = directories.nodes[0]!.id;
    const complex = await stack.gqlRaw(
      `mutation($id: ID!) { syncAll(directoryId: $id) {
         directory { runs(first: 500) { nodes { errors(first: 500) { totalCount } } } } } }`,
      { id },
    );
    expect(complex.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    const [entry] = await audit({ result: ['DENIED'], field: 'syncAll' });
    expect(entry).toMatchObject({
      fields: ['syncAll'],
      errorCodes: ['QUERY_TOO_COMPLEX'],
      arguments: { syncAll: { directoryId: id, mode: 'FULL' } },
    });
    expect(await runs()).toBe(before);
  });

  it('records a mutation whose arguments carry unpaired surrogates, which then gets its own answer', async () => {
    const mutation = 'mutation($d: ID!) { syncAll(directoryId: $d) { id } }';
    const plain = await manager.gqlRaw(mutation, { d: 'bksurx' });
    const code = plain.errors?.[0]?.extensions?.code;
    expect(code).toMatch(/^(BAD_USER_INPUT|NOT_FOUND)$/);
    // JSON carries them as escapes ("bksur\ud800x"), which jsonb refuses.
    for (const d of ['bksur\ud800x', 'bksur\udc00x', 'bk\u0000sur\udfff']) {
      const hostile = await manager.gqlRaw(mutation, { d });
      expect(hostile.errors?.[0]?.extensions?.code, JSON.stringify(d)).toBe(code);
    }
    const entries = (await audit({ field: 'syncAll' })).filter((e) =>
      JSON.stringify(e.arguments).includes('"bk'),
    );
    expect(entries.map((e) => [e.result, e.errorCodes, e.arguments])).toEqual(
      ['bk\uFFFDsur\uFFFD', 'bksur\uFFFDx', 'bksur\uFFFDx', 'bksurx'].map((d) => [
        'ERROR',
        [code],
        { syncAll: { directoryId: d, mode: 'FULL', dryRun: false } },
      ]),
    );
  });

  it('does not record queries', async () => {
    const count = (await audit()).length;
    await readOnly.gql('{ users { totalCount } directories { totalCount } }');
    expect((await audit()).length).toBe(count);
  });

  it('filters by principal, result and time, newest first, a page at a time', async () => {
    const all = await audit();
    expect(all.map((e) => e.at)).toEqual([...all.map((e) => e.at)].sort().reverse());
    const reader = all.find((e) => e.principalName === 'auditor test reader')!;
    const mine = await audit({ principalId: reader.principalId });
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((e) => e.principalId === reader.principalId)).toBe(true);
    expect((await audit({ since: new Date(Date.now() + 60_000).toISOString() })).length).toBe(0);
    const page1 = await stack.gql<{
      auditLog: { nodes: { id: string }[]; pageInfo: { endCursor: string; hasNextPage: boolean } };
    }>('{ auditLog(first: 2) { nodes { id } pageInfo { endCursor hasNextPage } } }');
    expect(page1.auditLog.pageInfo.hasNextPage).toBe(true);
    const page2 = await stack.gql<{ auditLog: { nodes: { id: string }[] } }>(
      `query($a: String) { auditLog(first: 2, after: $a) { nodes { id } } }`,
      { a: page1.auditLog.pageInfo.endCursor },
    );
    expect(page2.auditLog.nodes[0]!.id).toBe(all[2]!.id);
  });

  it('is for owners only', async () => {
    const r = await manager.gqlRaw('{ auditLog { totalCount } }');
    expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
