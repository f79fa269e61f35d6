import { randomUUID } from 'node:crypto';
import { ENVELOPE_VERSION, QueueNames, RoutingKeys, type SeatEnvelope, type SeatRoutingKey } from '@zephyr/contracts';
import { connectBroker, type Broker } from '@zephyr/runtime/messaging';
import { connectRedis, createLogger, createRedis, type Redis } from '@zephyr/runtime';
import { BACKING, http, waitFor, type Isolation } from '@zephyr/testing';
import { IndexKeys } from '../src/data-access/expiry-index';
import { holdKey, type HoldRef } from '../src/domain/holds';

/** The channel type amqp-connection-manager hands to a setup function (amqplib is not our direct dependency). */
type SetupFunc = NonNullable<NonNullable<Parameters<Broker['connection']['createChannel']>[0]>['setup']>;
type AmqpChannel = Parameters<SetupFunc>[0];

const logger = createLogger('expiry-worker-test', 'silent');

let holdVersions = 0;
/** A hold that exists nowhere but in the messages a test publishes. */
export const newHold = (eventId: string, seatNumber: number): HoldRef => ({
  eventId,
  seatNumber,
  holdVersion: ++holdVersions,
});

const STATUS_AFTER: Record<SeatRoutingKey, SeatEnvelope['data']['status']> = {
  [RoutingKeys.SeatHeld]: 'held',
  [RoutingKeys.SeatRefreshed]: 'held',
  [RoutingKeys.SeatReleased]: 'available',
  [RoutingKeys.SeatExpired]: 'available',
  [RoutingKeys.SeatReserved]: 'reserved',
};

let seatVersion = 0;
export function seatEnvelope(type: SeatRoutingKey, hold: HoldRef, expiresAtMs?: number): SeatEnvelope {
  const now = new Date().toISOString();
  return {
    id: randomUUID(),
    type,
    version: ENVELOPE_VERSION,
    occurredAt: now,
    producer: 'expiry-worker-test',
    data: {
      ...hold,
      status: STATUS_AFTER[type],
      userId: randomUUID(),
      version: ++seatVersion,
      ...(expiresAtMs === undefined ? {} : { heldAt: now, expiresAt: new Date(expiresAtMs).toISOString() }),
    },
  };
}

/** A publisher on the test's own exchange plus a Redis view of the worker's index. */
export interface Harness {
  broker: Broker;
  redis: Redis;
  publish(envelopes: SeatEnvelope[]): Promise<void>;
  /** Resolves once the worker's queue is bound, so published facts are not dropped as unroutable. */
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
  const redis = createRedis(BACKING.redisUrl, { keyPrefix: isolation.redisPrefix, name: 'expiry-worker-test' });
  try {
    await waitFor(() => broker.isConnected(), { what: 'test broker connection' });
    await connectRedis(redis);
  } catch (err) {
    // Without this the broker's reconnect loop keeps jest alive after a failed setup.
    await broker.close();
    redis.disconnect();
    await isolation.cleanup();
    throw err;
  }

  const publish = async (envelopes: SeatEnvelope[]) => {
    await Promise.all(envelopes.map((e) => broker.publish(e)));
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
      const queue = QueueNames.expiryWorkerSchedule(isolation.exchange);
      const cleanup = broker.connection.createChannel({
        setup: async (ch: AmqpChannel) => {
          await ch.deleteQueue(queue);
          await ch.deleteQueue(QueueNames.deadLetter(queue));
          await ch.deleteExchange(isolation.exchange);
          await ch.deleteExchange(QueueNames.deadLetterExchange(isolation.exchange));
        },
      });
      await cleanup.waitForConnect().catch(() => undefined);
      await cleanup.close().catch(() => undefined);
      await broker.close();
      await isolation.cleanup();
    },
  };
}

/** Reads one sample from a Prometheus text page (first series of that name). */
export async function metricValue(baseUrl: string, name: string): Promise<number> {
  const { body } = await http<string>(baseUrl, 'GET', '/metrics');
  const line = body.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  if (!line) throw new Error(`metric ${name} not found`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Nearest-rank percentile of a list of numbers. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
