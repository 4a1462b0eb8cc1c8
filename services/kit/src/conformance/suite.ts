import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AdminRole,
  CheckName,
  CheckStatus,
  ErrorCode,
  FullReadReason,
  RemovalReason,
  SyncMode,
  errorCodeName,
  eventMsgId,
  type AttributeMapping,
  type ConnectionCheck,
} from '@dirsync/proto';
import type { SourceConnector } from '../connector/types.js';
import { offersDelta } from '../connector/worker.js';
import {
  memberUsernames,
  observedUsernames,
  startConnectorHarness,
  type CollectedRun,
  type ConnectorHarness,
  type HarnessConfig,
} from './harness.js';

/** A user of a conformance fixture; `key` names it in groups and mutations. */
export interface FixtureUser {
  key: string;
  /** Absent → the source record has no value for the username attribute. */
  username?: string;
  email?: string;
  firstName?: string;
  lastName?: string;
  displayName?: string;
  /** Raw phone values as the source would hold them. */
  phones?: string[];
}

export interface FixtureGroup {
  key: string;
  name: string;
  /** User keys. */
  members?: string[];
  /** Keys of groups nested in this one. */
  groups?: string[];
}

export interface SourceFixture {
  users: FixtureUser[];
  groups: FixtureGroup[];
}

export type FixtureMutation =
  | { op: 'addMember'; group: string; user: string }
  | { op: 'removeMember'; group: string; user: string }
  | { op: 'updateUser'; user: string; changes: Partial<Omit<FixtureUser, 'key'>> }
  | { op: 'deleteUser'; user: string }
  /** Take a nested group out of a group (`group` no longer contains `subgroup`). */
  | { op: 'removeSubgroup'; group: string; subgroup: string };

/** The directory configuration a connector's hooks produce for a fixture. */
export interface ConformanceConfig {
  settings: unknown;
  secrets: Record<string, string>;
  /** Selected groups in the source's notation. */
  selectedGroups: string[];
  /** Maps username, email, firstName, lastName, displayName and phones to the source. */
  mapping: Partial<Omit<AttributeMapping, '$typeName'>>;
}

/**
 * What a connector provides to be tested by {@link runConnectorConformance}. The hooks own the
 * source (a real server or a stateful fake); the suite owns NATS, the worker and the assertions.
 */
export interface ConformanceHooks<S> {
  /** Used in the describe title. */
  name: string;
  connector: () => SourceConnector<S> | Promise<SourceConnector<S>>;
  /** Start the source (once, before everything). */
  setup?: () => Promise<void>;
  /** Stop it (once, after everything). */
  teardown?: () => Promise<void>;
  /** Make the source hold exactly this fixture (removing what a previous seed left). */
  seed: (fixture: SourceFixture) => Promise<void>;
  /** Change the seeded source in place. */
  mutate: (mutations: FixtureMutation[]) => Promise<void>;
  /**
   * The configuration for the seeded source with the given groups selected (fixture keys; an
   * unknown key must become a reference to a group that does not exist). `failure` asks for a
   * configuration whose source cannot be reached, or whose credentials are wrong.
   */
  directoryConfig: (opts: {
    selectedGroups: string[];
    failure?: 'unreachable' | 'bad-credentials';
  }) => ConformanceConfig | Promise<ConformanceConfig>;
  /** Settings the connector's schema rejects, and the field names the error must mention. */
  invalidSettings?: () => { settings: unknown; fields: string[] };
  /**
   * Required when the connector offers delta (`offersDelta`): runs the delta scenarios. The
   * suite re-seeds the source, runs FULL, then mutates and runs DELTA from each returned cursor.
   */
  /**
   * True when the connector runs ADMIN (its `modes` list it): runs the admin sync scenarios. The
   * suite re-seeds the source with people in role groups; `directoryConfig` translates the
   * role groups' fixture keys as it does selected groups.
   */
  admins?: boolean;
  delta?: {
    /**
     * A cursor the connector must reject with `CursorRejectedError` (e.g. one the source has
     * forgotten or one from the future), given a valid cursor of the seeded source.
     */
    rejectedCursor: (validCursor: string) => string | Promise<string>;
  };
  natsUrl?: string;
  /** NATS namespace; a fresh random one by default. */
  namespace?: string;
  /** Per-run timeout (default 60 s). */
  runTimeoutMs?: number;
}

const BATCH = 50;
const BIG = 120;

function fixture(): SourceFixture {
  const bigUsers: FixtureUser[] = Array.from({ length: BIG }, (_v, i) => ({
    key: `u${String(i).padStart(3, '0')}`,
    username: `user${String(i).padStart(3, '0')}`,
    firstName: 'Bulk',
    lastName: `User ${i}`,
  }));
  return {
    users: [
      {
        key: 'alice',
        username: 'alice',
        email: 'alice@example.org',
        firstName: 'Alice',
        lastName: 'Archer',
        displayName: 'Alice Archer',
        phones: ['+1 415 555 0100'],
      },
      { key: 'bob', username: 'bob', firstName: 'Bob', lastName: 'Baker' },
      { key: 'carol', username: 'carol', firstName: 'Carol', lastName: 'Cook' },
      { key: 'dave', username: 'dave', firstName: 'Dave', lastName: 'Dyer' },
      { key: 'erin', firstName: 'Erin', lastName: 'Nousername' },
      {
        key: 'frank',
        username: 'frank',
        firstName: 'Frank',
        lastName: 'Fisher',
        phones: ['(415) 555-0101', 'not a phone'],
      },
      ...bigUsers,
    ],
    groups: [
      {
        key: 'eng',
        name: 'engineering',
        members: ['alice', 'erin', 'frank'],
        groups: ['platform'],
      },
      { key: 'platform', name: 'platform', members: ['bob'] },
      { key: 'sales', name: 'sales', members: ['carol'] },
      { key: 'big', name: 'big', members: bigUsers.map((u) => u.key) },
    ],
  };
}

