export * from './types.js';
export {
  MAX_ALIASES,
  MAX_PHONES,
  MAX_VALUE_LENGTH,
  cleanText,
  normalizeUser,
  usernameKey,
  type NormalizedUser,
} from './normalize.js';
export { BatchingSink, type BatchingSinkOptions, type ObservationBody } from './sink.js';
export {
  SOURCE_MAPPING_DEFAULTS,
  resolveMapping,
  type AttributeNameRule,
  type MappingDefaults,
  type ResolvedMapping,
} from './mapping.js';
export {
  MAX_BATCH_SIZE,
  createConnectorWorker,
  offersDelta,
  secretScrubber,
  type ConnectorWorker,
  type ConnectorWorkerOptions,
  type RunOutcome,
} from './worker.js';
export {
  DEFAULT_HEARTBEAT_SECONDS,
  createHeartbeats,
  defaultInstanceId,
  type Heartbeats,
  type HeartbeatOptions,
  type RunLiveness,
} from './heartbeat.js';
export {
  connectorServiceConfig,
  createConnectorService,
  type ConnectorEnv,
  type ConnectorService,
  type ConnectorServiceConfig,
  type ConnectorServiceDeps,
} from './service.js';
export {
  DEFAULT_CHECK_TIMEOUT_MS,
  MAX_CHECK_TIMEOUT_MS,
  checkFailed,
  connectionTestQueue,
  createConnectionTestResponder,
  parseDirectorySettings,
  runConnectionTest,
  type CheckContext,
  type CheckReport,
  type ConnectionTestOptions,
  type ConnectionTestResponderOptions,
} from './check.js';
