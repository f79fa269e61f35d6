import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCodes, errorBody } from '@zephyr/contracts';

/**
 * How the fake answers a path; chosen per `:eventId` segment of `/api/seats/:eventId/...` so every test
 * uses its own. `gate` holds the answer until open(); `stream` sends the first half at once and the rest
 * after open(); `hang` never answers; `cut` breaks off mid-answer.
 */
export type Behaviour = 'ok' | 'conflict' | 'unavailable' | 'limited' | 'gate' | 'stream' | 'hang' | 'cut';

export interface SeenRequest {
  path: string;
  body: string;
}

export interface FakeUpstream {
  url: string;
  requests: SeenRequest[];
  behave(eventId: string, behaviour: Behaviour): void;
  /** Lets every gated or streaming answer finish. */
  open(): void;
  seen(eventId: string): SeenRequest[];
  close(): Promise<void>;
}

/** A real HTTP server standing in for the seat-service and event-service, to control answers and timing. */
export async function startFakeUpstream(): Promise<FakeUpstream> {
  const requests: SeenRequest[] = [];
  const behaviours = new Map<string, Behaviour>();
  let waiting: (() => void)[] = [];
  const gate = () => new Promise<void>((resolve) => waiting.push(resolve));

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const path = req.url ?? '';
      if (path === '/health') return res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ path, body });
      const eventId = path.split('/')[3] ?? '';
      const n = requests.filter((r) => r.path.split('/')[3] === eventId).length;
      const json = (status: number, value: unknown, headers: Record<string, string> = {}) =>
        res
          .writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
          .end(JSON.stringify(value));
      switch (behaviours.get(eventId) ?? 'ok') {
        case 'ok':
          return json(201, { n, body }, { location: `/things/${n}` });
        case 'conflict':
          return json(409, errorBody(ErrorCodes.SeatUnavailable, `conflict ${n}`));
        case 'unavailable':
          return json(503, errorBody(ErrorCodes.DependencyUnavailable, `down ${n}`));
        case 'limited':
          return json(429, errorBody(ErrorCodes.RateLimited, `limited ${n}`), { 'retry-after': '1' });
        case 'gate':
          await gate();
          return json(201, { n, body });
        case 'stream':
          res.writeHead(201, { 'content-type': 'text/plain' });
          res.write(`first ${n};`);
          await gate();
          return res.end(`second ${n}`);
        case 'hang':
          return;
        case 'cut':
          res.writeHead(201, { 'content-type': 'text/plain' });
          // Once the first bytes are out, the connection breaks.
          return res.write(`partial ${n}`, () => res.destroy());
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    behave: (eventId, behaviour) => behaviours.set(eventId, behaviour),
    open() {
      const released = waiting;
      waiting = [];
      for (const resolve of released) resolve();
    },
    seen: (eventId) => requests.filter((r) => r.path.split('/')[3] === eventId),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
