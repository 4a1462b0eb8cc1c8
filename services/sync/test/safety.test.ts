// Deletion safety in sync: the directory's threshold (defaults, validation, sent to the
// connector in the policy), BLOCKED runs with their RemovalPlan, approveRun / rejectRun over the
// RunDecision request/reply (identity is played by this file), supersession, the metrics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ErrorCode,
  RunDecision,
  RunDecisionReplySchema,
  RunDecisionRequestSchema,
  RunStatus,
  RunUpdateSchema,
  Subject,
  SyncMode,
  create,
  fromBinary,
  subject,
  toBinary,
  type RunDecisionRequest,
} from '@dirsync/proto';
import { waitFor } from '@dirsync/testkit';
import type { Subscription } from 'nats';
import type { SyncService } from '../src/index.js';
import { Harness, createDirectory, gql, gqlErr, gqlOk } from './helpers.js';

const h = new Harness();
let sync: SyncService;
let identity: Subscription;
/** What the fake identity answers next, per run id. */
const answers = new Map<string, (req: RunDecisionRequest) => Uint8Array>();
const requests: RunDecisionRequest[] = [];

beforeAll(async () => {
  await h.setup();
  sync = await h.start();
  // Play identity's decision responder.
  identity = h.nc.subscribe(subject(Subject.RUN_DECISIONS, { directory_id: '*' }, h.ns));
  void (async () => {
    for await (const msg of identity) {
      const req = fromBinary(RunDecisionRequestSchema, msg.data);
      requests.push(req);
      const answer = answers.get(req.runId);
      if (answer) msg.respond(answer(req));
    }
  })();
});
afterAll(async () => {
  identity?.unsubscribe();
  await h.teardown();
});

const RUN = `query($id: ID!) { run(id: $id) { id status readMode decision decidedBy decidedAt
  counts { pendingDeletion membershipsRemoved }
  removals { users memberships groups baseUsers baseMemberships reason threshold { maxCount maxPercent } }
  supersededBy { id } } }`;
const APPROVE = `mutation($id: ID!) { approveRun(runId: $id) { id status decision decidedBy counts { pendingDeletion } } }`;
const REJECT = `mutation($id: ID!) { rejectRun(runId: $id) { id status decision } }`;

interface RunView {
  id: string;
  readMode: string | null;
  status: string;
  decision: string | null;
  decidedBy: string | null;
  decidedAt: string | null;
  counts: { pendingDeletion: number; membershipsRemoved: number };
  removals: {
    users: number;
    memberships: number;
    groups: number;
    baseUsers: number;
    baseMemberships: number;
    reason: string;
    threshold: { maxCount: number; maxPercent: number };
  } | null;
  supersededBy: { id: string } | null;
}

const run = async (id: string) => (await gqlOk<{ run: RunView }>(sync.url, RUN, { id })).run;

/** The test directories' server (helpers.directoryInput), spelled another way. */
const SAME_SERVER = 'LDAP://127.0.0.1:3890/';

const REASON =
  'would remove 10 of 10 users (100 %); the deletion threshold is more than 500 or more than 20 %';

/** A directory with a FULL run that identity reported BLOCKED. */
async function blockedRun(): Promise<{ dirId: string; runId: string }> {
  const dir = await createDirectory(sync.url);
  const started = await gqlOk<{ syncAll: { id: string } }>(
    sync.url,
    `mutation($id: ID!) { syncAll(directoryId: $id) { id } }`,
    { id: dir.id },
  );
  const runId = started.syncAll.id;
  await h.publishUpdate({
    runId,
    directoryId: dir.id,
    seq: 1,
    status: RunStatus.BLOCKED,
    readMode: SyncMode.FULL,
    counts: { seen: 0 },
    cursor: '',
    removals: {
      users: 10,
      memberships: 12,
      groups: 1,
      baseUsers: 10,
      baseMemberships: 12,
      reason: REASON,
      threshold: { maxCount: 500, maxPercent: 20 },
    },
  });
  await waitFor(async () => ((await run(runId)).status === 'BLOCKED' ? true : undefined), {
    message: 'run BLOCKED',
  });
  return { dirId: dir.id, runId };
}

/** Identity's answer: the run's final update. */
function finalUpdate(
  status: RunStatus,
  fields: { decision?: RunDecision; pendingDeletion?: number; supersededBy?: string } = {},
) {
  return (req: RunDecisionRequest) =>
    toBinary(
      RunDecisionReplySchema,
      create(RunDecisionReplySchema, {
        result: {
          case: 'update',
          value: create(RunUpdateSchema, {
            runId: req.runId,
            directoryId: req.directoryId,
            seq: 2,
            status,
            counts: { seen: 0, pendingDeletion: fields.pendingDeletion ?? 0 },
            decision: fields.decision ?? req.decision,
            decidedBy: req.actor,
            supersededBy: fields.supersededBy ?? '',
          }),
        },
      }),
    );
}

