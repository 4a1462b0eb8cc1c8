import { createLogger, runMain, stopOnSignals } from '@dirsync/kit';
import { loadGatewayEnv } from './env.js';
import { createGatewayService } from './index.js';

const config = loadGatewayEnv();
const logger = createLogger('gateway', config.logLevel);

runMain(async () => {
  const service = createGatewayService(config, { logger });
  stopOnSignals(service, logger);
  await service.start();
}, logger);
