import type { Command } from 'commander';
import { intOption, isUuid, resolveDirectory, type CommandContext } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { formatDate, formatDuration, formatTable, plural, printJson } from '../output.js';
import { RUN_FIELDS, type Connection, type Run } from '../queries.js';
import type { Action } from './action.js';
import { CHANGE_KINDS, formatChanges, plannedChanges, runSummary } from './sync.js';

const STATUSES = ['QUEUED', 'RUNNING', 'COMPLETED', 'FAILED', 'BLOCKED', 'REJECTED'];

interface ObjectError {
  externalId: string;
  sourceLocator: string;
  code: string;
  message: string;
}

/** At least this many characters of a run id (as git asks for at least 4 of a commit's). */
const MIN_PREFIX = 4;
/** How many runs an ambiguous prefix lists. */
const CANDIDATES_SHOWN = 10;

interface Candidate {
  id: string;
  mode: string;
  status: string;
  queuedAt: string;
  directory: { name: string };
}

/**
 * The run a command names: its id, or the start of it — the 8 characters the console and
 * `runs list` show. A prefix no run has is NOT_FOUND (exit 5); one that several runs share is a
 * usage error (exit 2) that lists them, so a decision never lands on the wrong run.
 */
export async function resolveRunId(ctx: CommandContext, ref: string): Promise<string> {
  const id = ref.trim().toLowerCase();
  if (isUuid(id)) return id;
  if (id.length < MIN_PREFIX || !/^[0-9a-f-]+$/.test(id)) {
    throw new CliError(
      `"${ref}" is not a run id: give the id or at least its first ${MIN_PREFIX} characters`,
      ExitCode.USAGE,
    );
  }
  const { runs } = await ctx.client.request<{ runs: Connection<Candidate> }>(
    `query($p: String!, $n: Int) {
       runs(idPrefix: $p, first: $n) {
         totalCount nodes { id mode status queuedAt directory { name } } pageInfo { hasNextPage endCursor } } }`,
    { p: id, n: CANDIDATES_SHOWN },
  );
  const [only, ...others] = runs.nodes;
  if (!only) throw new CliError(`no run id starts with ${id}`, ExitCode.NOT_FOUND, 'NOT_FOUND');
  if (others.length === 0) return only.id;
  const total = runs.totalCount ?? runs.nodes.length;
  const lines = runs.nodes.map(
    (r) => `  ${r.id}  ${r.directory.name}  ${r.mode}  ${r.status}  ${formatDate(r.queuedAt)}`,
  );
  if (total > runs.nodes.length) lines.push(`  … and ${total - runs.nodes.length} more`);
  throw new CliError(
    `${plural(total, 'run')} start with ${id}; give more of the id:\n${lines.join('\n')}`,
    ExitCode.USAGE,
    'AMBIGUOUS_RUN_ID',
    { candidates: runs.nodes.map((r) => r.id), total },
  );
}

/** A run by id or id prefix (`resolveRunId`), with `RUN_FIELDS` and `extra`. */
export async function getRun(ctx: CommandContext, ref: string, extra = ''): Promise<Run> {
  const id = await resolveRunId(ctx, ref);
  const { run } = await ctx.client.request<{ run: Run | null }>(
    `query($id: ID!) { run(id: $id) { ${RUN_FIELDS} ${extra} } }`,
    { id },
  );
  if (!run) throw new CliError(`run ${id} not found`, ExitCode.NOT_FOUND, 'NOT_FOUND');
  return run;
}

interface Held {
  totalCount: number;
  header: string[];
  rows: string[][];
}

/**
 * Who a BLOCKED run holds back for removal: its administrators for an ADMIN run, else its
 * users (identity's `heldByRunId` filters).
 */
async function heldBy(ctx: CommandContext, run: Run, first: number): Promise<Held> {
  if (run.mode === 'ADMIN') {
    const { admins } = await ctx.client.request<{
      admins: { totalCount: number; nodes: { email: string; role: string; status: string }[] };
    }>(
      `query($r: ID, $first: Int) { admins(first: $first, filter: { heldByRunId: $r }) {
         totalCount nodes { email role status } } }`,
      { r: run.id, first },
    );
    return {
      totalCount: admins.totalCount,
      header: ['email', 'role', 'status'],
      rows: admins.nodes.map((a) => [a.email, a.role, a.status]),
    };
  }
  const { users } = await ctx.client.request<{
    users: {
      totalCount: number;
      nodes: { username: string; email: string | null; status: string }[];
    };
  }>(
    `query($r: ID, $first: Int) { users(first: $first, filter: { heldByRunId: $r }) {
       totalCount nodes { username email status } } }`,
    { r: run.id, first },
  );
  return {
    totalCount: users.totalCount,
    header: ['username', 'email', 'status'],
    rows: users.nodes.map((u) => [u.username, u.email ?? '', u.status]),
  };
}

