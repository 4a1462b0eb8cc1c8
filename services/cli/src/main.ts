#!/usr/bin/env node
import { runCli } from './cli.js';
import { processEnv } from './env.js';

const code = await runCli(process.argv.slice(2), {
  io: { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin },
  env: processEnv(),
});
// Let stdout drain (a piped export) before exiting with the code.
process.exitCode = code;
