import type { Command } from 'commander';
import { intOption, resolveDirectory, type CommandContext } from '../context.js';
import { CliError, ExitCode, exitCodeOfRun } from '../exit-codes.js';
import {
  createProgress,
  formatDuration,
  formatPairs,
  formatTable,
  printJson,
  progressBar,
} from '../output.js';
import {
  CHANGE_FIELDS,
  RUN_FIELDS,
  USER_FIELDS,
  type Run,
  type RunChange,
  type User,
} from '../queries.js';
import type { Action } from './action.js';

export const FINAL_STATUSES = ['COMPLETED', 'FAILED', 'BLOCKED', 'REJECTED'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A run's progress line: a bar of `seen` against `total` (what the previous run saw), the
 * status and the counts so far. A dry run while RUNNING counts only what it has read (`seen`,
 * groups) — its planned counts are 0 until the plan is done — so it says which phase it is in
 * instead: `reading…` while the connector reads, `planning…` once the connector has read
 * everything (`connector.publishedAt`) and identity computes the plan (docs/lifecycle.md, dry
 * run). Its last line, COMPLETED, has the plan's counts. `finished`: the run read to its end,
 * so the bar is full whatever it counted.
 */
export function progressLine(r: Run, total: number | undefined, finished = false): string {
  const c = r.counts;
  const bar = (done: number) => progressBar(done, total, 30, finished);
  if (r.mode === 'ADMIN') {
    return `${bar(c.adminsSeen)} ${r.status.padEnd(9)} admins seen ${c.adminsSeen}  created ${c.adminsCreated}  updated ${c.adminsUpdated}  errors ${c.errors}`;
  }
  if (r.dryRun && (r.status === 'QUEUED' || r.status === 'RUNNING')) {
    const phase =
      r.status === 'QUEUED' ? '' : r.connector?.publishedAt ? 'planning… ' : 'reading…  ';
    return `${bar(c.seen)} ${r.status.padEnd(9)} ${phase}seen ${c.seen}  groups ${c.groupsSeen}`;
  }
  return `${bar(c.seen)} ${r.status.padEnd(9)} seen ${c.seen}  created ${c.created}  updated ${c.updated}  errors ${c.errors}`;
}

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
      if (!ctx.json) progress.update(progressLine(current, opts.expected));
      if (Date.now() >= deadline) return current;
      await sleep(opts.pollMs ?? 500);
      const { run: next } = await ctx.client.request<{ run: Run | null }>(
        // The connector's part (a dry run's phase) only for the progress line, not the JSON.
        `query($id: ID!) { run(id: $id) { ${RUN_FIELDS} ${ctx.json ? '' : 'connector { publishedAt }'} } }`,
        { id: run.id },
      );
      if (!next) throw new CliError(`run ${run.id} disappeared`, ExitCode.NOT_FOUND, 'NOT_FOUND');
      current = next;
    }
    // The end state once, whatever the throttle. A run that read to its end — COMPLETED, BLOCKED
    // (everything but the removals applied) or REJECTED (a blocked one) — has a full bar, however
    // much it saw (a quiet DELTA run sees 0, a first run has no expected total); a FAILED run's
    // bar stops where it failed.
    if (!ctx.json) {
      progress.final(progressLine(current, opts.expected, current.status !== 'FAILED'));
    }
  } finally {
    progress.done();
  }
  return current;
}

/**
 * The kinds of change a dry run's plan lists: everything but per-object errors, which the
 * summary counts (`runs show` lists them).
 */
export const PLAN_KINDS = [
  'CREATED',
  'UPDATED',
  'RESTORED',
  'CLAIMED',
  'DISABLED',
  'ENABLED',
  'PENDING_DELETION',
  'CONFLICT',
  'MEMBERSHIP',
  'GROUP_CREATED',
  'GROUP_UPDATED',
  'GROUP_DELETED',
];

/** Every kind of change `runs show` lists: the plan's and the administrators'. */
export const CHANGE_KINDS = [
  ...PLAN_KINDS,
  'ADMIN_CREATED',
  'ADMIN_UPDATED',
  'ADMIN_RESTORED',
  'ADMIN_ROLE_CHANGED',
  'ADMIN_CLAIMED',
  'ADMIN_DISABLED',
  'ADMIN_ENABLED',
  'ADMIN_PENDING_DELETION',
];

