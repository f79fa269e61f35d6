import type { Logger } from '@zephyr/runtime';
import { recoverLostHolds, type LostHoldsPorts } from '../../domain/lost-holds';

const CHECK_EVERY_MS = 1000;

/**
 * Checks once a second whether Redis lost its data (one SET NX) and, if so, announces the holds it lost
 * (SPEC.md §6: every ended hold is pushed; a wipe must not end holds silently).
 */
export function startLostHoldsWatch(ports: LostHoldsPorts, logger: Logger) {
  let running = true;
  let timer: NodeJS.Timeout | undefined;
  const check = async () => {
    try {
      const announced = await recoverLostHolds(ports);
      if (announced) logger.warn({ announced }, 'Redis lost its data: its open holds were announced as ended');
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'lost-hold recovery failed; retrying');
    }
    if (running) timer = setTimeout(() => void check(), CHECK_EVERY_MS);
  };
  const first = check();
  return {
    async stop() {
      running = false;
      clearTimeout(timer);
      await first;
    },
  };
}
