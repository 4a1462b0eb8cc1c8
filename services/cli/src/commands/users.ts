import { createWriteStream } from 'node:fs';
import type { Command } from 'commander';
import { intOption, isUuid, resolveDirectory, type CommandContext } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';
import {
  csvLine,
  formatDate,
  formatPairs,
  formatTable,
  plural,
  printJson,
  type Writable,
} from '../output.js';
import { USER_FIELDS, type Connection, type User } from '../queries.js';
import type { Action } from './action.js';

const STATUSES = ['ACTIVE', 'DISABLED', 'BYPASS', 'PENDING_DELETION'];

interface FilterOptions {
  directory?: string;
  status?: string;
  group?: string;
  search?: string;
}

/** The `UserFilter` of the filter options; directory and group may be names. */
async function userFilter(
  ctx: CommandContext,
  opts: FilterOptions,
): Promise<Record<string, unknown>> {
  const filter: Record<string, unknown> = {};
  if (opts.directory) filter.directoryId = (await resolveDirectory(ctx, opts.directory)).id;
  if (opts.status) {
    const status = opts.status.split(',').map((s) => s.trim().toUpperCase().replace(/-/g, '_'));
    for (const s of status) {
      if (!STATUSES.includes(s)) {
        throw new CliError(`--status: "${s}" is not one of ${STATUSES.join(', ')}`, ExitCode.USAGE);
      }
    }
    filter.status = status;
  }
  if (opts.group)
    filter.groupId = await resolveGroup(ctx, opts.group, filter.directoryId as string | undefined);
  if (opts.search) filter.search = opts.search;
  return filter;
}

async function resolveGroup(
  ctx: CommandContext,
  ref: string,
  directoryId?: string,
): Promise<string> {
  if (isUuid(ref)) return ref;
  const { groups } = await ctx.client.request<{ groups: Connection<{ id: string; name: string }> }>(
    `query($filter: GroupFilter) { groups(first: 100, filter: $filter) { nodes { id name } } }`,
    { filter: { search: ref, ...(directoryId ? { directoryId } : {}) } },
  );
  const exact = groups.nodes.filter((g) => g.name.toLowerCase() === ref.toLowerCase());
  if (exact.length === 1) return exact[0]!.id;
  if (exact.length > 1) {
    throw new CliError(
      `${exact.length} groups are named "${ref}"; give --directory or the group id`,
      ExitCode.USAGE,
    );
  }
  throw new CliError(`no group named "${ref}"`, ExitCode.NOT_FOUND, 'NOT_FOUND');
}

const filterOptions = (cmd: Command) =>
  cmd
    .option('-d, --directory <directory>', 'only this directory (id or name)')
    .option('-s, --status <statuses>', `comma-separated: ${STATUSES.join(', ')}`)
    .option('-g, --group <group>', 'members of this group (id or name)')
    .option('-q, --search <text>', 'username, e-mail or name contains this');

/** Every user matching `filter`, a page of `pageSize` at a time (keyset paging). */
async function* allUsers(ctx: CommandContext, filter: Record<string, unknown>, pageSize = 500) {
  let after: string | null = null;
  for (;;) {
    const page: { users: Connection<User> } = await ctx.client.request(
      `query($filter: UserFilter, $after: String, $first: Int) {
         users(filter: $filter, after: $after, first: $first) {
           nodes { ${USER_FIELDS} } pageInfo { hasNextPage endCursor } } }`,
      { filter, after, first: pageSize },
    );
    yield page.users.nodes;
    if (!page.users.pageInfo.hasNextPage) return;
    after = page.users.pageInfo.endCursor;
  }
}

const CSV_COLUMNS = [
  'id',
  'username',
  'email',
  'displayName',
  'firstName',
  'lastName',
  'status',
  'directory',
  'aliases',
  'phones',
  'externalId',
  'sourceLocator',
  'lastDirectorySync',
  'pendingDeletionAt',
  'createdAt',
  'updatedAt',
] as const;

function csvRow(u: User) {
  return [
    u.id,
    u.username,
    u.email,
    u.displayName,
    u.firstName,
    u.lastName,
    u.status,
    u.directory?.name ?? u.directoryId,
    u.aliases.join(';'),
    u.phones.map((p) => p.number).join(';'),
    u.externalId,
    u.sourceLocator,
    u.lastDirectorySync,
    u.pendingDeletionAt,
    u.createdAt,
    u.updatedAt,
  ];
}

function end(out: Writable & { end?: (cb: () => void) => void }): Promise<void> {
  return new Promise((resolve) => (out.end ? out.end(resolve) : resolve()));
}

