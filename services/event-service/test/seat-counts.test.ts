import { randomUUID } from 'node:crypto';
import {
  Bindings,
  QueueNames,
  RoutingKeys,
  type Event,
  type EventWithCounts,
  type SeatChangedData,
  type SeatCounts,
  type SeatEnvelope,
  type SeatRoutingKey,
} from '@zephyr/contracts';
import {
  http,
  newUserId,
  seatChangeBatchesFor,
  seatEnvelope,
  unroutableRecordingBroker,
  useService,
  waitFor,
} from '@zephyr/testing';

const service = useService('event-service', 'es-counts', { env: { SEAT_SERVICE_URL: 'http://127.0.0.1:9' } });

const holder = newUserId();
const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();

/** seat.* envelopes as seat-service would publish them; `version` is the event's seat-change counter. */
const seat = (eventId: string) => {
  const change = (type: SeatRoutingKey, seatNumber: number, version: number, times: Partial<SeatChangedData> = {}) =>
    seatEnvelope(type, { eventId, seatNumber, userId: holder, version, holdVersion: version, ...times });
  return {
    held: (seatNumber: number, version: number, expiresInMs = 60_000) =>
      change(RoutingKeys.SeatHeld, seatNumber, version, { heldAt: inMs(0), expiresAt: inMs(expiresInMs) }),
    refreshed: (seatNumber: number, version: number, expiresInMs: number) =>
      change(RoutingKeys.SeatRefreshed, seatNumber, version, { heldAt: inMs(0), expiresAt: inMs(expiresInMs) }),
    reserved: (seatNumber: number, version: number) =>
      change(RoutingKeys.SeatReserved, seatNumber, version, { reservedAt: inMs(0) }),
    released: (seatNumber: number, version: number) => change(RoutingKeys.SeatReleased, seatNumber, version),
    expired: (seatNumber: number, version: number) => change(RoutingKeys.SeatExpired, seatNumber, version),
  };
};

/** As the seat-service's relays hand changes to the counts: in order, in batch messages. */
const publishAll = (envelopes: SeatEnvelope[]) =>
  Promise.all(seatChangeBatchesFor(envelopes).map((batch) => service.broker.publish(batch)));

const createEvent = async (totalSeats: number): Promise<Event> => {
  const res = await http<Event>(service.baseUrl, 'POST', '/api/events', {
    token: service.admin,
    body: { name: 'Counts', totalSeats },
  });
  expect(res.status).toBe(201);
  return res.body;
};

const counts = async (eventId: string): Promise<SeatCounts> =>
  (await http<EventWithCounts>(service.baseUrl, 'GET', `/api/events/${eventId}`)).body.seats;

const countsBecome = (eventId: string, expected: SeatCounts, timeoutMs = 2000) =>
  waitFor(
    async () => {
      const current = await counts(eventId);
      return JSON.stringify(current) === JSON.stringify(expected) && current;
    },
    { timeoutMs, what: `counts ${JSON.stringify(expected)}` },
  );

beforeAll(async () => {
  // The service declares and binds its queue once it has connected; until then a publish is unroutable.
  // Repeat one message until it shows (repeats are harmless: same seat, same version).
  const canary = await createEvent(10);
  const probe = seat(canary.id).held(1, 1);
  await waitFor(
    async () => {
      await publishAll([{ ...probe, id: randomUUID() }]);
      return (await counts(canary.id)).held === 1;
    },
    { timeoutMs: 15_000, intervalMs: 250, what: 'seat-counts queue bound' },
  );
});

it('follows holds, reservations, releases and expiries within about a second', async () => {
  const event = await createEvent(20);
  const s = seat(event.id);
  expect(await counts(event.id)).toEqual({ available: 20, held: 0, reserved: 0 });

  await publishAll([s.held(1, 1), s.held(2, 2), s.held(3, 3)]);
  await countsBecome(event.id, { available: 17, held: 3, reserved: 0 }, 1500);
  await publishAll([s.reserved(2, 4)]);
  await countsBecome(event.id, { available: 17, held: 2, reserved: 1 }, 1500);
  await publishAll([s.released(1, 5), s.expired(3, 6)]);
  await countsBecome(event.id, { available: 19, held: 0, reserved: 1 }, 1500);
});