function identityError(code: ErrorCode, message: string) {
  return () =>
    toBinary(
      RunDecisionReplySchema,
      create(RunDecisionReplySchema, { result: { case: 'error', value: { code, message } } }),
    );
}

describe('the deletion threshold of a directory', () => {
  const FIELDS = `id deletionThreshold { maxCount maxPercent }`;

  it('defaults to 500 users or 20 %, and is sent to the connector in the policy', async () => {
    const { createDirectory: dir } = await gqlOk<{
      createDirectory: { id: string; deletionThreshold: { maxCount: number; maxPercent: number } };
    }>(
      sync.url,
      `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { ${FIELDS} } }`,
      {
        input: {
          name: 'threshold defaults',
          ldap: {
            url: 'ldap://127.0.0.1:3890',
            bindDn: 'cn=admin,dc=example,dc=org',
            baseDn: 'dc=example,dc=org',
          },
          bindPassword: 'pw',
          selectedGroups: ['cn=staff,ou=groups,dc=example,dc=org'],
        },
      },
    );
    expect(dir.deletionThreshold).toEqual({ maxCount: 500, maxPercent: 20 });
    const reply = await h.requestConfig(dir.id);
    expect(reply.result.case).toBe('config');
    const policy = reply.result.case === 'config' ? reply.result.value.policy : undefined;
    expect(policy?.deletionThreshold).toMatchObject({ maxCount: 500, maxPercent: 20 });
  });

  it('is changed field by field; 0 turns a limit off; bad values name their field', async () => {
    const dir = await createDirectory(sync.url, { deletionThreshold: { maxCount: 50 } });
    const UPDATE = `mutation($id: ID!, $input: UpdateDirectoryInput!) { updateDirectory(id: $id, input: $input) { ${FIELDS} } }`;
    const changed = await gqlOk<{ updateDirectory: { deletionThreshold: unknown } }>(
      sync.url,
      UPDATE,
      { id: dir.id, input: { deletionThreshold: { maxPercent: 0 } } },
    );
    expect(changed.updateDirectory.deletionThreshold).toEqual({ maxCount: 50, maxPercent: 0 });
    const reply = await h.requestConfig(dir.id);
    const policy = reply.result.case === 'config' ? reply.result.value.policy : undefined;
    expect(policy?.deletionThreshold).toMatchObject({ maxCount: 50, maxPercent: 0 });

    const bad = await gqlErr(sync.url, UPDATE, {
      id: dir.id,
      input: { deletionThreshold: { maxCount: -1, maxPercent: 101 } },
    });
    expect(bad.code).toBe('BAD_USER_INPUT');
    expect(bad.extensions.fields).toEqual([
      { field: 'deletionThreshold.maxCount', message: 'must be an integer between 0 and 10000000' },
      { field: 'deletionThreshold.maxPercent', message: 'must be an integer between 0 and 100' },
    ]);
  });
});

