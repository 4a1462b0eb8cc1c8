// Secrets never leave where they belong. Every stack-based test file already ends with the
// stack's secret scan (support/secret-scan.ts: logs, GraphQL answers, NATS streams, database
// rows); this file drives the paths where a secret is most likely to slip — wrong passwords,
// failing runs, changed credentials, API keys issued and revoked, the audit log — at debug log
// level, and checks that the scan itself catches a planted leak.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDemo, startSlapd, type Slapd } from '@dirsync/testkit';
import { SecretScanner } from './support/secret-scan.js';
import { startStack, syncAllAndWait, type Stack } from './support/stack.js';

const demo = loadDemo();
const BIND_PASSWORD = `bind-${randomBytes(12).toString('hex')}`;
const WRONG_PASSWORD = `wrong-${randomBytes(12).toString('hex')}`;
const lines: string[] = [];

let slapd: Slapd;
let stack: Stack;

function input(name: string, bindPassword: string) {
  const { custom, ...mapping } = demo.directory.mapping;
  return {
    name,
    ldap: { ...demo.directory.ldap, url: slapd.url },
    bindPassword,
    selectedGroups: demo.directory.selectedGroups,
    mapping: {
      ...mapping,
      custom: Object.entries(custom).map(([n, attribute]) => ({ name: n, attribute })),
    },
    scheduleIntervalMinutes: 0,
  };
}

beforeAll(async () => {
  slapd = await startSlapd({ ldif: demo.ldif, name: 'secrets', rootPassword: BIND_PASSWORD });
  stack = await startStack({ logs: { write: (l) => void lines.push(l) }, logLevel: 'debug' });
}, 120_000);

afterAll(async () => {
  await stack?.stop(); // fails here when the scan finds a leak
  await slapd?.dispose();
});

describe('secrets', () => {
  it('go through every path where they could leak without appearing anywhere', async () => {
    const create = `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { id hasBindPassword } }`;
    const good = (
      await stack.gql<{ createDirectory: { id: string } }>(create, {
        input: input('Good', BIND_PASSWORD),
      })
    ).createDirectory.id;
    const bad = (
      await stack.gql<{ createDirectory: { id: string } }>(create, {
        input: input('Bad', WRONG_PASSWORD),
      })
    ).createDirectory.id;

    const failed = await syncAllAndWait(stack, bad);
    expect(failed).toMatchObject({ status: 'FAILED', errorCode: 'INVALID_CREDENTIALS' });
    expect(failed.errorMessage).not.toContain(WRONG_PASSWORD);

    // Fix the bad one, break the good one, fix it again: every change of credentials.
    const update = `mutation($id: ID!, $input: UpdateDirectoryInput!) { updateDirectory(id: $id, input: $input) { id } }`;
    await stack.gql(update, { id: bad, input: { bindPassword: BIND_PASSWORD } });
    await stack.gql(update, { id: good, input: { bindPassword: WRONG_PASSWORD } });
    expect((await syncAllAndWait(stack, good)).status).toBe('FAILED');
    await stack.gql(update, { id: good, input: { bindPassword: BIND_PASSWORD } });
    expect((await syncAllAndWait(stack, good)).status).toBe('COMPLETED');
    const { syncUser } = await stack.gql<{ syncUser: { outcome: string } }>(
      `mutation($id: ID!) { syncUser(directoryId: $id, username: "jdoe") { outcome } }`,
      { id: good },
    );
    expect(syncUser.outcome).toBe('UNCHANGED');

    // Keys: issued, used, revoked, used again.
    const helpDesk = await stack.client('HELP_DESK');
    await helpDesk.gql('{ viewer { id } }');
    const { apiKeys } = await stack.gql<{ apiKeys: { nodes: { id: string; role: string }[] } }>(
      '{ apiKeys { nodes { id role } } }',
    );
    await stack.gql(`mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, {
      id: apiKeys.nodes.find((k) => k.role === 'HELP_DESK')!.id,
    });
    expect((await helpDesk.gqlRaw('{ viewer { id } }')).errors?.[0]?.extensions?.code).toBe(
      'UNAUTHENTICATED',
    );

    // Read back everything an operator can see.
    const everything = await stack.gql(
      `{ directories { nodes { id name hasBindPassword ldap { url bindDn baseDn } lastRun { status errorCode errorMessage } } }
         runs(first: 100) { nodes { id status errorCode errorMessage errors(first: 100) { nodes { code message sourceLocator } } } }
         auditLog(first: 100) { nodes { fields arguments result errorCodes } } }`,
    );
    const text = JSON.stringify(everything);
    expect(text).toContain('[redacted]');
    for (const secret of [BIND_PASSWORD, WRONG_PASSWORD]) expect(text).not.toContain(secret);

    expect(lines.some((l) => l.includes('"level":20'))).toBe(true); // debug logging really ran
    const leaks = await stack.secretScanner.findings({
      nc: stack.nc,
      namespace: stack.namespace,
      databaseUrl: stack.databaseUrl,
    });
    expect(leaks).toEqual([]);
  }, 120_000);

  it('the scan finds a planted secret in logs, answers, streams and rows, in any encoding', async () => {
    const scanner = new SecretScanner();
    const planted = `planted-${randomBytes(8).toString('hex')}`;
    scanner.add('the planted secret', planted);
    scanner.observe('a log line', `{"msg":"oops ${Buffer.from(planted).toString('base64')}"}`);
    const js = stack.nc.jetstream();
    await js.publish(
      `${stack.namespace}.dirsync.lifecycle.test.planted`,
      new TextEncoder().encode(`x${planted}x`),
    );
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: stack.databaseUrl });
    await client.connect();
    await client.query(`create table public.planted (note text)`);
    await client.query(`insert into public.planted values ($1)`, [`note: ${planted}`]);
    try {
      const found = await scanner.findings({
        nc: stack.nc,
        namespace: stack.namespace,
        databaseUrl: stack.databaseUrl,
      });
      expect(found).toEqual(
        expect.arrayContaining([
          'the planted secret in a log line',
          expect.stringMatching(/^the planted secret in stream .*LIFECYCLE/),
          'the planted secret in table public.planted',
        ]),
      );
    } finally {
      await client.query('drop table public.planted');
      await client.end();
    }
  });
});
