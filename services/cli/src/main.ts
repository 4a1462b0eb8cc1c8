#!/usr/bin/env node
import { runCli } from './cli.js';
import { processEnv } from './env.js';

// A reader that stops early (`dirsync runs show … | head`) closes the pipe: the rest of the
// output has nowhere to go, which is what the reader asked for — end quietly, as Unix tools do,
// instead of dying with an unhandled EPIPE stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

const code = await runCli(process.argv.slice(2), {
  io: { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin },
  env: processEnv(),
});
// Let stdout drain (a piped export) before exiting with the code.
process.exitCode = code;
