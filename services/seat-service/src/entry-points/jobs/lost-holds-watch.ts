import type { Logger } from '@zephyr/runtime';
import { recoverLostHolds, type LostHoldsPorts } from '../../domain/lost-holds';
import { startPeriodicJob } from './periodic-job';

const CHECK_EVERY_MS = 1000;

/**
 * Checks once a second whether Redis lost its data (one SET NX) and, if so, announces the holds it lost
 * (SPEC.md §6: every ended hold is pushed; a wipe must not end holds silently).
 */
export function startLostHoldsWatch(ports: LostHoldsPorts, logger: Logger) {
  return startPeriodicJob('lost-hold recovery', CHECK_EVERY_MS, logger, async () => {
    const events = await recoverLostHolds(ports);
    if (events) logger.warn({ events }, 'Redis lost its data: the open holds of these events were announced as ended');
  });
}
