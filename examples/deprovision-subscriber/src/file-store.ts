import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { VersionStore } from './subscriber.js';

/**
 * The highest handled version per user, in a JSON file (written atomically: temp file +
 * rename). Good enough for the example; a real service keeps it next to the data it changes,
 * in the same transaction as the action.
 */
export async function fileVersionStore(path: string): Promise<VersionStore> {
  let versions: Record<string, number> = {};
  try {
    versions = JSON.parse(await readFile(path, 'utf8')) as Record<string, number>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dirname(path), { recursive: true });
  return {
    async get(id) {
      return versions[id] ?? 0;
    },
    async set(id, version) {
      versions[id] = version;
      const tmp = `${path}.tmp`;
      await writeFile(tmp, JSON.stringify(versions));
      await rename(tmp, path);
    },
  };
}
