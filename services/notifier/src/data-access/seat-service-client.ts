import { randomUUID } from 'node:crypto';
import { ErrorCodes, HttpHeaders, type SeatMap } from '@zephyr/contracts';
import { AppError, DependencyUnavailableError, getUpstreamJson } from '@zephyr/runtime';
import type { SeatMapSource } from '../domain/event-directory';

export interface SeatServiceClientOptions {
  baseUrl: string;
  timeoutMs: number;
}

function isSeatMap(body: unknown): body is SeatMap {
  const map = body as Partial<SeatMap> | null;
  return (
    typeof map === 'object' &&
    map !== null &&
    typeof map.eventId === 'string' &&
    Number.isInteger(map.version) &&
    Array.isArray(map.seats)
  );
}

/** Reads seat maps from the seat-service's public `GET /api/events/:id/seats`. */
export function createSeatServiceClient(options: SeatServiceClientOptions): SeatMapSource {
  return {
    async getSeatMap(eventId) {
      const body = await getUpstreamJson(
        'seat-service',
        `${options.baseUrl}/api/events/${encodeURIComponent(eventId)}/seats`,
        {
          timeoutMs: options.timeoutMs,
          headers: { accept: 'application/json', [HttpHeaders.requestId]: randomUUID() },
          // A malformed id is a 400 there: no such event either.
          isNotFound: (status) => status === 404 || status === 400,
          notFound: () => {
            throw new AppError(ErrorCodes.EventNotFound, 'No such event');
          },
        },
      );
      if (!isSeatMap(body)) throw new DependencyUnavailableError('seat-service sent a seat map of the wrong shape');
      return body;
    },
  };
}
