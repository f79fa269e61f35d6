import { connectWs, http, inParallel, newUserId, userToken, waitFor, type WsClient } from '@zephyr/testing';
import { closeCode, expectError, portOf, rawHttp, rawRequest, useSecurityStack } from './support';

/**
 * Resource limits on the public edge (OWASP API4): body size (declared and chunked), URL and header size,
 * slow headers and slow bodies, helmet's headers, WebSocket frame size, subscriptions per socket and
 * sockets per user, all through the gateway.
 */
const HEADERS_TIMEOUT_MS = 1000;
const REQUEST_TIMEOUT_MS = 3000;
const KIB = 1024;

const stack = useSecurityStack('secres', {
  env: { HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS), HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) },
});
let gw: string;
let port: number;

beforeAll(() => {
  gw = stack.gatewayUrl;
  port = portOf(gw);
});

const eventList = async () => (await http(gw, 'GET', '/api/events?limit=100')).body;
const auth = () => ({ Authorization: `Bearer ${stack.admin}`, 'Content-Type': 'application/json' });

/** A JSON body of exactly `bytes` bytes. */
const jsonOfSize = (bytes: number) => {
  const shell = JSON.stringify({ name: 'Big', totalSeats: 10, description: '' });
  return shell.replace('"description":""', `"description":"${'d'.repeat(bytes - shell.length)}"`);
};

/** A chunked request whose body is sent in `chunkSize` pieces. */
function chunked(
  method: string,
  target: string,
  headers: Record<string, string>,
  body: string,
  chunkSize = KIB,
): string[] {
  const head = rawRequest(method, target, { ...headers, 'Transfer-Encoding': 'chunked' });
  const parts = [head];
  for (let i = 0; i < body.length; i += chunkSize) {
    const piece = body.slice(i, i + chunkSize);
    parts.push(`${Buffer.byteLength(piece).toString(16)}\r\n${piece}\r\n`);
  }
  parts.push('0\r\n\r\n');
  return parts;
}

describe('request bodies', () => {
  it('answers 413 to a declared body over 16 KiB, before 415 and after 401, and creates nothing', async () => {
    const before = await eventList();
    expectError(
      await rawHttp(port, rawRequest('POST', '/api/events', auth(), jsonOfSize(16 * KIB + 1))),
      413,
      'PAYLOAD_TOO_LARGE',
    );
    expectError(
      await rawHttp(
        port,
        rawRequest('POST', '/api/events', { ...auth(), 'Content-Type': 'text/plain' }, 'x'.repeat(17 * KIB)),
      ),
      413,
      'PAYLOAD_TOO_LARGE',
    );
    expectError(
      await rawHttp(
        port,
        rawRequest('POST', '/api/events', { 'Content-Type': 'application/json' }, jsonOfSize(17 * KIB)),
      ),
      401,
      'UNAUTHENTICATED',
    );
    // A lying Content-Length far above the limit is refused without waiting for the bytes.
    const lying = await rawHttp(
      port,
      rawRequest('POST', '/api/events', { ...auth(), 'Content-Length': String(1024 ** 3) }),
    );
    expectError(lying, 413, 'PAYLOAD_TOO_LARGE');
    // Exactly 16 KiB passes the size check and reaches validation (the description is over 2000 characters).
    expectError(
      await rawHttp(port, rawRequest('POST', '/api/events', auth(), jsonOfSize(16 * KIB))),
      400,
      'VALIDATION_FAILED',
    );
    expect(await eventList()).toEqual(before);
  });

  it('answers 413 to a chunked body over 16 KiB; small chunked bodies pass unchanged', async () => {
    const before = await eventList();
    const big = await rawHttp(port, chunked('POST', '/api/events', auth(), jsonOfSize(40 * KIB)));
    expectError(big, 413, 'PAYLOAD_TOO_LARGE');
    // An endless chunked upload is answered and cut, not streamed to a service.
    const endless = await rawHttp(
      port,
      [...chunked('POST', '/api/events', auth(), 'x'.repeat(200 * KIB), 8 * KIB).slice(0, -1)],
      { timeoutMs: 5000 },
    );
    expectError(endless, 413, 'PAYLOAD_TOO_LARGE');
    expect(await eventList()).toEqual(before);

    const small = await rawHttp(
      port,
      chunked(
        'POST',
        '/api/events',
        auth(),
        JSON.stringify({ name: 'Chunked ✓', totalSeats: 12, description: 'd'.repeat(1500) }),
        100,
      ),
    );
    expect(small.status).toBe(201);
    expect(small.json).toMatchObject({ name: 'Chunked ✓', totalSeats: 12 });
    const eventId = (small.json as { id: string }).id;
    const user = await userToken(newUserId());
    const hold = await rawHttp(
      port,
      chunked(
        'POST',
        `/api/seats/${eventId}/1/hold`,
        { Authorization: `Bearer ${user}`, 'Content-Type': 'application/json' },
        '{"holdDuration": 123}',
        3,
      ),
    );
    expect(hold.status).toBe(201);
    const { heldAt, expiresAt } = hold.json as { heldAt: string; expiresAt: string };
    expect(Date.parse(expiresAt) - Date.parse(heldAt)).toBe(123_000);
  });
});

