import type { Logger } from '@zephyr/runtime';

/**
 * Runs `work` now and then `everyMs` after each run ends (never two at once); a failure is logged and the
 * next run tries again, so a backing-service outage only delays the job.
 */
export function startPeriodicJob(name: string, everyMs: number, logger: Logger, work: () => Promise<void>) {
  let running = true;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();
  const run = async () => {
    try {
      await work();
    } catch (err) {
      logger.warn({ err: (err as Error).message }, `${name} failed; retrying`);
    }
    if (running) timer = setTimeout(() => (current = run()), everyMs);
  };
  current = run();
  return {
    async stop() {
      running = false;
      clearTimeout(timer);
      await current;
    },
  };
}
