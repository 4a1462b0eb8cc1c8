import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { SCHEMA_FILE, printSyncSchema } from '../src/index.js';

describe('schema.graphql', () => {
  it('is what the build prints (run `npm run build -w @dirsync/sync` after changing the API)', async () => {
    const committed = await readFile(SCHEMA_FILE, 'utf8');
    expect(committed).toBe(await printSyncSchema());
  });
});
