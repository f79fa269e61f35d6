import net from 'node:net';
import type { SeatCounts } from '@zephyr/contracts';
import { startFakeHttp } from '@zephyr/testing';

export interface FakeSeatService {
  url: string;
  /** Every event push (PUT /internal/events/:id) it received. */
  puts: { path: string; body: unknown }[];
  /** Every seat-counts read it answered or refused. */
  countReads: string[];
  /** Counts to answer per event id; an event pushed to it and not listed here has all its seats available. */
  counts: Map<string, SeatCounts>;
  /** 'hang' never answers (bounded by the caller's timeout); 'down' answers 503 to everything. */
  mode: 'ok' | 'hang' | 'down';
  close(): Promise<void>;
}

const SEAT_COUNTS_PATH = /^\/internal\/events\/([^/]+)\/seat-counts$/;

/**
 * Stands in for the seat-service's internal routes the event-service calls: it records the event pushes
 * (PUT /internal/events/:id) and answers seat-count reads like the seat-service would, 404 for an event it
 * was never told about.
 */
export async function startFakeSeatService(): Promise<FakeSeatService> {
  const fake: Omit<FakeSeatService, 'url' | 'close'> = { puts: [], countReads: [], counts: new Map(), mode: 'ok' };
  const totalSeats = new Map<string, number>();
  const server = await startFakeHttp((req, res) => {
    const countsOf = SEAT_COUNTS_PATH.exec(req.url)?.[1];
    if (req.method === 'GET' && countsOf) fake.countReads.push(countsOf);
    else fake.puts.push({ path: `${req.method} ${req.url}`, body: req.body ? JSON.parse(req.body) : undefined });
    if (fake.mode === 'hang') return;
    if (fake.mode === 'down') {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'DEPENDENCY_UNAVAILABLE', message: 'down' } }));
      return;
    }
    if (req.method === 'PUT') {
      const event = JSON.parse(req.body) as { id: string; totalSeats: number };
      totalSeats.set(event.id, event.totalSeats);
      res.writeHead(204).end();
      return;
    }
    const total = countsOf === undefined ? undefined : totalSeats.get(countsOf);
    if (countsOf === undefined || total === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'EVENT_NOT_FOUND', message: 'unknown' } }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(fake.counts.get(countsOf) ?? { available: total, held: 0, reserved: 0 }));
  });
  return Object.assign(fake, { url: server.url, close: server.stop });
}

/** A loopback port nothing listens on (for a broker or database that is down). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
