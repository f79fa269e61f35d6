import Redis from 'ioredis';
import { http, newUser, useStack, waitFor } from '@zephyr/testing';
import { auditRowsReach } from './audit';

/**
 * Issue 10, item 8: per-event Redis keys are not kept forever. An event with no hold and nothing left to
 * relay leaves Redis once idle (here after 1 s); its next use loads it again with its reservations and
 * counters from PostgreSQL. An event with a live hold stays.
 */
const stack = useStack('idleevents', {
  services: ['event-service', 'seat-service'],
  env: { IDLE_EVENT_EVICT_AFTER_S: '1', IDLE_EVENT_SCAN_EVERY_S: '1' },
});
let redis: Redis;

beforeAll(() => {
  redis = new Redis(stack.isolation.env.REDIS_URL!);
});

afterAll(() => redis?.disconnect());

const metaKey = (eventId: string) => `${stack.isolation.redisPrefix}seat:{${eventId}}:meta`;

it('evicts an idle event from Redis and brings it back with its reservations and growing versions', async () => {
  const seatUrl = stack.urlOf('seat-service');
  const { token: aToken } = await newUser();
  const { token: bToken } = await newUser();
  const idle = await stack.createEvent({ name: 'Sold and quiet', totalSeats: 10 });
  const busy = await stack.createEvent({ name: 'Still holding', totalSeats: 10 });
  expect((await http(seatUrl, 'POST', `/api/seats/${idle}/1/hold`, { token: aToken, body: {} })).status).toBe(201);
  expect((await http(seatUrl, 'POST', `/api/seats/${idle}/1/reserve`, { token: aToken })).status).toBe(200);
  expect(
    (await http(seatUrl, 'POST', `/api/seats/${busy}/1/hold`, { token: aToken, body: { holdDuration: 600 } })).status,
  ).toBe(201);
  const before = await http<{ version: number }>(seatUrl, 'GET', `/api/events/${idle}/seats`);

  await waitFor(async () => (await redis.exists(metaKey(idle))) === 0, {
    timeoutMs: 15_000,
    intervalMs: 200,
    what: 'the idle event evicted',
  });
  expect(await redis.keys(`${stack.isolation.redisPrefix}seat:{${idle}}:*`)).toEqual([]);
  // The event with a live hold stays, over several more scans.
  await new Promise((resolve) => setTimeout(resolve, 2500));
  expect(await redis.exists(metaKey(busy))).toBe(1);

  // Next use: the reservation is back, another seat can be held, versions keep growing, the relay relays.
  const taken = await http(seatUrl, 'POST', `/api/seats/${idle}/1/hold`, { token: bToken, body: {} });
  expect(taken.body).toMatchObject({ error: { code: 'SEAT_UNAVAILABLE' } });
  expect((await http(seatUrl, 'POST', `/api/seats/${idle}/2/hold`, { token: bToken, body: {} })).status).toBe(201);
  const after = await http<{ version: number }>(seatUrl, 'GET', `/api/events/${idle}/seats`);
  expect(after.body.version).toBeGreaterThan(before.body.version);
  await auditRowsReach(stack, idle, 1, "the reloaded event's new hold relayed", { seatNumber: 2 });
}, 60_000);