/** The first `n` changes of a run of the given kinds (a dry run's: planned), with how many. */
export async function plannedChanges(
  ctx: CommandContext,
  runId: string,
  n: number,
  kinds: readonly string[] = PLAN_KINDS,
): Promise<{ totalCount: number; nodes: RunChange[] }> {
  const { run } = await ctx.client.request<{
    run: { changes: { totalCount: number; nodes: RunChange[] } } | null;
  }>(
    `query($id: ID!, $n: Int, $kinds: [ChangeKind!]) { run(id: $id) {
       changes(first: $n, filter: { kinds: $kinds }) { totalCount nodes { ${CHANGE_FIELDS} } } } }`,
    { id: runId, n, kinds },
  );
  const changes = run?.changes ?? { totalCount: 0, nodes: [] };
  await nameGroups(ctx, changes.nodes);
  return changes;
}

/** Most groups named in one listing; past it, the ids stand for themselves. */
const MAX_NAMED_GROUPS = 200;

/**
 * Gives MEMBERSHIP changes the names of their groups (`addedGroups`, `removedGroups`) with one
 * aliased query; a group deleted since is shown by its id.
 */
async function nameGroups(ctx: CommandContext, changes: RunChange[]): Promise<void> {
  const ids = [...new Set(changes.flatMap((c) => [...c.addedGroupIds, ...c.removedGroupIds]))];
  if (ids.length === 0) return;
  const asked = ids.slice(0, MAX_NAMED_GROUPS);
  const data = await ctx.client.request<Record<string, { name: string } | null>>(
    `query(${asked.map((_, i) => `$g${i}: ID!`).join(', ')}) {
       ${asked.map((_, i) => `g${i}: group(id: $g${i}) { name }`).join('\n')} }`,
    Object.fromEntries(asked.map((id, i) => [`g${i}`, id])),
  );
  const names = new Map(asked.map((id, i) => [id, data[`g${i}`]?.name ?? id]));
  for (const c of changes) {
    const named = (ids: string[]) => ids.map((id) => names.get(id) ?? id).sort();
    c.addedGroups = named(c.addedGroupIds);
    c.removedGroups = named(c.removedGroupIds);
  }
}

/** Longest value shown in a change's detail before it is cut with "…". */
const MAX_VALUE = 40;

/** A field's value as `runs show` prints it: JSON, cut to MAX_VALUE characters. */
export function formatValue(v: unknown): string {
  const text = v === null || v === undefined ? 'null' : JSON.stringify(v);
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text;
}

/** Kinds whose `fields` are what changed (CREATED lists every imported field instead). */
const FIELD_KINDS = new Set(['UPDATED', 'RESTORED', 'ADMIN_UPDATED', 'ADMIN_RESTORED']);

/**
 * Changes as a table: what happened (or, planned, would happen) to whom. `title` and `more` name
 * them and the option that lists more.
 */
