import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import {
  ENVELOPE_VERSION,
  QueueNames,
  RoutingKeys,
  type EventChangedData,
  type EventEnvelope,
} from '@zephyr/contracts';
import { BACKING, http, metricValue, newUserId, REPO_ROOT, useStack, userToken, waitFor } from '@zephyr/testing';

/**
 * Issue 10 item 2: an event cancelled while the seat-service's Redis blips must not stay on sale. The
 * event-service's direct push fails in the blip, so the event.updated message is the path that carries it;
 * it used to be requeued at once until the delivery limit sent it to the DLQ.
 */
// Only the seat-service uses Redis here.
const stack = useStack('configoutage', { services: ['event-service', 'seat-service'], throughProxy: 'redis' });

it('applies an event change made during a Redis blip once Redis is back, and dead-letters nothing', async () => {
  const eventUrl = stack.urlOf('event-service');
  const seatUrl = stack.urlOf('seat-service');
  const eventId = await stack.createEvent({ name: 'Cancelled in a blip', totalSeats: 10 });
  const token = await userToken(newUserId());
  expect((await http(seatUrl, 'POST', `/api/seats/${eventId}/1/hold`, { token })).status).toBe(201);

  await stack.proxy.down();
  const patched = await http(eventUrl, 'PATCH', `/api/events/${eventId}`, {
    token: stack.admin,
    body: { status: 'cancelled' },
  });
  expect(patched.status).toBe(200);
  // The blip under test: the seat-service's Redis stays unreachable for 1.5 s after the change.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await stack.proxy.up();

  await waitFor(
    async () =>
      (await http<{ error: { code: string } }>(seatUrl, 'POST', `/api/seats/${eventId}/2/hold`, { token })).body.error
        ?.code === 'EVENT_NOT_ACTIVE',
    { what: 'the cancellation applied', timeoutMs: 20_000, intervalMs: 250 },
  );
  expect(await metricValue(seatUrl, 'zephyr_dlq_messages')).toBe(0);
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

it('dead-letters only a poison message, counts it, and npm run dlq:replay puts a DLQ back into its queue', async () => {
  const seatUrl = stack.urlOf('seat-service');
  const queue = QueueNames.seatServiceEventConfig(stack.isolation.exchange);
  const dlq = QueueNames.deadLetter(queue);
  const eventId = await stack.createEvent({ name: 'Replayed', totalSeats: 10 });
  const token = await userToken(newUserId());
  expect((await http(seatUrl, 'POST', `/api/seats/${eventId}/1/hold`, { token })).status).toBe(201);
  const connection = await amqp.connect(BACKING.amqpUrl);
  try {
    const channel = await connection.createConfirmChannel();
    channel.publish(stack.isolation.exchange, RoutingKeys.EventUpdated, Buffer.from('{not json'), { persistent: true });
    await waitFor(async () => (await dlqDepth(queue)) === 1, { what: 'poison dead-lettered' });
    await waitFor(async () => (await metricValue(seatUrl, 'zephyr_dlq_messages')) === 1, {
      what: 'DLQ depth reported',
    });

    // A good fact left in the DLQ (say, dead-lettered by an older build) next to the poison one: the
    // event cancelled, at a revision the seat-service has not seen.
    const current = await http<EventChangedData>(stack.urlOf('event-service'), 'GET', `/internal/events/${eventId}`);
    const fact: EventEnvelope = {
      id: randomUUID(),
      type: RoutingKeys.EventUpdated,
      version: ENVELOPE_VERSION,
      occurredAt: new Date().toISOString(),
      producer: 'event-service',
      data: { ...current.body, status: 'cancelled', revision: current.body.revision + 1 },
    };
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
    await waitFor(
      async () =>
        (await http<{ error: { code: string } }>(seatUrl, 'POST', `/api/seats/${eventId}/2/hold`, { token })).body.error
          ?.code === 'EVENT_NOT_ACTIVE',
      { what: 'the replayed cancellation applied' },
    );
    await waitFor(async () => (await dlqDepth(queue)) === 1, { what: 'poison back in the DLQ' });
  } finally {
    await connection.close();
  }
});
