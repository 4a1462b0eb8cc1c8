import type { Command } from 'commander';
import { resolveDirectory, type CommandContext } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { formatDuration, plural, printJson } from '../output.js';
import type { Action } from './action.js';
import { readDirectoryFile, secretInput } from './directories.js';

export const CONNECTION_TEST_FIELDS = `ok directoryId kind durationMs testedAt
  checks { name target status code message durationMs }`;

export interface ConnectionTest {
  ok: boolean;
  directoryId: string | null;
  kind: string;
  durationMs: number;
  testedAt: string;
  checks: {
    name: string;
    target: string | null;
    status: 'OK' | 'FAILED' | 'SKIPPED';
    code: string | null;
    message: string;
    durationMs: number;
  }[];
}

/** The `TestDirectorySettingsInput` fields a directory file may carry. */
const TEST_FIELDS = [
  'name',
  'kind',
  'ldap',
  'bindPassword',
  'entra',
  'clientSecret',
  'clientCertificate',
  'selectedGroups',
  'mapping',
  'adminRoles',
];

const MARK = { OK: 'ok', FAILED: 'FAILED', SKIPPED: 'skipped' } as const;

/** The text form: one line per check, failures with their code; a summary line first. */
export function formatConnectionTest(t: ConnectionTest, what: string): string {
  const failed = t.checks.filter((c) => c.status === 'FAILED').length;
  const passed = t.checks.filter((c) => c.status === 'OK').length;
  const skipped = t.checks.filter((c) => c.status === 'SKIPPED').length;
  // "all 16 passed" over 17 lines read as a miscount: a skipped check (TLS on ldap://) is said.
  const okHead = skipped
    ? `${plural(passed, 'check')} passed, ${skipped} skipped`
    : `${passed === 1 ? 'the 1 check' : `all ${passed} checks`} passed`;
  const head = t.ok
    ? `${what} (${t.kind}): ${okHead} in ${formatDuration(t.durationMs)}`
    : `${what} (${t.kind}): ${failed} of ${plural(t.checks.length, 'check')} FAILED (${formatDuration(t.durationMs)})`;
  const nameWidth = Math.max(...t.checks.map((c) => c.name.length));
  const lines = t.checks.map((c) => {
    const mark = MARK[c.status].padEnd(7);
    const code = c.code ? `${c.code}: ` : '';
    // the target (a group's DN, a permission) when the message does not name it already
    const target = c.target && !c.message.includes(c.target) ? ` (${c.target})` : '';
    return `  ${mark}  ${c.name.padEnd(nameWidth)}  ${code}${c.message}${target}`;
  });
  return [head, ...lines].join('\n') + '\n';
}

/**
 * `dirsync directories test`: a saved directory (`testDirectory`), a definition file not saved
 * yet, or changes to a saved one from a file (`testDirectorySettings`, the saved password
 * reused unless one is given).
 */
export function registerDirectoryTest(dirs: Command, act: Action): void {
  dirs
    .command('test')
    .description(
      "test a directory's connection (reach, TLS, bind, base DNs, groups, a sample search; Entra: token, Graph, permissions, groups); exit 0 when every check passes, 3 when one fails",
    )
    .argument('[directory]', 'id or name of a saved directory')
    .option(
      '-f, --file <path>',
      'test the settings in this file (CreateDirectoryInput JSON) without saving them; with a directory: its changes',
    )
    .option(
      '--bind-password-stdin',
      'read the bind password / client secret from standard input (else $DIRSYNC_BIND_PASSWORD)',
    )
    .action(
      act(
        async (
          ctx: CommandContext,
          ref: string | undefined,
          opts: { file?: string; bindPasswordStdin?: boolean },
        ) => {
          if (!ref && !opts.file) {
            throw new CliError(
              'name a directory, or give --file with settings to test',
              ExitCode.USAGE,
            );
          }
          let test: ConnectionTest;
          let what: string;
          if (!opts.file) {
            const dir = await resolveDirectory(ctx, ref!);
            what = `connection test of "${dir.name}"`;
            ({ testDirectory: test } = await ctx.client.request<{ testDirectory: ConnectionTest }>(
              `mutation($id: ID!) { testDirectory(id: $id) { ${CONNECTION_TEST_FIELDS} } }`,
              { id: dir.id },
            ));
          } else {
            // What a connection test reads from a directory file; schedules, windows and
            // policies do not change what the connector can reach.
            const file = await readDirectoryFile(opts.file);
            const input: Record<string, unknown> = Object.fromEntries(
              Object.entries(file).filter(([k]) => TEST_FIELDS.includes(k)),
            );
            Object.assign(input, await secretInput(ctx, opts, input));
            if (ref) {
              const dir = await resolveDirectory(ctx, ref);
              input.directoryId = dir.id;
              delete input.kind;
              what = `connection test of "${dir.name}" with ${opts.file}`;
            } else what = `connection test of ${opts.file}`;
            ({ testDirectorySettings: test } = await ctx.client.request<{
              testDirectorySettings: ConnectionTest;
            }>(
              `mutation($input: TestDirectorySettingsInput!) { testDirectorySettings(input: $input) { ${CONNECTION_TEST_FIELDS} } }`,
              { input },
            ));
          }
          if (ctx.json) printJson(ctx.io, test);
          else ctx.io.stdout.write(formatConnectionTest(test, what));
          return test.ok ? ExitCode.OK : ExitCode.RUN_FAILED;
        },
      ),
    );
}
