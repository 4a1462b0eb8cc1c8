import type { Command } from 'commander';
import { isUuid, type CommandContext } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { formatDate, formatPairs, formatTable, printJson } from '../output.js';
import type { Connection } from '../queries.js';
import type { Action } from './action.js';

export const API_KEY_FIELDS =
  'id name role prefix status createdAt createdBy expiresAt revokedAt revokedBy lastUsedAt';

export interface ApiKey {
  id: string;
  name: string;
  role: string;
  prefix: string;
  status: string;
  createdAt: string;
  createdBy: string;
  expiresAt: string | null;
  revokedAt: string | null;
  revokedBy: string | null;
  lastUsedAt: string | null;
}

const ROLES = ['OWNER', 'ADMINISTRATOR', 'USER_MANAGER', 'HELP_DESK', 'READ_ONLY'];

async function allKeys(ctx: CommandContext, includeRevoked: boolean): Promise<ApiKey[]> {
  const all: ApiKey[] = [];
  let after: string | null = null;
  for (;;) {
    const page: { apiKeys: Connection<ApiKey> } = await ctx.client.request(
      `query($after: String, $all: Boolean) { apiKeys(first: 100, after: $after, includeRevoked: $all) {
         nodes { ${API_KEY_FIELDS} } pageInfo { hasNextPage endCursor } } }`,
      { after, all: includeRevoked },
    );
    all.push(...page.apiKeys.nodes);
    if (!page.apiKeys.pageInfo.hasNextPage) return all;
    after = page.apiKeys.pageInfo.endCursor;
  }
}

/** `--expires`: an ISO date-time, or a number of days from now ("90d"). */
export function expiresAt(value: string | undefined, now = Date.now()): string | undefined {
  if (value === undefined) return undefined;
  const days = /^(\d{1,5})d$/.exec(value.trim());
  if (days) return new Date(now + Number(days[1]) * 86_400_000).toISOString();
  const at = Date.parse(value);
  if (Number.isNaN(at) || !/^\d{4}-\d{2}-\d{2}/.test(value.trim())) {
    throw new CliError(
      `--expires must be a date-time (2027-01-01T00:00:00Z) or days ("90d"), not "${value}"`,
      ExitCode.USAGE,
    );
  }
  return new Date(at).toISOString();
}

export function registerKeys(program: Command, act: Action): void {
  const keys = program
    .command('keys')
    .description('list, create and revoke API keys (owners only; the key is shown once)');

  keys
    .command('list')
    .description('API keys: name, role, status, last use (never the key itself)')
    .option('-a, --all', 'include revoked keys')
    .action(
      act(async (ctx, opts: { all?: boolean }) => {
        const all = await allKeys(ctx, Boolean(opts.all));
        if (ctx.json) return printJson(ctx.io, all);
        ctx.io.stdout.write(
          formatTable(
            ['id', 'name', 'role', 'prefix', 'status', 'created', 'expires', 'last used'],
            all.map((k) => [
              k.id,
              k.name,
              k.role,
              k.prefix,
              k.status,
              formatDate(k.createdAt),
              formatDate(k.expiresAt),
              formatDate(k.lastUsedAt),
            ]),
          ),
        );
      }),
    );

  keys
    .command('create')
    .description(
      'create an API key and print it once on stdout (dirsync keeps only its hash: store it now)',
    )
    .requiredOption('--name <name>', 'what the key is for (1–200 characters)')
    .requiredOption('--role <role>', `${ROLES.join(', ')} (case-insensitive)`)
    .option('--expires <when>', 'expiry: a date-time (2027-01-01T00:00:00Z) or days ("90d")')
    .action(
      act(async (ctx, opts: { name: string; role: string; expires?: string }) => {
        const role = opts.role.toUpperCase().replace(/-/g, '_');
        if (!ROLES.includes(role)) {
          throw new CliError(
            `--role must be one of ${ROLES.join(', ')}, not "${opts.role}"`,
            ExitCode.USAGE,
          );
        }
        const { createApiKey } = await ctx.client.request<{
          createApiKey: { key: string; apiKey: ApiKey };
        }>(
          `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) {
             key apiKey { ${API_KEY_FIELDS} } } }`,
          { input: { name: opts.name, role, expiresAt: expiresAt(opts.expires) ?? null } },
        );
        if (ctx.json) return printJson(ctx.io, createApiKey);
        const k = createApiKey.apiKey;
        ctx.io.stderr.write(
          `created ${k.role} key "${k.name}" ${k.id}${k.expiresAt ? `, expires ${formatDate(k.expiresAt)}` : ''}; ` +
            'the key is shown this once, store it now:\n',
        );
        // stdout holds only the key, so `dirsync keys create … > key.txt` captures just that
        ctx.io.stdout.write(`${createApiKey.key}\n`);
      }),
    );

  keys
    .command('revoke')
    .description('revoke an API key at once (requests with it answer 401 from now on)')
    .argument('<key>', "the key's id, or its name when only one active key has it")
    .action(
      act(async (ctx, ref: string) => {
        let id = ref;
        if (!isUuid(ref)) {
          const named = (await allKeys(ctx, false)).filter((k) => k.name === ref);
          if (named.length === 0) {
            throw new CliError(
              `no active API key with id or name "${ref}"`,
              ExitCode.NOT_FOUND,
              'NOT_FOUND',
            );
          }
          if (named.length > 1) {
            throw new CliError(
              `${named.length} active keys are named "${ref}" (${named.map((k) => k.id).join(', ')}); give the id`,
              ExitCode.USAGE,
            );
          }
          id = named[0]!.id;
        }
        const { revokeApiKey } = await ctx.client.request<{ revokeApiKey: ApiKey }>(
          `mutation($id: ID!) { revokeApiKey(id: $id) { ${API_KEY_FIELDS} } }`,
          { id },
        );
        if (ctx.json) return printJson(ctx.io, revokeApiKey);
        ctx.io.stdout.write(
          formatPairs([
            ['revoked', `"${revokeApiKey.name}" ${revokeApiKey.id}`],
            ['role', revokeApiKey.role],
            ['status', revokeApiKey.status],
            ['revoked at', formatDate(revokeApiKey.revokedAt)],
          ]),
        );
      }),
    );
}
