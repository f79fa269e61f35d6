import { randomInt } from 'node:crypto';
import {
  freePort,
  http,
  inParallel,
  newUserId,
  untilGatewayRedisConnected,
  userToken,
  type JsonResponse,
  type ServiceProcess,
} from '@zephyr/testing';
import { expectError, portOf, rawHttp, startServiceSafely, upgradeRequest, useSecurityStack } from './support';

/**
 * Rate limits (OWASP API4/API6): per IP and per user (mutations only), shared by two gateway replicas through
 * Redis, with RateLimit-* and Retry-After headers; `0` turns a limit off; X-Forwarded-For is only believed
 * behind a trusted proxy; while Redis is away each replica falls back to its own in-memory window.
 * Every test uses its own client address (X-Forwarded-For behind TRUST_PROXY=1) so windows never mix.
 *
 * The limiter's fixed window opens at a key's first request. Counting assertions run in a window far longer
 * than any test (a sequence that straddled a 5 s window on a loaded machine once let 6 of 5 through), and
 * each such test asserts it stayed inside the window it counts. Only the Retry-After test needs a short
 * window, and it asserts nothing that depends on where the window boundary falls.
 */
const WINDOW_SECONDS = 120;
const SHORT_WINDOW_SECONDS = 2;
const PER_IP = 20;
const PER_USER = 10;

const stack = useSecurityStack('secrate', {
  replicas: { gateway: 2 },
  env: {
    RATE_LIMIT_PER_IP: String(PER_IP),
    RATE_LIMIT_PER_USER: String(PER_USER),
    RATE_LIMIT_WINDOW_SECONDS: String(WINDOW_SECONDS),
    TRUST_PROXY: '1',
  },
});
let gateways: string[];
let eventId: string;

const fakeIp = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;

beforeAll(async () => {
  gateways = stack.of('gateway').map((g) => g.baseUrl);
  expect(gateways).toHaveLength(2);
  eventId = await stack.createEvent(
    { name: 'Limits', totalSeats: 100, maxSeatsPerUser: 100 },
    { headers: { 'x-forwarded-for': fakeIp() } },
  );
});

/** One more gateway on the same upstreams, with its own limits. */
async function gatewayWith(env: Record<string, string>): Promise<ServiceProcess> {
  const gateway = await startServiceSafely(
    'gateway',
    stack.serviceEnv({ RATE_LIMIT_WINDOW_SECONDS: String(WINDOW_SECONDS), ...env }),
  );
  stack.onTeardown(() => gateway.stop());
  return gateway;
}

const count = (results: JsonResponse[], status: number) => results.filter((r) => r.status === status).length;

function expectRateLimited(res: JsonResponse, limit: number, windowSeconds = WINDOW_SECONDS): void {
  expectError(res, 429, 'RATE_LIMITED');
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= windowSeconds).toBe(true);
  expect(res.headers.get('ratelimit-limit')).toBe(String(limit));
  expect(res.headers.get('ratelimit-remaining')).toBe('0');
  const reset = Number(res.headers.get('ratelimit-reset'));
  expect(reset >= 1 && reset <= windowSeconds).toBe(true);
}

/** Runs a counting sequence and fails loudly (rather than miscounting) if it outlived the window it counts in. */
async function withinOneWindow<T>(sequence: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const result = await sequence();
  expect(Date.now() - started).toBeLessThan(WINDOW_SECONDS * 1000);
  return result;
}