describe('URL and headers', () => {
  it('refuses a URL over 2048 characters with 400 and an oversized request line or headers with 431', async () => {
    expectError(
      await rawHttp(port, rawRequest('GET', `/api/events?cursor=${'a'.repeat(2100)}`)),
      400,
      'VALIDATION_FAILED',
    );
    expectError(await rawHttp(port, rawRequest('GET', `/api/events/${'a'.repeat(2100)}`)), 400, 'VALIDATION_FAILED');
    expectError(await rawHttp(port, rawRequest('GET', `/api/events?cursor=${'a'.repeat(20 * KIB)}`)), 431);
    expectError(await rawHttp(port, rawRequest('GET', '/api/events', { 'X-Big': 'a'.repeat(20 * KIB) })), 431);
    const many: Record<string, string> = {};
    for (let i = 0; i < 1000; i++) many[`X-H${i}`] = 'a'.repeat(20);
    expectError(await rawHttp(port, rawRequest('GET', '/api/events', many)), 431);
    expect((await http(gw, 'GET', '/api/events')).status).toBe(200);
  });

  it('cuts a client that dribbles its headers (slowloris) after HTTP_HEADERS_TIMEOUT_MS, serving others meanwhile', async () => {
    const parts = [
      'GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n',
      ...Array.from({ length: 25 }, (_, i) => `X-Slow-${i}: 1\r\n`),
      '\r\n',
    ];
    const slow = rawHttp(port, parts, { gapMs: 300, timeoutMs: 10_000 });
    const meanwhile = await http(gw, 'GET', '/api/events');
    expect(meanwhile.status).toBe(200);
    const cut = await slow;
    expect(cut.closed || cut.status === 408).toBe(true);
    expectError(cut, 408);
    // Slack for a busy machine: the timeout is checked periodically, not to the millisecond.
    expect(cut.elapsedMs).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100);
    expect(cut.elapsedMs).toBeLessThan(HEADERS_TIMEOUT_MS + 3000);
  });

  it('cuts a client that dribbles its body after HTTP_REQUEST_TIMEOUT_MS, and nothing is created', async () => {
    const before = await eventList();
    const body = JSON.stringify({ name: 'Slow body', totalSeats: 10 });
    const head = rawRequest('POST', '/api/events', auth(), body).slice(0, -body.length);
    const cut = await rawHttp(port, [head, ...body.split('')], { gapMs: 300, timeoutMs: 15_000 });
    expectError(cut, 408);
    expect(cut.elapsedMs).toBeLessThan(REQUEST_TIMEOUT_MS + 3000);
    expect(await eventList()).toEqual(before);
  });

  it('sets helmet headers on proxied answers, gateway answers and errors alike', async () => {
    for (const path of ['/api/events', '/api/nope', '/health']) {
      const res = await http(gw, 'GET', path);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
      expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('x-powered-by')).toBeNull();
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    }
  });
});

