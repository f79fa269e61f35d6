import { randomBytes, randomUUID } from 'node:crypto';
import net from 'node:net';
import { InternalPaths, type HoldBatchItem } from '@zephyr/contracts';
import { deleteRedisKeys, http, newUserId, startFakeHttp, userToken, type FakeHttpServer } from '@zephyr/testing';
import { startInProcessGateway, type InProcessGateway } from './support/gateway-app';

/**
 * The gateway's batched single-seat holds, in process in front of a fake seat-service whose batch answers the
 * test controls: holds that arrive together travel together, each client gets its own item's answer, and a
 * batch that fails is each client's 503, saying whether anything may have changed.
 */
const UPSTREAM_TIMEOUT_MS = 1500;
const PREFIX = `zt:gwbatch_${randomBytes(4).toString('hex')}:`;

/** What the fake does with a batch: answer each item (by its event id), or fail the whole batch. */
let mode: 'items' | 'previous-release' | 'refused' | 'garbage' | 'hang' = 'items';
const batches: HoldBatchItem[][] = [];
const singles: string[] = [];
let upstream: FakeHttpServer;
let gateway: InProcessGateway;
let token: string;

beforeAll(async () => {
  upstream = await startFakeHttp((req, res) => {
    if (req.url !== InternalPaths.holdBatch) {
      // A single hold, proxied: what a seat-service of the previous release (no batch route) is sent.
      singles.push(req.url);
      return res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ single: req.body }));
    }
    if (mode === 'previous-release') return res.writeHead(404, { 'content-type': 'application/json' }).end('{}');
    const { items } = JSON.parse(req.body) as { items: HoldBatchItem[] };
    batches.push(items);
    if (mode === 'hang') return;
    if (mode === 'refused') return res.writeHead(400, { 'content-type': 'application/json' }).end('{}');
    if (mode === 'garbage') return res.writeHead(200, { 'content-type': 'application/json' }).end('{"items":"no"}');
    const answers = items.map((item) =>
      item.eventId.startsWith('0')
        ? { status: 409, body: { error: { code: 'SEAT_UNAVAILABLE', message: `taken ${item.seatNumber}` } } }
        : { status: 201, body: { seat: item.seatNumber, event: item.eventId, sent: item.body, id: item.requestId } },
    );
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ items: answers }));
  });
  gateway = await startInProcessGateway({
    upstreamUrl: upstream.url,
    redisPrefix: PREFIX,
    upstreamTimeoutMs: UPSTREAM_TIMEOUT_MS,
    batchedHolds: true,
  });
  token = await userToken(newUserId());
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.stop();
  await deleteRedisKeys(PREFIX);
});

beforeEach(() => {
  mode = 'items';
  batches.length = 0;
  singles.length = 0;
});

/** An event id whose answer is a 409 (first digit 0) or a 201. */
const eventFor = (refused: boolean) => (refused ? '0' : 'a') + randomUUID().slice(1);

const hold = (path: string, body?: unknown, headers: Record<string, string> = {}) =>
  http<{ seat?: string; event?: string; sent?: string; id?: string; error?: { code: string; message: string } }>(
    gateway.url,
    'POST',
    path,
    { token, body, headers },
  );

/**
 * Sends each request on its own connection, all written in one go once every connection has been served
 * once (so the gateway reads them all), so they reach the gateway together; resolves with each answer's
 * status, x-request-id, content type and body.
 */
async function sendTogether(requests: { path: string; body: string; requestId: string }[]) {
  const { port } = new URL(gateway.url);
  const connections = await Promise.all(
    requests.map(
      () =>
        new Promise<{ socket: net.Socket; received: () => string; reset: () => void }>((resolve, reject) => {
          let received = '';
          const socket = net.connect(Number(port), '127.0.0.1');
          socket.on('error', reject);
          socket.on('data', (data) => {
            received += data.toString('utf8');
            // The warm-up answer (/health/live) ends with its JSON body.
            if (received.endsWith('}')) resolve(connection);
          });
          const connection = { socket, received: () => received, reset: () => (received = '') };
          socket.write('GET /health/live HTTP/1.1\r\nhost: gateway\r\n\r\n');
        }),
    ),
  );
  const answers = connections.map((connection) => {
    connection.reset();
    return new Promise<{ status: number; requestId?: string; contentType?: string; body: unknown }>((resolve) => {
      connection.socket.on('close', () => {
        const [head, body] = connection.received().split('\r\n\r\n');
        const header = (name: string) => new RegExp(`^${name}: (.*)$`, 'im').exec(head!)?.[1];
        resolve({
          status: Number(head!.split(' ')[1]),
          requestId: header('x-request-id'),
          contentType: header('content-type'),
          body: JSON.parse(body!),
        });
      });
    });
  });
  requests.forEach((r, i) =>
    connections[i]!.socket.write(
      `POST ${r.path} HTTP/1.1\r\nhost: gateway\r\nconnection: close\r\nauthorization: Bearer ${token}\r\n` +
        `x-request-id: ${r.requestId}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(r.body)}\r\n\r\n${r.body}`,
    ),
  );
  return Promise.all(answers);
}

