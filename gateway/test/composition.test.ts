import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { SUBGRAPHS, SUPERGRAPH_FILE, composeFromFiles, composeSupergraph } from '../src/index.js';

describe('supergraph.graphql', () => {
  it('is the composition of the committed subgraph SDL files (else run `npm run supergraph`)', async () => {
    const committed = await readFile(SUPERGRAPH_FILE, 'utf8');
    expect(committed).toBe(await composeFromFiles());
  });

  it('routes each subgraph to its default URL and holds the cross-subgraph entities', async () => {
    const committed = await readFile(SUPERGRAPH_FILE, 'utf8');
    for (const s of SUBGRAPHS) {
      expect(committed).toContain(`@join__graph(name: "${s.name}", url: "${s.url}")`);
    }
    expect(committed).toMatch(
      /type User\s[^{]*@join__type\(graph: SYNC, key: "id", resolvable: false\)/,
    );
    expect(committed).toMatch(
      /type Directory\s[^{]*@join__type\(graph: IDENTITY, key: "id", resolvable: false\)/,
    );
  });

  it('reports composition errors by message', () => {
    expect(() =>
      composeSupergraph([
        { name: 'a', url: 'http://a/graphql', sdl: 'type Query { x: Int }' },
        { name: 'b', url: 'http://b/graphql', sdl: 'type Query { x: String }' },
      ]),
    ).toThrow(/composition failed:\n {2}- /);
  });
});
