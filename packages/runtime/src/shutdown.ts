import type { Logger } from './logger';

export interface ShutdownStep {
  name: string;
  close(): Promise<unknown> | unknown;
}

export interface Lifecycle {
  isAcceptingTraffic(): boolean;
  /** Registers what to close, in order (stop intake first, connections last). */
  onShutdown(steps: ShutdownStep[]): void;
}

/**
 * The process-level error path and graceful shutdown: on SIGTERM/SIGINT readiness turns 503, we wait for
 * load balancers to notice, then close each step in order and exit.
 */
export function createLifecycle(logger: Logger, drainDelayMs: number): Lifecycle {
  let accepting = true;
  let steps: ShutdownStep[] = [];
  let stopping = false;

  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    accepting = false;
    logger.info({ signal }, 'shutting down');
    await new Promise((resolve) => setTimeout(resolve, drainDelayMs));
    for (const step of steps) {
      try {
        await Promise.race([step.close(), new Promise((resolve) => setTimeout(resolve, 5000))]);
      } catch (err) {
        logger.warn({ step: step.name, err: (err as Error).message }, 'shutdown step failed');
      }
    }
    logger.info({}, 'stopped');
    process.exit(0);
  };

  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason instanceof Error ? reason.message : String(reason) }, 'unhandled rejection');
  });
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception; exiting');
    process.exit(1);
  });

  return {
    isAcceptingTraffic: () => accepting,
    onShutdown(next) {
      steps = next;
    },
  };
}

/** Runs main(); a startup failure prints one clear line and exits non-zero. */
export function runMain(main: () => Promise<void>): void {
  main().catch((err: Error) => {
    process.stderr.write(`${err.name === 'ConfigError' ? err.message : `startup failed: ${err.message}`}\n`);
    process.exit(1);
  });
}
