// The connector's share of the benchmark: 100,000 users / 2,000 groups / ~300k memberships from
// testkit's bench generator, read by the real connector. Opt-in (it loads a 100k-entry slapd):
//   DIRSYNC_BENCH=1 npx vitest run test/bench.test.ts         (DIRSYNC_BENCH_USERS to scale)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttributeMappingSchema, SyncJobSchema, SyncMode, create } from '@dirsync/proto';
import { createLogger, ldapSettingsSchema, type RecordSink } from '@dirsync/kit';
import type { ConnectorHarness } from '@dirsync/kit/conformance';
import { startSlapd, type Slapd } from '@dirsync/testkit';
import { createLdapConnector } from '../src/index.js';
import { directoryConfig, ldapHarness, ldapSettings, newDirectoryId } from './helpers.js';

const enabled = !!process.env.DIRSYNC_BENCH;
const USERS = Number(process.env.DIRSYNC_BENCH_USERS ?? 100_000);
const GROUPS = Math.max(200, Math.round((2_000 * USERS) / 100_000));

/** The fields of testkit's bench.json this test reads. */
interface BenchSummary {
  ldif: string;
  selectedGroups: string[];
  inScopeUsers: number;
  directory: { mapping: BenchMapping; defaultRegion: string };
}

interface BenchMapping {
  username: string;
  email: string;
  firstName: string;
  lastName: string;
  displayName: string;
  phones: string[];
  custom: Record<string, string>;
}

/** Run testkit's bench generator (a CLI next to its entry point) into `out`. */
function generateBench(out: string): BenchSummary {
  const testkit = createRequire(import.meta.url).resolve('@dirsync/testkit');
  const script = join(dirname(testkit), 'bench', 'generate-bench.js');
  execFileSync(
    process.execPath,
    [script, '--out', out, '--users', String(USERS), '--groups', String(GROUPS)],
    { stdio: 'inherit' },
  );
  return JSON.parse(readFileSync(join(out, 'bench.json'), 'utf8')) as BenchSummary;
}

describe.skipIf(!enabled)(`benchmark: ${USERS} users`, () => {
  let dir: string;
  let summary: BenchSummary;
  let slapd: Slapd;
  let h: ConnectorHarness;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dirsync-bench-'));
    summary = generateBench(dir);
    const started = Date.now();
    slapd = await startSlapd({ name: 'bench', ldif: readFileSync(summary.ldif, 'utf8') });
    console.log(`bench: slapd loaded ${USERS} users in ${Date.now() - started} ms`);
    h = await ldapHarness();
  }, 600_000);

  afterAll(async () => {
    await h?.close();
    await slapd?.dispose();
    if (dir && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  });

  it('reads and translates the directory (connector alone, counting sink)', async () => {
    let users = 0;
    let memberIds = 0;
    let groups = 0;
    const sink: RecordSink = {
      user: async () => {
        users++;
        return true;
      },
      group: async () => void groups++,
      members: async (_g, ids) => {
        for (const _id of ids) memberIds++;
      },
      objectError: async () => undefined,
      removeUser: async () => undefined,
      removeGroup: async () => undefined,
      membershipDelta: async () => undefined,
      admin: async () => undefined,
    };
    const started = Date.now();
    await createLdapConnector().run({
      job: create(SyncJobSchema, { runId: 'bench', directoryId: 'bench', mode: SyncMode.FULL }),
      directory: {
        directoryId: 'bench',
        selectedGroups: summary.selectedGroups,
        mapping: create(AttributeMappingSchema, summary.directory.mapping),
        defaultRegion: summary.directory.defaultRegion,
        cursor: '',
        storedCursor: '',
        policy: undefined,
        adminRoleGroups: [],
      },
      settings: ldapSettingsSchema.parse(ldapSettings(slapd)),
      secrets: { bindPassword: slapd.rootPassword },
      sink,
      logger: createLogger('bench', 'silent'),
      signal: new AbortController().signal,
      mode: SyncMode.FULL,
      countEntriesRead: () => undefined,
    });
    const ms = Date.now() - started;
    console.log(
      `bench: connector alone: ${users} users, ${groups} groups, ${memberIds} memberships in ${ms} ms`,
    );
    expect(users).toBe(summary.inScopeUsers);
  }, 600_000);

  it('runs the whole connector path: job → events on JetStream → RunCompleted', async () => {
    const id = newDirectoryId();
    h.setConfig(
      id,
      directoryConfig(slapd, summary.selectedGroups, {
        mapping: summary.directory.mapping,
        defaultRegion: summary.directory.defaultRegion,
      }),
    );
    const started = Date.now();
    const runId = await h.publishJob({ directoryId: id });
    const outcome = await h.waitForRun(runId, 600_000);
    const wall = Date.now() - started;
    console.log(
      `bench: connector to JetStream: ${outcome.usersObserved} users, ${outcome.groupsObserved} groups, ` +
        `${outcome.lastSeq} events, ${outcome.objectErrors} object errors in ${outcome.durationMs} ms ` +
        `(${wall} ms from publishing the job)`,
    );
    expect(outcome.status).toBe('completed');
    expect(outcome.usersObserved).toBe(summary.inScopeUsers);
  }, 600_000);
});
