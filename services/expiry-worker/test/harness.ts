import { randomUUID } from 'node:crypto';
import { RoutingKeys, type SeatEnvelope, type SeatRoutingKey } from '@zephyr/contracts';
import { connectBroker, type Broker } from '@zephyr/runtime/messaging';
import { connectRedis, createLogger, createRedis, type Redis } from '@zephyr/runtime';
import {
  BACKING,
  seatChangeBatchesFor,
  seatEnvelope as sharedSeatEnvelope,
  waitFor,
  type Isolation,
} from '@zephyr/testing';
import { IndexKeys } from '../src/data-access/expiry-index';
import { holdKey, type HoldRef } from '../src/domain/holds';

const logger = createLogger('expiry-worker-test', 'silent');

let holdVersions = 0;
/** A hold that exists nowhere but in the messages a test publishes. */
export const newHold = (eventId: string, seatNumber: number): HoldRef => ({
  eventId,
  seatNumber,
  holdVersion: ++holdVersions,
});

/** A seat.* fact about a hold, with its expiry when it has one. */
export function seatEnvelope(type: SeatRoutingKey, hold: HoldRef, expiresAtMs?: number): SeatEnvelope {
  const now = new Date().toISOString();
  return sharedSeatEnvelope(type, {
    ...hold,
    ...(expiresAtMs === undefined ? {} : { heldAt: now, expiresAt: new Date(expiresAtMs).toISOString() }),
  });
}

/** A publisher on the test's own exchange plus a Redis view of the worker's index. */
export interface Harness {
  broker: Broker;
  redis: Redis;
  publish(envelopes: SeatEnvelope[]): Promise<void>;
  /** Resolves once the worker's queue is bound, so published batches are not dropped as unroutable. */
  waitForWorkerQueue(): Promise<void>;
  /** Which of these holds are in the index (waiting or in flight). */
  indexed(holds: readonly HoldRef[]): Promise<{ due: number; inflight: number }>;
  close(): Promise<void>;
}

export async function createHarness(isolation: Isolation): Promise<Harness> {
  let unroutable = 0;
  const broker = connectBroker({
    url: BACKING.amqpUrl,
    exchange: isolation.exchange,
    logger,
    onUnroutable: () => {
      unroutable += 1;
    },
  });
  const redis = createRedis(BACKING.redisUrl, {
    clusterNodes: BACKING.redisClusterNodes,
    keyPrefix: isolation.redisPrefix,
    name: 'expiry-worker-test',
  });
  try {
    await waitFor(() => broker.isConnected(), { what: 'test broker connection' });
    await connectRedis(redis);
  } catch (err) {
    // Without this the broker's reconnect loop keeps jest alive after a failed setup.
    await broker.close();
    redis.disconnect();
    throw err;
  }

  // As the seat-service's relays publish them to the worker: in batch messages.
  const publish = async (envelopes: SeatEnvelope[]) => {
    await Promise.all(seatChangeBatchesFor(envelopes).map((batch) => broker.publish(batch)));
  };

  return {
    broker,
    redis,
    publish,
    async waitForWorkerQueue() {
      await waitFor(
        async () => {
          const before = unroutable;
          await publish([seatEnvelope(RoutingKeys.SeatReleased, newHold(randomUUID(), 1))]);
          return unroutable === before;
        },
        { what: 'worker queue bound', intervalMs: 100 },
      );
    },
    async indexed(holds) {
      const members = holds.map(holdKey);
      const [due, inflight] = await Promise.all([
        redis.zmscore(IndexKeys.due, ...members),
        redis.zmscore(IndexKeys.inflight, ...members),
      ]);
      return { due: due.filter((s) => s !== null).length, inflight: inflight.filter((s) => s !== null).length };
    },
    async close() {
      await redis.del(...Object.values(IndexKeys));
      redis.disconnect();
      await broker.close();
    },
  };
}

export { metricValue } from '@zephyr/testing';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Nearest-rank percentile of a list of numbers. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