describe('a BLOCKED run', () => {
  it('shows its removal plan, stores no cursor, and counts in the metrics', async () => {
    const { dirId, runId } = await blockedRun();
    const r = await run(runId);
    expect(r).toMatchObject({
      status: 'BLOCKED',
      // How it read is recorded as for a completed run.
      readMode: 'FULL',
      decision: null,
      counts: { pendingDeletion: 0 },
      removals: {
        users: 10,
        memberships: 12,
        groups: 1,
        baseUsers: 10,
        baseMemberships: 12,
        reason: REASON,
        threshold: { maxCount: 500, maxPercent: 20 },
      },
      supersededBy: null,
    });
    const [dir] = await h.sql<{ cursor: string | null }>(
      'select cursor from sync.directories where id = ?',
      [dirId],
    );
    expect(dir?.cursor ?? null).toBeNull();
    const metrics = await (await fetch(new URL('/metrics', sync.url))).text();
    expect(metrics).toMatch(
      new RegExp(`dirsync_blocked_deletions_total\\{[^}]*directory_id="${dirId}"[^}]*\\} 10`),
    );
    expect(metrics).toMatch(/dirsync_runs_blocked\{[^}]*\} [1-9]/);
  });

  it('approveRun asks identity and records the decision: COMPLETED, APPROVE, who', async () => {
    const { runId, dirId } = await blockedRun();
    answers.set(runId, finalUpdate(RunStatus.COMPLETED, { pendingDeletion: 10 }));
    const res = await gqlOk<{ approveRun: RunView }>(sync.url, APPROVE, { id: runId });
    expect(res.approveRun).toMatchObject({
      id: runId,
      status: 'COMPLETED',
      decision: 'APPROVE',
      counts: { pendingDeletion: 10 },
    });
    expect(res.approveRun.decidedBy).toBeTruthy();
    const req = requests.find((r) => r.runId === runId);
    expect(req).toMatchObject({ directoryId: dirId, decision: RunDecision.APPROVE });
    expect(req?.actor).toBe(res.approveRun.decidedBy);
    const r = await run(runId);
    expect(r.decidedAt).not.toBeNull();
    expect(r.removals?.users).toBe(10);
    // A decided run is not blocked any more: answered here, identity is not asked.
    const asked = requests.length;
    const again = await gqlErr(sync.url, APPROVE, { id: runId });
    expect(again.code).toBe('RUN_NOT_BLOCKED');
    expect(requests.length).toBe(asked);
  });

  it("is not approved once the directory's scope changed: the plan is stale (RUN_SUPERSEDED); reject still works", async () => {
    const UPDATE = `mutation($id: ID!, $input: UpdateDirectoryInput!) { updateDirectory(id: $id, input: $input) { id } }`;
    // Settings that do not change what a sync reads leave the plan approvable…
    const tuned = await blockedRun();
    await gqlOk(sync.url, UPDATE, {
      id: tuned.dirId,
      input: {
        name: `renamed ${tuned.dirId}`,
        bindPassword: 'new-password',
        // the same server, spelled in upper case with a trailing "/"
        ldap: { pageSize: 200, url: SAME_SERVER },
      },
    });
    answers.set(tuned.runId, finalUpdate(RunStatus.COMPLETED, { pendingDeletion: 10 }));
    expect(
      (await gqlOk<{ approveRun: RunView }>(sync.url, APPROVE, { id: tuned.runId })).approveRun
        .status,
    ).toBe('COMPLETED');

    // …a filter fixed after the run blocked does not: approving would remove people the source
    // still has under the new filter.
    const { runId, dirId } = await blockedRun();
    await gqlOk(sync.url, UPDATE, { id: dirId, input: { ldap: { userFilter: '(uid=*)' } } });
    answers.set(runId, finalUpdate(RunStatus.COMPLETED, { pendingDeletion: 10 }));
    const asked = requests.length;
    const refused = await gqlErr(sync.url, APPROVE, { id: runId });
    expect(refused.code).toBe('RUN_SUPERSEDED');
    expect(refused.message).toContain("planned before the directory's settings changed");
    expect(requests.length).toBe(asked);
    expect((await run(runId)).status).toBe('BLOCKED');
    answers.set(runId, finalUpdate(RunStatus.REJECTED));
    expect(
      (await gqlOk<{ rejectRun: RunView }>(sync.url, REJECT, { id: runId })).rejectRun.status,
    ).toBe('REJECTED');

    // Selected groups count as scope too.
    const again = await blockedRun();
    await gqlOk(sync.url, UPDATE, {
      id: again.dirId,
      input: { selectedGroups: ['cn=other,ou=groups,dc=example,dc=org'] },
    });
    expect((await gqlErr(sync.url, APPROVE, { id: again.runId })).code).toBe('RUN_SUPERSEDED');
  });

  it('rejectRun makes it REJECTED with decision REJECT', async () => {
    const { runId } = await blockedRun();
    answers.set(runId, finalUpdate(RunStatus.REJECTED));
    const res = await gqlOk<{ rejectRun: RunView }>(sync.url, REJECT, { id: runId });
    expect(res.rejectRun).toMatchObject({ status: 'REJECTED', decision: 'REJECT' });
    expect((await gqlErr(sync.url, REJECT, { id: runId })).code).toBe('RUN_NOT_BLOCKED');
  });

  it("a supersession from identity's stream makes it REJECTED with supersededBy", async () => {
    const { runId, dirId } = await blockedRun();
    const later = await h.sql<{ id: string }>(
      `select id from sync.runs where directory_id <> ? limit 1`,
      [dirId],
    );
    await h.publishUpdate({
      runId,
      directoryId: dirId,
      seq: 2,
      status: RunStatus.REJECTED,
      supersededBy: later[0]!.id,
    });
    const r = await waitFor(
      async () => {
        const x = await run(runId);
        return x.status === 'REJECTED' ? x : undefined;
      },
      { message: 'superseded' },
    );
    expect(r).toMatchObject({
      decision: null,
      decidedBy: null,
      supersededBy: { id: later[0]!.id },
    });
    const e = await gqlErr(sync.url, APPROVE, { id: runId });
    expect(e.code).toBe('RUN_SUPERSEDED');
    expect(e.extensions.supersededBy).toBe(later[0]!.id);
  });

  it('of an ADMIN run shows the administrators it holds back, and counts them in the metrics', async () => {
    const dir = await createDirectory(sync.url, {
      adminRoles: [{ role: 'OWNER', groups: ['cn=owners,ou=groups,dc=example,dc=org'] }],
    });
    const started = await gqlOk<{ syncAll: { id: string } }>(
      sync.url,
      `mutation($id: ID!) { syncAll(directoryId: $id, mode: ADMIN) { id } }`,
      { id: dir.id },
    );
    const runId = started.syncAll.id;
    const reason =
      'would remove 3 of 3 administrators (100 %); the deletion threshold is more than 500 or more than 20 % (for administrators: of more than 1, or the last)';
    await h.publishUpdate({
      runId,
      directoryId: dir.id,
      seq: 1,
      mode: SyncMode.ADMIN,
      status: RunStatus.BLOCKED,
      counts: { adminsSeen: 0 },
      removals: { admins: 3, baseAdmins: 3, reason, threshold: { maxCount: 500, maxPercent: 20 } },
    });
    const r = await waitFor(
      async () => {
        const { run: x } = await gqlOk<{
          run: { status: string; mode: string; removals: Record<string, unknown> | null };
        }>(
          sync.url,
          `query($id: ID!) { run(id: $id) { status mode removals { users admins baseAdmins reason } } }`,
          { id: runId },
        );
        return x.status === 'BLOCKED' ? x : undefined;
      },
      { message: 'ADMIN run BLOCKED' },
    );
    expect(r).toMatchObject({
      mode: 'ADMIN',
      removals: { users: 0, admins: 3, baseAdmins: 3, reason },
    });
    const metrics = await (await fetch(new URL('/metrics', sync.url))).text();
    expect(metrics).toMatch(
      new RegExp(`dirsync_blocked_deletions_total\\{[^}]*directory_id="${dir.id}"[^}]*\\} 3`),
    );
  });

  it("passes identity's errors on with their codes", async () => {
    const { runId } = await blockedRun();
    answers.set(runId, identityError(ErrorCode.RUN_SUPERSEDED, 'superseded by run x'));
    const e = await gqlErr(sync.url, APPROVE, { id: runId });
    expect(e).toMatchObject({ code: 'RUN_SUPERSEDED', message: 'superseded by run x' });
    expect((await run(runId)).status).toBe('BLOCKED');
  });

  it('only owners decide; a run that was never blocked answers RUN_NOT_BLOCKED, an unknown one NOT_FOUND', async () => {
    const { runId, dirId } = await blockedRun();
    for (const role of ['ADMINISTRATOR', 'USER_MANAGER', 'HELP_DESK', 'READ_ONLY'] as const) {
      const r = await gql(sync.url, APPROVE, { id: runId }, role);
      expect(r.errors?.[0]?.extensions?.code, role).toBe('FORBIDDEN');
      const j = await gql(sync.url, REJECT, { id: runId }, role);
      expect(j.errors?.[0]?.extensions?.code, role).toBe('FORBIDDEN');
    }
    expect((await run(runId)).status).toBe('BLOCKED');
    const dir = await createDirectory(sync.url);
    const done = await gqlOk<{ syncAll: { id: string } }>(
      sync.url,
      `mutation($id: ID!) { syncAll(directoryId: $id) { id } }`,
      { id: dir.id },
    );
    await h.publishUpdate({
      runId: done.syncAll.id,
      directoryId: dir.id,
      seq: 1,
      status: RunStatus.COMPLETED,
    });
    await waitFor(
      async () => ((await run(done.syncAll.id)).status === 'COMPLETED' ? true : undefined),
      { message: 'completed' },
    );
    const notBlocked = await gqlErr(sync.url, APPROVE, { id: done.syncAll.id });
    expect(notBlocked).toMatchObject({ code: 'RUN_NOT_BLOCKED' });
    expect(notBlocked.extensions.status).toBe('COMPLETED');
    expect(dirId).toBeTruthy();
    const unknown = await gqlErr(sync.url, APPROVE, { id: '00000000-0000-4000-8000-000000000009' });
    expect(unknown.code).toBe('NOT_FOUND');
  });
});
