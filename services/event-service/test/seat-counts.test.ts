import {
  Bindings,
  ErrorCodes,
  QueueNames,
  RoutingKeys,
  type Event,
  type EventWithCounts,
  type SeatCounts,
} from '@zephyr/contracts';
import { http, seatChangeBatchesFor, seatEnvelope, useService, waitFor } from '@zephyr/testing';
import { startFakeSeatService, type FakeSeatService } from './support';

// The counts come from the seat-service over HTTP; here a fake one answers, so each test can set what it
// says and how it fails. test/e2e and the seat-service's own tests cover the real seat-service's counts.
let seatService: FakeSeatService;

beforeAll(async () => {
  seatService = await startFakeSeatService();
});

const service = useService('event-service', 'es-counts', {
  env: () => ({ SEAT_SERVICE_URL: seatService.url, LOG_LEVEL: 'silent' }),
});

beforeAll(() => service.onTeardown(() => seatService.close()));

afterEach(() => {
  seatService.mode = 'ok';
});

const createEvent = async (totalSeats: number): Promise<Event> => {
  const res = await http<Event>(service.baseUrl, 'POST', '/api/events', {
    token: service.admin,
    body: { name: 'Counts', totalSeats },
  });
  expect(res.status).toBe(201);
  return res.body;
};

const getEvent = (eventId: string) => http<EventWithCounts>(service.baseUrl, 'GET', `/api/events/${eventId}`);

/** Until the event answers `status` (with these counts): a kept answer serves its event for 250 ms. */
const answers = (eventId: string, status: number, seats?: SeatCounts) =>
  waitFor(
    async () => {
      const res = await getEvent(eventId);
      return res.status === status && (!seats || JSON.stringify(res.body.seats) === JSON.stringify(seats));
    },
    // A hanging seat-service costs each try the 2 s timeout.
    { what: `GET event answers ${status} ${seats ? JSON.stringify(seats) : ''}`, timeoutMs: 8000, intervalMs: 50 },
  );

it("answers the seat-service's live counts with the event", async () => {
  const event = await createEvent(20);
  expect((await getEvent(event.id)).body).toEqual({ ...event, seats: { available: 20, held: 0, reserved: 0 } });

  const counts: SeatCounts = { available: 15, held: 3, reserved: 2 };
  seatService.counts.set(event.id, counts);
  // Shows once the kept answer is 250 ms old (the rule itself: seat-counts-cache.test.ts, on a fake clock).
  await answers(event.id, 200, counts);
});

it('asks the seat-service once for many concurrent requests of one event', async () => {
  const event = await createEvent(10);
  await answers(event.id, 200);
  const readsBefore = seatService.countReads.filter((id) => id === event.id).length;
  const results = await Promise.all(Array.from({ length: 20 }, () => getEvent(event.id)));
  expect(results.every((res) => res.status === 200)).toBe(true);
  // How many reads 20 requests cost depends on how they spread over 250 ms windows; far fewer than 20 is the
  // point (the exact rule is tested with a fake clock in seat-counts-cache.test.ts).
  expect(seatService.countReads.filter((id) => id === event.id).length - readsBefore).toBeLessThan(5);
});

it.each([
  ['answers 503', 'down' as const],
  ['does not answer within 2 s', 'hang' as const],
])('answers 503 DEPENDENCY_UNAVAILABLE while the seat-service %s, and recovers by itself', async (_, mode) => {
  const event = await createEvent(10);
  await answers(event.id, 200);
  seatService.mode = mode;
  await answers(event.id, 503);
  const res = await getEvent(event.id);
  expect(res.status).toBe(503);
  expect(res.body).toEqual({ error: { code: ErrorCodes.DependencyUnavailable, message: expect.any(String) } });
  // The rest of the service does not need the seat-service.
  expect((await http(service.baseUrl, 'GET', '/api/events?limit=1')).status).toBe(200);

  // A failed read is not remembered: the first request after the seat-service is back gets the counts.
  seatService.mode = 'ok';
  const after = await getEvent(event.id);
  expect(after.status).toBe(200);
  expect(after.body.seats).toEqual({ available: 10, held: 0, reserved: 0 });
});

it('answers 503 when the seat-service answers something else than counts, 404 for an event it does not have', async () => {
  const event = await createEvent(10);
  await answers(event.id, 200);
  seatService.counts.set(event.id, { available: -1, held: 0 } as SeatCounts);
  await answers(event.id, 503);
  seatService.counts.delete(event.id);
  await answers(event.id, 200);
  // 404 from the event-service itself when the event does not exist; the seat-service is not asked.
  const readsBefore = seatService.countReads.length;
  expect((await getEvent('6f1c5b3e-1111-4222-8333-444455556666')).status).toBe(404);
  expect(seatService.countReads.length).toBe(readsBefore);
});

it('deletes the seat counts queue of earlier builds, with what it held', async () => {
  const { exchange } = service.isolation;
  const queue = QueueNames.eventServiceSeatCounts(exchange);
  // What an older build left behind: its durable queue, bound to the batches and holding one.
  const channel = service.broker.connection.createChannel({
    setup: async (ch: {
      assertQueue(q: string, o: object): Promise<unknown>;
      bindQueue(q: string, e: string, p: string): Promise<unknown>;
    }) => {
      await ch.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      await ch.bindQueue(queue, exchange, Bindings.seatChangeBatches);
    },
  });
  await channel.waitForConnect();
  const batch = seatChangeBatchesFor([
    seatEnvelope(RoutingKeys.SeatHeld, { eventId: '6f1c5b3e-1111-4222-8333-444455556666', seatNumber: 1 }),
  ]);
  await Promise.all(batch.map((message) => service.broker.publish(message)));
  const exists = async () => {
    const probe = await service.broker.connection.connection!.createChannel();
    probe.on('error', () => undefined);
    try {
      await probe.checkQueue(queue);
      return true;
    } catch {
      return false;
    } finally {
      await probe.close().catch(() => undefined);
    }
  };
  expect(await exists()).toBe(true);
  await channel.close();

  const upgraded = await service.start();
  await waitFor(async () => !(await exists()), { what: 'old counts queue deleted' });
  await upgraded.stop();
});
