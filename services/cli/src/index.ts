export { runCli, buildProgram, type CliDeps } from './cli.js';
export { ExitCode, CliError } from './exit-codes.js';
export { resolveConnection, DEFAULT_URL, type Connection } from './config.js';
export { processEnv, type CliEnv } from './env.js';
export { formatTable, csvField, progressBar } from './output.js';
