import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as a fake upstream sees it, body already read. */
export interface FakeRequest {
  method: string;
  url: string;
  body: string;
  /** Receive time (ms since epoch), for tests that assert when a call arrived. */
  at: number;
}

export interface FakeHttpServer {
  readonly url: string;
  readonly port: number;
  /** Goes down hard: open connections are cut and new ones refused, until start() again on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

/**
 * A loopback HTTP server standing in for another service (the seat-service a test must not depend on). The
 * handler answers; leaving `res` unanswered plays an upstream that hangs.
 */
export async function startFakeHttp(
  handle: (req: FakeRequest, res: ServerResponse) => void,
  port = 0,
): Promise<FakeHttpServer> {
  let server: http.Server | undefined;
  let boundPort = port;
  const start = async () => {
    const next = http.createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () =>
        handle(
          {
            method: req.method ?? '',
            url: req.url ?? '',
            body: Buffer.concat(chunks).toString('utf8'),
            at: Date.now(),
          },
          res,
        ),
      );
    });
    await new Promise<void>((resolve) => next.listen(boundPort, '127.0.0.1', resolve));
    boundPort = (next.address() as AddressInfo).port;
    server = next;
  };
  const stop = async () => {
    const current = server;
    if (!current) return;
    server = undefined;
    current.closeAllConnections();
    await new Promise<void>((resolve) => current.close(() => resolve()));
  };
  await start();
  return {
    get url() {
      return `http://127.0.0.1:${boundPort}`;
    },
    get port() {
      return boundPort;
    },
    stop,
    start,
  };
}

/** Sends a JSON answer from a fake. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** Reads one sample from a service's Prometheus page (the first series of that name). */
export async function metricValue(baseUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  if (!line) throw new Error(`metric ${name} not found`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}
