import {
  ErrorCodes,
  HttpHeaders,
  InternalPaths,
  seatCountsResponse,
  type EventChangedData,
  type SeatCounts,
} from '@zephyr/contracts';
import type { Logger } from '@zephyr/runtime';
import { AppError } from '@zephyr/runtime/errors';

const PUSH_TIMEOUT_MS = 1000;
/** A GET /api/events/:id waits this long for the counts at most, then answers 503. */
const COUNTS_TIMEOUT_MS = 2000;

export interface SeatServiceClient {
  /** Best effort: resolves whatever happens. The event.* message stays the durable path. */
  pushEvent(event: EventChangedData, requestId?: string): Promise<void>;
  /** The seat-service's live counts; DEPENDENCY_UNAVAILABLE when it cannot answer. */
  seatCounts(eventId: string, requestId?: string): Promise<SeatCounts>;
}

const unavailable = (why: string) =>
  new AppError(ErrorCodes.DependencyUnavailable, `Seat counts are unavailable right now (${why})`);

export function createSeatServiceClient(baseUrl: string, logger: Logger): SeatServiceClient {
  const base = baseUrl.replace(/\/+$/, '');
  const headersFor = (requestId?: string): Record<string, string> =>
    requestId ? { [HttpHeaders.requestId]: requestId } : {};
  return {
    // Tells seat-service about a committed create/PATCH at once, so a status change applies without waiting for the broker.
    async pushEvent(event, requestId) {
      try {
        const res = await fetch(`${base}${InternalPaths.eventConfig(event.id)}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json', ...headersFor(requestId) },
          body: JSON.stringify(event),
          signal: AbortSignal.timeout(PUSH_TIMEOUT_MS),
        });
        await res.body?.cancel();
        if (!res.ok)
          logger.warn({ requestId, eventId: event.id, status: res.status }, 'seat-service refused event push');
      } catch (err) {
        logger.warn({ requestId, eventId: event.id, err: (err as Error).message }, 'event push to seat-service failed');
      }
    },

    async seatCounts(eventId, requestId) {
      let res: Response;
      let body: unknown;
      try {
        res = await fetch(`${base}${InternalPaths.seatCounts(eventId)}`, {
          headers: headersFor(requestId),
          signal: AbortSignal.timeout(COUNTS_TIMEOUT_MS),
        });
        body = await res.json();
      } catch (err) {
        logger.warn({ requestId, eventId, err: (err as Error).message }, 'seat counts read failed');
        throw unavailable('no answer from the seat-service');
      }
      const { error, value } = seatCountsResponse.validate(body);
      if (!res.ok || error) {
        logger.warn({ requestId, eventId, status: res.status, err: error?.message }, 'seat counts refused');
        throw unavailable(`the seat-service answered ${res.status}`);
      }
      const { available, held, reserved } = value as SeatCounts;
      return { available, held, reserved };
    },
  };
}
