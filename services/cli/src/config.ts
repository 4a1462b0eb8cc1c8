import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { CliEnv } from './env.js';
import { CliError, ExitCode } from './exit-codes.js';

/** The gateway the commands talk to, and the key they show it. */
export interface Connection {
  url: string;
  apiKey?: string;
}

export const DEFAULT_URL = 'http://127.0.0.1:4000/graphql';

const fileSchema = z
  .object({
    url: z.url({ protocol: /^https?$/, error: 'must be an http(s):// URL' }).optional(),
    apiKey: z.string().min(1, 'must not be empty').optional(),
  })
  .strict();

/**
 * The gateway's base URL (`http://host:4000`, path empty or "/") means its GraphQL endpoint:
 * people copy the address they open, and the gateway answers 404 anywhere else.
 */
export function graphqlUrl(url: string): string {
  const u = new URL(url);
  if (u.pathname === '' || u.pathname === '/') u.pathname = '/graphql';
  return u.toString();
}

const urlSchema = z.url({ protocol: /^https?$/, error: 'must be an http(s):// URL' });

/**
 * Resolve the connection, each setting from the first of: the flag, the environment
 * (`DIRSYNC_URL`, `DIRSYNC_API_KEY`), the config file (`--config`, `DIRSYNC_CONFIG`, else
 * `$XDG_CONFIG_HOME/dirsync/config.json` when it exists), the default URL.
 */
export async function resolveConnection(
  flags: { url?: string; apiKey?: string; config?: string },
  env: CliEnv,
): Promise<Connection> {
  const explicit = flags.config ?? env.DIRSYNC_CONFIG;
  const path = explicit ?? join(env.configHome, 'dirsync', 'config.json');
  let file: z.infer<typeof fileSchema> = {};
  let text: string | undefined;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    if (explicit || !missing) {
      throw new CliError(
        `cannot read the config file ${path}: ${(err as Error).message}`,
        ExitCode.USAGE,
      );
    }
  }
  if (text !== undefined) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new CliError(`the config file ${path} is not valid JSON`, ExitCode.USAGE);
    }
    const parsed = fileSchema.safeParse(json);
    if (!parsed.success) {
      const problems = parsed.error.issues.map(
        (i) => `${i.path.join('.') || '(root)'}: ${i.message}`,
      );
      throw new CliError(
        `the config file ${path} is invalid: ${problems.join('; ')}`,
        ExitCode.USAGE,
      );
    }
    file = parsed.data;
  }
  const given = flags.url ?? env.DIRSYNC_URL ?? file.url ?? DEFAULT_URL;
  if (!urlSchema.safeParse(given).success) {
    throw new CliError(`gateway URL "${given}" must be an http(s):// URL`, ExitCode.USAGE);
  }
  const url = graphqlUrl(given);
  const apiKey = flags.apiKey ?? env.DIRSYNC_API_KEY ?? file.apiKey;
  return apiKey ? { url, apiKey } : { url };
}