/** The gateway's zephyr_hold_batch_size histogram: holds and batches so far. */
async function batchSizes() {
  const { values } = await gateway.metrics.registry.getSingleMetric('zephyr_hold_batch_size')!.get();
  const read = (name: string) => values.find((v) => v.metricName === name)?.value ?? 0;
  return { sum: read('zephyr_hold_batch_size_sum'), count: read('zephyr_hold_batch_size_count') };
}

it('sends holds that arrive together as one batch and gives each client its own answer', async () => {
  // The token's first check is cached, so the 40 below are checked without waiting on anything.
  expect((await hold(`/api/seats/${eventFor(false)}/1/hold`)).status).toBe(201);
  batches.length = 0;
  const sizesBefore = await batchSizes();
  const requests = Array.from({ length: 40 }, (_, i) => ({
    eventId: eventFor(i % 4 === 0),
    seat: String(i + 1),
    requestId: `batch-${i}`,
  }));
  const answers = await sendTogether(
    requests.map((r) => ({
      path: `/api/seats/${r.eventId}/${r.seat}/hold`,
      body: JSON.stringify({ holdDuration: 60 + Number(r.seat) }),
      requestId: r.requestId,
    })),
  );
  answers.forEach((answer, i) => {
    const r = requests[i]!;
    expect(answer.contentType).toBe('application/json; charset=utf-8');
    expect(answer.requestId).toBe(r.requestId);
    if (i % 4 === 0) {
      expect(answer.status).toBe(409);
      expect(answer.body).toEqual({ error: { code: 'SEAT_UNAVAILABLE', message: `taken ${r.seat}` } });
    } else {
      expect(answer.status).toBe(201);
      expect(answer.body).toEqual({
        seat: r.seat,
        event: r.eventId,
        sent: JSON.stringify({ holdDuration: 60 + Number(r.seat) }),
        id: r.requestId,
      });
    }
  });
  // Read in one turn of the gateway's event loop, they went upstream in one request, each exactly once.
  expect(batches).toHaveLength(1);
  expect(await batchSizes()).toEqual({ sum: sizesBefore.sum + 40, count: sizesBefore.count + 1 });
  expect(batches[0]!.map((item) => item.requestId)).toEqual(requests.map((r) => r.requestId));
  // The caller's token goes along for the seat-service to verify again.
  expect(new Set(batches[0]!.map((item) => item.authorization))).toEqual(new Set([`Bearer ${token}`]));
});

it('passes the path segments still encoded, without the query or a trailing slash, and the body as sent', async () => {
  const eventId = eventFor(false);
  const answer = await hold(`/api/seats/${eventId.toUpperCase()}/%31%32/hold/?why=1`, undefined, {
    'content-type': 'text/plain',
  });
  expect(answer.status).toBe(201);
  expect(batches.flat()).toEqual([
    expect.objectContaining({
      eventId: eventId.toUpperCase(),
      seatNumber: '%31%32',
      body: '',
      contentType: 'text/plain',
    }),
  ]);
});

it('answers 503 "nothing was changed" when the seat-service refuses the batch itself', async () => {
  mode = 'refused';
  const answer = await hold(`/api/seats/${eventFor(false)}/1/hold`);
  expect(answer.status).toBe(503);
  expect(answer.body.error).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE' });
  expect(answer.body.error!.message).toContain('nothing was changed');
  expect(singles).toEqual([]);
});

it('proxies the hold on its own to a seat-service of the previous release, which has no batch route', async () => {
  mode = 'previous-release';
  const eventId = eventFor(false);
  const answer = await hold(`/api/seats/${eventId}/7/hold`, { holdDuration: 90 });
  expect(answer.status).toBe(201);
  expect(answer.body).toEqual({ single: JSON.stringify({ holdDuration: 90 }) });
  expect(singles).toEqual([`/api/seats/${eventId}/7/hold`]);
});

it('answers 503 "may or may not have taken effect" to an unreadable batch answer and to a timeout', async () => {
  mode = 'garbage';
  const unreadable = await hold(`/api/seats/${eventFor(false)}/1/hold`);
  expect(unreadable.status).toBe(503);
  expect(unreadable.body.error!.message).toContain('may or may not have taken effect');

  mode = 'hang';
  const started = Date.now();
  const timedOut = await hold(`/api/seats/${eventFor(false)}/2/hold`);
  expect(timedOut.status).toBe(503);
  expect(timedOut.body.error!.message).toContain('may or may not have taken effect');
  expect(Date.now() - started).toBeGreaterThanOrEqual(UPSTREAM_TIMEOUT_MS - 50);
});

it('answers 503 "nothing was changed" while the seat-service is down, and batches again once it is back', async () => {
  await upstream.stop();
  try {
    const answer = await hold(`/api/seats/${eventFor(false)}/1/hold`);
    expect(answer.status).toBe(503);
    expect(answer.body.error!.message).toContain('nothing was changed');
  } finally {
    await upstream.start();
  }
  const again = await hold(`/api/seats/${eventFor(false)}/1/hold`);
  expect(again.status).toBe(201);
});
