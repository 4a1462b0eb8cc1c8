/**
 * @dirsync/testkit — helpers for the services' integration tests: private slapd servers, fresh
 * Postgres databases, NATS namespaces, polling, LDIF parsing, and the demo/bench fixtures.
 */
export { startSlapd, rdn, type Slapd, type StartSlapdOptions } from './slapd.js';
export { createTestDatabase, testDatabaseServerUrl, type TestDatabase } from './postgres.js';
export { natsUrl, natsNamespace, deleteNamespaceStreams } from './nats.js';
export { waitFor, WaitForTimeoutError, type WaitForOptions } from './wait.js';
export {
  parseLdif,
  ldifAttr,
  ldifDns,
  splitLdifRecords,
  formatLdif,
  formatLdifEntry,
  ldifLine,
  parseDn,
  normalizeDn,
  dnEquals,
  escapeDnValue,
  type LdifEntry,
  type AttributeTypeAndValue,
} from './ldif.js';
export { freePort } from './ports.js';
export { run, findBinary, type RunResult } from './exec.js';
export { Prng, asciiFold } from './prng.js';
export {
  REPO_ROOT,
  DATA_DIR,
  DEMO_LDIF_PATH,
  DEMO_DIRECTORY_PATH,
  DEMO_EXPECTED_PATH,
} from './paths.js';
export {
  DEMO_DIRECTORY,
  DEMO_SELECTED_GROUPS,
  DEMO_SUFFIX,
  DEMO_PEOPLE,
  DEMO_GROUPS,
  DEMO_ROOT_DN,
  buildDemo,
  computeExpected,
  type DemoExpected,
} from './demo/demo-data.js';
export { loadDemo, type DemoFiles } from './demo/index.js';
export {
  startSambaAd,
  SAMBA_REALM,
  SAMBA_BASE_DN,
  SAMBA_ADMIN_DN,
  SAMBA_ADMIN_PASSWORD,
  type SambaAd,
  type StartSambaAdOptions,
} from './samba.js';
export { TEST_GATEWAY_KEYS, testPrincipal, subgraphAuth } from './auth.js';