const SELECTED = ['eng', 'big'];

function codeOf(run: CollectedRun): string | undefined {
  const code = run.failed?.error?.code;
  return code === undefined ? undefined : errorCodeName(code);
}

/**
 * The protocol every connector must keep, as vitest `describe`s (after scimmy's resource hooks):
 * call it at the top level of a connector's test file with that connector's hooks. It seeds the
 * source, runs the real worker against a real NATS namespace with an in-test config responder,
 * collects the published events from the stream and asserts the protocol.
 */
export function runConnectorConformance<S>(hooks: ConformanceHooks<S>): void {
  describe(`${hooks.name} connector conformance`, () => {
    let h: ConnectorHarness;
    let full: CollectedRun;
    const timeoutMs = hooks.runTimeoutMs ?? 60_000;
    const directoryId = () => `dir-${randomUUID()}`;

    async function configure(
      id: string,
      opts: Parameters<ConformanceHooks<S>['directoryConfig']>[0],
      cursor = '',
    ): Promise<HarnessConfig> {
      const cfg = await hooks.directoryConfig(opts);
      const config: HarnessConfig = {
        settings: cfg.settings,
        secrets: cfg.secrets,
        selectedGroups: cfg.selectedGroups,
        mapping: cfg.mapping,
        defaultRegion: 'US',
        restoreWindowDays: 11,
        cursor,
      };
      h.setConfig(id, config);
      return config;
    }

    async function runFull(selectedGroups = SELECTED): Promise<CollectedRun> {
      const id = directoryId();
      await configure(id, { selectedGroups });
      return h.run({ directoryId: id, mode: SyncMode.FULL }, { timeoutMs });
    }

    async function runUser(username: string): Promise<CollectedRun> {
      const id = directoryId();
      await configure(id, { selectedGroups: SELECTED });
      return h.run({ directoryId: id, mode: SyncMode.USER, username }, { timeoutMs });
    }

    beforeAll(async () => {
      await hooks.setup?.();
      h = await startConnectorHarness({
        connector: await hooks.connector(),
        natsUrl: hooks.natsUrl,
        namespace: hooks.namespace,
        batchSize: BATCH,
      });
      await hooks.seed(fixture());
      full = await runFull();
    });

    afterAll(async () => {
      await h?.close();
      await hooks.teardown?.();
    });

    describe('FULL run', () => {
      it('completes', () => {
        expect(full.outcome.error).toBeUndefined();
        expect(full.outcome.status).toBe('completed');
        expect(full.failed).toBeUndefined();
      });

      it('numbers events contiguously from 1, RunStarted first and RunCompleted last', () => {
        expect(full.events.length).toBeGreaterThan(2);
        expect(full.events.map((e) => e.seq)).toEqual(full.events.map((_e, i) => i + 1));
        expect(full.events[0]?.body.case).toBe('runStarted');
        expect(full.events.at(-1)?.body.case).toBe('runCompleted');
        expect(full.events.slice(1, -1).every((e) => e.body.case !== 'runStarted')).toBe(true);
        expect(full.events.filter((e) => e.body.case === 'runCompleted')).toHaveLength(1);
        expect(full.completed?.lastSeq).toBe(full.events.length);
      });

      it('stamps every event with its run, directory and emission time', () => {
        for (const e of full.events) {
          expect(e.runId).toBe(full.runId);
          expect(e.directoryId).toBe(full.directoryId);
          expect(e.emittedAtMs).toBeGreaterThan(0n);
        }
      });

      it('declares ADMIN mode exactly when it runs the admin scenarios', async () => {
        const connector = await hooks.connector();
        const modes = connector.modes ?? [SyncMode.ADMIN];
        expect(modes.includes(SyncMode.ADMIN)).toBe(hooks.admins === true);
      });

      it('declares delta support exactly when it runs the delta scenarios', async () => {
        const connector = await hooks.connector();
        const { settings } = await hooks.directoryConfig({ selectedGroups: SELECTED });
        const parsed = connector.settingsSchema.parse(settings);
        expect(offersDelta(connector, parsed)).toBe(hooks.delta !== undefined);
      });

      it('says it read in FULL mode, and how many entries it read', () => {
        expect(full.completed?.readMode).toBe(SyncMode.FULL);
        expect(full.completed?.fullReadReason).toBe(FullReadReason.UNSPECIFIED);
        expect(full.outcome.entriesRead).toBe(full.completed?.entriesRead);
      });

      it('forwards the job and the policy in RunStarted', () => {
        expect(full.started?.mode).toBe(SyncMode.FULL);
        expect(full.started?.dryRun).toBe(false);
        expect(full.started?.policy?.restoreWindowDays).toBe(11);
      });

      it('uses deterministic message ids "<run>:<seq>"', () => {
        expect(full.msgIds).toEqual(full.events.map((e) => eventMsgId(full.runId, e.seq)));
      });

      it('observes exactly the transitive members of the selected groups', () => {
        const expected = [
          'alice',
          'bob',
          'frank',
          ...Array.from({ length: BIG }, (_v, i) => `user${String(i).padStart(3, '0')}`),
        ].sort();
        expect(observedUsernames(full)).toEqual(expected);
      });

      it('observes the selected groups and the groups nested in them, not others', () => {
        expect(full.groups.map((g) => g.name).sort()).toEqual(['big', 'engineering', 'platform']);
      });

      it('reports members transitively: nested members belong to the outer group', () => {
        expect(memberUsernames(full, 'platform')).toEqual(['bob']);
        expect(memberUsernames(full, 'engineering')).toEqual(['alice', 'bob', 'frank']);
      });

      it('splits a big group over several chunks whose union is complete', () => {
        const big = full.groups.find((g) => g.name === 'big');
        expect(big).toBeDefined();
        expect(memberUsernames(full, 'big')).toHaveLength(BIG);
        expect(full.membershipChunks.get(big?.externalId ?? '')).toBeGreaterThanOrEqual(
          Math.ceil(BIG / BATCH),
        );
      });

      it(`never puts more than ${BATCH} records in one message`, () => {
        for (const e of full.events) {
          const b = e.body;
          const n =
            b.case === 'users'
              ? b.value.users.length
              : b.case === 'groups'
                ? b.value.groups.length
                : b.case === 'memberships'
                  ? b.value.groups.reduce((s, g) => s + g.userExternalIds.length, 0)
                  : b.case === 'objectErrors'
                    ? b.value.errors.length
                    : 1;
          expect(n).toBeGreaterThan(0);
          expect(n).toBeLessThanOrEqual(BATCH);
        }
      });

      it('counts in RunCompleted what it published', () => {
        expect(full.completed?.usersObserved).toBe(full.users.length);
        expect(full.completed?.groupsObserved).toBe(full.groups.length);
      });

      it('publishes each user and group once, with distinct external ids', () => {
        const ids = full.users.map((u) => u.externalId);
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids.every((id) => id.length > 0)).toBe(true);
        const gids = full.groups.map((g) => g.externalId);
        expect(new Set(gids).size).toBe(gids.length);
      });

      it('only references observed users in memberships', () => {
        const ids = new Set(full.users.map((u) => u.externalId));
        for (const members of full.memberships.values()) {
          for (const id of members) expect(ids.has(id)).toBe(true);
        }
      });

      it('reports a user without username as MISSING_USERNAME and goes on', () => {
        const missing = full.objectErrors.filter((e) => e.code === ErrorCode.MISSING_USERNAME);
        expect(missing).toHaveLength(1);
        expect(missing[0]?.message.length).toBeGreaterThan(0);
      });

      it('maps attributes and normalises phones to E.164 with the default region', () => {
        const alice = full.users.find((u) => u.username === 'alice');
        expect(alice).toMatchObject({
          email: 'alice@example.org',
          firstName: 'Alice',
          lastName: 'Archer',
          displayName: 'Alice Archer',
        });
        expect(alice?.phones.map((p) => p.number)).toEqual(['+14155550100']);
        const frank = full.users.find((u) => u.username === 'frank');
        expect(frank?.phones.map((p) => p.number)).toEqual(['+14155550101']);
      });

      it('reports an invalid phone as INVALID_PHONE and still imports the user', () => {
        const frank = full.users.find((u) => u.username === 'frank');
        const invalid = full.objectErrors.filter((e) => e.code === ErrorCode.INVALID_PHONE);
        expect(invalid).toHaveLength(1);
        expect(invalid[0]?.externalId).toBe(frank?.externalId);
      });
    });

    describe('re-publish', () => {
      it('a second execution of the same run publishes the same message ids, which the server drops', async () => {
        const again = await h.run(
          { directoryId: full.directoryId, runId: full.runId, mode: SyncMode.FULL },
          { timeoutMs, jobMsgId: `${full.runId}:again` },
        );
        expect(again.outcome.status).toBe('completed');
        expect(again.outcome.lastSeq).toBe(full.events.length);
        // Nothing new reached the stream: the same events, once each.
        expect(again.msgIds).toEqual(full.msgIds);
      });
    });

    describe('USER mode', () => {
      it('observes the requested user only, with its memberships', async () => {
        const run = await runUser('bob');
        expect(run.outcome.status).toBe('completed');
        expect(run.started?.mode).toBe(SyncMode.USER);
        expect(run.started?.username).toBe('bob');
        expect(observedUsernames(run)).toEqual(['bob']);
        expect(run.completed?.usersObserved).toBe(1);
        const bob = run.users[0];
        const groupsOfBob = [...run.memberships.entries()]
          .filter(([, members]) => members.has(bob?.externalId ?? ''))
          .map(([gid]) => run.groups.find((g) => g.externalId === gid)?.name)
          .sort();
        expect(groupsOfBob).toEqual(['engineering', 'platform']);
        for (const members of run.memberships.values()) {
          expect([...members]).toEqual([bob?.externalId]);
        }
      });

      it('observes the same external id as a FULL run', async () => {
        const run = await runUser('alice');
        const inFull = full.users.find((u) => u.username === 'alice');
        expect(run.users.map((u) => u.externalId)).toEqual([inFull?.externalId]);
      });

      it('observes nobody for a user outside the selected groups', async () => {
        const run = await runUser('carol');
        expect(run.outcome.status).toBe('completed');
        expect(run.users).toHaveLength(0);
        expect(run.completed?.usersObserved).toBe(0);
      });

      it('completes with zero users for an unknown user', async () => {
        const run = await runUser('nobody-by-this-name');
        expect(run.outcome.status).toBe('completed');
        expect(run.users).toHaveLength(0);
        expect(run.completed?.usersObserved).toBe(0);
      });

      for (const pattern of ['*', 'a*', '*e*', 'user00*']) {
        it(`treats "${pattern}" as a name, never as a pattern`, async () => {
          const run = await runUser(pattern);
          expect(run.outcome.status).toBe('completed');
          expect(run.users).toHaveLength(0);
        });
      }
    });

    describe('failures', () => {
      it('an unreachable source fails the run with SOURCE_UNREACHABLE', async () => {
        const id = directoryId();
        await configure(id, { selectedGroups: SELECTED, failure: 'unreachable' });
        const run = await h.run({ directoryId: id }, { timeoutMs });
        expect(run.events[0]?.body.case).toBe('runStarted');
        expect(run.events.at(-1)?.body.case).toBe('runFailed');
        expect(run.completed).toBeUndefined();
        expect(codeOf(run)).toBe('SOURCE_UNREACHABLE');
        expect(run.failed?.error?.message.length).toBeGreaterThan(0);
      });

      it('bad credentials fail the run with INVALID_CREDENTIALS and never echo the secret', async () => {
        const id = directoryId();
        const config = await configure(id, {
          selectedGroups: SELECTED,
          failure: 'bad-credentials',
        });
        const run = await h.run({ directoryId: id }, { timeoutMs });
        expect(codeOf(run)).toBe('INVALID_CREDENTIALS');
        expect(run.completed).toBeUndefined();
        const secrets = Object.values(config.secrets ?? {}).filter((s) => s.length > 0);
        expect(secrets.length).toBeGreaterThan(0);
        for (const payload of run.payloads) {
          const text = Buffer.from(payload).toString('latin1');
          for (const s of secrets) expect(text.includes(s)).toBe(false);
        }
      });

      it('a selected group that does not exist fails the run with GROUP_NOT_FOUND naming it', async () => {
        const id = directoryId();
        const config = await configure(id, { selectedGroups: ['eng', 'no-such-group'] });
        const run = await h.run({ directoryId: id }, { timeoutMs });
        expect(codeOf(run)).toBe('GROUP_NOT_FOUND');
        const ghost = config.selectedGroups?.[1] ?? '';
        expect(run.failed?.error?.message).toContain(ghost);
      });

      it('a config error reply fails the run with that code', async () => {
        const id = directoryId();
        h.setConfig(id, {
          error: { code: ErrorCode.DIRECTORY_NOT_FOUND, message: `directory ${id} was deleted` },
        });
        const run = await h.run({ directoryId: id }, { timeoutMs });
        expect(run.events.map((e) => e.body.case)).toEqual(['runStarted', 'runFailed']);
        expect(codeOf(run)).toBe('DIRECTORY_NOT_FOUND');
        expect(run.failed?.error?.message).toContain('was deleted');
      });

      it('no config answer fails the run (INTERNAL) instead of hanging', async () => {
        const id = directoryId();
        h.setConfig(id, 'no-answer');
        const run = await h.run({ directoryId: id }, { timeoutMs });
        expect(codeOf(run)).toBe('INTERNAL');
        expect(run.failed?.error?.message).toContain('config');
      });

      it('invalid settings fail the run with CONFIG_INVALID naming each bad field', async () => {
        const id = directoryId();
        const base = await hooks.directoryConfig({ selectedGroups: SELECTED });
        const invalid = hooks.invalidSettings?.() ?? { settings: 42, fields: [] };
        h.setConfig(id, { ...base, settings: invalid.settings });
        const run = await h.run({ directoryId: id }, { timeoutMs });
        expect(codeOf(run)).toBe('CONFIG_INVALID');
        for (const field of invalid.fields) expect(run.failed?.error?.message).toContain(field);
        for (const s of Object.values(base.secrets)) {
          if (s) expect(run.failed?.error?.message).not.toContain(s);
        }
      });

      it('settings that are not JSON fail the run with CONFIG_INVALID', async () => {
        const id = directoryId();
        const base = await hooks.directoryConfig({ selectedGroups: SELECTED });
        h.setConfig(id, { ...base, settings: '{not json' });
        const run = await h.run({ directoryId: id }, { timeoutMs });
        expect(codeOf(run)).toBe('CONFIG_INVALID');
      });
    });

    // The connection test says what a sync would: the same codes, naming the same things.
    describe('connection test', () => {
      let checks = false;
      beforeAll(async () => {
        checks = typeof (await hooks.connector()).check === 'function';
      });
      const test = async (config: HarnessConfig) => {
        const reply = await h.testConnection(config, { directoryId: directoryId() });
        expect(reply.outcome.case).toBe('result');
        const result = reply.outcome.case === 'result' ? reply.outcome.value.checks : [];
        for (const c of result) {
          for (const secret of Object.values(config.secrets ?? {})) {
            if (secret) expect(c.message).not.toContain(secret);
          }
        }
        return result;
      };
      const failed = (cs: ConnectionCheck[]) => cs.filter((c) => c.status === CheckStatus.FAILED);
      const config = async (opts: Parameters<ConformanceHooks<S>['directoryConfig']>[0]) => {
        const cfg = await hooks.directoryConfig(opts);
        return { ...cfg, defaultRegion: 'US' } satisfies HarnessConfig;
      };

      it('all good: nothing fails, one passed GROUP check per selected group', async () => {
        const cfg = await config({ selectedGroups: SELECTED });
        const cs = await test(cfg);
        expect(cs[0]?.name).toBe(CheckName.SETTINGS);
        if (!checks) return; // the kit's SETTINGS check is all a connector without check() gets
        expect(failed(cs).map((c) => c.message)).toEqual([]);
        const groups = cs.filter((c) => c.name === CheckName.GROUP);
        expect(groups.map((c) => c.target).sort()).toEqual([...cfg.selectedGroups].sort());
        expect(groups.every((c) => c.status === CheckStatus.OK)).toBe(true);
      });

      it('an unreachable source fails with SOURCE_UNREACHABLE; the groups are skipped', async (ctx) => {
        if (!checks) ctx.skip();
        const cs = await test(await config({ selectedGroups: SELECTED, failure: 'unreachable' }));
        expect(failed(cs).map((c) => errorCodeName(c.code))).toEqual(['SOURCE_UNREACHABLE']);
        const groups = cs.filter((c) => c.name === CheckName.GROUP);
        expect(groups.every((c) => c.status === CheckStatus.SKIPPED)).toBe(true);
      });

      it('bad credentials fail with INVALID_CREDENTIALS, never echoing the secret', async (ctx) => {
        if (!checks) ctx.skip();
        const cs = await test(
          await config({ selectedGroups: SELECTED, failure: 'bad-credentials' }),
        );
        expect(failed(cs).map((c) => errorCodeName(c.code))).toEqual(['INVALID_CREDENTIALS']);
        const groups = cs.filter((c) => c.name === CheckName.GROUP);
        expect(groups.every((c) => c.status === CheckStatus.SKIPPED)).toBe(true);
      });

      it('a selected group that does not exist fails its GROUP check with GROUP_NOT_FOUND naming it', async (ctx) => {
        if (!checks) ctx.skip();
        const cfg = await config({ selectedGroups: ['eng', 'no-such-group'] });
        const cs = await test(cfg);
        const ghost = cfg.selectedGroups[1] ?? '';
        const bad = failed(cs);
        expect(bad.map((c) => [CheckName[c.name], errorCodeName(c.code), c.target])).toEqual([
          ['GROUP', 'GROUP_NOT_FOUND', ghost],
        ]);
        expect(bad[0]?.message).toContain(ghost);
        const other = cs.find(
          (c) => c.name === CheckName.GROUP && c.target === cfg.selectedGroups[0],
        );
        expect(other?.status).toBe(CheckStatus.OK);
      });

      it('invalid settings fail SETTINGS with CONFIG_INVALID naming each field, and nothing else runs', async () => {
        const base = await config({ selectedGroups: SELECTED });
        const invalid = hooks.invalidSettings?.() ?? { settings: 42, fields: [] };
        const cs = await test({ ...base, settings: invalid.settings });
        expect(cs.map((c) => [CheckName[c.name], errorCodeName(c.code)])).toEqual([
          ['SETTINGS', 'CONFIG_INVALID'],
        ]);
        for (const field of invalid.fields) expect(cs[0]?.message).toContain(field);
      });
    });

    describe('source changes', () => {
      it('sees a removed and an added member at the next run', async () => {
        await hooks.mutate([
          { op: 'removeMember', group: 'eng', user: 'alice' },
          { op: 'addMember', group: 'eng', user: 'dave' },
        ]);
        const run = await runFull();
        expect(run.outcome.status).toBe('completed');
        const names = observedUsernames(run);
        expect(names).not.toContain('alice');
        expect(names).toContain('dave');
        expect(memberUsernames(run, 'engineering')).toEqual(['bob', 'dave', 'frank']);
      });

      it('sees a changed attribute and a deleted user at the next run', async () => {
        await hooks.mutate([
          { op: 'updateUser', user: 'frank', changes: { lastName: 'Fischer' } },
          { op: 'deleteUser', user: 'bob' },
        ]);
        const run = await runFull();
        expect(run.users.find((u) => u.username === 'frank')?.lastName).toBe('Fischer');
        expect(observedUsernames(run)).not.toContain('bob');
        expect(memberUsernames(run, 'platform')).toEqual([]);
      });
    });

    if (hooks.delta) registerDeltaScenarios(hooks.delta);
    if (hooks.admins) registerAdminScenarios();

    /**
     * ADMIN runs, on a fixture of their own: bob is in owners, which is nested in helpdesk; ada
     * is in helpdesk and readers; cy (no e-mail) in readers; dan in no role group.
     */
    function registerAdminScenarios(): void {
      describe('ADMIN runs', () => {
        const ROLES: [AdminRole, string[]][] = [
          [AdminRole.OWNER, ['owners']],
          [AdminRole.HELP_DESK, ['helpdesk']],
          [AdminRole.READ_ONLY, ['readers']],
        ];

        async function runAdmins(
          opts: { email?: string; roles?: [AdminRole, string[]][] } = {},
        ): Promise<CollectedRun> {
          const id = directoryId();
          const config = await configure(id, { selectedGroups: ['staff'] });
          const adminRoleGroups = [];
          for (const [role, keys] of opts.roles ?? ROLES) {
            // The hooks translate fixture keys into the source's notation for selected groups.
            const { selectedGroups } = await hooks.directoryConfig({ selectedGroups: keys });
            adminRoleGroups.push({ role, groups: selectedGroups });
          }
          h.setConfig(id, { ...config, adminRoleGroups });
          return h.run(
            { directoryId: id, mode: SyncMode.ADMIN, ...(opts.email ? { email: opts.email } : {}) },
            { timeoutMs },
          );
        }

        const view = (run: CollectedRun) =>
          run.admins
            .map((a) => ({ email: a.email, role: a.role, roles: a.roles, name: a.displayName }))
            .sort((a, b) => a.email.localeCompare(b.email));

        beforeAll(async () => {
          await hooks.seed({
            users: [
              {
                key: 'ada',
                username: 'ada',
                email: 'ada@example.org',
                firstName: 'Ada',
                lastName: 'Lovelace',
                displayName: 'Ada Lovelace',
              },
              {
                key: 'bob',
                username: 'bob',
                email: 'Bob@Example.org',
                firstName: 'Bob',
                lastName: 'Baker',
                displayName: 'Bob Baker',
              },
              { key: 'cy', username: 'cy', firstName: 'Cy', lastName: 'Nomail' },
              { key: 'dan', username: 'dan', email: 'dan@example.org', firstName: 'Dan' },
            ],
            groups: [
              { key: 'owners', name: 'owners', members: ['bob'] },
              { key: 'helpdesk', name: 'helpdesk', members: ['ada'], groups: ['owners'] },
              { key: 'readers', name: 'readers', members: ['ada', 'cy'] },
              { key: 'staff', name: 'staff', members: ['ada', 'bob', 'cy', 'dan'] },
            ],
          });
        });

        it('observes the people of the role groups, each once, with the highest role', async () => {
          const run = await runAdmins();
          expect(run.outcome.error).toBeUndefined();
          expect(run.started).toMatchObject({ mode: SyncMode.ADMIN, email: '' });
          expect(view(run)).toEqual([
            {
              email: 'ada@example.org',
              role: AdminRole.HELP_DESK,
              roles: [AdminRole.HELP_DESK, AdminRole.READ_ONLY],
              name: 'Ada Lovelace',
            },
            {
              email: 'Bob@Example.org',
              role: AdminRole.OWNER,
              roles: [AdminRole.OWNER, AdminRole.HELP_DESK],
              name: 'Bob Baker',
            },
          ]);
          expect(run.admins.every((a) => a.externalId.length > 0 && !a.disabled)).toBe(true);
          // Users and groups are not part of an ADMIN run.
          expect(run.users).toEqual([]);
          expect(run.groups).toEqual([]);
          expect(run.memberships.size).toBe(0);
        });

        it('reports a member of a role group without an e-mail and leaves it out', async () => {
          const run = await runAdmins();
          const missing = run.objectErrors.filter((e) => e.code === ErrorCode.MISSING_EMAIL);
          expect(missing).toHaveLength(1);
          expect(run.admins.some((a) => a.firstName === 'Cy')).toBe(false);
        });

        it('with an e-mail observes only that person, matched case-insensitively', async () => {
          const run = await runAdmins({ email: 'BOB@example.org' });
          expect(run.outcome.error).toBeUndefined();
          expect(run.started?.email).toBe('BOB@example.org');
          expect(view(run).map((a) => [a.email, a.role])).toEqual([
            ['Bob@Example.org', AdminRole.OWNER],
          ]);
          for (const email of ['dan@example.org', 'nobody@example.org', '*)(mail=*']) {
            const none = await runAdmins({ email });
            expect(none.outcome.status, email).toBe('completed');
            expect(none.admins, email).toEqual([]);
          }
        });

        it('fails with GROUP_NOT_FOUND when a role group does not exist', async () => {
          const run = await runAdmins({ roles: [[AdminRole.OWNER, ['owners', 'no-such-group']]] });
          expect(codeOf(run)).toBe('GROUP_NOT_FOUND');
          expect(run.admins).toEqual([]);
        });

        it('follows membership changes: a role lost, one person in, one out of every group', async () => {
          await hooks.mutate([
            { op: 'removeMember', group: 'readers', user: 'ada' },
            { op: 'addMember', group: 'owners', user: 'dan' },
            { op: 'removeMember', group: 'owners', user: 'bob' },
          ]);
          const run = await runAdmins();
          expect(view(run).map((a) => [a.email, a.roles])).toEqual([
            ['ada@example.org', [AdminRole.HELP_DESK]],
            ['dan@example.org', [AdminRole.OWNER, AdminRole.HELP_DESK]],
          ]);
        });
      });
    }

    /**
     * DELTA scenarios, in order, each from the cursor the previous completed run returned (one
     * directory id for the whole chain, as in production, where sync stores every completed
     * run's cursor). Fixture after seeding: engineering = alice,
     * (erin: no username), frank + platform (bob); big = 120 bulk users; sales (not selected).
     */
    function registerDeltaScenarios(delta: NonNullable<ConformanceHooks<S>['delta']>): void {
      describe('DELTA runs', () => {
        const dir = directoryId();
        let cursor = '';

        async function runDelta(
          from: string,
          failure?: 'unreachable' | 'bad-credentials',
        ): Promise<CollectedRun> {
          await configure(dir, { selectedGroups: SELECTED, failure }, from);
          return h.run({ directoryId: dir, mode: SyncMode.DELTA }, { timeoutMs });
        }

        /** A completed delta run; its cursor becomes the next one. */
        async function step(): Promise<CollectedRun> {
          const run = await runDelta(cursor);
          expect(run.outcome.error).toBeUndefined();
          expect(run.completed?.readMode).toBe(SyncMode.DELTA);
          expect(run.completed?.cursor).toBeTruthy();
          cursor = run.completed?.cursor ?? '';
          return run;
        }

        const byId = (run: CollectedRun) => new Map(run.users.map((u) => [u.externalId, u]));
        let ids = new Map<string, string>(); // username → external id, from the FULL run
        const idOf = (username: string) => {
          const id = ids.get(username);
          if (!id) throw new Error(`${username} was not observed by the FULL run`);
          return id;
        };
        const groupId = (run: CollectedRun, name: string) =>
          run.groups.find((g) => g.name === name)?.externalId ?? '';
        let groupIds = new Map<string, string>();
        const deltaOf = (run: CollectedRun, groupName: string) => {
          const d = run.membershipDeltas.get(groupIds.get(groupName) ?? '');
          return { added: [...(d?.added ?? [])].sort(), removed: [...(d?.removed ?? [])].sort() };
        };
        const removals = (run: CollectedRun) =>
          run.userRemovals.map((r) => [r.externalId, RemovalReason[r.reason]]);
        const nothingElse = (run: CollectedRun, except: { users?: number } = {}) => {
          expect(run.users).toHaveLength(except.users ?? 0);
          expect(run.groups).toHaveLength(0);
          expect(run.groupRemovals).toHaveLength(0);
          expect(run.memberships.size).toBe(0);
        };

        beforeAll(async () => {
          await hooks.seed(fixture());
          await configure(dir, { selectedGroups: SELECTED });
          const base = await h.run({ directoryId: dir, mode: SyncMode.FULL }, { timeoutMs });
          ids = new Map(base.users.map((u) => [u.username, u.externalId]));
          groupIds = new Map(base.groups.map((g) => [g.name, g.externalId]));
          cursor = base.completed?.cursor ?? '';
        });

        it('a FULL run returns a cursor', () => {
          expect(cursor).not.toBe('');
        });

        it('without a cursor reads in full (NO_CURSOR), observing the whole scope', async () => {
          const run = await runDelta('');
          expect(run.started?.mode).toBe(SyncMode.DELTA);
          expect(run.completed?.readMode).toBe(SyncMode.FULL);
          expect(run.completed?.fullReadReason).toBe(FullReadReason.NO_CURSOR);
          expect(observedUsernames(run)).toEqual([...ids.keys()].sort());
          expect(run.userRemovals).toHaveLength(0);
          // The directory's cursor is now this run's (sync stores every completed run's).
          cursor = run.completed?.cursor ?? '';
          expect(cursor).not.toBe('');
        });

        it('observes nothing when nothing changed, and returns a cursor', async () => {
          const run = await step();
          nothingElse(run);
          expect(run.userRemovals).toHaveLength(0);
          expect(run.membershipDeltas.size).toBe(0);
          expect(run.objectErrors).toHaveLength(0);
          expect(run.completed?.usersObserved).toBe(0);
        });

        it('observes a changed attribute: that user only', async () => {
          await hooks.mutate([
            { op: 'updateUser', user: 'frank', changes: { lastName: 'Fischer' } },
          ]);
          const run = await step();
          expect(observedUsernames(run)).toEqual(['frank']);
          expect(run.users[0]?.lastName).toBe('Fischer');
          expect(run.users[0]?.externalId).toBe(idOf('frank'));
          nothingElse(run, { users: 1 });
          expect(run.userRemovals).toHaveLength(0);
          expect(run.membershipDeltas.size).toBe(0);
        });

        it('observes a member added: the user entering the scope and the membership', async () => {
          await hooks.mutate([{ op: 'addMember', group: 'eng', user: 'dave' }]);
          const run = await step();
          expect(observedUsernames(run)).toEqual(['dave']);
          const dave = run.users[0]?.externalId ?? '';
          ids.set('dave', dave);
          expect(run.users[0]).toMatchObject({ firstName: 'Dave', lastName: 'Dyer' });
          expect(deltaOf(run, 'engineering')).toEqual({ added: [dave], removed: [] });
          expect(run.membershipDeltas.size).toBe(1);
          expect(run.userRemovals).toHaveLength(0);
          nothingElse(run, { users: 1 });
        });

        it('moves a member between selected groups without removing the user', async () => {
          await hooks.mutate([{ op: 'addMember', group: 'eng', user: 'u001' }]);
          const added = await step();
          expect(deltaOf(added, 'engineering')).toEqual({ added: [idOf('user001')], removed: [] });
          expect(added.userRemovals).toHaveLength(0);
          await hooks.mutate([{ op: 'removeMember', group: 'big', user: 'u001' }]);
          const removed = await step();
          expect(deltaOf(removed, 'big')).toEqual({ added: [], removed: [idOf('user001')] });
          expect(removed.membershipDeltas.size).toBe(1);
          expect(removed.userRemovals).toHaveLength(0);
        });

        it('removes a user who left every selected group as OUT_OF_SCOPE', async () => {
          await hooks.mutate([{ op: 'removeMember', group: 'eng', user: 'alice' }]);
          const run = await step();
          expect(removals(run)).toEqual([[idOf('alice'), 'OUT_OF_SCOPE']]);
          expect(deltaOf(run, 'engineering')).toEqual({ added: [], removed: [idOf('alice')] });
          expect(byId(run).has(idOf('alice'))).toBe(false);
          nothingElse(run);
        });

        it('removes a nested group taken out of the scope, and its members who left with it', async () => {
          await hooks.mutate([{ op: 'removeSubgroup', group: 'eng', subgroup: 'platform' }]);
          const run = await step();
          expect(run.groupRemovals.map((g) => [g.externalId, RemovalReason[g.reason]])).toEqual([
            [groupIds.get('platform'), 'OUT_OF_SCOPE'],
          ]);
          expect(removals(run)).toEqual([[idOf('bob'), 'OUT_OF_SCOPE']]);
          expect(deltaOf(run, 'engineering').removed).toEqual([idOf('bob')]);
          expect(run.users).toHaveLength(0);
        });

        it('reads as a delta from the stored cursor after a FULL run whose cursor was not stored (BLOCKED, then rejected or approved)', async () => {
          await hooks.mutate([{ op: 'removeMember', group: 'big', user: 'u002' }]);
          // sync stores a run's cursor only when the run COMPLETED: a FULL run BLOCKED by the
          // deletion threshold leaves it where it was, also once rejected or approved. So the
          // next DELTA job names the cursor from before that FULL run, and reads as a delta.
          await configure(dir, { selectedGroups: SELECTED }, cursor);
          const blocked = await h.run({ directoryId: dir, mode: SyncMode.FULL }, { timeoutMs });
          expect(blocked.completed?.cursor).toBeTruthy();
          expect(observedUsernames(blocked)).not.toContain('user002');
          const run = await step();
          expect(run.completed?.fullReadReason).toBe(FullReadReason.UNSPECIFIED);
          expect(removals(run)).toEqual([[idOf('user002'), 'OUT_OF_SCOPE']]);
          expect(deltaOf(run, 'big')).toEqual({ added: [], removed: [idOf('user002')] });
          nothingElse(run);
        });

        it('removes a deleted user as DELETED', async () => {
          await hooks.mutate([{ op: 'deleteUser', user: 'frank' }]);
          const run = await step();
          expect(removals(run)).toEqual([[idOf('frank'), 'DELETED']]);
          for (const d of run.membershipDeltas.values()) {
            expect(d.added.has(idOf('frank'))).toBe(false);
          }
          nothingElse(run);
        });

        it('publishes no cursor from a failed run, so the changes are read by the next one', async () => {
          await hooks.mutate([{ op: 'updateUser', user: 'dave', changes: { firstName: 'David' } }]);
          const failed = await runDelta(cursor, 'unreachable');
          expect(failed.failed).toBeDefined();
          expect(failed.completed).toBeUndefined();
          const run = await step();
          expect(observedUsernames(run)).toEqual(['dave']);
          expect(run.users[0]?.firstName).toBe('David');
        });

        it('observes nothing again from the latest cursor', async () => {
          const run = await step();
          nothingElse(run);
          expect(run.userRemovals).toHaveLength(0);
          expect(run.membershipDeltas.size).toBe(0);
        });

        it('reads in full when the cursor is rejected (CURSOR_REJECTED), like a FULL run', async () => {
          const rejected = await delta.rejectedCursor(cursor);
          const run = await runDelta(rejected);
          expect(run.outcome.status).toBe('completed');
          expect(run.completed?.readMode).toBe(SyncMode.FULL);
          expect(run.completed?.fullReadReason).toBe(FullReadReason.CURSOR_REJECTED);
          expect(run.completed?.cursor).toBeTruthy();
          const reference = await runFull();
          expect(observedUsernames(run)).toEqual(observedUsernames(reference));
          expect(memberUsernames(run, 'engineering')).toEqual(
            memberUsernames(reference, 'engineering'),
          );
          expect(run.groups.map((g) => g.name).sort()).toEqual(
            reference.groups.map((g) => g.name).sort(),
          );
          expect(groupId(run, 'big')).toBe(groupIds.get('big'));
          expect(run.userRemovals).toHaveLength(0);
          expect(run.membershipDeltas.size).toBe(0);
        });
      });
    }
  });
}
