import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { intOption, readStdin, resolveDirectory, type CommandContext } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { formatDate, formatPairs, formatTable, plural, printJson } from '../output.js';
import { DIRECTORY_FIELDS, type Connection, type Directory } from '../queries.js';
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

function directoryRow(d: Directory & { users?: number }) {
  return [
    d.id,
    d.name,
    d.kind,
    d.enabled ? 'yes' : 'no',
    d.lastRun?.status,
    formatDate(d.lastRun?.finishedAt ?? d.lastRun?.queuedAt),
    formatDate(d.nextRunAt),
    d.users ?? null,
  ];
}

function printDirectory(ctx: CommandContext, d: Directory, users?: number): void {
  if (ctx.json) return printJson(ctx.io, d);
  const ldap = d.ldap ?? {};
  ctx.io.stdout.write(
    formatPairs([
      ['id', d.id],
      ['name', d.name],
      ['kind', d.kind],
      ['enabled', d.enabled ? 'yes' : 'no'],
      ['url', ldap.url as string],
      ['bind DN', ldap.bindDn as string],
      ['base DN', ldap.baseDn as string],
      ['bind password', d.hasBindPassword ? 'stored' : 'not set'],
      ['selected groups', d.selectedGroups.length],
      ['users', users ?? null],
      [
        'schedule',
        d.scheduleIntervalMinutes ? `every ${d.scheduleIntervalMinutes} min` : 'on demand',
      ],
      ['next run', formatDate(d.nextRunAt)],
      ['restore window', plural(d.restoreWindowDays, 'day')],
      ['deletion threshold', thresholdText(d.deletionThreshold)],
      ['last run', d.lastRun ? `${d.lastRun.status} ${d.lastRun.mode} ${d.lastRun.id}` : 'never'],
      ['users seen', d.lastRun?.counts.seen],
    ]),
  );
  for (const g of d.selectedGroups) ctx.io.stdout.write(`  group  ${g}\n`);
}

export function registerDirectories(program: Command, act: Action): void {
  const dirs = program
    .command('directories')
    .alias('dirs')
    .description('list, show, create, update, delete and test directories');

  dirs
    .command('list')
    .description('every directory with its status, last and next run')
    .action(
      act(async (ctx) => {
        const all: Directory[] = [];
        let after: string | null = null;
        for (;;) {
          const page: { directories: Connection<Directory> } = await ctx.client.request(
            `query($after: String) { directories(first: 100, after: $after) {
               nodes { ${DIRECTORY_FIELDS} } pageInfo { hasNextPage endCursor } } }`,
            { after },
          );
          all.push(...page.directories.nodes);
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
            ['id', 'name', 'kind', 'enabled', 'last run', 'finished', 'next run', 'users'],
            all.map((d) => directoryRow({ ...d, users: users.get(d.id) })),
          ),
        );
      }),
    );

  dirs
    .command('show')
    .description('one directory (settings, schedule, last run; never the password)')
    .argument('<directory>', 'id or name')
    .action(
      act(async (ctx, ref: string) => {
        const d = await resolveDirectory<Directory>(ctx, ref, DIRECTORY_FIELDS);
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
    .option('--schedule <minutes>', 'minutes between scheduled runs (0 = on demand only)')
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
