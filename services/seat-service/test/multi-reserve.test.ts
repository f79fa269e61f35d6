import { http, newUser, newUserId, useStack } from '@zephyr/testing';

/**
 * SPEC.md §7 multi-seat reserve through the gateway, against two seat-service replicas: all or nothing,
 * the first failing seat's 409 with every failure in details, the caller's own reservations count as done.
 */
const stack = useStack('multireserve', {
  services: ['event-service', 'seat-service', 'gateway'],
  replicas: { 'seat-service': 2 },
  env: { RATE_LIMIT_PER_IP: '0', RATE_LIMIT_PER_USER: '0' },
  eventDefaults: { name: 'Family block', totalSeats: 20, maxSeatsPerUser: 6 },
});
const { createEvent } = stack;

const hold = (eventId: string, seat: number, token: string) =>
  http(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/${seat}/hold`, { token });
const reserveMany = (eventId: string, token: string, body: unknown) =>
  http(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/reserve`, { token, body });
const reservedSeats = async (eventId: string) =>
  (
    await stack.db.query<{ seat_number: number }>(
      'SELECT seat_number FROM seat_service.reservations WHERE event_id = $1 ORDER BY seat_number',
      [eventId],
    )
  ).rows.map((r) => r.seat_number);

it('reserves every held seat at once, in ascending order, and a repeat answers the same reservations', async () => {
  const eventId = await createEvent();
  const alice = await newUser();
  for (const seat of [3, 1, 2]) expect((await hold(eventId, seat, alice.token)).status).toBe(201);

  const first = await reserveMany(eventId, alice.token, { seats: [3, 1, 2] });
  expect(first.status).toBe(200);
  expect(first.body.items.map((s: { seatNumber: number }) => s.seatNumber)).toEqual([1, 2, 3]);
  for (const seat of first.body.items) {
    expect(seat).toMatchObject({ eventId, status: 'reserved', userId: alice.id });
    expect(seat.reservedAt).toMatch(/Z$/);
  }
  expect(await reservedSeats(eventId)).toEqual([1, 2, 3]);

  const again = await reserveMany(eventId, alice.token, { seats: [1, 2, 3] });
  expect(again.status).toBe(200);
  expect(again.body).toEqual(first.body);

  // Already reserved seats and a fresh hold together: the hold is reserved, the others unchanged.
  expect((await hold(eventId, 4, alice.token)).status).toBe(201);
  const mixed = await reserveMany(eventId, alice.token, { seats: [4, 1] });
  expect(mixed.status).toBe(200);
  expect(mixed.body.items[0]).toEqual(first.body.items[0]);
  expect(mixed.body.items[1]).toMatchObject({ seatNumber: 4, status: 'reserved' });
  const history = await http<{ items: { action: string; seatNumber: number }[] }>(
    stack.gatewayUrl,
    'GET',
    `/api/events/${eventId}/history?limit=100`,
    { token: stack.admin },
  );
  expect(history.body.items.filter((e) => e.action === 'reserved').map((e) => e.seatNumber)).toEqual([1, 2, 3, 4]);
});

it('is all or nothing: one seat without the caller hold refuses the whole request and changes nothing', async () => {
  const eventId = await createEvent();
  const alice = await newUser();
  const bob = await newUser();
  expect((await hold(eventId, 5, alice.token)).status).toBe(201);
  expect((await hold(eventId, 6, bob.token)).status).toBe(201);
  const mapBefore = await http(stack.gatewayUrl, 'GET', `/api/events/${eventId}/seats`);

  const refused = await reserveMany(eventId, alice.token, { seats: [7, 6, 5] });
  expect(refused.status).toBe(409);
  // Seat 5 is fine; 6 is Bob's (SEAT_UNAVAILABLE) and 7 never held (HOLD_NOT_FOUND): the first failing
  // seat in ascending order decides the code.
  expect(refused.body.error.code).toBe('SEAT_UNAVAILABLE');
  expect(refused.body.error.details).toEqual([
    { seatNumber: 6, code: 'SEAT_UNAVAILABLE' },
    { seatNumber: 7, code: 'HOLD_NOT_FOUND' },
  ]);
  expect(await reservedSeats(eventId)).toEqual([]);
  const mapAfter = await http(stack.gatewayUrl, 'GET', `/api/events/${eventId}/seats`);
  expect(mapAfter.body).toEqual(mapBefore.body);
  // Alice's hold on 5 is still an ordinary hold she can release.
  expect((await http(stack.gatewayUrl, 'DELETE', `/api/seats/${eventId}/5/hold`, { token: alice.token })).status).toBe(
    204,
  );

  const onlyMissing = await reserveMany(eventId, alice.token, { seats: [8] });
  expect(onlyMissing.body).toEqual({
    error: expect.objectContaining({ code: 'HOLD_NOT_FOUND', details: [{ seatNumber: 8, code: 'HOLD_NOT_FOUND' }] }),
  });
});

it('checks the body against the event: 400 for seats beyond it or more than maxSeatsPerUser, 404, 409 inactive', async () => {
  const eventId = await createEvent();
  const alice = await newUser();
  const bad = [
    undefined,
    {},
    { seats: [] },
    { seats: [1, 1] },
    { seats: ['1'] },
    { seats: [1.5] },
    { seats: [0] },
    { seats: [-1] },
    { seats: null },
    { seats: [21] },
    { seats: [1, 2, 3, 4, 5, 6, 7] },
    { seats: [1], userId: alice.id },
    { seats: [1], extra: true },
  ];
  for (const body of bad) {
    const res = await reserveMany(eventId, alice.token, body);
    expect([res.status, res.body.error?.code, body]).toEqual([400, 'VALIDATION_FAILED', body]);
  }
  const plain = await http(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/reserve`, {
    token: alice.token,
    rawBody: '{"seats":[1]}',
    headers: { 'content-type': 'text/plain' },
  });
  expect(plain.status).toBe(415);
  expect((await http(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/reserve`, { body: { seats: [1] } })).status).toBe(
    401,
  );
  const unknown = await reserveMany(newUserId(), alice.token, { seats: [1] });
  expect([unknown.status, unknown.body.error.code]).toEqual([404, 'EVENT_NOT_FOUND']);

  expect((await hold(eventId, 2, alice.token)).status).toBe(201);
  await stack.updateEvent(eventId, { status: 'inactive' });
  const inactive = await reserveMany(eventId, alice.token, { seats: [2] });
  expect(inactive.body.error.code).toBe('EVENT_NOT_ACTIVE');
  expect(await reservedSeats(eventId)).toEqual([]);
});

it('concurrent multi-reserves of the same holds across replicas all answer 200 with one reservedAt per seat', async () => {
  const eventId = await createEvent({ maxSeatsPerUser: 20 });
  const alice = await newUser();
  for (let round = 0; round < 5; round++) {
    const seats = [1, 2, 3, 4].map((n) => round * 4 + n);
    for (const seat of seats) expect((await hold(eventId, seat, alice.token)).status).toBe(201);
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        reserveMany(eventId, alice.token, { seats: i % 2 === 0 ? seats : [...seats].reverse() }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    for (const answer of answers) expect(answer.body).toEqual(answers[0]!.body);
    expect((await reservedSeats(eventId)).slice(-4)).toEqual(seats);
  }
  const audit = await stack.db.query(
    `SELECT seat_number FROM seat_service.seat_audit WHERE event_id = $1 AND action = 'reserved'`,
    [eventId],
  );
  expect(audit.rowCount).toBe(20);
}, 60_000);