describe('per-IP limit shared by two gateways', () => {
  it('keeps the combined rate across both replicas within the limit', async () => {
    const ip = fakeIp();
    const results = await withinOneWindow(() =>
      inParallel(
        6,
        Array.from(
          { length: 3 * PER_IP },
          (_, i) => () => http(gateways[i % 2]!, 'GET', '/api/events', { headers: { 'x-forwarded-for': ip } }),
        ),
      ),
    );
    expect(count(results, 200) + count(results, 429)).toBe(results.length);
    // A burst inside one window gets exactly the limit.
    expect(count(results, 200)).toBe(PER_IP);
    // Each replica alone would have let 30 through: the window is shared.
    for (const [i] of gateways.entries())
      expect(results.filter((r, j) => j % 2 === i && r.status === 429).length).toBeGreaterThan(0);
    for (const refused of results.filter((r) => r.status === 429)) expectRateLimited(refused, PER_IP);
  });

  it('sets RateLimit-* headers on allowed requests, counting across both replicas', async () => {
    const ip = fakeIp();
    await withinOneWindow(async () => {
      const first = await http(gateways[0]!, 'GET', '/api/events', { headers: { 'x-forwarded-for': ip } });
      expect(first.status).toBe(200);
      expect(first.headers.get('ratelimit-limit')).toBe(String(PER_IP));
      expect(first.headers.get('ratelimit-remaining')).toBe(String(PER_IP - 1));
      const second = await http(gateways[1]!, 'GET', '/api/events', { headers: { 'x-forwarded-for': ip } });
      expect(second.headers.get('ratelimit-remaining')).toBe(String(PER_IP - 2));
      const rest: JsonResponse[] = [];
      for (let i = 0; i < PER_IP - 1; i++)
        rest.push(await http(gateways[i % 2]!, 'GET', '/api/events', { headers: { 'x-forwarded-for': ip } }));
      expect(rest.map((r) => r.status)).toEqual([...Array(PER_IP - 2).fill(200), 429]);
      expectRateLimited(rest.at(-1)!, PER_IP);
    });
  });

  it('lets the client in again once the Retry-After it was given has passed', async () => {
    const short = await gatewayWith({
      RATE_LIMIT_PER_IP: '1',
      RATE_LIMIT_PER_USER: '0',
      RATE_LIMIT_WINDOW_SECONDS: String(SHORT_WINDOW_SECONDS),
      TRUST_PROXY: '0',
      REDIS_KEY_PREFIX: `${stack.isolation.redisPrefix}short:`,
    });
    // Two requests in a row land in one window unless a boundary falls between them; then the next pair does.
    let refused: JsonResponse | undefined;
    for (let i = 0; i < 10 && !refused; i++) {
      const res = await http(short.baseUrl, 'GET', '/api/events');
      if (res.status === 429) refused = res;
    }
    expect(refused).toBeDefined();
    expectRateLimited(refused!, 1, SHORT_WINDOW_SECONDS);
    // Waiting out the announced Retry-After is the client behaviour under test, not a settle delay.
    await new Promise((resolve) => setTimeout(resolve, Number(refused!.headers.get('retry-after')) * 1000));
    expect((await http(short.baseUrl, 'GET', '/api/events')).status).toBe(200);
  });

  it('counts WebSocket upgrades against the same per-IP window', async () => {
    const ip = fakeIp();
    const results = await withinOneWindow(() =>
      inParallel(
        4,
        Array.from(
          { length: PER_IP + 5 },
          (_, i) => () => rawHttp(portOf(gateways[i % 2]!), upgradeRequest('/ws', { 'X-Forwarded-For': ip })),
        ),
      ),
    );
    expect(results.filter((r) => r.status === 101).length).toBeLessThanOrEqual(PER_IP);
    const refused = results.filter((r) => r.status === 429);
    expect(refused.length).toBeGreaterThanOrEqual(5);
    for (const r of refused) {
      expectError(r, 429, 'RATE_LIMITED');
      expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }
  });
});

describe('per-user limit', () => {
  it('applies to mutations only, per user across IPs and replicas, and changes nothing when it refuses', async () => {
    const userId = newUserId();
    const token = await userToken(userId);
    const ip = fakeIp();
    const holds = await withinOneWindow(async () => {
      const answers: JsonResponse[] = [];
      for (let seat = 1; seat <= PER_USER + 2; seat++) {
        answers.push(
          await http(gateways[seat % 2]!, 'POST', `/api/seats/${eventId}/${seat}/hold`, {
            token,
            headers: { 'x-forwarded-for': ip },
          }),
        );
      }
      return answers;
    });
    expect(holds.slice(0, PER_USER).map((r) => r.status)).toEqual(Array(PER_USER).fill(201));
    for (const refused of holds.slice(PER_USER)) expectRateLimited(refused, PER_USER);
    // From another address the user is still limited; other users are not.
    expectRateLimited(
      await http(gateways[0]!, 'POST', `/api/seats/${eventId}/40/hold`, {
        token,
        headers: { 'x-forwarded-for': fakeIp() },
      }),
      PER_USER,
    );
    expect(
      (
        await http(gateways[0]!, 'POST', `/api/seats/${eventId}/41/hold`, {
          token: await userToken(newUserId()),
          headers: { 'x-forwarded-for': ip },
        })
      ).status,
    ).toBe(201);
    // Reads by the same user are not counted against the user limit.
    const readIp = fakeIp();
    const reads = await inParallel(
      4,
      Array.from(
        { length: PER_USER + 5 },
        (_, i) => () =>
          http(gateways[i % 2]!, 'GET', `/api/seats/${eventId}/user/${userId}/holds`, {
            token,
            headers: { 'x-forwarded-for': readIp },
          }),
      ),
    );
    expect(reads.map((r) => r.status)).toEqual(Array(PER_USER + 5).fill(200));
    expect((reads[0]!.body as { items: unknown[] }).items).toHaveLength(PER_USER);
    for (const seat of [PER_USER + 1, PER_USER + 2, 40]) {
      expect(
        (
          await http(gateways[0]!, 'GET', `/api/seats/${eventId}/${seat}/status`, {
            headers: { 'x-forwarded-for': fakeIp() },
          })
        ).body,
      ).toMatchObject({ status: 'available' });
    }
  });
});

