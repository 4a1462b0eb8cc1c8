// Build step: write the subgraph SDL the gateway composes (services/identity/schema.graphql).
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { subgraphSdl } from '@dirsync/kit/graphql';
import { buildIdentitySchema } from './graphql/schema.js';

const target = fileURLToPath(new URL('../schema.graphql', import.meta.url));
const sdl = await subgraphSdl(await buildIdentitySchema());
await writeFile(target, sdl.endsWith('\n') ? sdl : `${sdl}\n`);
process.stdout.write(`wrote ${target}\n`);
