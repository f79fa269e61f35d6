import { randomUUID } from 'node:crypto';
import type { RedisClient } from '@zephyr/runtime';
import { useTestRedis } from '@zephyr/testing';
import { holdKey, type HoldRef } from '../domain/expiry-schedule';
import { createExpiryIndex, IndexKeys, type ExpiryIndex } from './expiry-index';

const testRedis = useTestRedis('expiryindex');
let redis: RedisClient;
let index: ExpiryIndex;
const eventId = randomUUID();
const ref = (seatNumber: number, holdVersion = seatNumber): HoldRef => ({ eventId, seatNumber, holdVersion });
const plain = ({ eventId: e, seatNumber, holdVersion }: HoldRef): HoldRef => ({ eventId: e, seatNumber, holdVersion });

beforeAll(() => {
  redis = testRedis.client;
  index = createExpiryIndex(redis);
});

beforeEach(async () => {
  await redis.del(...Object.values(IndexKeys));
});

const schedule = (entries: [HoldRef, number][]) =>
  index.apply(entries.map(([hold, dueAtMs]) => ({ kind: 'schedule' as const, hold, dueAtMs })));

test('claims only entries that are due, up to the limit, earliest first, with their due time', async () => {
  const now = Date.now();
  await schedule([
    [ref(1), now - 3000],
    [ref(2), now - 2000],
    [ref(3), now - 1000],
    [ref(4), now + 60_000],
  ]);
  const first = await index.claimDue(2, 10_000);
  expect(first.holds).toEqual([
    { ...ref(1), dueAtMs: now - 3000 },
    { ...ref(2), dueAtMs: now - 2000 },
  ]);
  expect(Math.abs(first.nowMs - Date.now())).toBeLessThan(1000);
  expect(first.nextAtMs).toBe(now - 1000);

  const second = await index.claimDue(10, 10_000);
  expect(second.holds.map(plain)).toEqual([ref(3)]);
  // Next claimable: the earliest lease end (before the future entry falls due).
  expect(second.nextAtMs).toBe(first.nowMs + 10_000);
  expect((await index.claimDue(10, 10_000)).holds).toEqual([]);
  expect(await index.counts()).toEqual({ backlog: 3, scheduled: 4 });
});

test('concurrent claimers never get the same entry', async () => {
  const now = Date.now();
  await schedule(Array.from({ length: 2000 }, (_, i): [HoldRef, number] => [ref(i + 1), now - 1000]));
  const claims = await Promise.all(Array.from({ length: 8 }, () => index.claimDue(500, 10_000)));
  const claimed = claims.flatMap((c) => c.holds.map((h) => h.holdVersion));
  expect(claimed).toHaveLength(2000);
  expect(new Set(claimed).size).toBe(2000);
});

test('an entry whose lease ran out is claimed again, with its original due time', async () => {
  const dueAt = Date.now() - 500;
  await schedule([[ref(1), dueAt]]);
  expect((await index.claimDue(10, 200)).holds).toHaveLength(1);
  expect((await index.claimDue(10, 200)).holds).toHaveLength(0);
  await new Promise((resolve) => setTimeout(resolve, 250));
  expect((await index.claimDue(10, 10_000)).holds).toEqual([{ ...ref(1), dueAtMs: dueAt }]);
});

test('a due copy of an entry another replica is working on is dropped, not sent twice', async () => {
  const now = Date.now();
  await schedule([[ref(1), now - 100]]);
  expect((await index.claimDue(10, 10_000)).holds).toHaveLength(1);
  await schedule([[ref(1), now - 50]]); // e.g. a redelivered seat.held
  expect((await index.claimDue(10, 10_000)).holds).toEqual([]);
  expect(await redis.zcard(IndexKeys.due)).toBe(0);
});

test('settling removes finished entries and puts refreshed ones back at their new expiry', async () => {
  const now = Date.now();
  await schedule([
    [ref(1), now - 100],
    [ref(2), now - 100],
  ]);
  await index.claimDue(10, 10_000);
  await index.settle({ done: [ref(1)], rescheduled: [{ hold: ref(2), dueAtMs: now + 30_000 }] });
  expect(await redis.zcard(IndexKeys.inflight)).toBe(0);
  expect(await redis.hlen(IndexKeys.inflightDueAt)).toBe(0);
  expect(await redis.zrange(IndexKeys.due, 0, -1, 'WITHSCORES')).toEqual([holdKey(ref(2)), String(now + 30_000)]);
});

test('applies schedule changes in order; an ended hold leaves the index wherever it was', async () => {
  const now = Date.now();
  await schedule([[ref(9), now - 100]]);
  await index.claimDue(10, 10_000);
  await index.apply([
    { kind: 'schedule', hold: ref(1), dueAtMs: now + 1000 },
    { kind: 'schedule', hold: ref(1), dueAtMs: now + 5000 }, // refreshed
    { kind: 'schedule', hold: ref(2), dueAtMs: now + 1000 },
    { kind: 'unschedule', hold: ref(2) },
    { kind: 'unschedule', hold: ref(9) }, // released while in flight
    { kind: 'ignore', reason: 'test' },
    // Runs of one kind go as one command each; a later run still wins over an earlier one.
    { kind: 'schedule', hold: ref(3), dueAtMs: now + 2000 },
    { kind: 'unschedule', hold: ref(3) },
    { kind: 'schedule', hold: ref(3), dueAtMs: now + 3000 },
  ]);
  expect(await redis.zrange(IndexKeys.due, 0, -1, 'WITHSCORES')).toEqual([
    holdKey(ref(3)),
    String(now + 3000),
    holdKey(ref(1)),
    String(now + 5000),
  ]);
  expect(await redis.zcard(IndexKeys.inflight)).toBe(0);
  expect(await redis.hlen(IndexKeys.inflightDueAt)).toBe(0);
});

test('an unreadable entry is dropped instead of being leased forever', async () => {
  await redis.zadd(IndexKeys.due, Date.now() - 10, 'not-a-hold');
  await schedule([[ref(1), Date.now() - 10]]);
  expect((await index.claimDue(10, 10_000)).holds.map(plain)).toEqual([ref(1)]);
  expect(await redis.zrange(IndexKeys.inflight, 0, -1)).toEqual([holdKey(ref(1))]);
});
