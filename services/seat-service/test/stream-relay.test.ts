import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { Bindings, seatChangesOf } from '@zephyr/contracts';
import { http, newUserId, probeQueue, testBroker, useStack, userToken, waitFor, type Probe } from '@zephyr/testing';
import { OutboxFields as F } from '../src/data-access/outbox-codec';
import { seatKeys } from '../src/data-access/seat-store';

/**
 * The stream relay reads only streams marked as having news. A change whose mark was lost (its writer was
 * killed between the script and the mark) must still be relayed: every starting replica sweeps the index.
 */
const stack = useStack('relay', { services: ['event-service', 'seat-service'] });
let redis: Redis;

beforeAll(() => {
  redis = new Redis(stack.isolation.env.REDIS_URL!, { keyPrefix: stack.isolation.redisPrefix });
  stack.onTeardown(() => redis.disconnect());
});

/** How many calls of a command Redis has refused with an error (WRONGTYPE here) since it started. */
const failedCalls = async (command: string) =>
  Number(new RegExp(`cmdstat_${command}:.*failed_calls=(\\d+)`).exec(await redis.info('commandstats'))?.[1] ?? 0);

const auditOf = async (messageId: string) =>
  (await stack.db.query('SELECT action, seat_number FROM seat_service.seat_audit WHERE message_id = $1', [messageId]))
    .rows;

it('relays a change whose dirty mark was lost once a replica starts, and leaves the dirty set empty', async () => {
  const eventId = await stack.createEvent({ name: 'Relay', totalSeats: 10 });
  const buyer = newUserId();
  const seatUrl = stack.urlOf('seat-service');
  expect((await http(seatUrl, 'POST', `/api/seats/${eventId}/1/hold`, { token: await userToken(buyer) })).status).toBe(
    201,
  );
  await waitFor(async () => (await redis.xlen(seatKeys.outbox(eventId))) === 0, { what: 'the hold relayed' });
  expect(await redis.scard(seatKeys.outboxDirty())).toBe(0);

  // The only seat-service stops; an entry lands in the stream with no dirty mark, as if its writer died.
  const [seatService] = stack.of('seat-service');
  await seatService!.stop();
  const messageId = randomUUID();
  const now = Date.now();
  await redis.xadd(
    seatKeys.outbox(eventId),
    '*',
    ...[F.type, 'seat.held', F.messageId, messageId, F.seat, '2', F.user, buyer, F.status, 'held'],
    ...[F.version, '1000', F.holdVersion, '1000', F.auditSeq, '1000', F.at, String(now)],
    ...[F.heldAt, String(now), F.expiresAt, String(now + 60_000)],
  );
  expect(await redis.scard(seatKeys.outboxDirty())).toBe(0);

  await stack.startService('seat-service', {}, { port: seatService!.port });
  await waitFor(async () => (await auditOf(messageId)).length === 1, {
    timeoutMs: 20_000,
    what: 'the unmarked entry relayed after the start-up sweep',
  });
  expect(await auditOf(messageId)).toEqual([{ action: 'held', seat_number: 2 }]);
  await waitFor(async () => (await redis.xlen(seatKeys.outbox(eventId))) === 0, { what: 'the stream drained' });
});

it('marks a change again when its mark failed, so the relay takes it within a second of Redis taking marks again', async () => {
  const eventId = await stack.createEvent({ name: 'Mark retry', totalSeats: 10 });
  const seatUrl = stack.urlOf('seat-service');
  // The dirty set's key holds a string: every SADD of a mark (and the relay's SPOP) fails, the seat scripts do not.
  await redis.set(seatKeys.outboxDirty(), 'in the way');
  const before = { sadd: await failedCalls('sadd'), spop: await failedCalls('spop') };
  const hold = await http<{ holdVersion: number }>(seatUrl, 'POST', `/api/seats/${eventId}/3/hold`, {
    token: await userToken(newUserId()),
  });
  expect(hold.status).toBe(201);
  // The mark failed and was tried again, and the relay took a turn after that: it had its chance to relay.
  await waitFor(
    async () => (await failedCalls('sadd')) >= before.sadd + 2 && (await failedCalls('spop')) >= before.spop + 2,
    { what: 'a retried mark and a relay turn that failed on the blocked dirty set' },
  );
  const held = "SELECT 1 FROM seat_service.seat_audit WHERE event_id = $1 AND seat_number = 3 AND action = 'held'";
  expect((await stack.db.query(held, [eventId])).rowCount).toBe(0);

  await redis.del(seatKeys.outboxDirty());
  // Without the retry the change would wait for the five-minute sweep.
  await waitFor(async () => (await stack.db.query(held, [eventId])).rowCount === 1, {
    timeoutMs: 5000,
    what: 'the change relayed once its mark landed',
  });
});

// 200 changes in one turn are published a slice per pass of the event loop; 2 × 150 (over the relay's backlog
// threshold) at once. Either way every event's changes arrive in stream order, on their own and in batches.
it.each([
  ['a turn of 200 changes, published over several passes', 1, 200],
  ['a backlog of 2 × 150 changes, published at once', 2, 150],
])('relays %s in stream order, on their own and in batches', async (_name, eventCount, perEvent) => {
  const eventIds: string[] = [];
  for (let i = 0; i < eventCount; i++)
    eventIds.push(await stack.createEvent({ name: 'Long turn', totalSeats: perEvent }));
  // Probe queues see every seat.* message and every batch the relay publishes.
  const broker = testBroker(stack.isolation.exchange);
  stack.onTeardown(() => broker.close());
  const singles = await probeQueue(broker, Bindings.allSeatEvents);
  const batches = await probeQueue(broker, Bindings.seatChangeBatches);
  stack.onTeardown(() => Promise.all([singles.close(), batches.close()]).then(() => undefined));
  /** The seat numbers a probe received for `eventId`, in arrival order. */
  const seatsOf = (probe: Probe, eventId: string) =>
    probe.received
      .flatMap((envelope) => seatChangesOf(envelope))
      .filter((change) => change.data.eventId === eventId)
      .map((change) => change.data.seatNumber);

  // The changes wait in their streams (the replica is stopped), so its first turn relays them all.
  const [seatService] = stack.of('seat-service');
  await seatService!.stop();
  const buyer = newUserId();
  const now = Date.now();
  const seats = Array.from({ length: perEvent }, (_, i) => i + 1);
  for (const eventId of eventIds) {
    for (const seat of seats) {
      await redis.xadd(
        seatKeys.outbox(eventId),
        '*',
        ...[F.type, 'seat.held', F.messageId, randomUUID(), F.seat, String(seat), F.user, buyer, F.status, 'held'],
        ...[F.version, String(seat), F.holdVersion, String(seat), F.auditSeq, String(seat), F.at, String(now)],
        ...[F.heldAt, String(now), F.expiresAt, String(now + 60_000)],
      );
    }
    await redis.sadd(seatKeys.outboxDirty(), eventId);
  }
  await stack.startService('seat-service', {}, { port: seatService!.port });

  const relayed = (probe: Probe) => eventIds.every((eventId) => seatsOf(probe, eventId).length === perEvent);
  await waitFor(() => relayed(singles) && relayed(batches), {
    timeoutMs: 20_000,
    what: 'every change relayed on its own and in a batch',
  });
  for (const eventId of eventIds) {
    expect(seatsOf(singles, eventId)).toEqual(seats);
    expect(seatsOf(batches, eventId)).toEqual(seats);
  }
  expect([...singles.invalid, ...batches.invalid]).toEqual([]);
});
