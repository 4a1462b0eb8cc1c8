import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { CliEnv } from './env.js';
import { CliError, ExitCode } from './exit-codes.js';

/** The gateway the commands talk to, and the key they show it. */
export interface Connection {
  url: string;
  apiKey?: string;
  /** Where the key came from (`--api-key`, `DIRSYNC_API_KEY_FILE=…`): errors name it. */
  apiKeyFrom?: string;
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
 * A key kept in a file (the demo's `.data/owner.key`): its text without surrounding blanks.
 * A file that cannot be read, or is empty, is refused naming the file and the setting.
 */
async function readKeyFile(path: string, setting: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CliError(
      `cannot read the API key file ${path} (${setting}): ${(err as Error).message}`,
      ExitCode.USAGE,
    );
  }
  const key = text.trim();
  if (!key) throw new CliError(`the API key file ${path} (${setting}) is empty`, ExitCode.USAGE);
  return key;
}

/**
 * Resolve the connection, each setting from the first of: the flag (`--api-key`, then
 * `--api-key-file`), the environment (`DIRSYNC_URL`; `DIRSYNC_API_KEY`, then
 * `DIRSYNC_API_KEY_FILE`), the config file (`--config`, `DIRSYNC_CONFIG`, else
 * `$XDG_CONFIG_HOME/dirsync/config.json` when it exists), the default URL.
 */
export async function resolveConnection(
  flags: { url?: string; apiKey?: string; apiKeyFile?: string; config?: string },
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
  let apiKey: string | undefined;
  let apiKeyFrom: string | undefined;
  if (flags.apiKey) [apiKey, apiKeyFrom] = [flags.apiKey, '--api-key'];
  else if (flags.apiKeyFile) {
    apiKeyFrom = `--api-key-file ${flags.apiKeyFile}`;
    apiKey = await readKeyFile(flags.apiKeyFile, '--api-key-file');
  } else if (env.DIRSYNC_API_KEY) [apiKey, apiKeyFrom] = [env.DIRSYNC_API_KEY, 'DIRSYNC_API_KEY'];
  else if (env.DIRSYNC_API_KEY_FILE) {
    apiKeyFrom = `DIRSYNC_API_KEY_FILE=${env.DIRSYNC_API_KEY_FILE}`;
    apiKey = await readKeyFile(env.DIRSYNC_API_KEY_FILE, 'DIRSYNC_API_KEY_FILE');
  } else if (file.apiKey) [apiKey, apiKeyFrom] = [file.apiKey, `the config file ${path}`];
  return apiKey ? { url, apiKey, apiKeyFrom } : { url };
}
