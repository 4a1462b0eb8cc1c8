import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Stack } from './stack.js';

/** The built CLI (services/cli), run the way a shell runs `dirsync`. */
export const CLI = fileURLToPath(new URL('../../../services/cli/dist/main.js', import.meta.url));

/** `dirsync …args` against the stack's gateway with its owner's key; exit code and stdout. */
export async function runCli(
  stack: Pick<Stack, 'gatewayUrl' | 'key'>,
  args: string[],
): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, ...args], {
      env: { ...process.env, DIRSYNC_URL: stack.gatewayUrl, DIRSYNC_API_KEY: stack.key },
    });
    return { code: 0, stdout };
  } catch (err) {
    const e = err as { code?: number; stdout?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '' };
  }
}