describe('configuration', () => {
  it('turns both limits off with 0: no refusals, no RateLimit headers', async () => {
    const open = await gatewayWith({
      RATE_LIMIT_PER_IP: '0',
      RATE_LIMIT_PER_USER: '0',
      REDIS_KEY_PREFIX: `${stack.isolation.redisPrefix}off:`,
    });
    const token = await userToken(newUserId());
    const results = await inParallel(6, [
      ...Array.from({ length: 3 * PER_IP }, () => () => http(open.baseUrl, 'GET', '/api/events')),
      ...Array.from(
        { length: 3 * PER_USER },
        (_, i) => () => http(open.baseUrl, 'POST', `/api/seats/${eventId}/${60 + (i % 5)}/hold`, { token }),
      ),
    ]);
    expect(count(results, 429)).toBe(0);
    expect(results.every((r) => r.status < 500)).toBe(true);
    expect(results.some((r) => r.headers.has('ratelimit-limit') || r.headers.has('retry-after'))).toBe(false);
  });

  it('does not believe X-Forwarded-For without TRUST_PROXY: rotating it does not escape the per-IP limit', async () => {
    const direct = await gatewayWith({
      RATE_LIMIT_PER_IP: '5',
      RATE_LIMIT_PER_USER: '0',
      TRUST_PROXY: '0',
      REDIS_KEY_PREFIX: `${stack.isolation.redisPrefix}direct:`,
    });
    // Counted in Redis only once the new gateway's connection is up (before that, in its memory window).
    await untilGatewayRedisConnected(direct.baseUrl);
    const results = await withinOneWindow(async () => {
      const answers: JsonResponse[] = [];
      for (let i = 0; i < 10; i++)
        answers.push(
          await http(direct.baseUrl, 'GET', '/api/events', {
            headers: { 'x-forwarded-for': fakeIp(), 'x-real-ip': fakeIp() },
          }),
        );
      return answers;
    });
    // All ten come from 127.0.0.1 inside one window: exactly the first five pass.
    expect(results.map((r) => r.status)).toEqual([...Array(5).fill(200), ...Array(5).fill(429)]);
  });
});

describe('Redis outage direction', () => {
  it('falls back to a per-replica in-memory window: proper answers, never a 500, the limit still applies', async () => {
    const cut = await gatewayWith({
      REDIS_URL: `redis://127.0.0.1:${freePort()}`,
      RATE_LIMIT_PER_IP: '8',
      RATE_LIMIT_PER_USER: '3',
      TRUST_PROXY: '0',
    });
    expect((await http(cut.baseUrl, 'GET', '/health/redis')).status).toBe(503);
    const token = await userToken(newUserId());
    const holds: JsonResponse[] = [];
    for (let seat = 80; seat < 84; seat++)
      holds.push(await http(cut.baseUrl, 'POST', `/api/seats/${eventId}/${seat}/hold`, { token }));
    expect(holds.slice(0, 3).map((r) => r.status)).toEqual([201, 201, 201]);
    expectRateLimited(holds[3]!, 3);
    const reads: JsonResponse[] = [];
    for (let i = 0; i < 6; i++) reads.push(await http(cut.baseUrl, 'GET', '/api/events'));
    expect(reads.map((r) => r.status)).toEqual([200, 200, 200, 200, 429, 429]);
    expect(reads[0]!.headers.get('ratelimit-limit')).toBe('8');
    expectRateLimited(reads[5]!, 8);
    expect((await http(cut.baseUrl, 'GET', '/health')).status).toBe(200);
  });
});
