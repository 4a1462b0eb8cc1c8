import { homedir } from 'node:os';
import { join } from 'node:path';

/** The environment variables the command line reads (README table). */
export interface CliEnv {
  DIRSYNC_URL?: string;
  DIRSYNC_API_KEY?: string;
  /** A file holding the key (the demo's `.data/owner.key`), when DIRSYNC_API_KEY is not set. */
  DIRSYNC_API_KEY_FILE?: string;
  DIRSYNC_CONFIG?: string;
  /** `directories create`: the bind password when not piped with `--bind-password-stdin`. */
  DIRSYNC_BIND_PASSWORD?: string;
  /** Where the default config file is looked for. */
  configHome: string;
}

/** Only `main.ts` calls this; tests pass their own `CliEnv`. */
export function processEnv(): CliEnv {
  const env = process.env;
  return {
    DIRSYNC_URL: env.DIRSYNC_URL || undefined,
    DIRSYNC_API_KEY: env.DIRSYNC_API_KEY || undefined,
    DIRSYNC_API_KEY_FILE: env.DIRSYNC_API_KEY_FILE || undefined,
    DIRSYNC_CONFIG: env.DIRSYNC_CONFIG || undefined,
    DIRSYNC_BIND_PASSWORD: env.DIRSYNC_BIND_PASSWORD || undefined,
    configHome: env.XDG_CONFIG_HOME || join(homedir(), '.config'),
  };
}
