// Disabled in OpenLDAP → DISABLED in dirsync, and back, end to end (slapd with the ppolicy
// overlay → connector-ldap → NATS → identity → GraphQL). OpenLDAP has no single "disabled" flag:
// dirsync reads an expired `shadowExpire`, the permanent ppolicy lock `pwdAccountLockedTime:
// 000001010000Z` and `nsAccountLock: TRUE` (a schema slapd lacks here: asking for it is harmless).
// A lockout after failed logins (any other pwdAccountLockedTime) is never imported as a status.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatLdifEntry, startSlapd, type Slapd } from '@dirsync/testkit';
import { createSlapdDirectory, startStack, waitForRun, type Stack } from './support/stack.js';

const PEOPLE = ['ann', 'ben', 'cat', 'dan', 'eve'] as const;
const dn = (p: string) => `uid=${p},ou=people,dc=example,dc=org`;
const DAY = 86_400_000;
const today = () => Math.floor(Date.now() / DAY);

let slapd: Slapd;
let stack: Stack;
let dirId: string;

interface RunView {
  id: string;
  status: string;
  counts: { seen: number; disabled: number; enabled: number; updated: number };
  changes: { nodes: { kind: string; username: string | null }[] };
}

async function sync(mode: 'FULL' | 'DELTA'): Promise<RunView> {
  const { syncAll } = await stack.gql<{ syncAll: { id: string } }>(
    `mutation($id: ID!, $mode: SyncMode) { syncAll(directoryId: $id, mode: $mode) { id } }`,
    { id: dirId, mode },
  );
  await waitForRun(stack, syncAll.id);
  const { run } = await stack.gql<{ run: RunView }>(
    `query($id: ID!) { run(id: $id) { id status counts { seen disabled enabled updated }
       changes(first: 100, filter: { kinds: [DISABLED, ENABLED] }) { nodes { kind username } } } }`,
    { id: syncAll.id },
  );
  expect(run.status).toBe('COMPLETED');
  return run;
}

async function statuses(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const p of PEOPLE) {
    const { userByUsername } = await stack.gql<{ userByUsername: { status: string } | null }>(
      `query($u: String!) { userByUsername(username: $u) { status } }`,
      { u: p },
    );
    out[p] = userByUsername?.status ?? 'missing';
  }
  return out;
}

const kinds = (run: RunView) =>
  run.changes.nodes.map((c) => `${c.kind} ${c.username ?? ''}`).sort();

beforeAll(async () => {
  const person = (p: string, extra: Record<string, string[]> = {}) =>
    formatLdifEntry({
      dn: dn(p),
      attributes: {
        objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'shadowAccount'],
        uid: [p],
        cn: [p],
        sn: ['Disabled'],
        ...extra,
      },
    });
  const entries = [
    person('ann'),
    // expired on day 1 (1970-01-02): the usual way to switch a posix account off
    person('ben', { shadowExpire: ['1'] }),
    // expires tomorrow: still enabled
    person('cat', { shadowExpire: [String(today() + 1)] }),
    person('dan'),
    person('eve', { shadowExpire: ['-1'] }),
    formatLdifEntry({
      dn: 'cn=staff,ou=groups,dc=example,dc=org',
      attributes: { objectClass: ['top', 'groupOfNames'], cn: ['staff'], member: PEOPLE.map(dn) },
    }),
  ];
  slapd = await startSlapd({
    name: 'e2e-ldap-disabled',
    ldif: entries.join('\n\n') + '\n',
    ppolicy: true,
  });
  stack = await startStack();
  dirId = await createSlapdDirectory(stack, slapd, 'OpenLDAP disabled', ['staff']);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await slapd?.dispose();
});

describe('OpenLDAP accounts switched off in the source', () => {
  it('a full sync imports an expired shadowExpire as DISABLED; a future one, -1 or none as ACTIVE', async () => {
    const run = await sync('FULL');
    expect(run.counts).toMatchObject({ seen: 5, disabled: 1 });
    expect(await statuses()).toEqual({
      ann: 'ACTIVE',
      ben: 'DISABLED',
      cat: 'ACTIVE',
      dan: 'ACTIVE',
      eve: 'ACTIVE',
    });
  });

  it('a delta sync disables on a permanent ppolicy lock, not on a lockout after failed logins, and enables again', async () => {
    await slapd.modify(
      [
        `dn: ${dn('ann')}\nchangetype: modify\nadd: pwdAccountLockedTime\npwdAccountLockedTime: 000001010000Z\n`,
        `dn: ${dn('ben')}\nchangetype: modify\ndelete: shadowExpire\n`,
        // a lockout after failed logins: a real time, lifted by the server by itself
        `dn: ${dn('dan')}\nchangetype: modify\nadd: pwdAccountLockedTime\npwdAccountLockedTime: 20260101000000Z\n`,
        `dn: ${dn('eve')}\nchangetype: modify\nreplace: shadowExpire\nshadowExpire: ${today()}\n`,
      ].join('\n'),
    );
    const run = await sync('DELTA');
    expect(kinds(run)).toEqual(['DISABLED ann', 'DISABLED eve', 'ENABLED ben']);
    expect(run.counts).toMatchObject({ disabled: 2, enabled: 1 });
    expect(await statuses()).toEqual({
      ann: 'DISABLED',
      ben: 'ACTIVE',
      cat: 'ACTIVE',
      dan: 'ACTIVE',
      eve: 'DISABLED',
    });
  });

  it('unlocking is enabling: the next full sync brings the status back and changes nothing else', async () => {
    await slapd.modify(`dn: ${dn('ann')}\nchangetype: modify\ndelete: pwdAccountLockedTime\n`);
    const run = await sync('FULL');
    expect(kinds(run)).toEqual(['ENABLED ann']);
    expect((await statuses()).ann).toBe('ACTIVE');
  });
});
