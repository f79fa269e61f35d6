import type { Logger } from '@zephyr/runtime';
import { backoffMs, type BackoffPolicy } from '@zephyr/runtime/backoff';

/**
 * Longest pause between attempts while the job keeps failing (a backing service is down): short, because
 * these jobs keep SPEC promises measured in seconds once the service is back (lost holds announced within 2 s).
 */
const BACKOFF: BackoffPolicy = { firstMs: 100, maxMs: 1000 };

/**
 * Runs `work` now and then `everyMs` after each run ends (never two at once). While it fails, the pause
 * doubles up to a second (or `everyMs` if longer) and only the first failure and the recovery are logged, so an outage of a backing
 * service neither floods the log nor the service; the job resumes by itself.
 */
export function startPeriodicJob(name: string, everyMs: number, logger: Logger, work: () => Promise<void>) {
  let running = true;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();
  let failures = 0;
  const run = async () => {
    try {
      await work();
      if (failures > 0) logger.info({ failures }, `${name} works again`);
      failures = 0;
    } catch (err) {
      failures += 1;
      if (failures === 1) logger.warn({ err: (err as Error).message }, `${name} failed; retrying with backoff`);
    }
    const backoff = backoffMs(failures - 1, BACKOFF);
    const pause = failures === 0 ? everyMs : Math.max(everyMs, backoff);
    if (running) timer = setTimeout(() => (current = run()), pause);
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
