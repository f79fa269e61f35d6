import type { Logger } from '@zephyr/runtime';
import type { SeatRules } from '../../domain/seat-rules';
import type { ReservationsPort } from '../../domain/ports';
import { startPeriodicJob } from './periodic-job';

/** A reserve normally finishes within milliseconds of its commit; one still unfinished after this died. */
const UNFINISHED_AFTER_MS = 300;
const CHECK_EVERY_MS = 200;
const BATCH = 100;

/**
 * Finishes reserves whose process died (or stalled) between the PostgreSQL commit and the Redis step, so
 * their seat.reserved is pushed within a second (SPEC.md §4) in order behind the seat's earlier events,
 * instead of waiting for the reserve deadline or the PostgreSQL fallback relay. Every replica runs it;
 * finishing one reserve twice is harmless (the Redis step appends its event once).
 */
export function startUnfinishedReservesSweep(
  rules: Pick<SeatRules, 'finishCommittedReserve'>,
  reservations: Pick<ReservationsPort, 'unfinishedReserves'>,
  logger: Logger,
) {
  return startPeriodicJob('unfinished-reserves sweep', CHECK_EVERY_MS, logger, async () => {
    const seats = await reservations.unfinishedReserves(UNFINISHED_AFTER_MS, BATCH);
    let finished = 0;
    for (const { eventId, seatNumber } of seats)
      if (await rules.finishCommittedReserve(eventId, seatNumber)) finished += 1;
    if (finished > 0) logger.warn({ finished }, 'finished reserves whose process stopped after the commit');
  });
}
