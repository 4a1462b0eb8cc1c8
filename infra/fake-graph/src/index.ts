/**
 * @dirsync/fake-graph — a stateful fake of a Microsoft Entra tenant (the Microsoft identity
 * platform token endpoint and the Microsoft Graph v1.0 endpoints dirsync reads) on loopback,
 * over HTTPS with a CA of its own. Tests start it in process; the benchmark runs `main.js`.
 */
export {
  startFakeGraph,
  DEFAULT_SETTINGS,
  type FakeGraph,
  type FakeGraphOptions,
  type FakeSettings,
  type FakeStats,
  type FaultRule,
} from './server.js';
export { FakeGraphAdmin } from './admin.js';
export { Authority, type AppRegistration, type GraphPermission } from './auth.js';
export { createTestCa, createClientCertificate, type KeyPair, type TestCa } from './certs.js';
export { generateTenant, type GenerateOptions, type GeneratedTenant } from './generate.js';
export {
  Tenant,
  TenantError,
  USER_PROPERTIES,
  GROUP_PROPERTIES,
  type UserInput,
  type GroupInput,
} from './tenant.js';
