// The console's operations against the API the gateway serves: the committed supergraph's API
// schema (what clients see, without federation's join directives).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Supergraph } from '@apollo/federation-internals';
import { validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { ALL_OPERATIONS } from './operations.js';

const supergraph = readFileSync(
  fileURLToPath(new URL('../../../../gateway/supergraph.graphql', import.meta.url)),
  'utf8',
);
const api = Supergraph.build(supergraph).apiSchema().toGraphQLJSSchema();

describe('console operations', () => {
  for (const [name, doc] of Object.entries(ALL_OPERATIONS)) {
    it(`${name} is valid against the gateway's API schema`, () => {
      expect(validate(api, doc).map((e) => e.message)).toEqual([]);
    });
  }
});
