import { createRecentIds, ErrorCodes, type SeatMap } from '@zephyr/contracts';
import { AppError } from '@zephyr/runtime/errors';

const noop = (): void => undefined;

/** Reads an event's seat map from its owner; throws AppError EVENT_NOT_FOUND or a dependency failure. */
export interface SeatMapSource {
  getSeatMap(eventId: string): Promise<SeatMap>;
}

export interface EventDirectory {
  /** Resolves when the event exists. */
  ensureExists(eventId: string): Promise<void>;
  /**
   * The current map, read after this call. Callers that ask while a read is in flight share the next read (one
   * queued behind it), so thousands of sockets asking at once cost the seat-service two reads, not thousands.
   */
  snapshot(eventId: string): Promise<SeatMap>;
  /** True when a plain subscribe to this event needs no seat-service call. */
  isKnown(eventId: string): boolean;
}

export interface DirectoryOptions {
  knownLimit?: number;
  /** How long an id the seat-service called unknown is answered EVENT_NOT_FOUND without asking again. */
  unknownTtlMs?: number;
  unknownLimit?: number;
  now?: () => number;
}

/**
 * Events are never deleted, so once an event is known to exist a plain subscribe needs no further call to
 * the seat-service (and keeps working while it is down). Only snapshots always read the current map.
 */
export function createEventDirectory(source: SeatMapSource, options: DirectoryOptions = {}): EventDirectory {
  const { knownLimit = 50_000, unknownTtlMs = 10_000, unknownLimit = 10_000, now = Date.now } = options;
  const known = createRecentIds(knownLimit);
  // Negative cache: a client repeating a subscribe to a missing id costs no call to the seat-service (which
  // would ask the event-service and PostgreSQL). Ids are server-made UUIDs, so an unknown id does not turn
  // into an event later; the TTL only bounds how long a mistake could last. Oldest entries go first.
  const unknown = new Map<string, number>();
  const rememberUnknown = (eventId: string) => {
    unknown.delete(eventId);
    if (unknown.size >= unknownLimit) unknown.delete(unknown.keys().next().value as string);
    unknown.set(eventId, now() + unknownTtlMs);
  };
  const knownMissing = (eventId: string): boolean => {
    const until = unknown.get(eventId);
    if (until === undefined) return false;
    if (until > now()) return true;
    unknown.delete(eventId);
    return false;
  };
  const read = async (eventId: string): Promise<SeatMap> => {
    if (knownMissing(eventId)) throw new AppError(ErrorCodes.EventNotFound, 'No such event');
    try {
      const map = await source.getSeatMap(eventId);
      known.add(eventId);
      return map;
    } catch (err) {
      if (err instanceof AppError && err.code === ErrorCodes.EventNotFound) rememberUnknown(eventId);
      throw err;
    }
  };
  // A read in flight may have started before the caller's changes were held back, so it cannot serve the
  // caller: late callers share the one read queued behind it.
  const reads = new Map<string, { running: Promise<SeatMap>; queued?: Promise<SeatMap> }>();
  const startRead = (eventId: string): Promise<SeatMap> => {
    const running = read(eventId);
    const entry = reads.get(eventId) ?? { running };
    entry.running = running;
    reads.set(eventId, entry);
    const settle = () => {
      if (entry.running === running && !entry.queued) reads.delete(eventId);
    };
    running.then(settle, settle);
    return running;
  };
  const snapshot = (eventId: string): Promise<SeatMap> => {
    const entry = reads.get(eventId);
    if (!entry) return startRead(eventId);
    entry.queued ??= entry.running.then(noop, noop).then(() => {
      entry.queued = undefined;
      return startRead(eventId);
    });
    return entry.queued;
  };
  // Thousands of watchers subscribing to one on-sale at once make one seat-service call, not thousands.
  const checking = new Map<string, Promise<void>>();
  return {
    async ensureExists(eventId) {
      if (known.has(eventId)) return;
      let check = checking.get(eventId);
      if (!check) {
        check = read(eventId)
          .then(() => undefined)
          .finally(() => checking.delete(eventId));
        checking.set(eventId, check);
      }
      await check;
    },
    snapshot,
    isKnown: (eventId) => known.has(eventId),
  };
}
