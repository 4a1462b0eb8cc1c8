import { createLogger, runMain, stopOnSignals } from '@dirsync/kit';
import { loadConnectorEnv } from './env.js';
import { configFromEnv, createEntraConnectorService } from './index.js';

const env = loadConnectorEnv();
const logger = createLogger('connector-entra', env.LOG_LEVEL);

runMain(async () => {
  const service = createEntraConnectorService(configFromEnv(env), { logger });
  await service.start();
  stopOnSignals(service, logger, env.CONNECTOR_STOP_GRACE_MS + 10_000);
}, logger);
