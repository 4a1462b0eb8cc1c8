import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { intOption, readStdin, resolveDirectory, type CommandContext } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { formatDate, formatPairs, formatTable, plural, printJson, type Cell } from '../output.js';
import {
  DIRECTORY_FIELDS,
  DIRECTORY_SYNC_FIELDS,
  withSyncs,
  type Connection,
  type Directory,
  type DirectoryWithSyncs,
  type RunBrief,
} from '../queries.js';
import type { Action } from './action.js';
import { registerDirectoryTest } from './connection-test.js';

/** Read a directory JSON file; `mapping.custom` may be an object (name → attribute) or a list. */
export async function readDirectoryFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${path}: ${(err as Error).message}`, ExitCode.USAGE);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliError(`${path} is not valid JSON`, ExitCode.USAGE);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new CliError(`${path} must hold a JSON object`, ExitCode.USAGE);
  }
  const input = { ...(json as Record<string, unknown>) };
  // Files describe a directory; anything computed or secret is not theirs to set.
  for (const key of ['id', 'expectedUsers', 'createdAt', 'updatedAt']) delete input[key];
  const mapping = input.mapping as Record<string, unknown> | undefined;
  if (mapping && mapping.custom && !Array.isArray(mapping.custom)) {
    input.mapping = {
      ...mapping,
      custom: Object.entries(mapping.custom as Record<string, string>).map(([name, attribute]) => ({
        name,
        attribute,
      })),
    };
  }
  return input;
}

async function bindPassword(
  ctx: CommandContext,
  opts: { bindPasswordStdin?: boolean },
): Promise<string | undefined> {
  if (opts.bindPasswordStdin) return readStdin(ctx);
  return ctx.env.DIRSYNC_BIND_PASSWORD;
}

/**
 * The credential for a directory file, from stdin (`--bind-password-stdin`) or
 * $DIRSYNC_BIND_PASSWORD, under the name its kind takes: `bindPassword` (LDAP), `clientSecret`
 * or `clientCertificate` (Entra, by `entra.credential`). Empty when neither is given.
 */
export async function secretInput(
  ctx: CommandContext,
  opts: { bindPasswordStdin?: boolean },
  input: Record<string, unknown>,
): Promise<Record<string, string>> {
  const value = await bindPassword(ctx, opts);
  if (value === undefined) return {};
  const entra = input.entra as { credential?: string } | undefined;
  if (input.kind === 'ENTRA' || (entra && !input.ldap)) {
    return {
      [entra?.credential === 'clientCertificate' ? 'clientCertificate' : 'clientSecret']: value,
    };
  }
  return { bindPassword: value };
}

/**
 * Each directory's users (active, bypass or disabled; not pending deletion) — what the console
 * shows — in one request; never the last run's `seen`, which a USER or DELTA run makes small.
 */
async function userCounts(
  ctx: CommandContext,
  ids: readonly string[],
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < ids.length; i += 50) {
    const chunk = ids.slice(i, i + 50);
    if (chunk.length === 0) break;
    const vars = chunk.map((_id, j) => `$d${j}: ID!`).join(', ');
    const fields = chunk
      .map(
        (_id, j) =>
          `d${j}: users(first: 0, filter: { directoryId: $d${j}, status: [ACTIVE, BYPASS, DISABLED] }) { totalCount }`,
      )
      .join('\n');
    const res: Record<string, { totalCount: number }> = await ctx.client.request(
      `query(${vars}) { ${fields} }`,
      Object.fromEntries(chunk.map((id, j) => [`d${j}`, id])),
    );
    chunk.forEach((id, j) => counts.set(id, res[`d${j}`]?.totalCount ?? 0));
  }
  return counts;
}

/** The next scheduled user sync, FULL or DELTA, whichever is due first ("… (delta)"). */
function nextSync(d: Directory): string {
  const full = d.nextRunAt;
  const delta = d.nextDeltaRunAt;
  if (full && (!delta || full <= delta)) return formatDate(full);
  if (delta) return `${formatDate(delta)} (delta)`;
  return '-';
}

function directoryRow(d: DirectoryWithSyncs & { users?: number }) {
  return [
    d.id,
    d.name,
    d.kind,
    d.enabled ? 'yes' : 'no',
    d.lastSync?.status,
    formatDate(d.lastSync?.finishedAt ?? d.lastSync?.queuedAt),
    nextSync(d),
    d.users ?? null,
  ];
}

/** "COMPLETED FULL 2026-12-04 12:00:01Z: seen 1063, 97 errors (run …)". */
function runLine(r: RunBrief | null, what: 'users' | 'admins' | 'any'): string {
  if (!r) return 'never';
  const when = formatDate(r.finishedAt ?? r.queuedAt);
  const counts =
    what === 'admins' || (what === 'any' && r.mode === 'ADMIN')
      ? `admins seen ${r.counts.adminsSeen}`
      : `seen ${r.counts.seen}`;
  const errors = r.counts.errors ? `, ${plural(r.counts.errors, 'error')}` : '';
  const who = r.username ? ` ${r.username}` : '';
  return `${r.status} ${r.mode}${who}${r.dryRun ? ' (dry run)' : ''} ${when}: ${counts}${errors} (run ${r.id})`;
}

/** "every 30 min, next 2026-…", or "off" (the interval 0). */
function scheduleText(minutes: number, next: string | null, off = 'off'): string {
  if (!minutes) return off;
  return `every ${minutes} min, next ${formatDate(next)}`;
}

function kindText(d: Directory): string {
  if (d.kind === 'LDAP') {
    return d.ldap?.profile === 'activedirectory' ? 'LDAP (Active Directory)' : 'LDAP (OpenLDAP)';
  }
  if (d.kind === 'ENTRA') return 'ENTRA (Microsoft Entra ID)';
  return d.kind;
}

function printDirectory(ctx: CommandContext, d: DirectoryWithSyncs, users?: number): void {
  if (ctx.json) return printJson(ctx.io, d);
  // Each kind's own connection settings: an Entra directory has no URL or bind DN.
  const source: [string, Cell][] = d.ldap
    ? [
        ['url', d.ldap.url as string],
        ['bind DN', d.ldap.bindDn as string],
        ['base DN', d.ldap.baseDn as string],
        ['bind password', d.hasBindPassword ? 'stored' : 'not set'],
      ]
    : d.entra
      ? [
          ['tenant', d.entra.tenantId],
          ['client id', d.entra.clientId],
          ['cloud', d.entra.cloud],
          [
            d.entra.credential === 'clientCertificate' ? 'client certificate' : 'client secret',
            d.hasBindPassword ? 'stored' : 'not set',
          ],
        ]
      : [['credential', d.hasBindPassword ? 'stored' : 'not set']];
  const noRoles = d.adminRoles.length === 0;
  // lastRun is shown apart only when it is neither of the two (a sync-user or a dry run).
  const other =
    d.lastRun && d.lastRun.id !== d.lastSync?.id && d.lastRun.id !== d.lastAdminSync?.id
      ? d.lastRun
      : null;
  ctx.io.stdout.write(
    formatPairs([
      ['id', d.id],
      ['name', d.name],
      ['kind', kindText(d)],
      ['enabled', d.enabled ? 'yes' : 'no'],
      ...source,
      ['selected groups', d.selectedGroups.length],
      ['users', users ?? null],
      ['conflict policy', d.conflictPolicy],
      ['full sync', scheduleText(d.scheduleIntervalMinutes, d.nextRunAt, 'on demand')],
      ['delta sync', scheduleText(d.deltaIntervalMinutes, d.nextDeltaRunAt, 'on demand')],
      [
        'admin sync',
        noRoles
          ? 'no role groups'
          : scheduleText(d.adminScheduleIntervalMinutes, d.nextAdminRunAt, 'on demand'),
      ],
      ['restore window', plural(d.restoreWindowDays, 'day')],
      ['deletion threshold', thresholdText(d.deletionThreshold)],
      ['last sync', runLine(d.lastSync, 'users')],
      ...(noRoles && !d.lastAdminSync
        ? []
        : [['last admin sync', runLine(d.lastAdminSync, 'admins')] as [string, Cell]]),
      ...(other ? [['last run', runLine(other, 'any')] as [string, Cell]] : []),
    ]),
  );
  for (const g of d.selectedGroups) ctx.io.stdout.write(`  group  ${g}\n`);
  for (const r of d.adminRoles) {
    for (const g of r.groups) ctx.io.stdout.write(`  role   ${r.role.padEnd(13)} ${g}\n`);
  }
}

export function registerDirectories(program: Command, act: Action): void {
  const dirs = program
    .command('directories')
    .alias('dirs')
    .description('list, show, create, update, delete and test directories');

  dirs
    .command('list')
    .description('every directory with its last user sync (FULL or DELTA) and the next one')
    .action(
      act(async (ctx) => {
        const all: DirectoryWithSyncs[] = [];
        let after: string | null = null;
        for (;;) {
          const page: { directories: Connection<Directory> } = await ctx.client.request(
            `query($after: String) { directories(first: 100, after: $after) {
               nodes { ${DIRECTORY_SYNC_FIELDS} } pageInfo { hasNextPage endCursor } } }`,
            { after },
          );
          all.push(...page.directories.nodes.map(withSyncs));
          if (!page.directories.pageInfo.hasNextPage) break;
          after = page.directories.pageInfo.endCursor;
        }
        if (ctx.json) return printJson(ctx.io, all);
        const users = await userCounts(
          ctx,
          all.map((d) => d.id),
        );
        ctx.io.stdout.write(
          formatTable(
            ['id', 'name', 'kind', 'enabled', 'last sync', 'finished', 'next sync', 'users'],
            all.map((d) => directoryRow({ ...d, users: users.get(d.id) })),
          ),
        );
      }),
    );

  dirs
    .command('show')
    .description(
      'one directory: settings, schedules (full, delta, admin), role groups, the last user and admin syncs; never the password',
    )
    .argument('<directory>', 'id or name')
    .action(
      act(async (ctx, ref: string) => {
        const d = withSyncs(await resolveDirectory<Directory>(ctx, ref, DIRECTORY_SYNC_FIELDS));
        if (ctx.json) return printDirectory(ctx, d);
        printDirectory(ctx, d, (await userCounts(ctx, [d.id])).get(d.id));
      }),
    );

  dirs
    .command('create')
    .description('create a directory from a JSON file (CreateDirectoryInput; see the README)')
    .requiredOption(
      '-f, --file <path>',
      'the directory as JSON (infra/demo/demo-directory.json is one)',
    )
    .option('--name <name>', 'overrides the name in the file')
    .option(
      '--bind-password-stdin',
      'read the bind password from standard input (else $DIRSYNC_BIND_PASSWORD)',
    )
    .action(
      act(async (ctx, opts: { file: string; name?: string; bindPasswordStdin?: boolean }) => {
        const input = await readDirectoryFile(opts.file);
        if (opts.name) input.name = opts.name;
        const password = await bindPassword(ctx, opts);
        if (password !== undefined) input.bindPassword = password;
        if (input.bindPassword === undefined) {
          throw new CliError(
            'a bind password is needed: pipe it with --bind-password-stdin or set DIRSYNC_BIND_PASSWORD',
            ExitCode.USAGE,
          );
        }
        const { createDirectory } = await ctx.client.request<{ createDirectory: Directory }>(
          `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { ${DIRECTORY_FIELDS} } }`,
          { input },
        );
        if (ctx.json) return printJson(ctx.io, createDirectory);
        ctx.io.stdout.write(`created directory "${createDirectory.name}" ${createDirectory.id}\n`);
      }),
    );

  dirs
    .command('update')
    .description('change a directory: fields from a JSON file (UpdateDirectoryInput) and/or flags')
    .argument('<directory>', 'id or name')
    .option('-f, --file <path>', 'fields to change, as JSON; absent fields keep their value')
    .option('--name <name>', 'rename')
    .option('--enable', 'enable scheduled and manual syncs')
    .option('--disable', 'disable it (no syncs)')
    .option('--schedule <minutes>', 'minutes between scheduled FULL runs (0 = none)')
    .option('--delta-schedule <minutes>', 'minutes between scheduled DELTA runs (0 = none)')
    .option('--admin-schedule <minutes>', 'minutes between scheduled ADMIN runs (0 = none)')
    .option('--bind-password-stdin', 'replace the bind password with standard input')
    .action(
      act(
        async (
          ctx,
          ref: string,
          opts: {
            file?: string;
            name?: string;
            enable?: boolean;
            disable?: boolean;
            schedule?: string;
            deltaSchedule?: string;
            adminSchedule?: string;
            bindPasswordStdin?: boolean;
          },
        ) => {
          if (opts.enable && opts.disable) {
            throw new CliError('--enable and --disable exclude each other', ExitCode.USAGE);
          }
          const input = opts.file ? await readDirectoryFile(opts.file) : {};
          if (opts.name) input.name = opts.name;
          if (opts.enable) input.enabled = true;
          if (opts.disable) input.enabled = false;
          const schedule = intOption('--schedule', opts.schedule, 0, 100_000);
          if (schedule !== undefined) input.scheduleIntervalMinutes = schedule;
          const delta = intOption('--delta-schedule', opts.deltaSchedule, 0, 100_000);
          if (delta !== undefined) input.deltaIntervalMinutes = delta;
          const admin = intOption('--admin-schedule', opts.adminSchedule, 0, 100_000);
          if (admin !== undefined) input.adminScheduleIntervalMinutes = admin;
          if (opts.bindPasswordStdin) input.bindPassword = await readStdin(ctx);
          if (Object.keys(input).length === 0) {
            throw new CliError(
              'nothing to change: give --file or a flag (see --help)',
              ExitCode.USAGE,
            );
          }
          const dir = await resolveDirectory(ctx, ref);
          const { updateDirectory } = await ctx.client.request<{ updateDirectory: Directory }>(
            `mutation($id: ID!, $input: UpdateDirectoryInput!) {
               updateDirectory(id: $id, input: $input) { ${DIRECTORY_FIELDS} } }`,
            { id: dir.id, input },
          );
          if (ctx.json) return printJson(ctx.io, updateDirectory);
          ctx.io.stdout.write(
            `updated directory "${updateDirectory.name}" ${updateDirectory.id}\n`,
          );
        },
      ),
    );

  dirs
    .command('delete')
    .description('delete a directory; its users move to pending deletion (restorable)')
    .argument('<directory>', 'id or name')
    .option('-y, --yes', 'really delete (required)')
    .action(
      act(async (ctx, ref: string, opts: { yes?: boolean }) => {
        const dir = await resolveDirectory(ctx, ref);
        if (!opts.yes) {
          throw new CliError(
            `this deletes "${dir.name}" (${dir.id}) and moves its users to pending deletion; add --yes`,
            ExitCode.USAGE,
          );
        }
        await ctx.client.request(`mutation($id: ID!) { deleteDirectory(id: $id) }`, { id: dir.id });
        if (ctx.json) return printJson(ctx.io, { id: dir.id, name: dir.name, deleted: true });
        ctx.io.stdout.write(`deleted directory "${dir.name}" ${dir.id}\n`);
      }),
    );

  registerDirectoryTest(dirs, act);
}

/** "more than 500 users or 20 %" (memberships measured the same way), or "off". */
function thresholdText(t: { maxCount: number; maxPercent: number }): string {
  const limits = [
    t.maxCount > 0 ? `${t.maxCount}` : '',
    t.maxPercent > 0 ? `${t.maxPercent} %` : '',
  ].filter(Boolean);
  return limits.length ? `more than ${limits.join(' or ')} removed blocks a run` : 'off';
}
