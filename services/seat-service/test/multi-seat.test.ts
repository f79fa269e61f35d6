import Redis from 'ioredis';
import { connectWs, http, newUser, newUserId, useStack, waitFor, type WsClient } from '@zephyr/testing';

/**
 * SPEC.md §7 multi-seat hold and best available, through the gateway, against real PostgreSQL, Redis and
 * RabbitMQ (event-service, seat-service, notifier, gateway; no expiry worker, so stale holds stay in Redis
 * until a script meets them).
 */
const stack = useStack('multiseat', {
  services: ['event-service', 'seat-service', 'notifier', 'gateway'],
  env: { RATE_LIMIT_PER_IP: '0', RATE_LIMIT_PER_USER: '0' },
  timeoutMs: 90_000,
});
const { createEvent } = stack;
const sockets: WsClient[] = [];
stack.onTeardown(() => sockets.forEach((ws) => ws.close()));

interface HoldItem {
  eventId: string;
  seatNumber: number;
  userId: string;
  heldAt: string;
  expiresAt: string;
}
interface ErrorReply {
  error: { code: string; message: string; details?: { seatNumber?: number; code?: string }[] };
}

const multiHold = (eventId: string, token: string, body: unknown) =>
  http<{ items: HoldItem[] } & ErrorReply>(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/hold`, { token, body });
const best = (eventId: string, token: string, body: unknown) =>
  http<{ items: HoldItem[] } & ErrorReply>(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/best-available`, {
    token,
    body,
  });
const hold = (eventId: string, seat: number, token: string, body?: unknown) =>
  http(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/${seat}/hold`, { token, body });
const reserve = (eventId: string, seat: number, token: string) =>
  http(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/${seat}/reserve`, { token });
const seatsOf = (res: { body: { items: HoldItem[] } }) => res.body.items.map((h) => h.seatNumber);

async function seatMap(eventId: string) {
  const res = await http<{ version: number; seats: { seatNumber: number; status: string; userId?: string }[] }>(
    stack.gatewayUrl,
    'GET',
    `/api/events/${eventId}/seats`,
    { token: stack.admin },
  );
  expect(res.status).toBe(200);
  return res.body;
}

/** Takes seats out of play: `taken` seats get held by a stranger. */
async function occupy(eventId: string, taken: number[]): Promise<void> {
  const stranger = await newUser();
  for (const seat of taken) expect((await hold(eventId, seat, stranger.token)).status).toBe(201);
}