/** A user by id, or by username (in `directory` when given); NOT_FOUND (exit 5) otherwise. */
async function findUser<T = User>(
  ctx: CommandContext,
  ref: string,
  directory: string | undefined,
  fields: string = USER_FIELDS,
): Promise<T> {
  let user: T | null;
  if (isUuid(ref) && !directory) {
    ({ user } = await ctx.client.request<{ user: T | null }>(
      `query($id: ID!) { user(id: $id) { ${fields} } }`,
      { id: ref },
    ));
  } else {
    const directoryId = directory ? (await resolveDirectory(ctx, directory)).id : null;
    ({ userByUsername: user } = await ctx.client.request<{ userByUsername: T | null }>(
      `query($u: String!, $d: ID) { userByUsername(username: $u, directoryId: $d) { ${fields} } }`,
      { u: ref, d: directoryId },
    ));
  }
  if (!user) throw new CliError(`no user "${ref}"`, ExitCode.NOT_FOUND, 'NOT_FOUND');
  return user;
}

/** A status as words in a sentence: PENDING_DELETION → "pending deletion". */
const statusWords = (status: string) => status.toLowerCase().replaceAll('_', ' ');

const userLine = (u: User) =>
  `${u.username} (${u.id}) of ${u.directory?.name ?? 'no directory'}: ${u.status}`;

