import { createLogger, runMain, stopOnSignals } from '@dirsync/kit';
import { loadIdentityConfig } from './env.js';
import { createIdentityService } from './index.js';

runMain(async () => {
  const config = loadIdentityConfig();
  const logger = createLogger('identity', config.logLevel);
  const service = createIdentityService(config, { logger });
  await service.start();
  stopOnSignals(service, logger);
});