it('never applies an older version over a newer one, and ignores duplicates', async () => {
  const event = await createEvent(20);
  const s = seat(event.id);
  const hold7 = s.held(7, 12);

  // Newer first, then the older ones: a release at v10 must beat the hold at v9, a hold at v12 the reserve at v8.
  await publishAll([s.released(5, 10), hold7]);
  await publishAll([s.held(5, 9), s.reserved(7, 8), hold7, hold7, { ...hold7, id: randomUUID() }]);
  // A later change is the sentinel that everything before it was consumed.
  await publishAll([s.held(6, 13)]);
  await countsBecome(event.id, { available: 18, held: 2, reserved: 0 });
  // Batches may commit out of order; the version rule makes that harmless. Check it stays put.
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(await counts(event.id)).toEqual({ available: 18, held: 2, reserved: 0 });
});

it('stops counting a hold at expiresAt, and a refresh (same version, later expiry) extends it', async () => {
  const event = await createEvent(10);
  const s = seat(event.id);
  await publishAll([s.held(1, 1, 1500), s.held(2, 2, 1500)]);
  await publishAll([s.refreshed(2, 2, 60_000)]);
  await countsBecome(event.id, { available: 8, held: 2, reserved: 0 });
  // A stale refresh (same version, earlier expiry) must not shorten the hold.
  await publishAll([s.refreshed(2, 2, 500)]);
  // Seat 1 lapses without any seat.expired message; seat 2 stays held.
  await countsBecome(event.id, { available: 9, held: 1, reserved: 0 }, 4000);
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(await counts(event.id)).toEqual({ available: 9, held: 1, reserved: 0 });
});

it('batches a shuffled burst with duplicates into the right counts', async () => {
  const event = await createEvent(1000);
  const s = seat(event.id);
  const messages: SeatEnvelope[] = [];
  for (let n = 1; n <= 400; n++) messages.push(s.held(n, n));
  for (let n = 1; n <= 200; n++) messages.push(s.released(n, 1000 + n));
  for (let n = 201; n <= 300; n++) messages.push(s.reserved(n, 2000 + n));
  messages.push(...messages.slice(0, 150)); // redeliveries: same envelope ids
  for (let i = messages.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [messages[i], messages[j]] = [messages[j]!, messages[i]!];
  }
  await publishAll(messages);
  // Seats 1-200 released (newer than their holds), 201-300 reserved, 301-400 still held.
  await countsBecome(event.id, { available: 800, held: 100, reserved: 100 }, 5000);
});

it('unbinds seat.* from a queue an older build bound it to, so single seat.* messages stop reaching it', async () => {
  const { exchange } = service.isolation;
  const queue = QueueNames.eventServiceSeatCounts(exchange);
  const { broker, returned } = unroutableRecordingBroker(exchange);
  try {
    await waitFor(() => broker.isConnected(), { what: 'test broker connection' });
    // What an older build's setup left on the durable queue.
    const channel = broker.connection.createChannel({
      setup: (ch: { bindQueue(q: string, e: string, p: string): Promise<unknown> }) =>
        ch.bindQueue(queue, exchange, Bindings.allSeatEvents),
    });
    await channel.waitForConnect();
    await channel.close();
    const event = await createEvent(10);
    // A confirmed mandatory publish comes back before its confirm when no queue takes it.
    const publishSingle = () => broker.publish(seat(event.id).held(1, 1));
    await publishSingle();
    expect(returned).toEqual([]);

    const upgraded = await service.start();
    await waitFor(
      async () => {
        await publishSingle();
        return returned.length > 0;
      },
      { what: 'seat.* unbound by the new build', intervalMs: 100 },
    );
    expect(returned.every((key) => key === RoutingKeys.SeatHeld)).toBe(true);
    await upgraded.stop();
  } finally {
    await broker.close();
  }
});
