import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * The repository root. This file is infra/testkit/src/paths.ts (under vitest) or
 * infra/testkit/dist/paths.js (compiled); both sit three levels below the root.
 */
export const REPO_ROOT = resolve(here, '../../..');

/** infra/demo/demo.ldif — the committed demo directory. */
export const DEMO_LDIF_PATH = resolve(REPO_ROOT, 'infra/demo/demo.ldif');

/** infra/demo/demo-directory.json — the directory definition the demo registers. */
export const DEMO_DIRECTORY_PATH = resolve(REPO_ROOT, 'infra/demo/demo-directory.json');

/** infra/demo/demo-expected.json — what importing the demo directory must produce. */
export const DEMO_EXPECTED_PATH = resolve(REPO_ROOT, 'infra/demo/demo-expected.json');

/** The repository's git-ignored data folder (`.data/`), overridable with DIRSYNC_DATA_DIR. */
export const DATA_DIR = process.env.DIRSYNC_DATA_DIR ?? resolve(REPO_ROOT, '.data');
