import { createLogger, runMain, stopOnSignals } from '@dirsync/kit';
import { loadSyncEnv } from './env.js';
import { createSyncService } from './index.js';

const config = loadSyncEnv();
const logger = createLogger('sync', config.logLevel);

runMain(async () => {
  const service = createSyncService(config, { logger });
  stopOnSignals(service, logger);
  await service.start();
}, logger);
