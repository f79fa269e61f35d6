import type { SeatCounts } from '@zephyr/contracts';
import type { SeatCountsReader } from '../domain/events';

export interface SeatCountsCacheOptions {
  /** How long one read answers for its event: SPEC lets the counts lag writes by up to 1 s. */
  freshMs: number;
  /** Events remembered at once; past it, stale entries go, then all (memory stays bounded). */
  maxEvents: number;
  now?: () => number;
}

/**
 * During an on-sale every buyer's page polls the same event: each read tallies the whole seat map in the
 * seat-service, so one replica asks at most once per `freshMs` per event, and concurrent asks share that
 * call. A failed read is not remembered.
 */
export function cacheSeatCounts(
  read: (eventId: string, requestId?: string) => Promise<SeatCounts>,
  options: SeatCountsCacheOptions,
): SeatCountsReader {
  const now = options.now ?? Date.now;
  // `at` is when the read began: its answer is at least that new.
  const entries = new Map<string, { at: number; counts: Promise<SeatCounts> }>();

  const makeRoom = (at: number) => {
    for (const [eventId, entry] of entries) if (at - entry.at >= options.freshMs) entries.delete(eventId);
    if (entries.size >= options.maxEvents) entries.clear();
  };

  return {
    countsOf(eventId, requestId) {
      const at = now();
      const cached = entries.get(eventId);
      if (cached && at - cached.at < options.freshMs) return cached.counts;
      if (!cached && entries.size >= options.maxEvents) makeRoom(at);
      const counts = read(eventId, requestId);
      const entry = { at, counts };
      entries.set(eventId, entry);
      counts.catch(() => {
        if (entries.get(eventId) === entry) entries.delete(eventId);
      });
      return counts;
    },
  };
}
