// Dry run end to end: a real slapd serving the demo directory, NATS, Postgres and every service,
// through the gateway. A dry run writes no row of any identity table but run history, leaves
// the directory's cursor and last run alone, and its planned changes (SyncRun.changes, resolved
// by identity through federation) are what the real run then does.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDemo, startSlapd, type Slapd } from '@dirsync/testkit';
import {
  RUN_FIELDS,
  startStack,
  syncAllAndWait,
  waitForRun,
  type RunView,
  type Stack,
} from './support/stack.js';

const demo = loadDemo();

/** Identity tables that are a run's own record: a dry run may write these, nothing else. */
const RUN_RECORD = ['runs', 'run_changes', 'applied_events', 'outbox', 'run_dry_events'];

interface Change {
  kind: string;
  userId: string | null;
  externalId: string | null;
  username: string | null;
  fields: { field: string; old: unknown; new: unknown }[];
  removedGroupIds: string[];
  addedGroupIds: string[];
}

interface DryRunView extends RunView {
  dryRun: boolean;
  changes: { totalCount: number; nodes: Change[] };
}

const CHANGES = `changes(first: 500) { totalCount nodes { kind userId externalId username
  fields { field old new } removedGroupIds addedGroupIds } }`;

describe('dry run end to end (OpenLDAP → … → GraphQL)', () => {
  let slapd: Slapd;
  let stack: Stack;
  let db: pg.Client;
  let dirId: string;
  let plan: DryRunView;

  /** A digest of every row of every identity table but the run record, and the directory row. */
  async function snapshot(): Promise<Record<string, string>> {
    const tables = await db.query<{ name: string }>(
      `select table_name as name from information_schema.tables
       where table_schema = 'identity' and table_type = 'BASE TABLE'
         and table_name <> all($1::text[]) and table_name not like 'mikro_orm%' order by 1`,
      [RUN_RECORD],
    );
    const out: Record<string, string> = {};
    for (const { name } of tables.rows) {
      const r = await db.query<{ digest: string; n: string }>(
        `select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as digest,
                count(*) as n from identity.${name} t`,
      );
      out[name] = `${r.rows[0]?.n}:${r.rows[0]?.digest}`;
    }
    const other = await db.query<{ n: string }>(
      `select count(*) as n from identity.outbox
       where subject not like '%dirsync.runs.%' and subject not like '%dirsync.lifecycle.run.%'`,
    );
    out['outbox (not run)'] = String(other.rows[0]?.n);
    const dir = await db.query<{ cursor: string | null; last_run_id: string | null }>(
      'select cursor, last_run_id from sync.directories where id = $1',
      [dirId],
    );
    out['sync.directories'] = JSON.stringify(dir.rows[0]);
    return out;
  }

  async function run(id: string): Promise<DryRunView> {
    return (
      await stack.gql<{ run: DryRunView }>(
        `query($id: ID!) { run(id: $id) { ${RUN_FIELDS} dryRun ${CHANGES} } }`,
        { id },
      )
    ).run;
  }

  beforeAll(async () => {
    slapd = await startSlapd({ ldif: demo.ldif, name: 'dry-run' });
    stack = await startStack();
    db = new pg.Client({ connectionString: stack.databaseUrl });
    await db.connect();
    const { custom, ...mapping } = demo.directory.mapping;
    const { createDirectory } = await stack.gql<{ createDirectory: { id: string } }>(
      `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { id } }`,
      {
        input: {
          name: 'dry run e2e',
          ldap: { ...demo.directory.ldap, url: slapd.url },
          bindPassword: slapd.rootPassword,
          selectedGroups: demo.directory.selectedGroups,
          mapping: {
            ...mapping,
            custom: Object.entries(custom).map(([name, attribute]) => ({ name, attribute })),
          },
          defaultRegion: demo.directory.defaultRegion,
          scheduleIntervalMinutes: 0,
          deltaIntervalMinutes: 0,
          // The plan below removes one selected group's members: no threshold in the way.
          deletionThreshold: { maxCount: 0, maxPercent: 0 },
        },
      },
    );
    dirId = createDirectory.id;
    const first = await syncAllAndWait(stack, dirId);
    expect(first.status).toBe('COMPLETED');
    // One selected group fewer: its members not reachable otherwise would go.
    await stack.gql(
      `mutation($id: ID!, $groups: [String!]!) { updateDirectory(id: $id, input: { selectedGroups: $groups }) { id } }`,
      { id: dirId, groups: demo.directory.selectedGroups.slice(0, -1) },
    );
  }, 180_000);

  afterAll(async () => {
    await db?.end();
    await stack?.stop();
    await slapd?.dispose();
  });

  it('dry run on the demo directory writes no row (but its run history)', async () => {
    const before = await snapshot();
    const { syncAll } = await stack.gql<{ syncAll: { id: string; dryRun: boolean } }>(
      `mutation($id: ID!) { syncAll(directoryId: $id, dryRun: true) { id dryRun } }`,
      { id: dirId },
    );
    expect(syncAll.dryRun).toBe(true);
    await waitForRun(stack, syncAll.id);
    plan = await run(syncAll.id);
    expect(await snapshot()).toEqual(before);
    expect(plan).toMatchObject({ status: 'COMPLETED', dryRun: true });
    expect(plan.counts.pendingDeletion).toBeGreaterThan(0);
    const gone = plan.changes.nodes.filter((c) => c.kind === 'PENDING_DELETION');
    expect(gone.length).toBe(plan.counts.pendingDeletion);
    // Nobody planned for removal is removed.
    for (const c of gone.slice(0, 5)) {
      const { user } = await stack.gql<{ user: { status: string } }>(
        `query($id: ID!) { user(id: $id) { status } }`,
        { id: c.userId },
      );
      expect(user.status).not.toBe('PENDING_DELETION');
    }
  });

  it('the real run then does what the dry run planned', async () => {
    const real = await syncAllAndWait(stack, dirId);
    expect(real.status).toBe('COMPLETED');
    const done = await run(real.id);
    expect(done.dryRun).toBe(false);
    expect({ ...done.counts }).toEqual({ ...plan.counts });
    const key = (c: Change) =>
      JSON.stringify([c.kind, c.userId, c.externalId, c.username, c.fields, c.removedGroupIds]);
    expect(done.changes.nodes.map(key).sort()).toEqual(plan.changes.nodes.map(key).sort());
  });

  it('syncUser(dryRun: true): the planned outcome, nothing changed', async () => {
    const before = await snapshot();
    const { syncUser } = await stack.gql<{
      syncUser: { outcome: string; run: { id: string; dryRun: boolean } };
    }>(
      `mutation($id: ID!) { syncUser(directoryId: $id, username: "jdoe", dryRun: true) {
         outcome run { id dryRun } } }`,
      { id: dirId },
    );
    expect(syncUser.run.dryRun).toBe(true);
    expect(['UNCHANGED', 'UPDATED', 'PENDING_DELETION', 'RESTORED']).toContain(syncUser.outcome);
    expect(await snapshot()).toEqual(before);
  });
});
