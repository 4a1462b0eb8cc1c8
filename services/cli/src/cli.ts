import { Command, CommanderError } from 'commander';
import { createClient, type Client } from './client.js';
import { resolveConnection } from './config.js';
import type { CommandContext } from './context.js';
import type { CliEnv } from './env.js';
import { CliError, ExitCode } from './exit-codes.js';
import { printJson, type Io } from './output.js';
import { commandOf, type Action } from './commands/action.js';
import { registerAdmins, registerSyncAdmin } from './commands/admins.js';
import { registerConnectors } from './commands/connectors.js';
import { registerDirectories } from './commands/directories.js';
import { registerKeys } from './commands/keys.js';
import { registerRuns } from './commands/runs.js';
import { registerSync } from './commands/sync.js';
import { registerUsers } from './commands/users.js';

export interface CliDeps {
  io: CommandContext['io'];
  env: CliEnv;
  /** Replaces the HTTP client (tests of the client itself use the real one). */
  fetch?: typeof fetch;
}

interface GlobalOptions {
  url?: string;
  apiKey?: string;
  apiKeyFile?: string;
  config?: string;
  json?: boolean;
}

const EXIT_CODES_HELP = `
Exit codes:
  0  done (a waited-for run COMPLETED)       5  not found (directory, run, user)
  1  other error                             6  authentication or permission refused
  2  bad command line or input               7  gave up waiting (--timeout); the run goes on
  3  the run FAILED (or a connection check)  8  the gateway could not be reached
  4  the run is BLOCKED (approve or reject)  9  the directory already has an active run
                                            10  the run is not blocked (approve/reject)

Gateway and key: --url and --api-key (or --api-key-file), else DIRSYNC_URL and DIRSYNC_API_KEY
(or DIRSYNC_API_KEY_FILE), else the config file (--config, DIRSYNC_CONFIG or
~/.config/dirsync/config.json: {"url": "...", "apiKey": "..."}). After npm run demo:
  export DIRSYNC_API_KEY_FILE=.data/owner.key`;

/** Build the `dirsync` program; `act` wires each command's handler. */
export function buildProgram(io: Io, act: Action): Command {
  const program = new Command('dirsync')
    .description(
      'dirsync on the command line: directories, syncs, runs, connectors, users, administrators and API keys, through the gateway',
    )
    .option('--url <url>', 'gateway GraphQL URL (default http://127.0.0.1:4000/graphql)')
    .option('--api-key <key>', 'API key (better: DIRSYNC_API_KEY or the config file)')
    .option('--api-key-file <file>', 'a file holding the API key (the demo: .data/owner.key)')
    .option('--config <file>', 'config file with {"url", "apiKey"}')
    .option('--json', 'print results as JSON (for scripts)')
    .addHelpText('after', EXIT_CODES_HELP)
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
    })
    .exitOverride();
  registerDirectories(program, act);
  registerSync(program, act);
  registerSyncAdmin(program, act);
  registerRuns(program, act);
  registerConnectors(program, act);
  registerUsers(program, act);
  registerAdmins(program, act);
  registerKeys(program, act);
  // Sub-commands inherit the output and exit handling.
  const inherit = (cmd: Command) => {
    for (const sub of cmd.commands) {
      sub.configureOutput({
        writeOut: (s) => void io.stdout.write(s),
        writeErr: (s) => void io.stderr.write(s),
      });
      sub.exitOverride();
      sub.showHelpAfterError('(add --help for usage)');
      inherit(sub);
    }
  };
  inherit(program);
  return program;
}

/**
 * Run `dirsync` with `argv` (without node and the script) and resolve with its exit code.
 * Nothing here calls `process.exit`, so tests run commands in process.
 */
export async function runCli(argv: string[], deps: CliDeps): Promise<number> {
  const { io, env } = deps;
  let exitCode: number = ExitCode.OK;
  let json = argv.includes('--json');
  const act: Action =
    (handler) =>
    async (...args) => {
      const opts = commandOf(args).optsWithGlobals<GlobalOptions>();
      json = Boolean(opts.json);
      let client: Client | undefined;
      const connection = await resolveConnection(opts, env);
      const ctx: CommandContext = {
        io,
        env,
        json,
        get client() {
          client ??= createClient(connection, deps.fetch);
          return client;
        },
      };
      const code = await handler(ctx, ...args.slice(0, -1));
      exitCode = code ?? ExitCode.OK;
    };
  const program = buildProgram(io, act);
  if (argv.length === 0) {
    program.outputHelp();
    return ExitCode.USAGE;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; everything else commander refuses is a usage error.
      return err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    }
    if (err instanceof CliError) {
      if (json)
        printJson(io, {
          error: {
            message: err.message,
            code: err.code ?? null,
            exitCode: err.exitCode,
            ...(err.details ? { details: err.details } : {}),
          },
        });
      else {
        // The code goes on the first line; what follows (a list of candidates) under it.
        const [first, ...rest] = err.message.split('\n');
        const code = err.code ? ` (${err.code})` : '';
        io.stderr.write(`dirsync: ${first}${code}\n${rest.map((l) => `${l}\n`).join('')}`);
      }
      return err.exitCode;
    }
    io.stderr.write(
      `dirsync: unexpected error: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    return ExitCode.ERROR;
  }
}
