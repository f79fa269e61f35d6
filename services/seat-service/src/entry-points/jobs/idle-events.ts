import type { Logger } from '@zephyr/runtime';
import type { SeatStore } from '../../data-access/seat-store';
import { startPeriodicJob } from './periodic-job';

export interface IdleEventsOptions {
  /** An event untouched this long, with no hold and nothing left to relay, leaves Redis. */
  evictAfterMs: number;
  scanEveryMs: number;
}

/**
 * Keeps Redis bounded by the events in use rather than every event ever created: one replica per round
 * walks the stream index and evicts idle events (their reservations stay in PostgreSQL and come back with
 * the event on its next use).
 */
export function startIdleEventsScan(
  store: Pick<SeatStore, 'claimIdleScan' | 'scanEvents' | 'evictIfIdle'>,
  options: IdleEventsOptions,
  logger: Logger,
) {
  return startPeriodicJob('idle-event scan', options.scanEveryMs, logger, async () => {
    if (!(await store.claimIdleScan(options.scanEveryMs))) return;
    let cursor = '0';
    let evicted = 0;
    do {
      const page = await store.scanEvents(cursor);
      cursor = page.cursor;
      for (const eventId of page.eventIds)
        if ((await store.evictIfIdle(eventId, options.evictAfterMs)) === 'evicted') evicted += 1;
    } while (cursor !== '0');
    if (evicted > 0) logger.info({ evicted }, 'idle events left Redis (they load again on their next use)');
  });
}