export function formatChanges(
  plan: { totalCount: number; nodes: RunChange[] },
  title = 'planned changes',
  more = '--changes',
): string {
  const detail = (c: RunChange): string => {
    if (c.errorCode) return `${c.errorCode}: ${c.errorMessage ?? ''}`;
    if (c.kind === 'PENDING_DELETION' || c.kind === 'ADMIN_PENDING_DELETION') {
      return c.removalReason ?? '';
    }
    if (c.kind === 'ADMIN_ROLE_CHANGED') return `${c.previousRole ?? '?'} → ${c.role ?? '?'}`;
    if (c.kind === 'MEMBERSHIP') {
      const joined = c.addedGroups ?? c.addedGroupIds;
      const left = c.removedGroups ?? c.removedGroupIds;
      return [
        joined.length ? `joined ${joined.join(', ')}` : '',
        left.length ? `left ${left.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join('; ');
    }
    if (FIELD_KINDS.has(c.kind) && c.fields.length > 0) {
      return c.fields
        .map((f) => `${f.field}: ${formatValue(f.old)} → ${formatValue(f.new)}`)
        .join('; ');
    }
    if (c.changedFields.length > 0) return c.changedFields.join(', ');
    return c.status ?? '';
  };
  const head = `\n${title} (${plan.nodes.length} of ${plan.totalCount}${plan.totalCount > plan.nodes.length ? `; raise ${more} for more` : ''}; per-object errors not listed):\n`;
  if (plan.nodes.length === 0) {
    return `${head}  none: ${title === 'planned changes' ? 'a real run would change nothing' : 'the run changed nothing'}\n`;
  }
  return (
    head +
    formatTable(
      ['kind', 'who', 'detail'],
      plan.nodes.map((c) => [
        c.kind,
        c.username ?? c.groupName ?? c.email ?? c.sourceLocator,
        detail(c),
      ]),
    )
  );
}

/** The summary table of a run (`sync --wait`, `runs show`). */
export function runSummary(run: Run): string {
  const c = run.counts;
  const pairs: [string, string | number | null][] = [
    ['run', run.id],
    ['directory', `${run.directory.name} (${run.directory.id})`],
    ['mode', run.mode],
    ...(run.dryRun
      ? [['dry run', 'yes: nothing was changed; the counts are the plan'] as [string, string]]
      : []),
    ['status', run.status],
    ['duration', formatDuration(run.durationMs)],
    // How the run read: a DELTA run served by a full read removed like a FULL run.
    [
      'read',
      run.readMode
        ? `${run.readMode}${run.fullReadReason ? ` (${run.fullReadReason})` : ''}`
        : null,
    ],
    ['entries read', c.entriesRead],
  ];
  if (run.username) pairs.push(['username', run.username]);
  if (run.errorCode) pairs.push(['error', `${run.errorCode}: ${run.errorMessage ?? ''}`]);
  if (run.removals) {
    const r = run.removals;
    pairs.push([run.dryRun ? 'would be blocked' : 'held back', r.reason]);
    if (run.mode === 'ADMIN') pairs.push(['  administrators', `${r.admins} of ${r.baseAdmins}`]);
    else {
      pairs.push(
        ['  users', `${r.users} of ${r.baseUsers}`],
        ['  memberships', `${r.memberships} of ${r.baseMemberships}`],
        ['  groups', r.groups],
      );
    }
  }
  if (run.decision) pairs.push(['decision', `${run.decision} by ${run.decidedBy ?? '?'}`]);
  if (run.supersededBy) pairs.push(['superseded by', run.supersededBy.id]);
  if (run.mode === 'ADMIN') {
    // An ADMIN run touches administrators only: the user and group counts are all 0.
    pairs.push(
      ['admins seen', c.adminsSeen],
      ['admins created', c.adminsCreated],
      ['admins updated', c.adminsUpdated],
      ['admins unchanged', c.adminsUnchanged],
      ['admins disabled', c.adminsDisabled],
      ['admins pending deletion', c.adminsPendingDeletion],
      ['admins restored', c.adminsRestored],
      ['per-object errors', c.errors],
    );
    return formatPairs(pairs);
  }
  pairs.push(
    ['users seen', c.seen],
    ['created', c.created],
    ['updated', c.updated],
    ['unchanged', c.unchanged],
    ['disabled', c.disabled],
    ['pending deletion', c.pendingDeletion],
    ['restored', c.restored],
    ['per-object errors', c.errors],
    ['name conflicts', c.conflicts],
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
    .option(
      '-m, --mode <mode>',
      'full (read everything, remove what is gone), delta, or admin (every administrator of the role groups)',
      'full',
    )
    .option('-w, --wait', 'wait for the run to end, with a progress bar and a summary')
    .option('--timeout <seconds>', 'with --wait: give up waiting after this long (exit 7)', '3600')
    .option(
      '--dry-run',
      'plan only: read the source and record what would change, change nobody; with --wait, print the planned changes (exit 4 when a real run would be BLOCKED)',
    )
    .option('--changes <n>', 'with --dry-run --wait: how many planned changes to print', '20')
    .action(
      act(
        async (
          ctx,
          ref: string,
          opts: {
            mode: string;
            wait?: boolean;
            timeout: string;
            dryRun?: boolean;
            changes: string;
          },
        ) => {
          const mode = opts.mode.toUpperCase();
          if (mode !== 'FULL' && mode !== 'DELTA' && mode !== 'ADMIN') {
            throw new CliError(
              `--mode must be full, delta or admin, not "${opts.mode}"`,
              ExitCode.USAGE,
            );
          }
          if (mode === 'ADMIN' && opts.dryRun) {
            throw new CliError('administrators have no dry run (--dry-run)', ExitCode.USAGE);
          }
          const timeoutMs = intOption('--timeout', opts.timeout, 1, 7 * 24 * 3600)! * 1000;
          const changes = intOption('--changes', opts.changes, 0, 500)!;
          const dryRun = Boolean(opts.dryRun);
          const what = `${mode}${dryRun ? ' dry' : ''} run`;
          const dir = await resolveDirectory(ctx, ref);
          // The bar's total: what the previous completed run of this mode saw — not the last
          // run's, which may be a sync-user or admin run that sees one user or none.
          const { directory: history } = await ctx.client.request<{
            directory: {
              runs: { nodes: { mode: string; counts: { seen: number; adminsSeen: number } }[] };
            } | null;
          }>(
            `query($id: ID!) { directory(id: $id) {
               runs(status: [COMPLETED], first: 20) { nodes { mode counts { seen adminsSeen } } } } }`,
            { id: dir.id },
          );
          const previous = history?.runs.nodes.find((r) => r.mode === mode)?.counts;
          // An ADMIN run counts administrators (its `seen` is 0).
          const expected = mode === 'ADMIN' ? previous?.adminsSeen : previous?.seen;
          const { syncAll } = await ctx.client.request<{ syncAll: Run }>(
            `mutation($id: ID!, $mode: SyncMode, $dryRun: Boolean) {
             syncAll(directoryId: $id, mode: $mode, dryRun: $dryRun) { ${RUN_FIELDS} } }`,
            { id: dir.id, mode, dryRun },
          );
          if (!opts.wait) {
            if (ctx.json) return printJson(ctx.io, syncAll);
            ctx.io.stdout.write(
              `started ${what} ${syncAll.id} of "${dir.name}" (${syncAll.status})\n`,
            );
            return;
          }
          if (!ctx.json) ctx.io.stderr.write(`started ${what} ${syncAll.id} of "${dir.name}"\n`);
          const run = await waitForRun(ctx, syncAll, {
            timeoutMs,
            expected: expected || undefined,
          });
          const plan =
            dryRun && run.status === 'COMPLETED' && changes > 0
              ? await plannedChanges(ctx, run.id, changes)
              : undefined;
          if (ctx.json) printJson(ctx.io, plan ? { ...run, changes: plan } : run);
          else {
            ctx.io.stdout.write(runSummary(run));
            if (plan) ctx.io.stdout.write(formatChanges(plan));
          }
          if (dryRun && run.status === 'COMPLETED' && run.removals) {
            if (!ctx.json) {
              ctx.io.stderr.write(
                `a real run would be BLOCKED by the deletion threshold: ${run.removals.reason}\n`,
              );
            }
            return ExitCode.RUN_BLOCKED;
          }
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
        },
      ),
    );

  program
    .command('sync-user')
    .description(
      'sync one user by username now and print the outcome; exit 3 when the run failed, 5 when the source does not have the user in scope',
    )
    .argument('<directory>', 'id or name')
    .argument('<username>', "the user's username in the source")
    .option('--dry-run', 'plan only: say what a sync would do to the user, change nothing')
    .action(
      act(async (ctx, ref: string, username: string, opts: { dryRun?: boolean }) => {
        const dir = await resolveDirectory(ctx, ref);
        const { syncUser } = await ctx.client.request<{
          syncUser: { outcome: string; run: Run; user: User | null };
        }>(
          `mutation($id: ID!, $username: String!, $dryRun: Boolean) {
             syncUser(directoryId: $id, username: $username, dryRun: $dryRun) {
               outcome run { ${RUN_FIELDS} } user { ${USER_FIELDS} } } }`,
          { id: dir.id, username, dryRun: Boolean(opts.dryRun) },
        );
        if (ctx.json) printJson(ctx.io, syncUser);
        else {
          const u = syncUser.user;
          ctx.io.stdout.write(
            formatPairs([
              ['username', username],
              ['outcome', syncUser.outcome],
              ...(syncUser.run.dryRun
                ? [
                    ['dry run', 'yes: the outcome is the plan; nothing was changed'] as [
                      string,
                      string,
                    ],
                  ]
                : []),
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