export function registerRuns(program: Command, act: Action): void {
  const runs = program
    .command('runs')
    .description('sync runs: history, details, decisions on blocked runs');

  runs
    .command('list')
    .description('runs, newest first')
    .option('-d, --directory <directory>', 'only this directory (id or name)')
    .option('-s, --status <statuses>', `comma-separated: ${STATUSES.join(', ')}`)
    .option('-n, --limit <n>', 'how many (at most 500)', '20')
    .action(
      act(async (ctx, opts: { directory?: string; status?: string; limit: string }) => {
        const first = intOption('--limit', opts.limit, 1, 500)!;
        const status = opts.status
          ?.split(',')
          .map((s) => s.trim().toUpperCase())
          .filter(Boolean);
        for (const s of status ?? []) {
          if (!STATUSES.includes(s)) {
            throw new CliError(
              `--status: "${s}" is not one of ${STATUSES.join(', ')}`,
              ExitCode.USAGE,
            );
          }
        }
        const directoryId = opts.directory
          ? (await resolveDirectory(ctx, opts.directory)).id
          : null;
        const { runs: page } = await ctx.client.request<{ runs: Connection<Run> }>(
          `query($dir: ID, $status: [RunStatus!], $first: Int) {
             runs(directoryId: $dir, status: $status, first: $first) {
               totalCount nodes { ${RUN_FIELDS} } pageInfo { hasNextPage endCursor } } }`,
          { dir: directoryId, status: status ?? null, first },
        );
        if (ctx.json) return printJson(ctx.io, page.nodes);
        ctx.io.stdout.write(
          formatTable(
            [
              'id',
              'directory',
              'mode',
              'trigger',
              'status',
              'dry',
              'queued',
              'duration',
              'seen',
              'created',
              'updated',
              'removed',
              'errors',
            ],
            page.nodes.map((r) => {
              const c = r.counts;
              // An ADMIN run counts administrators only (its user counts are all 0).
              const admin = r.mode === 'ADMIN';
              return [
                r.id,
                r.directory.name,
                r.mode,
                r.trigger,
                r.status,
                // A dry run over the deletion threshold: what a real run would have done.
                r.dryRun ? (r.removals ? 'would block' : 'dry run') : null,
                formatDate(r.queuedAt),
                formatDuration(r.durationMs),
                admin ? `${c.adminsSeen} admins` : c.seen,
                admin ? `${c.adminsCreated} admins` : c.created,
                admin ? `${c.adminsUpdated} admins` : c.updated,
                admin ? `${c.adminsPendingDeletion} admins` : c.pendingDeletion,
                c.errors,
              ];
            }),
          ),
        );
        if (page.pageInfo.hasNextPage) {
          ctx.io.stderr.write(
            `${page.nodes.length} of ${page.totalCount === undefined ? 'more runs' : plural(page.totalCount, 'run')}; raise --limit for more\n`,
          );
        }
      }),
    );

  runs
    .command('show')
    .description(
      "a run's counts, error, per-object changes and per-object errors; for a BLOCKED run, who approving would remove",
    )
    .argument('<run>', 'run id, or its first 8 characters (as the console and runs list show)')
    .option('-e, --errors <n>', 'per-object errors to show (at most 500)', '20')
    .option(
      '-c, --changes <n>',
      'per-object changes to show, in the order they were made (at most 500)',
      '20',
    )
    .option('--held <n>', 'BLOCKED runs: held users or administrators to name (at most 500)', '20')
    .action(
      act(async (ctx, id: string, opts: { errors: string; changes: string; held: string }) => {
        const first = intOption('--errors', opts.errors, 0, 500)!;
        const changeCount = intOption('--changes', opts.changes, 0, 500)!;
        const heldCount = intOption('--held', opts.held, 0, 500)!;
        const run = await getRun(
          ctx,
          id,
          `errors(first: ${Math.max(first, 1)}) { totalCount nodes { externalId sourceLocator code message } }`,
        );
        const errors = (run as Run & { errors: Connection<ObjectError> }).errors;
        const changes =
          changeCount > 0 ? await plannedChanges(ctx, run.id, changeCount, CHANGE_KINDS) : null;
        const held =
          run.status === 'BLOCKED' && heldCount > 0 ? await heldBy(ctx, run, heldCount) : undefined;
        if (ctx.json) {
          return printJson(ctx.io, {
            ...run,
            ...(changes ? { changes } : {}),
            ...(held ? { held } : {}),
          });
        }
        ctx.io.stdout.write(runSummary(run));
        if (held && held.rows.length > 0) {
          const more = held.totalCount > held.rows.length ? '; raise --held for more' : '';
          ctx.io.stdout.write(
            `\nwould go to pending deletion on approval (${held.rows.length} of ${held.totalCount}${more}):\n`,
          );
          ctx.io.stdout.write(formatTable(held.header, held.rows));
        }
        if (changes) {
          ctx.io.stdout.write(
            formatChanges(changes, run.dryRun ? 'planned changes' : 'changes', '--changes'),
          );
        }
        if (first > 0 && errors.nodes.length > 0) {
          ctx.io.stdout.write(
            `\nper-object errors (${errors.totalCount ?? errors.nodes.length}):\n`,
          );
          ctx.io.stdout.write(
            formatTable(
              ['code', 'where', 'message'],
              errors.nodes
                .slice(0, first)
                .map((e) => [e.code, e.sourceLocator || e.externalId, e.message]),
            ),
          );
        }
      }),
    );

  for (const [name, decision, mutation] of [
    ['approve', 'APPROVE', 'approveRun'],
    ['reject', 'REJECT', 'rejectRun'],
  ] as const) {
    runs
      .command(name)
      .description(
        decision === 'APPROVE'
          ? 'approve a BLOCKED run: remove exactly the users, groups, memberships or administrators it held back (owners only); exit 10 when the run is not blocked'
          : 'reject a BLOCKED run: discard its removals, nobody is removed (owners only); exit 10 when the run is not blocked',
      )
      .argument('<run>', 'run id, or its first 8 characters')
      .action(
        act(async (ctx, ref: string) => {
          const id = await resolveRunId(ctx, ref);
          const data = await ctx.client.request<Record<string, Run>>(
            `mutation($id: ID!) { ${mutation}(runId: $id) { ${RUN_FIELDS} } }`,
            { id },
          );
          const run = data[mutation]!;
          if (ctx.json) return printJson(ctx.io, run);
          ctx.io.stdout.write(runSummary(run));
        }),
      );
  }
}
