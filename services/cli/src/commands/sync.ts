import type { Command } from 'commander';
import { intOption, resolveDirectory, type CommandContext } from '../context.js';
import { CliError, ExitCode, exitCodeOfRun } from '../exit-codes.js';
import { createProgress, formatDuration, formatPairs, printJson, progressBar } from '../output.js';
import { RUN_FIELDS, USER_FIELDS, type Run, type User } from '../queries.js';
import type { Action } from './action.js';

export const FINAL_STATUSES = ['COMPLETED', 'FAILED', 'BLOCKED', 'REJECTED'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll a run until it ends or `timeoutMs` passes; progress goes to stderr. */
export async function waitForRun(
  ctx: CommandContext,
  run: Run,
  opts: { timeoutMs: number; expected?: number; pollMs?: number },
): Promise<Run> {
  const deadline = Date.now() + opts.timeoutMs;
  const progress = createProgress(ctx.io);
  let current = run;
  try {
    while (!FINAL_STATUSES.includes(current.status)) {
      if (!ctx.json) {
        const c = current.counts;
        progress.update(
          `${progressBar(c.seen, opts.expected)} ${current.status.padEnd(9)} seen ${c.seen}  created ${c.created}  updated ${c.updated}  errors ${c.errors}`,
        );
      }
      if (Date.now() >= deadline) return current;
      await sleep(opts.pollMs ?? 500);
      const { run: next } = await ctx.client.request<{ run: Run | null }>(
        `query($id: ID!) { run(id: $id) { ${RUN_FIELDS} } }`,
        { id: run.id },
      );
      if (!next) throw new CliError(`run ${run.id} disappeared`, ExitCode.NOT_FOUND, 'NOT_FOUND');
      current = next;
    }
  } finally {
    progress.done();
  }
  return current;
}

/** The summary table of a run (`sync --wait`, `runs show`). */
export function runSummary(run: Run): string {
  const c = run.counts;
  const pairs: [string, string | number | null][] = [
    ['run', run.id],
    ['directory', `${run.directory.name} (${run.directory.id})`],
    ['mode', run.mode],
    ['status', run.status],
    ['duration', formatDuration(run.durationMs)],
  ];
  if (run.username) pairs.push(['username', run.username]);
  if (run.errorCode) pairs.push(['error', `${run.errorCode}: ${run.errorMessage ?? ''}`]);
  if (run.removals) {
    const r = run.removals;
    pairs.push(
      ['held back', r.reason],
      ['  users', `${r.users} of ${r.baseUsers}`],
      ['  memberships', `${r.memberships} of ${r.baseMemberships}`],
      ['  groups', r.groups],
    );
  }
  if (run.decision) pairs.push(['decision', `${run.decision} by ${run.decidedBy ?? '?'}`]);
  if (run.supersededBy) pairs.push(['superseded by', run.supersededBy.id]);
  pairs.push(
    ['users seen', c.seen],
    ['created', c.created],
    ['updated', c.updated],
    ['unchanged', c.unchanged],
    ['disabled', c.disabled],
    ['pending deletion', c.pendingDeletion],
    ['restored', c.restored],
    ['per-object errors', c.errors],
    ['groups seen', c.groupsSeen],
    ['groups created', c.groupsCreated],
    ['groups removed', c.groupsRemoved],
    ['memberships added', c.membershipsAdded],
    ['memberships removed', c.membershipsRemoved],
  );
  return formatPairs(pairs);
}

export function registerSync(program: Command, act: Action): void {
  program
    .command('sync')
    .description(
      'start a sync of a directory; with --wait, follow it and exit 0 (completed), 3 (failed) or 4 (blocked)',
    )
    .argument('<directory>', 'id or name')
    .option('-m, --mode <mode>', 'full (read everything, remove what is gone) or delta', 'full')
    .option('-w, --wait', 'wait for the run to end, with a progress bar and a summary')
    .option('--timeout <seconds>', 'with --wait: give up waiting after this long (exit 7)', '3600')
    .action(
      act(async (ctx, ref: string, opts: { mode: string; wait?: boolean; timeout: string }) => {
        const mode = opts.mode.toUpperCase();
        if (mode !== 'FULL' && mode !== 'DELTA') {
          throw new CliError(`--mode must be full or delta, not "${opts.mode}"`, ExitCode.USAGE);
        }
        const timeoutMs = intOption('--timeout', opts.timeout, 1, 7 * 24 * 3600)! * 1000;
        const dir = await resolveDirectory<{
          id: string;
          name: string;
          lastRun: { counts: { seen: number } } | null;
        }>(ctx, ref, 'id name lastRun { counts { seen } }');
        const { syncAll } = await ctx.client.request<{ syncAll: Run }>(
          `mutation($id: ID!, $mode: SyncMode) { syncAll(directoryId: $id, mode: $mode) { ${RUN_FIELDS} } }`,
          { id: dir.id, mode },
        );
        if (!opts.wait) {
          if (ctx.json) return printJson(ctx.io, syncAll);
          ctx.io.stdout.write(
            `started ${mode} run ${syncAll.id} of "${dir.name}" (${syncAll.status})\n`,
          );
          return;
        }
        if (!ctx.json) ctx.io.stderr.write(`started ${mode} run ${syncAll.id} of "${dir.name}"\n`);
        const run = await waitForRun(ctx, syncAll, {
          timeoutMs,
          expected: dir.lastRun?.counts.seen || undefined,
        });
        if (ctx.json) printJson(ctx.io, run);
        else ctx.io.stdout.write(runSummary(run));
        if (!FINAL_STATUSES.includes(run.status)) {
          ctx.io.stderr.write(
            `stopped waiting after ${opts.timeout} s; the run goes on: dirsync runs show ${run.id}\n`,
          );
        } else if (run.status === 'BLOCKED' && !ctx.json) {
          ctx.io.stderr.write(
            `the run is BLOCKED by the deletion threshold: dirsync runs approve|reject ${run.id}\n`,
          );
        }
        return exitCodeOfRun(run.status);
      }),
    );

  program
    .command('sync-user')
    .description(
      'sync one user by username now and print the outcome; exit 3 when the run failed, 5 when the source does not have the user in scope',
    )
    .argument('<directory>', 'id or name')
    .argument('<username>', "the user's username in the source")
    .action(
      act(async (ctx, ref: string, username: string) => {
        const dir = await resolveDirectory(ctx, ref);
        const { syncUser } = await ctx.client.request<{
          syncUser: { outcome: string; run: Run; user: User | null };
        }>(
          `mutation($id: ID!, $username: String!) { syncUser(directoryId: $id, username: $username) {
             outcome run { ${RUN_FIELDS} } user { ${USER_FIELDS} } } }`,
          { id: dir.id, username },
        );
        if (ctx.json) printJson(ctx.io, syncUser);
        else {
          const u = syncUser.user;
          ctx.io.stdout.write(
            formatPairs([
              ['username', username],
              ['outcome', syncUser.outcome],
              ['user', u ? `${u.id} ${u.status} ${u.email ?? ''}`.trim() : null],
              ['run', syncUser.run.id],
              [
                'error',
                syncUser.run.errorCode
                  ? `${syncUser.run.errorCode}: ${syncUser.run.errorMessage}`
                  : null,
              ],
            ]),
          );
        }
        if (syncUser.outcome === 'FAILED') return ExitCode.RUN_FAILED;
        if (syncUser.outcome === 'NOT_FOUND') return ExitCode.NOT_FOUND;
        return ExitCode.OK;
      }),
    );
}
