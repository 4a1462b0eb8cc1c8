import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import type { ExitCode } from '../exit-codes.js';

/**
 * Wraps a command's handler for commander: builds the context from the global options, runs the
 * handler and records its exit code (`undefined` = OK). Errors propagate to `runCli`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- commander hands each action its own argument list
export type Handler = (ctx: CommandContext, ...args: any[]) => Promise<ExitCode | void>;
export type Action = (handler: Handler) => (...args: unknown[]) => Promise<void>;

export function commandOf(args: unknown[]): Command {
  return args[args.length - 1] as Command;
}
