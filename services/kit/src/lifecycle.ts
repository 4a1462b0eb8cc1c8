import type { Logger } from './logger.js';

/**
 * A service as `main()` wires it: `start()` connects and listens, `stop()` drains consumers, then
 * closes servers, the ORM and NATS, in that order. Tests create services in process through the
 * same factory.
 */
export interface Service {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** SIGTERM/SIGINT → `service.stop()` once, then exit. A second signal exits at once. */
export function stopOnSignals(service: Service, logger: Logger, timeoutMs = 30_000): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal, exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'stopping');
    const timer = setTimeout(() => {
      logger.error('graceful stop timed out');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    service
      .stop()
      .then(() => {
        logger.info('stopped');
        process.exit(0);
      })
      .catch((err: unknown) => {
        logger.error({ err }, 'error while stopping');
        process.exit(1);
      });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/** Run `main`, logging a fatal error and exiting 1 if it throws. */
export function runMain(main: () => Promise<void>, logger?: Logger): void {
  main().catch((err: unknown) => {
    if (logger) logger.fatal({ err }, 'failed to start');
    else process.stderr.write(`failed to start: ${String(err)}\n`);
    process.exit(1);
  });
}
