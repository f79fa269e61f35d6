import amqp from 'amqplib';
import { Bindings, parseEnvelope } from '@zephyr/contracts';
import { BACKING, http, newUserId, useStack, userToken, waitFor } from '@zephyr/testing';

/**
 * Issue 10 item 6: during a PostgreSQL outage the stream relay must not publish the same entries again and
 * again (it used to publish, fail on the audit, and republish the batch every 500 ms), and pushes that need
 * no PostgreSQL (holds live in Redis) keep flowing; the audit catches up once PostgreSQL is back.
 */
const stack = useStack('relayoutage', { services: ['event-service', 'seat-service'], throughProxy: 'postgres' });
let broker: amqp.ChannelModel;
const received: { id: string; at: number }[] = [];

// A probe queue sees every seat.* message the relay publishes.
beforeAll(async () => {
  broker = await amqp.connect(BACKING.amqpUrl);
  stack.onTeardown(() => broker.close());
  const channel = await broker.createChannel();
  const { queue } = await channel.assertQueue('', { exclusive: true });
  await channel.bindQueue(queue, stack.isolation.exchange, Bindings.allSeatEvents);
  await channel.consume(
    queue,
    (message) => {
      if (message) received.push({ id: parseEnvelope(JSON.parse(message.content.toString())).id, at: Date.now() });
    },
    { noAck: true },
  );
});

const auditIds = async (eventId: string): Promise<string[]> =>
  (await stack.db.query('SELECT message_id FROM seat_service.seat_audit WHERE event_id = $1', [eventId])).rows.map(
    (r: { message_id: string }) => r.message_id,
  );

it('publishes each change once during a PostgreSQL outage, keeps pushing holds, and writes the audit after', async () => {
  const eventId = await stack.createEvent({ name: 'Relay outage', totalSeats: 50, maxSeatsPerUser: 50 });
  const seatUrl = stack.urlOf('seat-service');
  const token = await userToken(newUserId());
  const hold = (seat: number) => http(seatUrl, 'POST', `/api/seats/${eventId}/${seat}/hold`, { token });
  expect((await hold(1)).status).toBe(201);
  await waitFor(async () => (await auditIds(eventId)).length === 1, { what: 'first hold audited' });

  await stack.proxy.down();
  const downAt = Date.now();
  const during: number[] = [];
  // Holds keep being accepted (Redis only); each must be pushed within a second although the audit waits.
  for (let seat = 2; seat <= 6; seat++) {
    const before = received.length;
    expect((await hold(seat)).status).toBe(201);
    await waitFor(() => received.length > before, { what: `seat ${seat} pushed during the outage`, timeoutMs: 1000 });
    during.push(seat);
    await new Promise((resolve) => setTimeout(resolve, 400)); // the outage under test lasts ~2.5 s
  }
  const outageMs = Date.now() - downAt;
  await stack.proxy.up();

  await waitFor(async () => (await auditIds(eventId)).length === 6, {
    timeoutMs: 20_000,
    what: 'the audit caught up after the outage',
  });
  const ids = received.map((r) => r.id);
  // Nothing was published twice, during the outage or after it.
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids).toHaveLength(6);
  expect(new Set(await auditIds(eventId))).toEqual(new Set(ids));
  expect(during).toHaveLength(5);
  expect(outageMs).toBeGreaterThan(2000);
});
