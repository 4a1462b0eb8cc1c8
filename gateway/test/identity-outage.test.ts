// Identity down while a sync finishes reading (OpenLDAP → connector → NATS, identity stopped):
// the connector's events, removals included, wait in JetStream, and identity applies them when it
// is back. The sync service must not call the run FAILED in the meantime — once identity catches
// up it removes whom the run did not see, and a FAILED run that removed people (the run timeout's
// verdict, counts 0 beside recorded removals) is the split brain the break-it trial found.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatLdifEntry, startSlapd, waitFor, type Slapd } from '@dirsync/testkit';
import {
  createSlapdDirectory,
  startStack,
  syncAllAndWait,
  waitForRun,
  type Stack,
} from './support/stack.js';

const PEOPLE = Array.from({ length: 10 }, (_, i) => `p${i}`);
const dn = (p: string) => `uid=${p},ou=people,dc=example,dc=org`;
const RUN_TIMEOUT_SECONDS = 3;

let slapd: Slapd;
let stack: Stack;
let dirId: string;

interface RunState {
  status: string;
  errorCode: string | null;
  counts: { pendingDeletion: number };
  connector: { publishedAt: string | null } | null;
  changes: { totalCount: number };
}

/** What the sync subgraph alone answers (identity is down). */
const syncState = async (id: string) =>
  (
    await stack.gql<{ run: Pick<RunState, 'status' | 'connector'> }>(
      `query($id: ID!) { run(id: $id) { status connector { publishedAt } } }`,
      { id },
    )
  ).run;

const runState = async (id: string): Promise<RunState> =>
  (
    await stack.gql<{ run: RunState }>(
      `query($id: ID!) { run(id: $id) { status errorCode counts { pendingDeletion }
         connector { publishedAt }
         changes(filter: { kinds: [PENDING_DELETION] }) { totalCount } } }`,
      { id },
    )
  ).run;

beforeAll(async () => {
  const entries = [
    ...PEOPLE.map((p) =>
      formatLdifEntry({
        dn: dn(p),
        attributes: { objectClass: ['top', 'person', 'inetOrgPerson'], uid: [p], cn: [p], sn: [p] },
      }),
    ),
    formatLdifEntry({
      dn: 'cn=staff,ou=groups,dc=example,dc=org',
      attributes: { objectClass: ['top', 'groupOfNames'], cn: ['staff'], member: PEOPLE.map(dn) },
    }),
  ];
  slapd = await startSlapd({ name: 'identity-outage', ldif: entries.join('\n\n') + '\n' });
  stack = await startStack({ runTimeoutSeconds: RUN_TIMEOUT_SECONDS });
  dirId = await createSlapdDirectory(stack, slapd, 'identity outage', ['staff']);
  expect((await syncAllAndWait(stack, dirId)).status).toBe('COMPLETED');
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await slapd?.dispose();
});

describe('identity down while a run ends', () => {
  it('the run waits for identity past the run timeout, then completes with what identity removed', async () => {
    await slapd.modify(`dn: ${dn('p9')}\nchangetype: delete\n`);
    await stack.stopIdentity();
    let runId = '';
    try {
      runId = (
        await stack.gql<{ syncAll: { id: string } }>(
          `mutation($id: ID!) { syncAll(directoryId: $id) { id } }`,
          { id: dirId },
        )
      ).syncAll.id;
      // The connector reads everything and publishes its RunCompleted: identity owns the outcome.
      await waitFor(async () => Boolean((await syncState(runId)).connector?.publishedAt), {
        message: 'the connector published the run',
      });
      // Three run timeouts of silence from identity (the sweep runs several times meanwhile).
      await new Promise((r) => setTimeout(r, 3 * RUN_TIMEOUT_SECONDS * 1000));
      expect((await syncState(runId)).status).toBe('RUNNING');
    } finally {
      await stack.startIdentity();
    }
    await waitForRun(stack, runId);
    const done = await runState(runId);
    expect(done).toMatchObject({
      status: 'COMPLETED',
      errorCode: null,
      counts: { pendingDeletion: 1 },
      changes: { totalCount: 1 },
    });
  });
});
