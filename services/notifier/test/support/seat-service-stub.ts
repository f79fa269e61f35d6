import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCodes, errorBody, type SeatMap } from '@zephyr/contracts';

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
  const server = http.createServer((req, res) => {
    const match = /^\/api\/events\/([^/]+)\/seats$/.exec(req.url ?? '');
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET' || !match) return send(404, errorBody(ErrorCodes.NotFound, 'No such route'));
    const eventId = decodeURIComponent(match[1]!);
    stub.requests.push(eventId);
    if (stub.down) return send(503, errorBody(ErrorCodes.DependencyUnavailable, 'down'));
    const map = stub.maps.get(eventId);
    setTimeout(
      () => {
        if (!map) send(404, errorBody(ErrorCodes.EventNotFound, 'No such event'));
        else send(200, map);
      },
      stub.delays.get(eventId) ?? 0,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return Object.assign(stub, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
