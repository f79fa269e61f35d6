import type { SeatMap } from '@zephyr/contracts';
import { createRecentIds } from '@zephyr/runtime/batcher';

/** Reads an event's seat map from its owner; throws AppError EVENT_NOT_FOUND or a dependency failure. */
export interface SeatMapSource {
  getSeatMap(eventId: string): Promise<SeatMap>;
}

export interface EventDirectory {
  /** Resolves when the event exists. */
  ensureExists(eventId: string): Promise<void>;
  snapshot(eventId: string): Promise<SeatMap>;
}

/**
 * Events are never deleted, so once an event is known to exist a plain subscribe needs no further call to
 * the seat-service (and keeps working while it is down). Only snapshots always read the current map.
 */
export function createEventDirectory(source: SeatMapSource, knownLimit = 50_000): EventDirectory {
  const known = createRecentIds(knownLimit);
  const snapshot = async (eventId: string): Promise<SeatMap> => {
    const map = await source.getSeatMap(eventId);
    known.add(eventId);
    return map;
  };
  // Thousands of watchers subscribing to one on-sale at once make one seat-service call, not thousands.
  const checking = new Map<string, Promise<void>>();
  return {
    async ensureExists(eventId) {
      if (known.has(eventId)) return;
      let check = checking.get(eventId);
      if (!check) {
        check = snapshot(eventId)
          .then(() => undefined)
          .finally(() => checking.delete(eventId));
        checking.set(eventId, check);
      }
      await check;
    },
    snapshot,
  };
}
