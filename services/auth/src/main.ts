import { createLogger, runMain, stopOnSignals } from '@dirsync/kit';
import { loadAuthEnv } from './env.js';
import { createAuthService } from './index.js';

const config = loadAuthEnv();
const logger = createLogger('auth', config.logLevel);

runMain(async () => {
  const service = createAuthService(config, { logger });
  stopOnSignals(service, logger);
  await service.start();
}, logger);