describe('POST /api/seats/:eventId/hold (several seats)', () => {
  it('holds every seat, answers 201 in ascending order, one SEAT_UPDATE and one audit entry per new seat', async () => {
    const eventId = await createEvent();
    const alice = await newUser();
    const ws = await connectWs(`${stack.gatewayUrl.replace('http', 'ws')}/ws`);
    sockets.push(ws);
    ws.send({ type: 'SUBSCRIBE_EVENT', eventId });
    await ws.next((m) => m.type === 'SUBSCRIBED' && m.id === eventId);
    const before = (await seatMap(eventId)).version;

    const res = await multiHold(eventId, alice.token, { seats: [9, 3, 4], holdDuration: 120 });
    expect(res.status).toBe(201);
    expect(res.body.items).toEqual(
      [3, 4, 9].map((seatNumber) => ({
        eventId,
        seatNumber,
        userId: alice.id,
        heldAt: res.body.items[0]!.heldAt,
        expiresAt: res.body.items[0]!.expiresAt,
      })),
    );
    expect(Date.parse(res.body.items[0]!.expiresAt) - Date.parse(res.body.items[0]!.heldAt)).toBe(120_000);

    const updates = await waitFor(
      () => {
        const got = ws.messages.filter((m) => m.type === 'SEAT_UPDATE' && m.eventId === eventId);
        return got.length >= 3 && got;
      },
      { timeoutMs: 3000, what: 'three SEAT_UPDATEs' },
    );
    expect(updates.map((u) => `${u.seatNumber}:${u.status}`).sort()).toEqual(['3:held', '4:held', '9:held']);
    const versions = updates.map((u) => u.version as number);
    expect(new Set(versions).size).toBe(3);
    expect(Math.min(...versions)).toBeGreaterThan(before);
    expect(updates.every((u) => !('userId' in u))).toBe(true);

    const map = await seatMap(eventId);
    expect(map.version).toBe(before + 3);
    expect(map.seats.filter((s) => s.status === 'held').map((s) => s.seatNumber)).toEqual([3, 4, 9]);

    const history = await waitFor(
      async () => {
        const page = await http<{ items: { action: string; seatNumber: number; userId: string }[] }>(
          stack.gatewayUrl,
          'GET',
          `/api/events/${eventId}/history`,
          { token: stack.admin },
        );
        return page.body.items.length >= 3 && page.body.items;
      },
      { timeoutMs: 3000, what: 'three audit entries' },
    );
    expect(history.map((h) => `${h.action}:${h.seatNumber}:${h.userId}`).sort()).toEqual(
      [3, 4, 9].map((n) => `held:${n}:${alice.id}`),
    );
    // Nothing more arrives: exactly one update per seat.
    ws.send({ type: 'PING' });
    await ws.next((m) => m.type === 'PONG');
    expect(ws.messages.filter((m) => m.type === 'SEAT_UPDATE' && m.eventId === eventId)).toHaveLength(3);
  });

  it('counts seats the caller already holds as held, unchanged, and only new seats make updates', async () => {
    const eventId = await createEvent();
    const alice = await newUser();
    const first = await hold(eventId, 5, alice.token, { holdDuration: 300 });
    expect(first.status).toBe(201);
    const before = (await seatMap(eventId)).version;
    const res = await multiHold(eventId, alice.token, { seats: [6, 5] });
    expect(res.status).toBe(201);
    expect(res.body.items[0]).toEqual(first.body);
    expect(res.body.items[1]).toMatchObject({ seatNumber: 6, userId: alice.id });
    expect(Date.parse(res.body.items[1]!.expiresAt) - Date.parse(res.body.items[1]!.heldAt)).toBe(60_000);
    expect((await seatMap(eventId)).version).toBe(before + 1);
    // All of them already held: still 201, nothing changes.
    const again = await multiHold(eventId, alice.token, { seats: [5, 6] });
    expect(again.status).toBe(201);
    expect(again.body.items).toEqual(res.body.items);
    expect((await seatMap(eventId)).version).toBe(before + 1);
  });

  it('all or nothing: the 409 of the first failing seat, details for every failing seat, nothing changed', async () => {
    const eventId = await createEvent();
    const [alice, bob] = [await newUser(), await newUser()];
    expect((await hold(eventId, 4, bob.token)).status).toBe(201);
    expect((await hold(eventId, 8, alice.token)).status).toBe(201);
    expect((await reserve(eventId, 8, alice.token)).status).toBe(200);
    expect((await hold(eventId, 12, bob.token)).status).toBe(201);
    expect((await reserve(eventId, 12, bob.token)).status).toBe(200);
    const before = await seatMap(eventId);

    // 4: Bob's hold; 8: Alice's own reservation; 12: Bob's reservation.
    const res = await multiHold(eventId, alice.token, { seats: [12, 1, 8, 4, 2] });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('SEAT_UNAVAILABLE');
    expect(res.body.error.details).toEqual([
      { seatNumber: 4, code: 'SEAT_UNAVAILABLE' },
      { seatNumber: 8, code: 'SEAT_UNAVAILABLE' },
      { seatNumber: 12, code: 'SEAT_UNAVAILABLE' },
    ]);
    expect(await seatMap(eventId)).toEqual(before);
    const holds = await http(stack.gatewayUrl, 'GET', `/api/seats/${eventId}/user/${alice.id}/holds`, {
      token: alice.token,
    });
    expect(holds.body.items).toEqual([]);
  });

  it('counts the user limit over the whole request (live holds + reservations + new seats)', async () => {
    const eventId = await createEvent({ maxSeatsPerUser: 4 });
    const alice = await newUser();
    expect((await hold(eventId, 1, alice.token)).status).toBe(201);
    expect((await hold(eventId, 2, alice.token)).status).toBe(201);
    expect((await reserve(eventId, 2, alice.token)).status).toBe(200);
    const before = await seatMap(eventId);
    const over = await multiHold(eventId, alice.token, { seats: [1, 3, 4, 5] });
    expect(over.status).toBe(409);
    expect(over.body.error.code).toBe('USER_LIMIT_REACHED');
    expect(over.body.error.details).toEqual([
      { seatNumber: 3, code: 'USER_LIMIT_REACHED' },
      { seatNumber: 4, code: 'USER_LIMIT_REACHED' },
      { seatNumber: 5, code: 'USER_LIMIT_REACHED' },
    ]);
    expect(await seatMap(eventId)).toEqual(before);
    // Seat 1 is already held, so 1, 3 and 4 make exactly four with the reservation.
    const fits = await multiHold(eventId, alice.token, { seats: [1, 3, 4] });
    expect(fits.status).toBe(201);
    expect(seatsOf(fits)).toEqual([1, 3, 4]);
  });

  it('SEAT_UNAVAILABLE wins over USER_LIMIT_REACHED; EVENT_NOT_ACTIVE over both; 400 over 404 over 409', async () => {
    const eventId = await createEvent({ maxSeatsPerUser: 2 });
    const [alice, bob] = [await newUser(), await newUser()];
    expect((await hold(eventId, 1, bob.token)).status).toBe(201);
    const both = await multiHold(eventId, alice.token, { seats: [1, 2] });
    expect(both.status).toBe(409);
    expect(both.body.error.code).toBe('SEAT_UNAVAILABLE');
    expect(both.body.error.details).toEqual([{ seatNumber: 1, code: 'SEAT_UNAVAILABLE' }]);

    // Per-event bounds of the body are 400s, even on an inactive event.
    const tooMany = await multiHold(eventId, alice.token, { seats: [2, 3, 4] });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.code).toBe('VALIDATION_FAILED');
    expect((await multiHold(eventId, alice.token, { seats: [21] })).status).toBe(400);
    expect((await best(eventId, alice.token, { count: 3 })).status).toBe(400);

    await stack.updateEvent(eventId, { status: 'inactive' });
    const inactive = await multiHold(eventId, alice.token, { seats: [1, 2] });
    expect(inactive.status).toBe(409);
    expect(inactive.body.error.code).toBe('EVENT_NOT_ACTIVE');
    expect((await best(eventId, alice.token, { count: 1 })).body.error.code).toBe('EVENT_NOT_ACTIVE');
    expect((await multiHold(eventId, alice.token, { seats: [21] })).status).toBe(400);

    const unknown = newUserId();
    expect((await multiHold(unknown, alice.token, { seats: [1] })).body.error.code).toBe('EVENT_NOT_FOUND');
    expect((await best(unknown, alice.token, { count: 1 })).body.error.code).toBe('EVENT_NOT_FOUND');
    expect((await multiHold(unknown, alice.token, { seats: 'x' })).status).toBe(400);
    expect((await http(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/hold`, { body: { seats: [1] } })).status).toBe(
      401,
    );
  });
});

describe('POST /api/seats/:eventId/best-available', () => {
  it('takes the first adjacent run that leaves no orphan, else the first run; SEAT_UNAVAILABLE when none', async () => {
    // Rows of 5: 1-5, 6-10, 11-15, 16-20.
    const eventId = await createEvent({ seatsPerRow: 5 });
    // Row 1 free: 1,2,3 (4,5 taken): 2 seats at 1-2 leave 3 alone, at 2-3 leave 1 alone → skip row 1
    // for an orphan-free run; row 2 has 7,8,9,10 free (6 taken): 7-8 leaves 9,10 → chosen.
    await occupy(eventId, [4, 5, 6]);
    const alice = await newUser();
    const res = await best(eventId, alice.token, { count: 2 });
    expect(res.status).toBe(201);
    expect(seatsOf(res)).toEqual([7, 8]);
    expect(res.body.items.every((h) => h.userId === alice.id)).toBe(true);

    // Runs never cross a row: 3 seats with row 2 now 9,10 free and row 1 at 1-3 → 1-3 (no remainder).
    const bob = await newUser();
    expect(seatsOf(await best(eventId, bob.token, { count: 3 }))).toEqual([1, 2, 3]);

    // Rows: 1-5 full, 6-10 has 9,10, 11-15 and 16-20 free. 4 seats: 11-14 leaves 15 alone, 12-15 leaves
    // 11 alone → row 4 likewise → no orphan-free run: the first run 11-14.
    const carol = await newUser();
    expect(seatsOf(await best(eventId, carol.token, { count: 4 }))).toEqual([11, 12, 13, 14]);
    // A run longer than a row never exists.
    expect((await best(eventId, carol.token, { count: 6 })).body.error).toMatchObject({
      code: 'SEAT_UNAVAILABLE',
    });
  });

  it('prefers a later run over creating an orphan, and leaves existing orphans alone', async () => {
    const eventId = await createEvent({ totalSeats: 10, seatsPerRow: 10 });
    // Free: 2, 4,5,6, 8,9,10. Seat 2 is already an orphan (not a new one). 3 seats: 4-6 fits exactly.
    // Then 2 seats: 8-9 leaves 10 alone, 9-10 leaves 8 alone → no orphan-free run: the first run 8-9.
    await occupy(eventId, [1, 3, 7]);
    const alice = await newUser();
    expect(seatsOf(await best(eventId, alice.token, { count: 3 }))).toEqual([4, 5, 6]);
    const bob = await newUser();
    expect(seatsOf(await best(eventId, bob.token, { count: 2 }))).toEqual([8, 9]);
  });

  it('uses the shorter last row, and counts row ends as unavailable', async () => {
    // Rows of 8 over 20 seats: 1-8, 9-16, 17-20 (short).
    const eventId = await createEvent({ seatsPerRow: 8, maxSeatsPerUser: 20 });
    await occupy(eventId, [1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14, 15]);
    // Free: 7,8 | 16 | 17,18,19,20. 3 seats: only row 3 fits; 17-19 leaves 20 alone, 18-20 leaves 17 alone.
    const alice = await newUser();
    expect(seatsOf(await best(eventId, alice.token, { count: 3 }))).toEqual([17, 18, 19]);
    // 2 seats: 7-8 fits its row end exactly.
    const bob = await newUser();
    expect(seatsOf(await best(eventId, bob.token, { count: 2 }))).toEqual([7, 8]);
  });

  it('adjacent: false takes the lowest free seats; fewer than count is SEAT_UNAVAILABLE, nothing changed', async () => {
    const eventId = await createEvent({ totalSeats: 10, seatsPerRow: 5, maxSeatsPerUser: 10 });
    await occupy(eventId, [1, 3, 5, 6]);
    const alice = await newUser();
    const res = await best(eventId, alice.token, { count: 4, adjacent: false, holdDuration: 30 });
    expect(res.status).toBe(201);
    expect(seatsOf(res)).toEqual([2, 4, 7, 8]);
    expect(Date.parse(res.body.items[0]!.expiresAt) - Date.parse(res.body.items[0]!.heldAt)).toBe(30_000);
    const before = await seatMap(eventId);
    const bob = await newUser();
    const short = await best(eventId, bob.token, { count: 3, adjacent: false });
    expect(short.status).toBe(409);
    expect(short.body.error.code).toBe('SEAT_UNAVAILABLE');
    expect(await seatMap(eventId)).toEqual(before);
    expect(seatsOf(await best(eventId, bob.token, { count: 2, adjacent: false }))).toEqual([9, 10]);
  });

  it('applies the user limit to the chosen seats; the default is one row', async () => {
    const eventId = await createEvent({ maxSeatsPerUser: 3 });
    const alice = await newUser();
    expect((await hold(eventId, 20, alice.token)).status).toBe(201);
    const over = await best(eventId, alice.token, { count: 3 });
    expect(over.status).toBe(409);
    expect(over.body.error.code).toBe('USER_LIMIT_REACHED');
    // One row of 20 with 20 taken: 1-2 leaves 3..19, no orphan.
    expect(seatsOf(await best(eventId, alice.token, { count: 2 }))).toEqual([1, 2]);
  });

  it('treats an event installed before rows existed (no row length in Redis) as one row', async () => {
    const eventId = await createEvent({ seatsPerRow: 5 });
    await occupy(eventId, [3]);
    const redis = new Redis(stack.isolation.env.REDIS_URL!, { keyPrefix: stack.isolation.redisPrefix });
    try {
      expect(await redis.hdel(`seat:{${eventId}}:meta`, 'row')).toBe(1);
    } finally {
      redis.disconnect();
    }
    // Rows of 5 would give 6-9; one row of 20 gives 4-7 (16 free seats after it).
    const alice = await newUser();
    expect(seatsOf(await best(eventId, alice.token, { count: 4 }))).toEqual([4, 5, 6, 7]);
  });

  it('treats a hold past expiresAt as available and expires it in the same call (a refused call writes nothing)', async () => {
    const eventId = await createEvent({ totalSeats: 10 });
    const [alice, bob, carol] = [await newUser(), await newUser(), await newUser()];
    const short = await multiHold(eventId, alice.token, { seats: [1, 3], holdDuration: 10 });
    expect(short.status).toBe(201);
    expect((await hold(eventId, 5, carol.token, { holdDuration: 300 })).status).toBe(201);
    const expiresAt = Date.parse(short.body.items[0]!.expiresAt);
    // No expiry worker runs here: the seats are released only by the scripts that meet them.
    await waitFor(
      async () => {
        const seat = await http(stack.gatewayUrl, 'GET', `/api/seats/${eventId}/1/status`);
        return Date.now() > expiresAt && seat.body.status === 'available';
      },
      { timeoutMs: 15_000, intervalMs: 250, what: 'the holds to pass expiresAt' },
    );
    const before = await seatMap(eventId);
    const refused = await multiHold(eventId, bob.token, { seats: [3, 5] });
    expect(refused.status).toBe(409);
    expect(refused.body.error.details).toEqual([{ seatNumber: 5, code: 'SEAT_UNAVAILABLE' }]);
    expect(await seatMap(eventId)).toEqual(before);

    expect(seatsOf(await multiHold(eventId, bob.token, { seats: [4, 3] }))).toEqual([3, 4]);
    const res = await best(eventId, bob.token, { count: 2 });
    expect(res.status).toBe(201);
    expect(seatsOf(res)).toEqual([1, 2]);
    const history = await waitFor(
      async () => {
        const page = await http<{ items: { action: string; seatNumber: number }[] }>(
          stack.gatewayUrl,
          'GET',
          `/api/events/${eventId}/history`,
          { token: stack.admin },
        );
        return page.body.items.length >= 9 && page.body.items;
      },
      { timeoutMs: 3000, what: 'nine audit entries' },
    );
    expect(history.map((h) => `${h.action}:${h.seatNumber}`)).toEqual([
      'held:1',
      'held:3',
      'held:5',
      'expired:3',
      'held:3',
      'held:4',
      'expired:1',
      'held:1',
      'held:2',
    ]);
  }, 30_000);
});

describe('hostile input for the §7 bodies', () => {
  let eventId: string;
  let alice: { id: string; token: string };

  beforeAll(async () => {
    eventId = await createEvent({ maxSeatsPerUser: 5 });
    alice = await newUser();
    expect((await hold(eventId, 1, alice.token)).status).toBe(201);
  });

  const badHolds: [string, unknown][] = [
    ['no seats', {}],
    ['seats null', { seats: null }],
    ['seats a string', { seats: '1,2' }],
    ['seats an object', { seats: { 0: 1 } }],
    ['empty seats', { seats: [] }],
    ['string seat', { seats: ['2'] }],
    ['float seat', { seats: [2.5] }],
    ['null seat', { seats: [null] }],
    ['negative seat', { seats: [-2] }],
    ['seat 0', { seats: [0] }],
    ['seat above totalSeats', { seats: [21] }],
    ['seat above any event', { seats: [1001] }],
    ['huge seat', { seats: [1e300] }],
    ['duplicate seats', { seats: [2, 2] }],
    ['more than maxSeatsPerUser', { seats: [2, 3, 4, 5, 6, 7] }],
    ['huge array', { seats: Array.from({ length: 1001 }, (_, i) => i + 1) }],
    ['unknown field', { seats: [2], extra: true }],
    ['userId field', { seats: [2], userId: newUserId() }],
    ['holdDuration string', { seats: [2], holdDuration: '60' }],
    ['holdDuration float', { seats: [2], holdDuration: 60.5 }],
    ['holdDuration null', { seats: [2], holdDuration: null }],
    ['holdDuration too short', { seats: [2], holdDuration: 9 }],
    ['holdDuration too long', { seats: [2], holdDuration: 3601 }],
    ['an array body', [2, 3]],
    ['a number body', 2],
    ['null body', null],
  ];
  const badBest: [string, unknown][] = [
    ['no count', {}],
    ['count null', { count: null }],
    ['count string', { count: '2' }],
    ['count float', { count: 1.5 }],
    ['count 0', { count: 0 }],
    ['count negative', { count: -1 }],
    ['count above maxSeatsPerUser', { count: 6 }],
    ['count above totalSeats', { count: 21 }],
    ['count huge', { count: 1e300 }],
    ['adjacent string', { count: 2, adjacent: 'true' }],
    ['adjacent number', { count: 2, adjacent: 1 }],
    ['adjacent null', { count: 2, adjacent: null }],
    ['holdDuration string', { count: 2, holdDuration: '60' }],
    ['holdDuration 0', { count: 2, holdDuration: 0 }],
    ['unknown field', { count: 2, seats: [2] }],
    ['an array body', [2]],
  ];

  it.each(badHolds)('multi-hold refuses %s with 400 and changes nothing', async (_label, body) => {
    const before = await seatMap(eventId);
    const res = await http<ErrorReply>(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/hold`, {
      token: alice.token,
      rawBody: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    expect(await seatMap(eventId)).toEqual(before);
  });

  it.each(badBest)('best-available refuses %s with 400 and changes nothing', async (_label, body) => {
    const before = await seatMap(eventId);
    const res = await best(eventId, alice.token, body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    expect(await seatMap(eventId)).toEqual(before);
  });

  it('refuses no body, malformed JSON, text/plain, a bad event id, an oversized body and __proto__', async () => {
    const before = await seatMap(eventId);
    for (const path of ['hold', 'best-available']) {
      const url = `/api/seats/${eventId}/${path}`;
      expect((await http(stack.gatewayUrl, 'POST', url, { token: alice.token })).status).toBe(400);
      expect(
        (
          await http(stack.gatewayUrl, 'POST', url, {
            token: alice.token,
            rawBody: '{"seats": [2',
            headers: { 'content-type': 'application/json' },
          })
        ).status,
      ).toBe(400);
      const plain = await http<ErrorReply>(stack.gatewayUrl, 'POST', url, {
        token: alice.token,
        rawBody: '{"seats":[2],"count":1}',
        headers: { 'content-type': 'text/plain' },
      });
      expect(plain.status).toBe(415);
      expect(plain.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      expect(
        (
          await http(stack.gatewayUrl, 'POST', `/api/seats/not-a-uuid/${path}`, {
            token: alice.token,
            body: { seats: [2], count: 1 },
          })
        ).status,
      ).toBe(400);
    }
    const huge = await http<ErrorReply>(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/hold`, {
      token: alice.token,
      body: { seats: Array.from({ length: 5000 }, (_, i) => i + 1) },
    });
    expect(huge.status).toBe(413);
    const proto = await http<ErrorReply>(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/best-available`, {
      token: alice.token,
      rawBody: '{"count":1,"__proto__":{"adjacent":false}}',
      headers: { 'content-type': 'application/json' },
    });
    expect(proto.status).toBe(400);
    expect(await seatMap(eventId)).toEqual(before);
  });
});
