import { readFileSync } from 'node:fs';
import { parseLdif, type LdifEntry } from '../ldif.js';
import { DEMO_DIRECTORY_PATH, DEMO_EXPECTED_PATH, DEMO_LDIF_PATH } from '../paths.js';
import type { DemoExpected } from './demo-data.js';

/** The committed demo files, read from infra/demo (see infra/demo/README.md). */
export interface DemoFiles {
  /** demo.ldif as text: pass it to `startSlapd({ ldif })`. */
  ldif: string;
  /** demo.ldif parsed. */
  entries: LdifEntry[];
  /** demo-directory.json (the directory definition; port 3890 — replace `ldap.url` in tests). */
  directory: typeof import('./demo-data.js').DEMO_DIRECTORY;
  /** demo-expected.json: the scope and special cases an import must reproduce. */
  expected: DemoExpected;
}

/** Read the committed demo files. Throws if they are missing (run the generator). */
export function loadDemo(): DemoFiles {
  const ldif = readFileSync(DEMO_LDIF_PATH, 'utf8');
  return {
    ldif,
    entries: parseLdif(ldif),
    directory: JSON.parse(readFileSync(DEMO_DIRECTORY_PATH, 'utf8')) as DemoFiles['directory'],
    expected: JSON.parse(readFileSync(DEMO_EXPECTED_PATH, 'utf8')) as DemoExpected,
  };
}
