import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';

const here = (rel: string) => fileURLToPath(new URL(rel, import.meta.url));

/** The committed supergraph the gateway serves. */
export const SUPERGRAPH_FILE = here('../supergraph.graphql');

/**
 * The subgraphs, each with the SDL file its own build writes and the URL it listens on by default
 * (the gateway replaces the URL from its environment at run time).
 */
export const SUBGRAPHS = [
  {
    name: 'identity',
    sdlFile: here('../../services/identity/schema.graphql'),
    url: 'http://127.0.0.1:4101/graphql',
  },
  {
    name: 'sync',
    sdlFile: here('../../services/sync/schema.graphql'),
    url: 'http://127.0.0.1:4102/graphql',
  },
  {
    name: 'auth',
    sdlFile: here('../../services/auth/schema.graphql'),
    url: 'http://127.0.0.1:4105/graphql',
  },
] as const;

export type SubgraphName = (typeof SUBGRAPHS)[number]['name'];

/** Compose subgraph SDLs into a supergraph; throws with every composition error. */
export function composeSupergraph(subgraphs: { name: string; url: string; sdl: string }[]): string {
  const result = composeServices(
    subgraphs.map((s) => ({ name: s.name, url: s.url, typeDefs: parse(s.sdl) })),
  );
  if (result.errors) {
    throw new Error(
      `supergraph composition failed:\n${result.errors.map((e) => `  - ${e.message}`).join('\n')}`,
    );
  }
  return `${result.supergraphSdl.trim()}\n`;
}

/** Compose from the committed subgraph SDL files. */
export async function composeFromFiles(): Promise<string> {
  const subgraphs = await Promise.all(
    SUBGRAPHS.map(async (s) => ({
      name: s.name,
      url: s.url,
      sdl: await readFile(s.sdlFile, 'utf8'),
    })),
  );
  return composeSupergraph(subgraphs);
}

// CLI: `node dist/compose.js` writes supergraph.graphql; `--check` fails when it is stale.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const fresh = await composeFromFiles();
  if (process.argv.includes('--check')) {
    const committed = await readFile(SUPERGRAPH_FILE, 'utf8').catch(() => '');
    if (committed !== fresh) {
      process.stderr.write(
        `${SUPERGRAPH_FILE} is stale: run \`npm run supergraph\` and commit the result\n`,
      );
      process.exit(1);
    }
    process.stdout.write('supergraph.graphql is current\n');
  } else {
    await writeFile(SUPERGRAPH_FILE, fresh);
    process.stdout.write(`wrote ${SUPERGRAPH_FILE}\n`);
  }
}