export function registerUsers(program: Command, act: Action): void {
  const users = program
    .command('users')
    .description('imported users: list, show, export, restore, purge, bypass');

  filterOptions(users.command('list').description('users in username order, a page at a time'))
    .option('-n, --limit <n>', 'how many (at most 500)', '50')
    .option('--after <cursor>', 'the page after this cursor (printed when there are more)')
    .action(
      act(async (ctx, opts: FilterOptions & { limit: string; after?: string }) => {
        const first = intOption('--limit', opts.limit, 1, 500)!;
        const filter = await userFilter(ctx, opts);
        const { users: page } = await ctx.client.request<{ users: Connection<User> }>(
          `query($filter: UserFilter, $after: String, $first: Int) {
             users(filter: $filter, after: $after, first: $first) {
               nodes { ${USER_FIELDS} } pageInfo { hasNextPage endCursor } } }`,
          { filter, after: opts.after ?? null, first },
        );
        if (ctx.json) return printJson(ctx.io, { nodes: page.nodes, pageInfo: page.pageInfo });
        ctx.io.stdout.write(
          formatTable(
            ['id', 'username', 'email', 'name', 'status', 'directory', 'last sync'],
            page.nodes.map((u) => [
              u.id,
              u.username,
              u.email,
              u.displayName,
              u.status,
              u.directory?.name,
              formatDate(u.lastDirectorySync),
            ]),
          ),
        );
        if (page.pageInfo.hasNextPage) {
          ctx.io.stderr.write(`more: --after ${page.pageInfo.endCursor}\n`);
        }
      }),
    );

  users
    .command('show')
    .description('one user: aliases, phones, groups, source, last sync')
    .argument('<user>', 'user id or username')
    .option('-d, --directory <directory>', 'the directory of the username (id or name)')
    .action(
      act(async (ctx, ref: string, opts: { directory?: string }) => {
        const fields = `${USER_FIELDS} groups(first: 500) { totalCount nodes { id name } }`;
        const user = await findUser<User & { groups: Connection<{ id: string; name: string }> }>(
          ctx,
          ref,
          opts.directory,
          fields,
        );
        if (ctx.json) return printJson(ctx.io, user);
        ctx.io.stdout.write(
          formatPairs([
            ['id', user.id],
            ['username', user.username],
            ['status', user.status],
            ['display name', user.displayName],
            ['e-mail', user.email],
            ['aliases', user.aliases.join(', ')],
            ['phones', user.phones.map((p) => `${p.number} (${p.kind})`).join(', ')],
            [
              'directory',
              user.directory ? `${user.directory.name} (${user.directory.id})` : user.directoryId,
            ],
            ['source', user.sourceLocator],
            ['external id', user.externalId],
            ['last sync', formatDate(user.lastDirectorySync)],
            ['pending deletion', formatDate(user.pendingDeletionAt)],
            ['purge after', formatDate(user.purgeAfter)],
            ['groups', user.groups.nodes.map((g) => g.name).join(', ')],
            ...user.customAttributes.map((a): [string, string] => [a.name, a.value]),
          ]),
        );
      }),
    );

  users
    .command('restore')
    .description(
      'restore a user in PENDING_DELETION: its previous status comes back (same id); exit 1 (NOT_PENDING_DELETION) when it is not pending deletion',
    )
    .argument('<user>', 'user id or username')
    .option('-d, --directory <directory>', 'the directory of the username (id or name)')
    .action(
      act(async (ctx, ref: string, opts: { directory?: string }) => {
        const { id } = await findUser(ctx, ref, opts.directory, 'id');
        const { restoreUser } = await ctx.client.request<{ restoreUser: User }>(
          `mutation($id: ID!) { restoreUser(id: $id) { ${USER_FIELDS} } }`,
          { id },
        );
        if (ctx.json) return printJson(ctx.io, restoreUser);
        ctx.io.stdout.write(`restored ${userLine(restoreUser)}\n`);
      }),
    );

  users
    .command('purge')
    .description(
      'delete a user in PENDING_DELETION now, with its aliases, phones and memberships (needs --yes); exit 1 (NOT_PENDING_DELETION) when it is not pending deletion',
    )
    .argument('<user>', 'user id or username')
    .option('-d, --directory <directory>', 'the directory of the username (id or name)')
    .option('--yes', 'really delete: a purged user cannot be restored')
    .action(
      act(async (ctx, ref: string, opts: { directory?: string; yes?: boolean }) => {
        const user = await findUser(ctx, ref, opts.directory);
        if (!opts.yes) {
          throw new CliError(
            `purging ${user.username} (${statusWords(user.status)}, ${user.id} of ${user.directory?.name ?? 'no directory'}) cannot be undone: add --yes to confirm`,
            ExitCode.USAGE,
          );
        }
        const { purgeUser } = await ctx.client.request<{ purgeUser: string }>(
          `mutation($id: ID!) { purgeUser(id: $id) }`,
          { id: user.id },
        );
        if (ctx.json)
          return printJson(ctx.io, { id: purgeUser, username: user.username, purged: true });
        ctx.io.stdout.write(`purged ${user.username} (${purgeUser})\n`);
      }),
    );

  users
    .command('bypass')
    .description(
      "set (on) or clear (off) a user's bypass: the status is BYPASS while the user is neither disabled nor pending deletion; syncs keep it",
    )
    .argument('<user>', 'user id or username')
    .argument('<on|off>', 'on sets the bypass, off clears it')
    .option('-d, --directory <directory>', 'the directory of the username (id or name)')
    .action(
      act(async (ctx, ref: string, value: string, opts: { directory?: string }) => {
        const v = value.toLowerCase();
        if (v !== 'on' && v !== 'off') {
          throw new CliError(`bypass must be on or off, not "${value}"`, ExitCode.USAGE);
        }
        const { id } = await findUser(ctx, ref, opts.directory, 'id');
        const { setUserBypass } = await ctx.client.request<{ setUserBypass: User }>(
          `mutation($id: ID!, $bypass: Boolean!) { setUserBypass(id: $id, bypass: $bypass) { ${USER_FIELDS} } }`,
          { id, bypass: v === 'on' },
        );
        if (ctx.json) return printJson(ctx.io, setUserBypass);
        ctx.io.stdout.write(`bypass ${v}: ${userLine(setUserBypass)}\n`);
      }),
    );

  filterOptions(
    users
      .command('export')
      .description('every matching user, as CSV or JSON (to stdout or --output)'),
  )
    .option('--format <format>', 'csv or json', 'csv')
    .option('-o, --output <file>', 'write to this file instead of standard output')
    .action(
      act(async (ctx, opts: FilterOptions & { format: string; output?: string }) => {
        const format = opts.format.toLowerCase();
        if (format !== 'csv' && format !== 'json') {
          throw new CliError(`--format must be csv or json, not "${opts.format}"`, ExitCode.USAGE);
        }
        const filter = await userFilter(ctx, opts);
        const out: Writable & { end?: (cb: () => void) => void } = opts.output
          ? createWriteStream(opts.output)
          : ctx.io.stdout;
        let n = 0;
        if (format === 'csv') out.write(csvLine([...CSV_COLUMNS]));
        else out.write('[');
        for await (const page of allUsers(ctx, filter)) {
          for (const u of page) {
            if (format === 'csv') out.write(csvLine(csvRow(u)));
            else out.write(`${n === 0 ? '\n' : ',\n'}${JSON.stringify(u)}`);
            n++;
          }
        }
        if (format === 'json') out.write(n ? '\n]\n' : ']\n');
        if (opts.output) {
          await end(out);
          ctx.io.stderr.write(`exported ${plural(n, 'user')} to ${opts.output}\n`);
        }
      }),
    );
}
