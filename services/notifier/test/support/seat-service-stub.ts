import { ErrorCodes, errorBody, type SeatMap } from '@zephyr/contracts';
import { sendJson, startFakeHttp } from '@zephyr/testing';

/**
 * A fake of the seat-service's public `GET /api/events/:id/seats` (the only call the notifier makes), so
 * these tests do not depend on another service that is built in parallel. Unknown ids answer 404.
 */
export interface SeatServiceStub {
  url: string;
  maps: Map<string, SeatMap>;
  /** Per-event answer delay, to prove a socket's messages are handled in order. */
  delays: Map<string, number>;
  /** While true every request gets a 503, as from a seat-service that is down. */
  down: boolean;
  requests: string[];
  close(): Promise<void>;
}

export async function startSeatServiceStub(): Promise<SeatServiceStub> {
  const stub = {
    maps: new Map<string, SeatMap>(),
    delays: new Map<string, number>(),
    down: false,
    requests: [] as string[],
  };
  const server = await startFakeHttp((req, res) => {
    const match = /^\/api\/events\/([^/]+)\/seats$/.exec(req.url);
    if (req.method !== 'GET' || !match) return sendJson(res, 404, errorBody(ErrorCodes.NotFound, 'No such route'));
    const eventId = decodeURIComponent(match[1]!);
    stub.requests.push(eventId);
    if (stub.down) return sendJson(res, 503, errorBody(ErrorCodes.DependencyUnavailable, 'down'));
    const map = stub.maps.get(eventId);
    setTimeout(
      () => {
        if (!map) sendJson(res, 404, errorBody(ErrorCodes.EventNotFound, 'No such event'));
        else sendJson(res, 200, map);
      },
      stub.delays.get(eventId) ?? 0,
    );
  });
  return Object.assign(stub, { url: server.url, close: server.stop });
}
