import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { QueueNames, RoutingKeys } from '@zephyr/contracts';
import {
  BACKING,
  isolate,
  startService,
  startTcpProxy,
  waitFor,
  type Isolation,
  type ServiceProcess,
  type TcpProxy,
} from '@zephyr/testing';
import type { HoldRef } from '../src/domain/holds';
import { FakeSeatService } from './fake-seat-service';
import { createHarness, metricValue, newHold, seatEnvelope, sleep, type Harness } from './harness';

let isolation: Isolation;
let harness: Harness;
let seatService: FakeSeatService;
let proxy: TcpProxy;
let worker: ServiceProcess;

beforeAll(async () => {
  isolation = await isolate('expiryoutage');
  harness = await createHarness(isolation);
  seatService = await new FakeSeatService().start();
  proxy = await startTcpProxy(Number(new URL(BACKING.redisUrl).port || 6379));
  const viaProxy = new URL(BACKING.redisUrl);
  viaProxy.port = String(proxy.port);
  worker = await startService('expiry-worker', {
    ...isolation.env,
    REDIS_URL: viaProxy.toString(),
    SEAT_SERVICE_URL: seatService.url,
  });
  await harness.waitForWorkerQueue();
});

afterAll(async () => {
  await worker?.stop();
  await proxy?.close();
  await seatService?.stop();
  await harness?.close();
});

async function dlqDepth(queue: string): Promise<number> {
  const connection = await amqp.connect(BACKING.amqpUrl);
  try {
    const channel = await connection.createChannel();
    return (await channel.checkQueue(QueueNames.deadLetter(queue))).messageCount;
  } finally {
    await connection.close();
  }
}

test('a Redis outage while seat facts flow dead-letters nothing, and every fact is applied once Redis is back', async () => {
  const eventId = randomUUID();
  const holds: HoldRef[] = Array.from({ length: 300 }, (_, i) => newHold(eventId, i + 1));
  const farAhead = Date.now() + 10 * 60_000;
  const facts = holds.map((h) => seatEnvelope(RoutingKeys.SeatHeld, h, farAhead));

  await harness.publish(facts.slice(0, 100));
  await proxy.down();
  await harness.publish(facts.slice(100, 200));
  // The outage under test: the worker's Redis is unreachable for 1.5 s while facts keep arriving.
  await sleep(1500);
  await harness.publish(facts.slice(200));
  await proxy.up();

  await waitFor(async () => (await harness.indexed(holds)).due === holds.length, {
    timeoutMs: 20_000,
    what: 'every hold scheduled',
  });
  expect(await dlqDepth(QueueNames.expiryWorkerSchedule(isolation.exchange))).toBe(0);
  expect(await metricValue(worker.baseUrl, 'zephyr_dlq_messages')).toBe(0);
});
