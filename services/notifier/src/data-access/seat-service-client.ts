import { randomUUID } from 'node:crypto';
import { ErrorCodes, HttpHeaders, type SeatMap } from '@zephyr/contracts';
import { AppError, DependencyUnavailableError } from '@zephyr/runtime';
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
      let res: Response;
      try {
        res = await fetch(`${options.baseUrl}/api/events/${encodeURIComponent(eventId)}/seats`, {
          headers: { accept: 'application/json', [HttpHeaders.requestId]: randomUUID() },
          signal: AbortSignal.timeout(options.timeoutMs),
        });
      } catch (err) {
        throw new DependencyUnavailableError(`seat-service unreachable: ${(err as Error).message}`);
      }
      if (res.status === 404 || res.status === 400) {
        await res.body?.cancel();
        throw new AppError(ErrorCodes.EventNotFound, 'No such event');
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new DependencyUnavailableError(`seat-service answered ${res.status}`);
      }
      let body: unknown;
      try {
        body = await res.json();
      } catch (err) {
        throw new DependencyUnavailableError(`seat-service sent an unreadable seat map: ${(err as Error).message}`);
      }
      if (!isSeatMap(body)) throw new DependencyUnavailableError('seat-service sent a seat map of the wrong shape');
      return body;
    },
  };
}
