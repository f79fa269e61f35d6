import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { BatchRoutingKeys, QueueNames, RoutingKeys } from '@zephyr/contracts';
import { BACKING, REPO_ROOT, useService, waitFor, type ServiceProcess, type TcpProxy } from '@zephyr/testing';
import type { HoldRef } from '../src/domain/holds';
import { FakeSeatService } from './fake-seat-service';
import { createHarness, metricValue, newHold, seatEnvelope, sleep, type Harness } from './harness';

let harness: Harness;
let seatService: FakeSeatService;
let proxy: TcpProxy;
let worker: ServiceProcess;

beforeAll(async () => {
  seatService = await new FakeSeatService().start();
});

const fixture = useService('expiry-worker', 'expiryoutage', {
  throughProxy: 'redis',
  env: () => ({ SEAT_SERVICE_URL: seatService.url }),
});

beforeAll(async () => {
  worker = fixture.process;
  proxy = fixture.proxy;
  harness = await createHarness(fixture.isolation);
  fixture.onTeardown(() => Promise.all([seatService.stop(), harness.close()]));
  await harness.waitForWorkerQueue();
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
  expect(await dlqDepth(QueueNames.expiryWorkerSchedule(fixture.isolation.exchange))).toBe(0);
  expect(await metricValue(worker.baseUrl, 'zephyr_dlq_messages')).toBe(0);
});

test('only a poison message is dead-lettered, counted, and npm run dlq:replay puts a DLQ back into its queue', async () => {
  const queue = QueueNames.expiryWorkerSchedule(fixture.isolation.exchange);
  const dlq = QueueNames.deadLetter(queue);
  const connection = await amqp.connect(BACKING.amqpUrl);
  try {
    const channel = await connection.createConfirmChannel();
    channel.publish(fixture.isolation.exchange, BatchRoutingKeys.SeatChanges, Buffer.from('{not json'), {
      persistent: true,
    });
    await waitFor(async () => (await dlqDepth(queue)) === 1, { what: 'poison dead-lettered' });
    await waitFor(async () => (await metricValue(worker.baseUrl, 'zephyr_dlq_messages')) === 1, {
      what: 'DLQ depth reported',
    });

    // A good fact left in the DLQ (say, dead-lettered by an older build) next to the poison one.
    const hold = newHold(randomUUID(), 1);
    const fact = seatEnvelope(RoutingKeys.SeatHeld, hold, Date.now() + 10 * 60_000);
    channel.sendToQueue(dlq, Buffer.from(JSON.stringify(fact)), { persistent: true, messageId: fact.id });
    await channel.waitForConfirms();
    await waitFor(async () => (await dlqDepth(queue)) === 2, { what: 'good fact in the DLQ' });

    const { stdout } = await promisify(execFile)(
      process.execPath,
      [path.join(REPO_ROOT, 'scripts', 'dlq-replay.mjs'), queue, '--url', BACKING.amqpUrl],
      { cwd: REPO_ROOT },
    );
    expect(stdout).toContain(`moved 2 message(s) from ${dlq} to ${queue}`);
    // The good fact is applied; the poison one can never be and goes back to the DLQ.
    await waitFor(async () => (await harness.indexed([hold])).due === 1, { what: 'replayed fact scheduled' });
    await waitFor(async () => (await dlqDepth(queue)) === 1, { what: 'poison back in the DLQ' });
  } finally {
    await connection.close();
  }
});
