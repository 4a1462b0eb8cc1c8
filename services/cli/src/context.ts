import type { Client } from './client.js';
import type { CliEnv } from './env.js';
import { CliError, ExitCode } from './exit-codes.js';
import type { Io } from './output.js';
import type { Connection, Directory } from './queries.js';

/** What every command gets: where to write, how to reach the gateway, and `--json`. */
export interface CommandContext {
  io: Io & { stdin?: AsyncIterable<string | Buffer> };
  env: CliEnv;
  client: Client;
  json: boolean;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (v: string) => UUID_RE.test(v);

const nameKey = (s: string) => s.normalize('NFC').trim().toLowerCase();

/**
 * A directory by id or by name (case-insensitive). A name that two directories share is refused:
 * the command must then be given the id.
 */
export async function resolveDirectory<T extends { id: string; name: string } = Directory>(
  ctx: CommandContext,
  ref: string,
  fields = 'id name',
): Promise<T> {
  if (isUuid(ref)) {
    const { directory } = await ctx.client.request<{ directory: T | null }>(
      `query($id: ID!) { directory(id: $id) { ${fields} } }`,
      { id: ref },
    );
    if (directory) return directory;
  }
  const matches: T[] = [];
  let after: string | null = null;
  for (;;) {
    const page: { directories: Connection<T> } = await ctx.client.request(
      `query($after: String) { directories(first: 100, after: $after) {
         nodes { ${fields} } pageInfo { hasNextPage endCursor } } }`,
      { after },
    );
    matches.push(...page.directories.nodes.filter((d) => nameKey(d.name) === nameKey(ref)));
    if (!page.directories.pageInfo.hasNextPage) break;
    after = page.directories.pageInfo.endCursor;
  }
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) {
    throw new CliError(
      `${matches.length} directories are named "${ref}" (${matches.map((d) => d.id).join(', ')}); give the id`,
      ExitCode.USAGE,
    );
  }
  throw new CliError(`no directory with id or name "${ref}"`, ExitCode.NOT_FOUND, 'NOT_FOUND');
}

/** Read all of stdin as text (for `--bind-password-stdin`); a trailing newline is dropped. */
export async function readStdin(ctx: CommandContext): Promise<string> {
  if (!ctx.io.stdin) throw new CliError('no standard input to read from', ExitCode.USAGE);
  let text = '';
  for await (const chunk of ctx.io.stdin)
    text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
  return text.replace(/\r?\n$/, '');
}

/** Parse a positive integer option, or fail with a usage error naming it. */
export function intOption(
  name: string,
  value: string | undefined,
  min = 1,
  max = 1_000_000,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new CliError(
      `${name} must be a whole number from ${min} to ${max}, not "${value}"`,
      ExitCode.USAGE,
    );
  }
  return n;
}
