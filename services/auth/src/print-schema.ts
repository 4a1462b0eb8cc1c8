import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { subgraphSdl } from '@dirsync/kit/graphql';
import { buildAuthSchema } from './graphql/schema.js';
import type { AuthServices } from './services.js';

/** Where the build writes the subgraph SDL the gateway composes. */
export const SCHEMA_FILE = fileURLToPath(new URL('../schema.graphql', import.meta.url));

/** The subgraph SDL exactly as `schema.graphql` holds it. */
export async function printAuthSchema(): Promise<string> {
  // Building the schema never calls a resolver, so no services are needed.
  const sdl = await subgraphSdl(await buildAuthSchema({} as AuthServices));
  return `${sdl.trim()}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await writeFile(SCHEMA_FILE, await printAuthSchema());
  process.stdout.write(`wrote ${SCHEMA_FILE}\n`);
}
