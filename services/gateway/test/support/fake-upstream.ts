import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCodes, InternalPaths, errorBody, type HoldBatchItem } from '@zephyr/contracts';

/**
 * How the fake answers a path; chosen per `:eventId` segment of `/api/seats/:eventId/...` so every test
 * uses its own. `gate` holds the answer until open(); `stream` sends the first half at once and the rest
 * after open(); `hang` never answers; `cut` breaks off mid-answer.
 */
export type Behaviour = 'ok' | 'conflict' | 'unavailable' | 'limited' | 'gate' | 'stream' | 'hang' | 'cut';

/** A planned answer: JSON, or text that streams (`rest` after open()) or breaks off (`cut`). */
interface Answer {
  status: number;
  value: unknown;
  headers?: Record<string, string>;
  rest?: string;
  cut?: boolean;
}

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

/**
 * A real HTTP server standing in for the seat-service and event-service, to control answers and timing. A
 * batch of holds (the gateway's default for single-seat holds) is seen as one request per item.
 */
export async function startFakeUpstream(): Promise<FakeUpstream> {
  const requests: SeenRequest[] = [];
  const behaviours = new Map<string, Behaviour>();
  let waiting: (() => void)[] = [];
  const gate = () => new Promise<void>((resolve) => waiting.push(resolve));

  /** The answer to one hold (or other request) by its event's behaviour; undefined: `hang`. */
  const answerOf = async (path: string, body: string): Promise<Answer | undefined> => {
    requests.push({ path, body });
    const eventId = path.split('/')[3] ?? '';
    const n = requests.filter((r) => r.path.split('/')[3] === eventId).length;
    switch (behaviours.get(eventId) ?? 'ok') {
      case 'ok':
        return { status: 201, value: { n, body }, headers: { location: `/things/${n}` } };
      case 'conflict':
        return { status: 409, value: errorBody(ErrorCodes.SeatUnavailable, `conflict ${n}`) };
      case 'unavailable':
        return { status: 503, value: errorBody(ErrorCodes.DependencyUnavailable, `down ${n}`) };
      case 'limited':
        return {
          status: 429,
          value: errorBody(ErrorCodes.RateLimited, `limited ${n}`),
          headers: { 'retry-after': '1' },
        };
      case 'gate':
        await gate();
        return { status: 201, value: { n, body } };
      case 'stream':
        return { status: 201, value: `first ${n};`, rest: `second ${n}` };
      case 'cut':
        return { status: 201, value: `partial ${n}`, cut: true };
      case 'hang':
        return undefined;
    }
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const path = req.url ?? '';
      if (path === '/health') return res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      const body = Buffer.concat(chunks).toString('utf8');
      const json = (status: number, value: unknown, headers: Record<string, string> = {}) =>
        res
          .writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
          .end(JSON.stringify(value));
      if (path === InternalPaths.holdBatch) {
        // The gateway's batched holds: each item answered as its own request would be (JSON answers only).
        const { items } = JSON.parse(body) as { items: HoldBatchItem[] };
        const answers = await Promise.all(
          items.map((item) => answerOf(`/api/seats/${item.eventId}/${item.seatNumber}/hold`, item.body)),
        );
        if (answers.some((a) => a === undefined)) return;
        return json(200, { items: answers.map((a) => ({ status: a!.status, body: a!.value })) });
      }
      const answer = await answerOf(path, body);
      if (!answer) return;
      if (answer.rest !== undefined) {
        res.writeHead(answer.status, { 'content-type': 'text/plain' });
        res.write(answer.value as string);
        await gate();
        return res.end(answer.rest);
      }
      if (answer.cut) {
        res.writeHead(answer.status, { 'content-type': 'text/plain' });
        // Once the first bytes are out, the connection breaks.
        return res.write(answer.value as string, () => res.destroy());
      }
      return json(answer.status, answer.value, answer.headers);
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
