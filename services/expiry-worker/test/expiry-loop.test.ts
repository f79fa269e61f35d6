import { randomUUID } from 'node:crypto';
import { createLogger } from '@zephyr/runtime';
import { waitFor } from '@zephyr/testing';
import type { ExpiryIndex, HoldExpirer } from '../src/domain/ports';
import { startExpiryLoop } from '../src/entry-points/jobs/expiry-loop';
import type { HoldRef } from '../src/domain/settlement';
import { FakeSchedule } from './fake-seat-service';

const logger = createLogger('expiry-loop-test', 'silent');
let schedule: FakeSchedule;
let index: ExpiryIndex;

beforeEach(() => {
  schedule = new FakeSchedule();
  index = {
    claimDue: async (limit, leaseMs) => schedule.claim(limit, leaseMs),
    settle: async (s) => schedule.settle(s),
  };
});

/** The loop under test with the options most tests share; `options` overrides them. */
const startLoop = (expirer: HoldExpirer, options: Partial<Parameters<typeof startExpiryLoop>[0]> = {}) =>
  startExpiryLoop({
    index,
    expirer,
    logger,
    batchSize: 500,
    pollMs: 20,
    leaseMs: 10_000,
    onExpired: () => undefined,
    ...options,
  });

const holdsDueNow = async (count: number): Promise<HoldRef[]> => {
  const eventId = randomUUID();
  const holds = Array.from({ length: count }, (_, i) => ({ eventId, seatNumber: i + 1, holdVersion: i + 1 }));
  for (const hold of holds) schedule.schedule(hold, Date.now() - 10);
  return holds;
};

test('retries with growing backoff while the seat-service fails, then drains in full batches', async () => {
  const holds = await holdsDueNow(1200);
  const callTimes: number[] = [];
  const sent: HoldRef[] = [];
  const batchSizes: number[] = [];
  const expirer: HoldExpirer = {
    async expire(batch) {
      callTimes.push(Date.now());
      if (callTimes.length <= 3) throw new Error('connect ECONNREFUSED');
      sent.push(...batch);
      batchSizes.push(batch.length);
      return batch.map((h) => ({ ...h, outcome: 'expired' as const }));
    },
  };
  const lags: (number | undefined)[] = [];
  // The pauses the loop chose, as it logs them; wall-clock gaps on a loaded machine only ever add to them.
  const retries: number[] = [];
  const recording = Object.create(logger) as typeof logger;
  recording.warn = ((fields: { retryInMs?: number }) => {
    if (fields.retryInMs !== undefined) retries.push(fields.retryInMs);
  }) as typeof logger.warn;
  const loop = startLoop(expirer, {
    logger: recording,
    leaseMs: 1000, // failed batches come back after this; long enough that a slow machine never re-claims a live batch
    onExpired: (lag) => lags.push(lag),
  });
  try {
    await waitFor(() => sent.length >= holds.length, { timeoutMs: 15_000, what: 'all holds sent' });
  } finally {
    await loop.stop();
  }
  // Doubling from 2 x poll (20 ms) after each failure, and each retry waited at least that long.
  expect(retries).toEqual([40, 80, 160]);
  const gaps = callTimes.slice(1, 4).map((t, i) => t - callTimes[i]!);
  gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(retries[i]! - 2));
  expect(new Set(sent.map((h) => h.holdVersion)).size).toBe(holds.length);
  expect(batchSizes.sort((a, b) => a - b)).toEqual([200, 500, 500]);
  expect(lags).toHaveLength(holds.length);
  expect(lags.every((l) => l !== undefined && l >= 0)).toBe(true);
  expect(schedule.counts()).toEqual({ backlog: 0, scheduled: 0 });
});

test('stop() waits for the batch in flight and settles it', async () => {
  await holdsDueNow(10);
  let release: () => void = () => undefined;
  let called = false;
  const expirer: HoldExpirer = {
    expire(batch) {
      called = true;
      return new Promise((resolve) => {
        release = () => resolve(batch.map((h) => ({ ...h, outcome: 'gone' as const })));
      });
    },
  };
  const loop = startLoop(expirer);
  await waitFor(() => called, { what: 'batch in flight' });
  let stopped = false;
  const stopping = loop.stop().then(() => {
    stopped = true;
  });
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(stopped).toBe(false);
  release();
  await stopping;
  expect(schedule.counts()).toEqual({ backlog: 0, scheduled: 0 });
});
