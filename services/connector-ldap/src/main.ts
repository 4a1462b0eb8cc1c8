import { createLogger, runMain, stopOnSignals } from '@dirsync/kit';
import { loadConnectorEnv } from './env.js';
import { configFromEnv, createLdapConnectorService } from './index.js';

const env = loadConnectorEnv();
const logger = createLogger('connector-ldap', env.LOG_LEVEL);

runMain(async () => {
  const service = createLdapConnectorService(configFromEnv(env), { logger });
  await service.start();
  stopOnSignals(service, logger, env.CONNECTOR_STOP_GRACE_MS + 10_000);
}, logger);