describe('WebSocket limits through the gateway', () => {
  const wsUrl = () => `${gw.replace('http', 'ws')}/ws`;

  it('closes a socket that sends a frame over 4 KiB (1009), and keeps one under it open', async () => {
    const ws = await connectWs(wsUrl());
    ws.send({ type: 'PING', padding: 'p'.repeat(3900) });
    expect(await ws.next((m) => m.type === 'ERROR')).toMatchObject({ code: 'VALIDATION_FAILED' });
    ws.send({ type: 'PING' });
    await ws.next((m) => m.type === 'PONG');
    const closed = closeCode(ws.socket);
    ws.socket.send(JSON.stringify({ type: 'PING', padding: 'p'.repeat(5 * KIB) }));
    expect(await closed).toBe(1009);
    const huge = await connectWs(wsUrl());
    const hugeClosed = closeCode(huge.socket);
    huge.socket.send(Buffer.alloc(1024 * KIB, 0x61));
    expect(await hugeClosed).toBe(1009);
    expect((await http(gw, 'GET', '/health')).status).toBe(200);
  });

  it('caps event subscriptions per socket at 100; the socket stays usable', async () => {
    const ids = await inParallel(
      8,
      Array.from({ length: 101 }, (_, i) => async () => {
        const res = await http<{ id: string }>(gw, 'POST', '/api/events', {
          token: stack.admin,
          body: { name: `Cap ${i}`, totalSeats: 10 },
        });
        expect(res.status).toBe(201);
        return res.body.id;
      }),
    );
    const ws = await connectWs(wsUrl());
    try {
      for (const eventId of ids.slice(0, 100)) ws.send({ type: 'SUBSCRIBE_EVENT', eventId });
      await waitFor(() => ws.messages.filter((m) => m.type === 'SUBSCRIBED').length === 100, {
        timeoutMs: 20_000,
        what: '100 subscriptions',
      });
      ws.send({ type: 'SUBSCRIBE_EVENT', eventId: ids[100] });
      expect(await ws.next((m) => m.type === 'ERROR')).toMatchObject({
        code: 'VALIDATION_FAILED',
        message: expect.stringContaining('100'),
      });
      // Re-subscribing an event already counted, and unsubscribing to make room, both work.
      ws.send({ type: 'UNSUBSCRIBE_EVENT', eventId: ids[0] });
      await ws.next((m) => m.type === 'UNSUBSCRIBED');
      ws.send({ type: 'SUBSCRIBE_EVENT', eventId: ids[100] });
      await ws.next((m) => m.type === 'SUBSCRIBED' && m.id === ids[100]);
    } finally {
      ws.close();
    }
  }, 40_000);

  it('caps sockets per user at 20, by ?token= and by AUTH, and frees a slot when one closes', async () => {
    const userId = newUserId();
    const token = await userToken(userId);
    const sockets: WsClient[] = [];
    try {
      for (let i = 0; i < 20; i++) sockets.push(await connectWs(`${wsUrl()}?token=${token}`));
      const extra = await connectWs(`${wsUrl()}?token=${token}`);
      const extraClosed = closeCode(extra.socket);
      expect(await extra.next((m) => m.type === 'ERROR')).toMatchObject({ code: 'RATE_LIMITED' });
      expect(await extraClosed).toBe(1008);

      const byAuth = await connectWs(wsUrl());
      const byAuthClosed = closeCode(byAuth.socket);
      byAuth.send({ type: 'AUTH', token });
      expect(await byAuth.next((m) => m.type === 'ERROR' || m.type === 'AUTHENTICATED')).toMatchObject({
        type: 'ERROR',
        code: 'RATE_LIMITED',
      });
      expect(await byAuthClosed).toBe(1008);

      const first = sockets.shift()!;
      const firstClosed = closeCode(first.socket);
      first.close();
      await firstClosed;
      const again = await waitFor(async () => {
        const ws = await connectWs(wsUrl());
        ws.send({ type: 'AUTH', token });
        const answer = await ws.next((m) => m.type === 'ERROR' || m.type === 'AUTHENTICATED');
        if (answer.type === 'AUTHENTICATED') return ws;
        ws.close();
        return undefined;
      });
      sockets.push(again);
    } finally {
      for (const ws of sockets) ws.close();
    }
  }, 30_000);
});
