import { randomUUID } from 'node:crypto';
import { InternalPaths, type ExpiryClaim, type ExpiryCounts } from '@zephyr/contracts';
import { connectRedis, createRedis, type RedisClient } from '@zephyr/runtime';
import { BACKING, http, newUser, useStack, waitFor } from '@zephyr/testing';
import { createExpiryIndex, IndexKeys } from '../src/data-access/expiry-index';

/** The expiry schedule as the seat-service keeps it (its relay) and serves it to the expiry worker. */
const stack = useStack('expirysched', { services: ['event-service', 'seat-service'] });
let seatUrl: string;
let redis: RedisClient;

beforeAll(async () => {
  seatUrl = stack.urlOf('seat-service');
  redis = createRedis(BACKING.redisUrl, {
    clusterNodes: BACKING.redisClusterNodes,
    keyPrefix: stack.isolation.redisPrefix,
    name: 'expiry-schedule-test',
  });
  await connectRedis(redis);
  stack.onTeardown(() => redis.quit());
});

beforeEach(async () => {
  await redis.del(...Object.values(IndexKeys));
});

const counts = async () => (await http<ExpiryCounts>(seatUrl, 'GET', InternalPaths.expiryCounts)).body;
const claim = (body: unknown) => http<ExpiryClaim>(seatUrl, 'POST', InternalPaths.claimExpiries, { body });
const settle = (body: unknown) => http(seatUrl, 'POST', InternalPaths.settleExpiries, { body });

it('follows holds as the relay hands them on: scheduled at expiresAt, gone once released or reserved', async () => {
  const eventId = await stack.createEvent();
  const alice = await newUser();
  const expiresAt: number[] = [];
  for (const seat of [1, 2, 3]) {
    const res = await http<{ expiresAt: string }>(seatUrl, 'POST', `/api/seats/${eventId}/${seat}/hold`, {
      token: alice.token,
      body: { holdDuration: 120 },
    });
    expect(res.status).toBe(201);
    expiresAt.push(Date.parse(res.body.expiresAt));
  }
  await waitFor(async () => (await counts()).scheduled === 3, { what: 'three holds scheduled' });
  expect(await counts()).toEqual({ backlog: 0, scheduled: 3 });

  expect((await http(seatUrl, 'DELETE', `/api/seats/${eventId}/1/hold`, { token: alice.token })).status).toBe(204);
  expect((await http(seatUrl, 'POST', `/api/seats/${eventId}/2/reserve`, { token: alice.token })).status).toBe(200);
  await waitFor(async () => (await counts()).scheduled === 1, { what: 'released and reserved holds unscheduled' });

  // Nothing is due yet; the claim says when the next one will be: seat 3's expiresAt.
  const early = await claim({ limit: 10, leaseMs: 1000 });
  expect(early.status).toBe(200);
  expect(early.body.holds).toEqual([]);
  expect(early.body.nextAtMs).toBe(expiresAt[2]);
});

it('leases each due entry to one claimer only, however many race, and settles what they finished', async () => {
  const index = createExpiryIndex(redis);
  const eventId = randomUUID();
  const holds = Array.from({ length: 600 }, (_, i) => ({ eventId, seatNumber: i + 1, holdVersion: i + 1 }));
  await index.apply(holds.map((hold) => ({ kind: 'schedule' as const, hold, dueAtMs: Date.now() - 1000 })));

  const claimed: string[] = [];
  const claimer = async () => {
    for (;;) {
      const res = await claim({ limit: 50, leaseMs: 60_000 });
      expect(res.status).toBe(200);
      if (res.body.holds.length === 0) return;
      claimed.push(...res.body.holds.map((h) => `${h.seatNumber}/${h.holdVersion}`));
      const done = res.body.holds.map(({ eventId: e, seatNumber, holdVersion }) => ({
        eventId: e,
        seatNumber,
        holdVersion,
      }));
      expect((await settle({ done, rescheduled: [] })).status).toBe(204);
    }
  };
  await Promise.all([claimer(), claimer(), claimer(), claimer()]);
  expect(claimed).toHaveLength(holds.length);
  expect(new Set(claimed).size).toBe(holds.length);
  expect(await counts()).toEqual({ backlog: 0, scheduled: 0 });
});

it('puts a rescheduled hold back at its new expiry', async () => {
  const index = createExpiryIndex(redis);
  const hold = { eventId: randomUUID(), seatNumber: 4, holdVersion: 9 };
  await index.apply([{ kind: 'schedule', hold, dueAtMs: Date.now() - 10 }]);
  const first = await claim({ limit: 10, leaseMs: 60_000 });
  expect(first.body.holds).toEqual([{ ...hold, dueAtMs: expect.any(Number) }]);
  const later = Date.now() + 60_000;
  expect((await settle({ done: [], rescheduled: [{ hold, dueAtMs: later }] })).status).toBe(204);
  expect(await counts()).toEqual({ backlog: 0, scheduled: 1 });
  expect((await claim({ limit: 10, leaseMs: 60_000 })).body).toMatchObject({ holds: [], nextAtMs: later });
});

it('refuses malformed claims and settlements with 400 and changes nothing', async () => {
  const index = createExpiryIndex(redis);
  const hold = { eventId: randomUUID(), seatNumber: 1, holdVersion: 1 };
  await index.apply([{ kind: 'schedule', hold, dueAtMs: Date.now() - 10 }]);
  for (const body of [{}, { limit: 0, leaseMs: 1000 }, { limit: 501, leaseMs: 1000 }, { limit: '5', leaseMs: 1000 }]) {
    expect((await claim(body)).status).toBe(400);
  }
  for (const body of [
    {},
    { done: [hold] },
    { done: [{ ...hold, seatNumber: 0 }], rescheduled: [] },
    { done: [], rescheduled: [{ hold, dueAtMs: -1 }] },
    { done: [], rescheduled: [], extra: true },
  ]) {
    expect((await settle(body)).status).toBe(400);
  }
  expect(await counts()).toEqual({ backlog: 1, scheduled: 1 });
});
