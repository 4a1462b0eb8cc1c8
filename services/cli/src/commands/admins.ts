import type { Command } from 'commander';
import { intOption, resolveDirectory } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { formatDate, formatPairs, formatTable, printJson } from '../output.js';
import { RUN_FIELDS, type Connection, type Run } from '../queries.js';
import type { Action } from './action.js';

export const ADMIN_FIELDS = `id email role roles firstName lastName displayName status externalId
  sourceLocator synced syncedAt pendingDeletionAt purgeAfter directory { id name }`;

export interface Admin {
  id: string;
  email: string;
  role: string;
  roles: string[];
  firstName: string | null;
  lastName: string | null;
  displayName: string | null;
  status: string;
  externalId: string | null;
  sourceLocator: string | null;
  synced: boolean;
  syncedAt: string | null;
  pendingDeletionAt: string | null;
  purgeAfter: string | null;
  directory: { id: string; name: string } | null;
}

const ROLES = [
  'OWNER',
  'ADMINISTRATOR',
  'APPLICATION_MANAGER',
  'USER_MANAGER',
  'HELP_DESK',
  'BILLING',
  'PHISHING_MANAGER',
  'READ_ONLY',
];
const STATUSES = ['ACTIVE', 'PENDING_DELETION'];

/** A comma-separated enum option (`--role owner,help_desk`), checked against `allowed`. */
function enumList(
  name: string,
  value: string | undefined,
  allowed: string[],
): string[] | undefined {
  if (value === undefined) return undefined;
  const list = value
    .split(',')
    .map((v) => v.trim().toUpperCase().replace(/-/g, '_'))
    .filter(Boolean);
  const bad = list.filter((v) => !allowed.includes(v));
  if (bad.length > 0 || list.length === 0) {
    throw new CliError(
      `${name} takes ${allowed.join(', ')} (comma-separated), not "${value}"`,
      ExitCode.USAGE,
    );
  }
  return list;
}

export function registerAdmins(program: Command, act: Action): void {
  const admins = program
    .command('admins')
    .description('administrators (synced from role groups or manual)');

  admins
    .command('list')
    .description('administrators in e-mail order, with role, status and source')
    .option('-d, --directory <directory>', 'synced from this directory (id or name)')
    .option('--role <roles>', `any of ${ROLES.join(', ')} (comma-separated)`)
    .option('--status <statuses>', 'active, pending_deletion (comma-separated)')
    .option('--synced', 'synced administrators only')
    .option('--manual', 'manual administrators only')
    .option('-s, --search <text>', 'part of the e-mail or a name')
    .option('-n, --limit <n>', 'at most this many (default 50, at most 500)', '50')
    .option('--after <cursor>', 'continue after this cursor (printed when there are more)')
    .action(
      act(
        async (
          ctx,
          opts: {
            directory?: string;
            role?: string;
            status?: string;
            synced?: boolean;
            manual?: boolean;
            search?: string;
            limit: string;
            after?: string;
          },
        ) => {
          if (opts.synced && opts.manual) {
            throw new CliError('--synced and --manual exclude each other', ExitCode.USAGE);
          }
          const first = intOption('--limit', opts.limit, 1, 500)!;
          const filter: Record<string, unknown> = {};
          const role = enumList('--role', opts.role, ROLES);
          if (role) filter.role = role;
          const status = enumList('--status', opts.status, STATUSES);
          if (status) filter.status = status;
          if (opts.synced) filter.synced = true;
          if (opts.manual) filter.synced = false;
          if (opts.search) filter.search = opts.search;
          if (opts.directory) filter.directoryId = (await resolveDirectory(ctx, opts.directory)).id;
          const { admins } = await ctx.client.request<{
            admins: Connection<Admin> & { totalCount: number };
          }>(
            `query($filter: AdminFilter, $first: Int, $after: String) {
               admins(filter: $filter, first: $first, after: $after) {
                 totalCount nodes { ${ADMIN_FIELDS} } pageInfo { hasNextPage endCursor } } }`,
            { filter, first, after: opts.after ?? null },
          );
          if (ctx.json) return printJson(ctx.io, admins);
          ctx.io.stdout.write(
            formatTable(
              ['email', 'role', 'status', 'name', 'source', 'synced at'],
              admins.nodes.map((a) => [
                a.email,
                a.role,
                a.status,
                a.displayName ?? ([a.firstName, a.lastName].filter(Boolean).join(' ') || null),
                a.synced ? (a.directory?.name ?? a.directory?.id ?? 'synced') : 'manual',
                formatDate(a.syncedAt),
              ]),
            ),
          );
          const more = admins.pageInfo.hasNextPage
            ? `; more: --after ${admins.pageInfo.endCursor}`
            : '';
          ctx.io.stderr.write(`${admins.nodes.length} of ${admins.totalCount}${more}\n`);
        },
      ),
    );
}

/** `dirsync sync-admin`: one administrator by e-mail, now; outcomes as sync-user. */
export function registerSyncAdmin(program: Command, act: Action): void {
  program
    .command('sync-admin')
    .description(
      "sync one administrator by e-mail from the directory's role groups and print the outcome; exit 3 when the run failed, 5 when nobody in a role group has the e-mail",
    )
    .argument('<directory>', 'id or name')
    .argument(
      '<email>',
      "the administrator's e-mail (as the directory's e-mail attribute holds it)",
    )
    .action(
      act(async (ctx, ref: string, email: string) => {
        const dir = await resolveDirectory(ctx, ref);
        const { syncAdmin } = await ctx.client.request<{
          syncAdmin: { outcome: string; run: Run; admin: Admin | null };
        }>(
          `mutation($id: ID!, $email: String!) { syncAdmin(directoryId: $id, email: $email) {
             outcome run { ${RUN_FIELDS} } admin { ${ADMIN_FIELDS} } } }`,
          { id: dir.id, email },
        );
        if (ctx.json) printJson(ctx.io, syncAdmin);
        else {
          const a = syncAdmin.admin;
          ctx.io.stdout.write(
            formatPairs([
              ['email', email],
              ['outcome', syncAdmin.outcome],
              ['admin', a ? `${a.id} ${a.role} ${a.status}` : null],
              ['roles', a?.roles.join(', ')],
              ['run', syncAdmin.run.id],
              [
                'error',
                syncAdmin.run.errorCode
                  ? `${syncAdmin.run.errorCode}: ${syncAdmin.run.errorMessage}`
                  : null,
              ],
            ]),
          );
        }
        if (syncAdmin.outcome === 'FAILED') return ExitCode.RUN_FAILED;
        if (syncAdmin.outcome === 'NOT_FOUND') return ExitCode.NOT_FOUND;
        return ExitCode.OK;
      }),
    );
}
