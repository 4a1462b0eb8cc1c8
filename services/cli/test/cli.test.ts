// Every `dirsync` command against the whole stack in process (slapd with the demo directory,
// Postgres, NATS, identity, sync, connector-ldap, the gateway), run the way a shell runs it:
// argv in, text on stdout/stderr, an exit code out.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DIRECTORY_PATH, loadDemo, startSlapd, waitFor, type Slapd } from '@dirsync/testkit';
import { startStack, waitForRun, type Stack } from '../../../gateway/test/support/stack.js';
import { buildProgram, ExitCode, runCli } from '../src/index.js';
import type { Command } from 'commander';
import pg from 'pg';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
  json<T = unknown>(): T;
}

const NAME = 'Demo OpenLDAP';
const reEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const WRONG_NAME = 'Wrong password';

describe('dirsync (command line)', () => {
  let slapd: Slapd;
  let stack: Stack;
  let dir: string;
  let directoryFile: string;
  let directoryId: string;
  let firstRunId: string;

  /** Run `dirsync …args` against the stack; `stdin` is piped in. */
  async function dirsync(args: string[], stdin?: string): Promise<Result> {
    let stdout = '';
    let stderr = '';
    const code = await runCli(['--url', stack.gatewayUrl, '--api-key', stack.key, ...args], {
      io: {
        stdout: { write: (s: string) => (stdout += s) },
        stderr: { write: (s: string) => (stderr += s) },
        stdin: stdin === undefined ? undefined : Readable.from([stdin]),
      },
      env: { configHome: join(dir, 'config') },
    });
    return { code, stdout, stderr, json: <T>() => JSON.parse(stdout) as T };
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dirsync-cli-'));
    slapd = await startSlapd({ ldif: loadDemo().ldif });
    stack = await startStack();
    // The committed demo definition, pointed at this test's slapd.
    const def = JSON.parse(await readFile(DEMO_DIRECTORY_PATH, 'utf8')) as Record<string, unknown>;
    directoryFile = join(dir, 'directory.json');
    await writeFile(
      directoryFile,
      JSON.stringify({
        ...def,
        name: NAME,
        scheduleIntervalMinutes: 0,
        ldap: { ...(def.ldap as object), url: slapd.url },
      }),
    );
  });

  afterAll(async () => {
    await stack?.stop();
    await slapd?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  describe('--help', () => {
    it('every command and sub-command explains itself and exits 0', async () => {
      const paths: string[][] = [];
      const walk = (cmd: Command, path: string[]) => {
        for (const sub of cmd.commands) {
          if (sub.name() === 'help') continue;
          paths.push([...path, sub.name()]);
          walk(sub, [...path, sub.name()]);
        }
      };
      const noop = () => async () => undefined;
      walk(
        buildProgram({ stdout: { write: () => true }, stderr: { write: () => true } }, noop),
        [],
      );
      expect(paths.length).toBeGreaterThanOrEqual(12);
      for (const path of [[], ...paths]) {
        const r = await dirsync([...path, '--help']);
        expect(r.code, path.join(' ')).toBe(ExitCode.OK);
        expect(r.stdout).toContain(`Usage: dirsync${path.length ? ` ${path.join(' ')}` : ''}`);
      }
      const top = await dirsync(['--help']);
      expect(top.stdout).toMatch(/Exit codes:[\s\S]*4 {2}the run is BLOCKED/);
    });

    it('a wrong command line is a usage error (exit 2)', async () => {
      expect((await dirsync(['bogus'])).code).toBe(ExitCode.USAGE);
      expect((await dirsync(['sync'])).code).toBe(ExitCode.USAGE);
      const r = await dirsync(['sync', NAME, '--mode', 'sideways']);
      expect(r.code).toBe(ExitCode.USAGE);
      expect(r.stderr).toContain('--mode must be full, delta or admin');
      // Administrators have no dry run: refused before anything is started.
      const dry = await dirsync(['sync', NAME, '--mode', 'admin', '--dry-run']);
      expect(dry.code).toBe(ExitCode.USAGE);
      expect(dry.stderr).toContain('administrators have no dry run');
      expect((await dirsync([])).code).toBe(ExitCode.USAGE);
    });
  });

  describe('directories create|list|show|update', () => {
    it('create reads the definition file and the password from stdin', async () => {
      const r = await dirsync(
        ['directories', 'create', '--file', directoryFile, '--bind-password-stdin', '--json'],
        `${slapd.rootPassword}\n`,
      );
      expect(r.code, r.stderr).toBe(ExitCode.OK);
      const created = r.json<{ id: string; name: string; hasBindPassword: boolean }>();
      expect(created).toMatchObject({ name: NAME, hasBindPassword: true });
      expect(r.stdout).not.toContain(slapd.rootPassword);
      directoryId = created.id;
      const wrong = await dirsync(
        [
          'directories',
          'create',
          '-f',
          directoryFile,
          '--name',
          WRONG_NAME,
          '--bind-password-stdin',
        ],
        'not-the-password',
      );
      expect(wrong.code, wrong.stderr).toBe(ExitCode.OK);
      expect(wrong.stdout).toMatch(/^created directory "Wrong password" [0-9a-f-]{36}\n$/);
    });

    it('create without a password, or with a bad file, says what is missing (exit 2)', async () => {
      const r = await dirsync(['directories', 'create', '--file', directoryFile]);
      expect(r.code).toBe(ExitCode.USAGE);
      expect(r.stderr).toContain('a bind password is needed');
      const bad = join(dir, 'bad.json');
      await writeFile(
        bad,
        JSON.stringify({ name: 'x', ldap: { url: 'nope' }, selectedGroups: [] }),
      );
      const invalid = await dirsync(
        ['directories', 'create', '-f', bad, '--bind-password-stdin'],
        'pw',
      );
      expect(invalid.code).toBe(ExitCode.USAGE);
      expect(invalid.stderr).toContain('(BAD_USER_INPUT)');
    });

    it('list shows every directory; show finds one by name or id', async () => {
      const list = await dirsync(['directories', 'list']);
      expect(list.code).toBe(ExitCode.OK);
      expect(list.stdout).toMatch(/^ID\s+NAME\s+KIND\s+ENABLED\s+LAST SYNC\s+FINISHED\s+NEXT SYNC/);
      expect(list.stdout).toContain(NAME);
      expect(list.stdout).toContain(WRONG_NAME);
      const json = await dirsync(['--json', 'directories', 'list']);
      expect(
        json
          .json<{ name: string }[]>()
          .map((d) => d.name)
          .sort(),
      ).toEqual([NAME, WRONG_NAME]);

      const byName = await dirsync(['directories', 'show', 'demo openldap']);
      expect(byName.code).toBe(ExitCode.OK);
      expect(byName.stdout).toContain(directoryId);
      expect(byName.stdout).toMatch(/bind password\s+stored/);
      expect(byName.stdout).toMatch(/kind\s+LDAP \(OpenLDAP\)\n/);
      expect(byName.stdout).toMatch(/conflict policy\s+REPORT\n/);
      // Each schedule with when it is next due; never synced yet.
      expect(byName.stdout).toMatch(/full sync\s+on demand\n/);
      expect(byName.stdout).toMatch(/delta sync\s+every 5 min, next \d{4}-\d\d-\d\d /);
      expect(byName.stdout).toMatch(/last sync\s+never\n/);
      const byId = await dirsync(['dirs', 'show', directoryId, '--json']);
      expect(byId.json<{ name: string }>().name).toBe(NAME);
      const missing = await dirsync(['directories', 'show', 'nope']);
      expect(missing.code).toBe(ExitCode.NOT_FOUND);
      expect(missing.stderr).toContain('no directory with id or name "nope"');
    });

    it('show prints an Entra directory with its own settings, not LDAP ones', async () => {
      const { createDirectory: entra } = await stack.gql<{ createDirectory: { id: string } }>(
        `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { id } }`,
        {
          input: {
            name: 'CLI Entra',
            entra: {
              tenantId: '8a0c9b7e-2f41-4d3a-9e55-0c1d2e3f4a5b',
              clientId: '3c9d8e7f-6a5b-4c3d-8e1f-0a9b8c7d6e5f',
            },
            clientSecret: 'entra-secret-value',
            selectedGroups: ['0f1e2d3c-4b5a-4968-8776-655443322110'],
            scheduleIntervalMinutes: 0,
            adminRoles: [{ role: 'OWNER', groups: ['5b2c1d0e-4b5a-4968-8776-655443322110'] }],
          },
        },
      );
      try {
        const r = await dirsync(['directories', 'show', entra.id]);
        expect(r.code, r.stderr).toBe(ExitCode.OK);
        expect(r.stdout).toMatch(/kind\s+ENTRA \(Microsoft Entra ID\)\n/);
        expect(r.stdout).toMatch(/tenant\s+8a0c9b7e-2f41-4d3a-9e55-0c1d2e3f4a5b\n/);
        expect(r.stdout).toMatch(/client secret\s+stored\n/);
        expect(r.stdout).not.toMatch(/^(url|bind DN|base DN|bind password)\s/m);
        expect(r.stdout).not.toContain('entra-secret-value');
        // No FULL schedule, but a DELTA one and an admin one: each said, with when it is due.
        expect(r.stdout).toMatch(/full sync\s+on demand\n/);
        expect(r.stdout).toMatch(/delta sync\s+every 5 min, next \d{4}-/);
        expect(r.stdout).toMatch(/admin sync\s+every 30 min, next \d{4}-/);
        expect(r.stdout).toMatch(/last admin sync\s+never\n/);
        expect(r.stdout).toContain('  role   OWNER         5b2c1d0e-4b5a-4968-8776-655443322110\n');
        const list = await dirsync(['directories', 'list']);
        expect(list.stdout.split('\n').find((l) => l.includes('CLI Entra'))).toMatch(
          /\d\dZ \(delta\)/,
        );
      } finally {
        await stack.gql(`mutation($id: ID!) { deleteDirectory(id: $id) }`, { id: entra.id });
      }
    });

    it('update changes the fields given by flags', async () => {
      const r = await dirsync(['directories', 'update', NAME, '--schedule', '45', '--json']);
      expect(r.code, r.stderr).toBe(ExitCode.OK);
      expect(r.json<{ scheduleIntervalMinutes: number }>().scheduleIntervalMinutes).toBe(45);
      // The DELTA schedule (the demo's 5 minutes) turned off and on again.
      const off = await dirsync(['directories', 'update', NAME, '--delta-schedule', '0', '--json']);
      expect(off.code, off.stderr).toBe(ExitCode.OK);
      expect(off.json<{ deltaIntervalMinutes: number }>().deltaIntervalMinutes).toBe(0);
      expect((await dirsync(['directories', 'show', NAME])).stdout).toMatch(
        /delta sync\s+on demand\n/,
      );
      expect((await dirsync(['directories', 'update', NAME, '--delta-schedule', '5'])).code).toBe(
        ExitCode.OK,
      );
      const back = await dirsync(['directories', 'update', directoryId, '--schedule', '0']);
      expect(back.stdout).toContain(`updated directory "${NAME}"`);
      expect((await dirsync(['directories', 'update', NAME])).code).toBe(ExitCode.USAGE);
      expect((await dirsync(['directories', 'update', NAME, '--schedule', '-1'])).code).toBe(
        ExitCode.USAGE,
      );
    });
  });

  describe('sync', () => {
    it('--wait follows the run to COMPLETED, prints the summary and exits 0', async () => {
      const r = await dirsync(['sync', NAME, '--wait']);
      expect(r.code, r.stderr).toBe(ExitCode.OK);
      expect(r.stderr).toMatch(/started FULL run [0-9a-f-]{36} of "Demo OpenLDAP"/);
      expect(r.stdout).toMatch(/status\s+COMPLETED/);
      // A first run has no expected total: the final bar is full all the same.
      expect(r.stderr).toMatch(/\[#{30}\] COMPLETED seen 1063 /);
      expect(r.stdout).toMatch(/users seen\s+1063/);
      expect(r.stdout).toMatch(/per-object errors\s+\d+/);
      // How the run read, what it cost, and the names it could not import.
      expect(r.stdout).toMatch(/\nread\s+FULL\n/);
      expect(r.stdout).toMatch(/entries read\s+[1-9]\d*\n/);
      // The demo has usernames another directory's users cannot take: counted, not lost.
      expect(r.stdout).toMatch(/name conflicts\s+[1-9]\d*\n/);
      firstRunId = /run\s+([0-9a-f-]{36})/.exec(r.stdout)![1]!;
      // USERS is the directory's user count, not a run's `seen` (a USER run's is 1).
      const one = await dirsync(['sync-user', NAME, 'jdoe']);
      expect(one.code, one.stderr).toBe(ExitCode.OK);
      const list = await dirsync(['directories', 'list']);
      expect(list.stdout.split('\n').find((l) => l.includes(NAME))).toMatch(/\s1063\s*$/);
      const show = await dirsync(['directories', 'show', NAME]);
      expect(show.stdout).toMatch(/users\s+1063/);
      // The last user sync is the FULL run, not the sync-user that came after it (shown apart).
      expect(show.stdout).toMatch(
        new RegExp(
          `last sync\\s+COMPLETED FULL \\S+ \\S+: seen 1063, \\d+ errors \\(run ${firstRunId}\\)\\n`,
        ),
      );
      expect(show.stdout).toMatch(/last run\s+COMPLETED USER jdoe \S+ \S+: seen 1 /);
      expect(list.stdout.split('\n').find((l) => l.includes(NAME))).toMatch(/\sCOMPLETED\s/);
    });

    it('a run that fails exits 3 and says why', async () => {
      const r = await dirsync(['sync', WRONG_NAME, '--wait', '--json']);
      expect(r.code).toBe(ExitCode.RUN_FAILED);
      expect(r.json<{ status: string; errorCode: string }>()).toMatchObject({
        status: 'FAILED',
        errorCode: 'INVALID_CREDENTIALS',
      });
    });

    it('without --wait it returns at once; a second sync meanwhile exits 9', async () => {
      const r = await dirsync(['sync', NAME, '--mode', 'full', '--json']);
      expect(r.code, r.stderr).toBe(ExitCode.OK);
      const run = r.json<{ id: string; mode: string; status: string }>();
      expect(run.mode).toBe('FULL');
      expect(['QUEUED', 'RUNNING']).toContain(run.status);
      const again = await dirsync(['sync', NAME]);
      expect(again.code).toBe(ExitCode.RUN_IN_PROGRESS);
      expect(again.stderr).toContain('RUN_IN_PROGRESS');
      await waitForRun(stack, run.id);
    });

    it('--timeout gives up waiting with exit 7 while the run goes on', async () => {
      const r = await dirsync(['sync', NAME, '--wait', '--timeout', '1', '--json']);
      // The demo directory syncs in about a second: either outcome is a correct answer.
      if (r.code === ExitCode.TIMEOUT) {
        expect(r.stderr).toContain('stopped waiting after 1 s');
        await waitForRun(stack, r.json<{ id: string }>().id);
      } else {
        expect(r.code).toBe(ExitCode.OK);
      }
    });
  });

  describe('sync-user', () => {
    it('prints the outcome; a username the source lacks exits 5', async () => {
      const r = await dirsync(['sync-user', NAME, 'jdoe']);
      expect(r.code, r.stdout + r.stderr).toBe(ExitCode.OK);
      expect(r.stdout).toMatch(/outcome\s+UNCHANGED/);
      const none = await dirsync(['sync-user', NAME, 'nobody-at-all', '--json']);
      expect(none.code).toBe(ExitCode.NOT_FOUND);
      expect(none.json<{ outcome: string }>().outcome).toBe('NOT_FOUND');
      const failed = await dirsync(['sync-user', WRONG_NAME, 'jdoe']);
      expect(failed.code).toBe(ExitCode.RUN_FAILED);
      expect(failed.stdout).toContain('INVALID_CREDENTIALS');
    });
  });

  describe('sync --dry-run, sync-user --dry-run', () => {
    it('plans a change without making it: the summary says dry run, the plan names the user', async () => {
      const { users } = await stack.gql<{
        users: {
          nodes: {
            id: string;
            username: string;
            displayName: string | null;
            sourceLocator: string;
          }[];
        };
      }>(
        `query($d: ID!) { users(first: 20, filter: { directoryId: $d }) {
           nodes { id username displayName sourceLocator } } }`,
        { d: directoryId },
      );
      const u = users.nodes.find(
        (x) => x.username !== 'jdoe' && x.displayName && x.sourceLocator.startsWith('uid='),
      )!;
      const renamed = 'Planned Only';
      const set = (name: string | null) =>
        slapd.modify(
          `dn: ${u.sourceLocator}\nchangetype: modify\n${name ? `replace: displayName\ndisplayName: ${name}` : 'delete: displayName'}\n-\n`,
        );
      // …and a group in scope (groupOfNames) the user is not in yet: a planned MEMBERSHIP change.
      const { groups, user: member } = await stack.gql<{
        groups: { nodes: { id: string; name: string; sourceLocator: string }[] };
        user: { groups: { nodes: { id: string }[] } };
      }>(
        `query($d: ID!, $u: ID!) {
           groups(first: 100, filter: { directoryId: $d }) { nodes { id name sourceLocator } }
           user(id: $u) { groups(first: 100) { nodes { id } } } }`,
        { d: directoryId, u: u.id },
      );
      const mine = new Set(member.groups.nodes.map((g) => g.id));
      const candidates = groups.nodes.filter((g) => !mine.has(g.id));
      let joined: { name: string; sourceLocator: string } | undefined;
      for (const g of candidates) {
        const [entry] = await slapd.search(g.sourceLocator, '(objectClass=groupOfNames)', ['cn']);
        if (entry) {
          joined = g;
          break;
        }
      }
      expect(joined, 'a groupOfNames in scope without the user').toBeDefined();
      const membership = (op: 'add' | 'delete') =>
        slapd.modify(
          `dn: ${joined!.sourceLocator}\nchangetype: modify\n${op}: member\nmember: ${u.sourceLocator}\n-\n`,
        );
      await set(renamed);
      await membership('add');
      try {
        const r = await dirsync(['sync', NAME, '--dry-run', '--wait']);
        expect(r.code, r.stdout + r.stderr).toBe(ExitCode.OK);
        expect(r.stderr).toMatch(/started FULL dry run [0-9a-f-]{36}/);
        expect(r.stdout).toMatch(/dry run\s+yes: nothing was changed/);
        expect(r.stdout).toMatch(/updated\s+1\n/);
        expect(r.stdout).toMatch(
          /planned changes \(\d+ of \d+; per-object errors not listed\):\nKIND\s+WHO\s+DETAIL\n/,
        );
        // What changes, old → new; the groups by name.
        expect(r.stdout).toMatch(
          new RegExp(
            `\\nUPDATED\\s+${u.username}\\s+displayName: ${reEscape(JSON.stringify(u.displayName))} → "${renamed}"\\n`,
          ),
        );
        expect(r.stdout).toMatch(
          // (nested groups and cycles: joining one group may join others with it)
          new RegExp(`\\nMEMBERSHIP\\s+${u.username}\\s+joined [^\\n]*${reEscape(joined!.name)}`),
        );
        const json = await dirsync(['sync', NAME, '--dry-run', '--wait', '--json']);
        const run = json.json<{
          dryRun: boolean;
          changes: { totalCount: number; nodes: { kind: string; username: string }[] };
        }>();
        expect(run.dryRun).toBe(true);
        expect(run.changes.nodes.filter((c) => c.kind === 'UPDATED')).toEqual([
          expect.objectContaining({ kind: 'UPDATED', username: u.username }),
        ]);

        // A DELTA dry run of a quiet directory sees nobody: its final bar is full, not empty.
        const delta = await dirsync(['sync', NAME, '--mode', 'delta', '--dry-run', '--wait']);
        expect(delta.code, delta.stdout + delta.stderr).toBe(ExitCode.OK);
        expect(delta.stderr).toMatch(/\[#{30}\] COMPLETED seen \d+/);

        const one = await dirsync(['sync-user', NAME, u.username, '--dry-run']);
        expect(one.code, one.stdout + one.stderr).toBe(ExitCode.OK);
        expect(one.stdout).toMatch(/outcome\s+UPDATED/);
        expect(one.stdout).toMatch(/dry run\s+yes/);

        const { user } = await stack.gql<{ user: { displayName: string | null } }>(
          'query($id: ID!) { user(id: $id) { displayName } }',
          { id: u.id },
        );
        expect(user.displayName).toBe(u.displayName);
      } finally {
        await set(u.displayName);
        await membership('delete');
      }
    });
    it('--wait shows a dry run reading, then planning with what it read; then the plan', async () => {
      const { run: first } = await stack.gql<{
        run: { counts: { seen: number; groupsSeen: number } };
      }>('query($id: ID!) { run(id: $id) { counts { seen groupsSeen } } }', { id: firstRunId });
      expect(first.counts.seen).toBeGreaterThan(0);
      // Hold the plan back: it writes users (rolled back), which a SHARE lock on identity.users
      // stops until the test lets go. Reading and staging go on, and so do reads of users.
      const db = new pg.Client({ connectionString: stack.databaseUrl });
      await db.connect();
      let stderr = '';
      let stdout = '';
      let exit: Promise<number> | undefined;
      const planning = `planning… seen ${first.counts.seen}  groups ${first.counts.groupsSeen}`;
      try {
        await db.query('begin');
        await db.query('lock table identity.users in share mode');
        exit = runCli(
          ['--url', stack.gatewayUrl, '--api-key', stack.key, 'sync', NAME, '--dry-run', '--wait'],
          {
            io: {
              stdout: { write: (t: string) => (stdout += t) },
              // A terminal: every poll redraws the line.
              stderr: { write: (t: string) => (stderr += t), isTTY: true },
            },
            env: { configHome: join(dir, 'config') },
          },
        );
        // Everything read and staged, the plan not done: the bar is full, the plan's counts
        // are not shown (they are 0 until the plan).
        await waitFor(() => stderr.includes(planning), {
          timeoutMs: 60_000,
          message: `"${planning}" on stderr`,
        });
      } finally {
        await db.query('rollback').catch(() => undefined);
        await db.end();
      }
      const code = await exit;
      expect(code, stdout + stderr).toBe(ExitCode.OK);
      // Each redraw is "\r" + erase line (ESC [2K) + the line.
      const lines = stderr
        .replaceAll('\u001b[2K', '')
        .split(/[\r\n]/)
        .map((l) => l.trim())
        .filter((l) => l.startsWith('['));
      const running = lines.filter((l) => / RUNNING /.test(l));
      expect(running.length).toBeGreaterThan(0);
      for (const l of running) {
        expect(l).toMatch(/^\[[#. ]{30}\] RUNNING\s+(reading… |planning…) seen \d+ {2}groups \d+$/);
      }
      // seen only grows, and "planning" comes after every "reading".
      const seen = running.map((l) => Number(/seen (\d+)/.exec(l)![1]));
      expect(seen).toEqual([...seen].sort((a, b) => a - b));
      const phases = running.map((l) => (l.includes('planning…') ? 1 : 0));
      expect(phases).toEqual([...phases].sort((a, b) => a - b));
      expect(lines.at(-1)).toMatch(
        new RegExp(
          `^\\[#{30}\\] COMPLETED seen ${first.counts.seen} {2}created \\d+ {2}updated \\d+ {2}errors \\d+$`,
        ),
      );
      expect(stdout).toMatch(/dry run\s+yes: nothing was changed/);
    });

    it('a dry run a real run would have BLOCKED exits 4 and says why; nothing is removed', async () => {
      const narrow = join(dir, 'narrow.json');
      const wide = join(dir, 'wide.json');
      const def = JSON.parse(await readFile(directoryFile, 'utf8')) as { selectedGroups: string[] };
      await writeFile(
        narrow,
        JSON.stringify({
          selectedGroups: ['cn=sales-uk,ou=groups,dc=example,dc=org'],
          deletionThreshold: { maxCount: 10, maxPercent: 0 },
        }),
      );
      await writeFile(
        wide,
        JSON.stringify({
          selectedGroups: def.selectedGroups,
          deletionThreshold: { maxCount: 500, maxPercent: 20 },
        }),
      );
      expect((await dirsync(['directories', 'update', NAME, '--file', narrow])).code).toBe(
        ExitCode.OK,
      );
      try {
        const r = await dirsync(['sync', NAME, '--dry-run', '--wait', '--changes', '0']);
        expect(r.code, r.stdout + r.stderr).toBe(ExitCode.RUN_BLOCKED);
        expect(r.stdout).toMatch(/would be blocked\s+would remove \d+ of \d+ users/);
        expect(r.stderr).toMatch(/a real run would be BLOCKED by the deletion threshold/);
        // runs list says so too, not just "dry run".
        const dryId = /run\s+([0-9a-f-]{36})/.exec(r.stdout)![1]!;
        const list = await dirsync(['runs', 'list', '--limit', '5']);
        expect(list.stdout).toMatch(new RegExp(`${dryId}\\s.*\\sCOMPLETED\\s+would block\\s`));
        const { users } = await stack.gql<{ users: { totalCount: number } }>(
          `query($d: ID!) { users(filter: { directoryId: $d, status: [PENDING_DELETION] }) { totalCount } }`,
          { d: directoryId },
        );
        expect(users.totalCount).toBe(0);
        // The real run ends BLOCKED having read everything it would: its bar is full, though it
        // saw fewer than the previous run.
        const blocked = await dirsync(['sync', NAME, '--wait']);
        expect(blocked.code, blocked.stdout + blocked.stderr).toBe(ExitCode.RUN_BLOCKED);
        expect(blocked.stderr).toMatch(/\[#{30}\] BLOCKED {3}seen \d+/);
        const id = /run\s+([0-9a-f-]{36})/.exec(blocked.stdout)![1]!;
        expect((await dirsync(['runs', 'reject', id])).code).toBe(ExitCode.OK);
      } finally {
        expect((await dirsync(['directories', 'update', NAME, '--file', wide])).code).toBe(
          ExitCode.OK,
        );
      }
    });
  });

  describe('connectors', () => {
    it('lists the running connector processes; a kind with none says what to start', async () => {
      const r = await dirsync(['connectors']);
      expect(r.code).toBe(ExitCode.OK);
      expect(r.stdout.split('\n')[0]).toMatch(
        /^KIND\s+INSTANCE\s+VERSION\s+STATE\s+STARTED\s+LAST SEEN\s+RUNS/,
      );
      const ldap = stack.connector.worker!.instanceId;
      const row = r.stdout.split('\n').find((l) => l.includes(ldap));
      expect(row).toMatch(/^ldap\s+\S+\s+0\.1\.0\s+ALIVE\s/);
      expect(r.stderr).toContain('2 connector processes alive');
      const json = await dirsync(['connectors', '--kind', 'ENTRA', '--json']);
      expect(json.json()).toEqual([
        expect.objectContaining({
          kind: 'entra',
          instance: stack.entra.worker!.instanceId,
          state: 'ALIVE',
          runIds: [],
        }),
      ]);
      const none = await dirsync(['connectors', '--kind', 'okta']);
      expect(none.code).toBe(ExitCode.OK);
      expect(none.stdout).toBe('');
      expect(none.stderr).toContain('no connector-okta process is running');
      expect(none.stderr).toContain('NO_CONNECTOR');
    });
  });

  describe('runs list|show', () => {
    it('list shows the history newest first, filtered by directory and status', async () => {
      const r = await dirsync(['runs', 'list', '--directory', NAME, '--json']);
      expect(r.code).toBe(ExitCode.OK);
      const runs = r.json<{ id: string; mode: string; directory: { name: string } }[]>();
      expect(runs.length).toBeGreaterThanOrEqual(3);
      expect(runs.every((x) => x.directory.name === NAME)).toBe(true);
      expect(runs.at(-1)!.id).toBe(firstRunId);
      const failed = await dirsync(['runs', 'list', '--status', 'failed', '--json']);
      expect(failed.json<{ directory: { name: string } }[]>().map((x) => x.directory.name)).toEqual(
        [WRONG_NAME, WRONG_NAME],
      );
      const table = await dirsync(['runs', 'list', '-n', '1']);
      expect(table.stdout.split('\n')[0]).toMatch(
        /^ID\s+DIRECTORY\s+MODE\s+TRIGGER\s+STATUS\s+DRY\s+QUEUED/,
      );
      // The dry runs of the tests before are marked; a real run is not.
      const all = await dirsync(['runs', 'list', '--directory', NAME, '-n', '50']);
      const rows = all.stdout.split('\n');
      const dry = await dirsync(['runs', 'list', '--directory', NAME, '-n', '50', '--json']);
      for (const run of dry.json<{ id: string; dryRun: boolean }[]>()) {
        const row = rows.find((l) => l.startsWith(run.id))!;
        if (run.dryRun) expect(row).toMatch(/\s(COMPLETED|BLOCKED)\s+(dry run|would block)\s/);
        else expect(row).not.toContain('dry run');
      }
      expect(table.stderr).toMatch(/^1 of \d+ runs; raise --limit for more/);
      expect((await dirsync(['runs', 'list', '--status', 'sideways'])).code).toBe(ExitCode.USAGE);
    });

    it('show prints the counts and the per-object errors', async () => {
      const r = await dirsync(['runs', 'show', firstRunId, '--errors', '3']);
      expect(r.code).toBe(ExitCode.OK);
      expect(r.stdout).toMatch(/\nread\s+FULL\n/);
      expect(r.stdout).toMatch(/entries read\s+[1-9]\d*\n/);
      expect(r.stdout).toMatch(/status\s+COMPLETED/);
      expect(r.stdout).toMatch(/per-object errors \(\d+\):\nCODE\s+WHERE\s+MESSAGE/);
      // The first errors listed are those identity reports (ALIAS_CONFLICT: a demo alias that is
      // another user's username), then the connector's.
      expect(r.stdout).toMatch(/MISSING_USERNAME|INVALID_PHONE|GROUP_CYCLE|ALIAS_CONFLICT/);
      const missing = await dirsync(['runs', 'show', '00000000-0000-4000-8000-000000000000']);
      expect(missing.code).toBe(ExitCode.NOT_FOUND);
      expect((await dirsync(['runs', 'show', 'not-a-run'])).code).toBe(ExitCode.USAGE);
    });

    it('show takes the 8-character id the console shows: unique → the run, shared → the candidates (exit 2), none → exit 5', async () => {
      const short = firstRunId.slice(0, 8);
      const byShort = await dirsync(['runs', 'show', short.toUpperCase(), '--json']);
      expect(byShort.code).toBe(ExitCode.OK);
      expect(byShort.json<{ id: string }>().id).toBe(firstRunId);
      const text = await dirsync(['runs', 'show', short]);
      expect(text.stdout).toMatch(new RegExp(`^run\\s+${firstRunId}$`, 'm'));

      // Another run whose id starts with the same 8 characters (random ids rarely share them, so
      // the test makes one: a copy of the run under such an id).
      const twin = `${short}-0000-4000-8000-${firstRunId.endsWith('0'.repeat(12)) ? '1'.repeat(12) : '0'.repeat(12)}`;
      const db = new pg.Client({ connectionString: stack.databaseUrl });
      await db.connect();
      try {
        await db.query('create temp table twin as select * from sync.runs where id = $1', [
          firstRunId,
        ]);
        await db.query('update twin set id = $1', [twin]);
        await db.query('insert into sync.runs select * from twin');
      } finally {
        await db.end();
      }
      const ambiguous = await dirsync(['runs', 'show', short]);
      expect(ambiguous.code).toBe(ExitCode.USAGE);
      expect(ambiguous.stdout).toBe('');
      expect(ambiguous.stderr).toMatch(
        new RegExp(
          `^dirsync: 2 runs start with ${short}; give more of the id: \\(AMBIGUOUS_RUN_ID\\)\n`,
        ),
      );
      expect(ambiguous.stderr).toContain(`  ${firstRunId}  ${NAME}  FULL  COMPLETED`);
      expect(ambiguous.stderr).toContain(`  ${twin}  ${NAME}`);
      const asJson = await dirsync(['runs', 'show', short, '--json']);
      expect(asJson.code).toBe(ExitCode.USAGE);
      expect(asJson.json<{ error: unknown }>().error).toMatchObject({
        code: 'AMBIGUOUS_RUN_ID',
        exitCode: ExitCode.USAGE,
        details: { total: 2, candidates: expect.arrayContaining([firstRunId, twin]) },
      });
      // More of the id picks one; approve and reject resolve a prefix the same way.
      const longer = await dirsync(['runs', 'show', firstRunId.slice(0, 20), '--json']);
      expect(longer.json<{ id: string }>().id).toBe(firstRunId);
      expect((await dirsync(['runs', 'approve', short])).code).toBe(ExitCode.USAGE);
      const notBlocked = await dirsync(['runs', 'reject', firstRunId.slice(0, 20)]);
      expect(notBlocked.code).toBe(ExitCode.RUN_NOT_BLOCKED);

      // A prefix no run has is not found; too short or not hex is a usage error.
      const none = await dirsync(['runs', 'show', short === 'ffffffff' ? '00000000' : 'ffffffff']);
      expect(none.code).toBe(ExitCode.NOT_FOUND);
      expect(none.stderr).toMatch(/no run id starts with/);
      expect((await dirsync(['runs', 'show', short.slice(0, 3)])).code).toBe(ExitCode.USAGE);
      expect((await dirsync(['runs', 'show', `${short}07`])).code).toBe(ExitCode.USAGE);
    });
  });

  describe('users list|show|export', () => {
    it('list pages with --limit and --after, and filters', async () => {
      const first = await dirsync(['users', 'list', '--directory', NAME, '--limit', '2', '--json']);
      const page = first.json<{
        nodes: { username: string }[];
        pageInfo: { hasNextPage: boolean; endCursor: string };
      }>();
      expect(page.nodes).toHaveLength(2);
      expect(page.pageInfo.hasNextPage).toBe(true);
      const next = await dirsync([
        'users',
        'list',
        '-n',
        '2',
        '--after',
        page.pageInfo.endCursor,
        '--json',
      ]);
      const second = next.json<{ nodes: { username: string }[] }>().nodes;
      expect(second[0]!.username > page.nodes[1]!.username).toBe(true);

      const table = await dirsync(['users', 'list', '--search', 'jdoe']);
      expect(table.stdout).toMatch(/^ID\s+USERNAME\s+EMAIL/);
      expect(table.stdout).toContain('jdoe');
      const byGroup = await dirsync([
        'users',
        'list',
        '--group',
        'support',
        '--status',
        'active',
        '--json',
      ]);
      expect(byGroup.code, byGroup.stderr).toBe(ExitCode.OK);
      expect(byGroup.json<{ nodes: unknown[] }>().nodes.length).toBeGreaterThan(0);
      expect((await dirsync(['users', 'list', '--status', 'gone'])).code).toBe(ExitCode.USAGE);
      expect((await dirsync(['users', 'list', '--group', 'no-such-group'])).code).toBe(
        ExitCode.NOT_FOUND,
      );
    });

    it('show finds a user by username with groups and phones', async () => {
      const r = await dirsync(['users', 'show', 'jdoe', '--directory', NAME]);
      expect(r.code, r.stderr).toBe(ExitCode.OK);
      expect(r.stdout).toMatch(/username\s+jdoe/);
      expect(r.stdout).toMatch(/groups\s+\S/);
      const json = await dirsync(['users', 'show', 'jdoe', '--json']);
      const user = json.json<{ id: string }>();
      const byId = await dirsync(['users', 'show', user.id]);
      expect(byId.stdout).toMatch(/username\s+jdoe/);
      expect((await dirsync(['users', 'show', 'no-such-user'])).code).toBe(ExitCode.NOT_FOUND);
    });

    it('export writes every matching user as CSV or JSON', async () => {
      const { users } = await stack.gql<{ users: { totalCount: number } }>(
        `query($d: ID!) { users(filter: { directoryId: $d }) { totalCount } }`,
        { d: directoryId },
      );
      const csv = await dirsync(['users', 'export', '--directory', NAME, '--format', 'csv']);
      expect(csv.code).toBe(ExitCode.OK);
      const lines = csv.stdout.split('\r\n').filter(Boolean);
      expect(lines[0]).toBe(
        'id,username,email,displayName,firstName,lastName,status,directory,aliases,phones,externalId,sourceLocator,lastDirectorySync,pendingDeletionAt,createdAt,updatedAt',
      );
      expect(users.totalCount).toBeGreaterThan(1000);
      // Quoted fields may hold line breaks; count records by their leading id instead.
      expect(csv.stdout.match(/\r\n[0-9a-f]{8}-[0-9a-f]{4}-/g)).toHaveLength(users.totalCount);

      const out = join(dir, 'users.json');
      const json = await dirsync(['users', 'export', '-d', NAME, '--format', 'json', '-o', out]);
      expect(json.stderr).toBe(`exported ${users.totalCount} users to ${out}\n`);
      const exported = JSON.parse(await readFile(out, 'utf8')) as { username: string }[];
      expect(exported).toHaveLength(users.totalCount);
      expect(exported.map((u) => u.username)).toContain('jdoe');
      expect((await dirsync(['users', 'export', '--format', 'xml'])).code).toBe(ExitCode.USAGE);
    });

    it('bypass on|off sets and clears the bypass; a bad value exits 2, an unknown user 5', async () => {
      const on = await dirsync(['users', 'bypass', 'jdoe', 'on', '--directory', NAME]);
      expect(on.code, on.stderr).toBe(ExitCode.OK);
      expect(on.stdout).toMatch(/^bypass on: jdoe \([0-9a-f-]{36}\) of Demo OpenLDAP: BYPASS\n$/);
      const shown = await dirsync(['users', 'show', 'jdoe', '--json']);
      expect(shown.json<{ status: string }>().status).toBe('BYPASS');
      const off = await dirsync([
        'users',
        'bypass',
        shown.json<{ id: string }>().id,
        'off',
        '--json',
      ]);
      expect(off.code, off.stderr).toBe(ExitCode.OK);
      expect(off.json<{ status: string }>().status).toBe('ACTIVE');
      expect((await dirsync(['users', 'bypass', 'jdoe', 'maybe'])).code).toBe(ExitCode.USAGE);
      expect((await dirsync(['users', 'bypass', 'no-such-user', 'on'])).code).toBe(
        ExitCode.NOT_FOUND,
      );
    });

    it('restore and purge a user the source lost; purge needs --yes; an active user is refused', async () => {
      // Two users outside the administrator groups the later tests use, deleted from the source.
      const { users } = await stack.gql<{
        users: {
          nodes: {
            id: string;
            username: string;
            sourceLocator: string;
            groups: { nodes: { name: string }[] };
          }[];
        };
      }>(
        `query($d: ID!) { users(first: 60, filter: { directoryId: $d, status: [ACTIVE] }) {
           nodes { id username sourceLocator groups(first: 50) { nodes { name } } } } }`,
        { d: directoryId },
      );
      const [gone, purged] = users.nodes.filter(
        (u) =>
          u.username !== 'jdoe' &&
          u.sourceLocator.startsWith('uid=') &&
          !u.groups.nodes.some((g) => g.name.includes('engineering')),
      );
      await slapd.modify(
        `dn: ${gone!.sourceLocator}\nchangetype: delete\n\ndn: ${purged!.sourceLocator}\nchangetype: delete\n`,
      );
      const sync = await dirsync(['sync', NAME, '--wait']);
      expect(sync.code, sync.stdout + sync.stderr).toBe(ExitCode.OK);
      expect(sync.stdout).toMatch(/pending deletion\s+2\n/);

      const restored = await dirsync(['users', 'restore', gone!.username, '--directory', NAME]);
      expect(restored.code, restored.stderr).toBe(ExitCode.OK);
      expect(restored.stdout).toBe(`restored ${gone!.username} (${gone!.id}) of ${NAME}: ACTIVE\n`);
      const again = await dirsync(['users', 'restore', gone!.id, '--json']);
      expect(again.code).toBe(ExitCode.ERROR);
      expect(again.json()).toMatchObject({ error: { code: 'NOT_PENDING_DELETION' } });

      const refused = await dirsync(['users', 'purge', purged!.id]);
      expect(refused.code).toBe(ExitCode.USAGE);
      expect(refused.stderr).toBe(
        `dirsync: purging ${purged!.username} (pending deletion, ${purged!.id} of ${NAME}) cannot be undone: add --yes to confirm\n`,
      );
      const yes = await dirsync(['users', 'purge', purged!.id, '--yes']);
      expect(yes.code, yes.stderr).toBe(ExitCode.OK);
      expect(yes.stdout).toBe(`purged ${purged!.username} (${purged!.id})\n`);
      expect((await dirsync(['users', 'show', purged!.id])).code).toBe(ExitCode.NOT_FOUND);
      expect((await dirsync(['users', 'purge', 'jdoe', '--yes'])).code).toBe(ExitCode.ERROR);
      expect((await dirsync(['users', 'restore', 'no-such-user'])).code).toBe(ExitCode.NOT_FOUND);
      const reader = await stack.client('READ_ONLY');
      const denied = await runCli(
        ['--url', stack.gatewayUrl, '--api-key', reader.key, 'users', 'bypass', 'jdoe', 'on'],
        {
          io: { stdout: { write: () => true }, stderr: { write: () => true } },
          env: { configHome: join(dir, 'config') },
        },
      );
      expect(denied).toBe(ExitCode.AUTH);
    });
  });

  describe('directories test', () => {
    it('a saved directory: every check passes, exit 0', async () => {
      const r = await dirsync(['directories', 'test', NAME]);
      expect(r.code, r.stdout + r.stderr).toBe(ExitCode.OK);
      expect(r.stdout).toMatch(
        /^connection test of "Demo OpenLDAP" \(LDAP\): \d+ checks passed, 1 skipped in /,
      );
      expect(r.stdout).toMatch(/\n {2}ok +BIND +bound as "cn=admin,dc=example,dc=org"/);
      expect(r.stdout).toMatch(/\n {2}skipped +TLS +ldap:\/\/.* not encrypted/);
      const json = await dirsync(['directories', 'test', directoryId, '--json']);
      const t = json.json<{ ok: boolean; checks: { name: string; status: string }[] }>();
      expect(t.ok).toBe(true);
      expect(t.checks.filter((c) => c.name === 'GROUP')).toHaveLength(5);
    });

    it('a wrong password fails BIND: exit 3, the code and the bind DN named', async () => {
      const r = await dirsync(['directories', 'test', WRONG_NAME]);
      expect(r.code).toBe(ExitCode.RUN_FAILED);
      expect(r.stdout).toMatch(/: 1 of \d+ checks FAILED/);
      expect(r.stdout).toMatch(
        /\n {2}FAILED +BIND +INVALID_CREDENTIALS: .*"cn=admin,dc=example,dc=org"/,
      );
      expect(r.stdout).toMatch(/\n {2}skipped +BASE_DN +needs a successful bind/);
      expect(r.stdout).not.toContain('not-the-password');
    });

    it('--file tests settings before they are saved (password from stdin), nothing is created', async () => {
      const r = await dirsync(
        ['directories', 'test', '--file', directoryFile, '--bind-password-stdin'],
        `${slapd.rootPassword}\n`,
      );
      expect(r.code, r.stdout + r.stderr).toBe(ExitCode.OK);
      expect(r.stdout).toContain(
        `connection test of ${directoryFile} (LDAP): 12 checks passed, 1 skipped`,
      );
      const list = await dirsync(['--json', 'directories', 'list']);
      expect(list.json<unknown[]>()).toHaveLength(2);
    });

    it('a directory with changes from a file keeps its saved password; a missing group exits 3', async () => {
      const changes = join(dir, 'changes.json');
      const missing = 'cn=no-such-group,ou=groups,dc=example,dc=org';
      await writeFile(
        changes,
        JSON.stringify({ selectedGroups: ['cn=engineering,ou=groups,dc=example,dc=org', missing] }),
      );
      const r = await dirsync(['directories', 'test', NAME, '--file', changes, '--json']);
      expect(r.code).toBe(ExitCode.RUN_FAILED);
      const t = r.json<{
        ok: boolean;
        checks: { name: string; target: string; code: string | null }[];
      }>();
      expect(t.checks.find((c) => c.name === 'BIND')?.code).toBeNull();
      expect(t.checks.find((c) => c.target === missing)?.code).toBe('GROUP_NOT_FOUND');
    });

    it('no directory and no file is a usage error; an unknown one exits 5', async () => {
      expect((await dirsync(['directories', 'test'])).code).toBe(ExitCode.USAGE);
      expect((await dirsync(['directories', 'test', 'nope'])).code).toBe(ExitCode.NOT_FOUND);
    });
  });

  describe('sync-admin and admins list', () => {
    let email: string;
    beforeAll(async () => {
      const roles = join(dir, 'roles.json');
      await writeFile(
        roles,
        JSON.stringify({
          adminRoles: [
            { role: 'HELP_DESK', groups: ['cn=engineering,ou=groups,dc=example,dc=org'] },
          ],
        }),
      );
      const r = await dirsync([
        'directories',
        'update',
        NAME,
        '--file',
        roles,
        '--admin-schedule',
        '0',
      ]);
      expect(r.code, r.stderr).toBe(ExitCode.OK);
      const { groups } = await stack.gql<{
        groups: { nodes: { members: { nodes: { email: string | null }[] } }[] };
      }>(
        `{ groups(filter: { search: "engineering" }) { nodes { members(first: 20) { nodes { email } } } } }`,
      );
      email = groups.nodes.flatMap((g) => g.members.nodes).find((u) => u.email)!.email!;
    });

    it('sync-admin prints the outcome; an e-mail nobody has exits 5, a bad one 2', async () => {
      const r = await dirsync(['sync-admin', NAME, email]);
      expect(r.code, r.stdout + r.stderr).toBe(ExitCode.OK);
      expect(r.stdout).toMatch(/outcome\s+CREATED/);
      expect(r.stdout).toMatch(/admin\s+[0-9a-f-]{36} HELP_DESK ACTIVE/);
      // runs show lists what the run did to the administrator, with the admin counts.
      const runId = /\nrun\s+([0-9a-f-]{36})/.exec(r.stdout)![1]!;
      const show = await dirsync(['runs', 'show', runId]);
      expect(show.code, show.stderr).toBe(ExitCode.OK);
      expect(show.stdout).toMatch(/admins created\s+1\n/);
      expect(show.stdout).toMatch(/changes \(1 of 1; per-object errors not listed\):\nKIND\s+WHO/);
      expect(show.stdout).toMatch(new RegExp(`ADMIN_CREATED\\s+${email.replace(/[.]/g, '\\.')}`));
      const again = await dirsync(['sync-admin', NAME, email, '--json']);
      expect(again.json<{ outcome: string }>().outcome).toBe('UNCHANGED');
      const none = await dirsync(['sync-admin', NAME, 'nobody@example.org']);
      expect(none.code).toBe(ExitCode.NOT_FOUND);
      expect(none.stdout).toMatch(/outcome\s+NOT_FOUND/);
      expect((await dirsync(['sync-admin', NAME, 'not an e-mail'])).code).toBe(ExitCode.USAGE);
    });

    it('admins list shows them with role and source; filters; bad filters exit 2', async () => {
      const r = await dirsync(['admins', 'list']);
      expect(r.code, r.stderr).toBe(ExitCode.OK);
      expect(r.stdout).toMatch(/^EMAIL\s+ROLE\s+STATUS\s+NAME\s+SOURCE\s+SYNCED AT/);
      expect(r.stdout).toContain(email);
      expect(r.stdout).toContain(NAME);
      expect(r.stderr).toMatch(/^1 of 1\n$/);
      const json = await dirsync(['admins', 'list', '--role', 'help_desk', '--synced', '--json']);
      expect(json.json<{ nodes: { email: string; role: string }[] }>().nodes).toEqual([
        expect.objectContaining({ email, role: 'HELP_DESK' }),
      ]);
      const owners = await dirsync(['admins', 'list', '--role', 'owner', '--json']);
      expect(owners.json<{ nodes: unknown[] }>().nodes).toEqual([]);
      expect((await dirsync(['admins', 'list', '--role', 'king'])).code).toBe(ExitCode.USAGE);
      expect((await dirsync(['admins', 'list', '--synced', '--manual'])).code).toBe(ExitCode.USAGE);
    });

    it('sync --mode admin --wait runs a full ADMIN sync and prints the administrator counts', async () => {
      const r = await dirsync(['sync', NAME, '--mode', 'admin', '--wait']);
      expect(r.code, r.stdout + r.stderr).toBe(ExitCode.OK);
      expect(r.stderr).toMatch(/started ADMIN run [0-9a-f-]{36} of "Demo OpenLDAP"/);
      expect(r.stderr).toMatch(/COMPLETED\s+admins seen [1-9]\d*\s+created [1-9]/);
      expect(r.stdout).toMatch(/mode\s+ADMIN\n/);
      expect(r.stdout).toMatch(/admins seen\s+[1-9]\d*\n/);
      expect(r.stdout).toMatch(/admins created\s+[1-9]\d*\n/);
      expect(r.stdout).not.toMatch(/users seen/);
      const id = /run\s+([0-9a-f-]{36})/.exec(r.stdout)![1]!;
      const seen = Number(/admins seen\s+(\d+)/.exec(r.stdout)![1]);
      // runs list: the ADMIN run's columns are its administrator counts, not 0 users.
      const list = await dirsync(['runs', 'list', '--directory', NAME, '-n', '5']);
      const row = list.stdout.split('\n').find((l) => l.startsWith(id))!;
      expect(row).toMatch(new RegExp(`\\sADMIN\\s.*\\s${seen} admins\\s+[1-9]\\d* admins\\s`));
      // directories show keeps the last user sync and shows the admin sync beside it.
      const show = await dirsync(['directories', 'show', NAME]);
      expect(show.stdout).toMatch(/last sync\s+COMPLETED FULL \S+ \S+: seen \d+/);
      expect(show.stdout).toMatch(
        new RegExp(
          `last admin sync\\s+COMPLETED ADMIN \\S+ \\S+: admins seen ${seen}(, \\d+ errors?)? \\(run ${id}\\)`,
        ),
      );
      expect(show.stdout).toMatch(/admin sync\s+on demand\n/);
      expect(show.stdout).toMatch(/\n {2}role {3}HELP_DESK {5}cn=/);
    });
  });

  describe('keys list|create|revoke', () => {
    it('create prints the key once on stdout; it works; list never shows it; revoke ends it', async () => {
      const r = await dirsync([
        'keys',
        'create',
        '--name',
        'cli monitoring',
        '--role',
        'read_only',
        '--expires',
        '30d',
      ]);
      expect(r.code, r.stderr).toBe(ExitCode.OK);
      expect(r.stdout).toMatch(/^dsk_\S+\n$/);
      const key = r.stdout.trim();
      stack.secretScanner.add('the key created by the CLI test', key);
      expect(r.stderr).toMatch(
        /created READ_ONLY key "cli monitoring" [0-9a-f-]{36}, expires .*shown this once/,
      );

      const asReader = await runCli(
        ['--url', stack.gatewayUrl, '--api-key', key, 'directories', 'list'],
        {
          io: { stdout: { write: () => true }, stderr: { write: () => true } },
          env: { configHome: join(dir, 'config') },
        },
      );
      expect(asReader).toBe(ExitCode.OK);

      const list = await dirsync(['keys', 'list']);
      expect(list.code).toBe(ExitCode.OK);
      expect(list.stdout).toMatch(/^ID\s+NAME\s+ROLE\s+PREFIX\s+STATUS/);
      expect(list.stdout).toContain('cli monitoring');
      expect(list.stdout).not.toContain(key);
      const json = await dirsync(['keys', 'list', '--json']);
      const keys = json.json<{ name: string; status: string }[]>();
      expect(keys.find((k) => k.name === 'cli monitoring')?.status).toBe('ACTIVE');
      expect(json.stdout).not.toContain(key);

      const revoked = await dirsync(['keys', 'revoke', 'cli monitoring']);
      expect(revoked.code, revoked.stderr).toBe(ExitCode.OK);
      expect(revoked.stdout).toMatch(/status\s+REVOKED/);
      const after = await runCli(
        ['--url', stack.gatewayUrl, '--api-key', key, 'directories', 'list'],
        {
          io: { stdout: { write: () => true }, stderr: { write: () => true } },
          env: { configHome: join(dir, 'config') },
        },
      );
      expect(after).toBe(ExitCode.AUTH);
      expect((await dirsync(['keys', 'list'])).stdout).not.toContain('cli monitoring');
      expect((await dirsync(['keys', 'list', '--all'])).stdout).toMatch(/cli monitoring.*REVOKED/);
    });

    it('bad input exits 2, an unknown key 5, a role without key:manage 6', async () => {
      expect((await dirsync(['keys', 'create', '--name', 'x', '--role', 'king'])).code).toBe(
        ExitCode.USAGE,
      );
      expect((await dirsync(['keys', 'create', '--role', 'owner'])).code).toBe(ExitCode.USAGE);
      expect(
        (await dirsync(['keys', 'create', '--name', 'x', '--role', 'owner', '--expires', 'soon']))
          .code,
      ).toBe(ExitCode.USAGE);
      expect((await dirsync(['keys', 'revoke', 'no such key'])).code).toBe(ExitCode.NOT_FOUND);
      expect((await dirsync(['keys', 'revoke', '00000000-0000-4000-8000-000000000000'])).code).toBe(
        ExitCode.NOT_FOUND,
      );
      const manager = await stack.client('USER_MANAGER');
      const code = await runCli(
        ['--url', stack.gatewayUrl, '--api-key', manager.key, 'keys', 'list'],
        {
          io: { stdout: { write: () => true }, stderr: { write: () => true } },
          env: { configHome: join(dir, 'config') },
        },
      );
      expect(code).toBe(ExitCode.AUTH);
    });
  });

  describe('directories delete', () => {
    it('refuses without --yes, then deletes', async () => {
      const r = await dirsync(['directories', 'delete', WRONG_NAME]);
      expect(r.code).toBe(ExitCode.USAGE);
      expect(r.stderr).toContain('add --yes');
      const yes = await dirsync(['directories', 'delete', WRONG_NAME, '--yes', '--json']);
      expect(yes.code, yes.stderr).toBe(ExitCode.OK);
      expect(yes.json()).toMatchObject({ name: WRONG_NAME, deleted: true });
      expect((await dirsync(['directories', 'show', WRONG_NAME])).code).toBe(ExitCode.NOT_FOUND);
    });
  });

  describe('connection and errors', () => {
    it('an unreachable gateway exits 8; with --json the error is JSON on stdout', async () => {
      let stdout = '';
      const code = await runCli(['--url', 'http://127.0.0.1:1/graphql', '--json', 'runs', 'list'], {
        io: { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: () => true } },
        env: { configHome: join(dir, 'config') },
      });
      expect(code).toBe(ExitCode.UNREACHABLE);
      expect(JSON.parse(stdout)).toMatchObject({
        error: { exitCode: ExitCode.UNREACHABLE, message: expect.stringContaining('cannot reach') },
      });
    });

    it("the gateway's base URL works; a URL the gateway answers 404 says what to give", async () => {
      const run = async (url: string) => {
        let stdout = '';
        let stderr = '';
        const code = await runCli(['directories', 'list'], {
          io: {
            stdout: { write: (s: string) => (stdout += s) },
            stderr: { write: (s: string) => (stderr += s) },
          },
          env: { configHome: join(dir, 'config'), DIRSYNC_URL: url, DIRSYNC_API_KEY: stack.key },
        });
        return { code, stdout, stderr };
      };
      const base = new URL(stack.gatewayUrl).origin;
      const ok = await run(base);
      expect(ok.code, ok.stderr).toBe(ExitCode.OK);
      expect(ok.stdout).toContain(NAME);
      const wrong = await run(`${base}/api`);
      expect(wrong.code).toBe(ExitCode.ERROR);
      expect(wrong.stderr).toContain(`the gateway at ${base}/api answered HTTP 404`);
      expect(wrong.stderr).toContain(`give the gateway's URL`);
    });

    it('the gateway URL and the API key can come from the config file', async () => {
      const config = join(dir, 'cli.json');
      await writeFile(config, JSON.stringify({ url: stack.gatewayUrl, apiKey: stack.key }));
      let stdout = '';
      const code = await runCli(['--config', config, 'directories', 'list'], {
        io: { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: () => true } },
        env: { configHome: join(dir, 'config') },
      });
      expect(code).toBe(ExitCode.OK);
      expect(stdout).toContain(NAME);
    });

    it('without an API key, or with a role that lacks the permission, exits AUTH', async () => {
      const run = async (args: string[]) =>
        runCli(['--url', stack.gatewayUrl, ...args], {
          io: { stdout: { write: () => true }, stderr: { write: () => true } },
          env: { configHome: join(dir, 'config') },
        });
      expect(await run(['directories', 'list'])).toBe(ExitCode.AUTH);
      // Without a key the error says how to give one (the demo's owner key file too); with a
      // key the gateway does not know, which setting it came from — never the key.
      let stderr = '';
      const io = { stdout: { write: () => true }, stderr: { write: (s: string) => (stderr += s) } };
      const bare = await runCli(['--url', stack.gatewayUrl, 'directories', 'list'], {
        io,
        env: { configHome: join(dir, 'config') },
      });
      expect(bare).toBe(ExitCode.AUTH);
      expect(stderr).toMatch(/^dirsync: no API key given, .*\(UNAUTHENTICATED\)\n/);
      expect(stderr).toContain('DIRSYNC_API_KEY_FILE=.data/owner.key');
      expect(stderr).toContain('--api-key-file');
      const keyFile = join(dir, 'owner.key');
      await writeFile(keyFile, `${stack.key}\n`);
      stderr = '';
      const fromFile = await runCli(['--url', stack.gatewayUrl, 'directories', 'list'], {
        io,
        env: { configHome: join(dir, 'config'), DIRSYNC_API_KEY_FILE: keyFile },
      });
      expect(fromFile, stderr).toBe(ExitCode.OK);
      stderr = '';
      const wrongKey = await runCli(['--url', stack.gatewayUrl, 'directories', 'list'], {
        io,
        env: { configHome: join(dir, 'config'), DIRSYNC_API_KEY: 'dsk_not_a_key' },
      });
      expect(wrongKey).toBe(ExitCode.AUTH);
      expect(stderr).toContain('the gateway refused the API key from DIRSYNC_API_KEY');
      expect(stderr).not.toContain('dsk_not_a_key');
      const reader = await stack.client('READ_ONLY');
      expect(await run(['--api-key', reader.key, 'directories', 'list'])).toBe(ExitCode.OK);
      expect(await run(['--api-key', reader.key, 'sync', directoryId])).toBe(ExitCode.AUTH);
    });
  });
});
