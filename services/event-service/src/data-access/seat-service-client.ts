import { HttpHeaders, InternalPaths, type EventChangedData } from '@zephyr/contracts';
import type { Logger } from '@zephyr/runtime';

const PUSH_TIMEOUT_MS = 1000;

export interface SeatServiceClient {
  /** Best effort: resolves whatever happens. The event.* message stays the durable path. */
  pushEvent(event: EventChangedData, requestId?: string): Promise<void>;
}

/** Tells seat-service about a committed create/PATCH at once, so a status change applies without waiting for the broker. */
export function createSeatServiceClient(baseUrl: string, logger: Logger): SeatServiceClient {
  const base = baseUrl.replace(/\/+$/, '');
  return {
    async pushEvent(event, requestId) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (requestId) headers[HttpHeaders.requestId] = requestId;
      try {
        const res = await fetch(`${base}${InternalPaths.eventConfig(event.id)}`, {
          method: 'PUT',
          headers,
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
  };
}
