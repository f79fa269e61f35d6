import { http, newUser, newUserId, useStack, waitFor } from '@zephyr/testing';

/** Component tests of the seat rules against real PostgreSQL, Redis and RabbitMQ (one seat-service). */
const stack = useStack('seatrules', { services: ['event-service', 'seat-service'] });
const { createEvent } = stack;
let seatUrl: string;

beforeAll(() => {
  seatUrl = stack.urlOf('seat-service');
});

const hold = (eventId: string, seat: number | string, token: string, body?: unknown) =>
  http(seatUrl, 'POST', `/api/seats/${eventId}/${seat}/hold`, { token, body });
const reserve = (eventId: string, seat: number, token: string) =>
  http(seatUrl, 'POST', `/api/seats/${eventId}/${seat}/reserve`, { token });
const refresh = (eventId: string, seat: number, token: string, body?: unknown) =>
  http(seatUrl, 'POST', `/api/seats/${eventId}/${seat}/refresh`, { token, body });
const release = (eventId: string, seat: number, token: string) =>
  http(seatUrl, 'DELETE', `/api/seats/${eventId}/${seat}/hold`, { token });
const status = (eventId: string, seat: number, token?: string) =>
  http(seatUrl, 'GET', `/api/seats/${eventId}/${seat}/status`, { token });
const seatMap = (eventId: string) =>
  http<{ version: number; seats: { status: string }[] }>(seatUrl, 'GET', `/api/events/${eventId}/seats`);
const seatCounts = (eventId: string) => http(seatUrl, 'GET', `/internal/events/${eventId}/seat-counts`);

describe('hold', () => {
  it('holds an available seat right after the event was created, and a repeat returns the same hold', async () => {
    const eventId = await createEvent();
    const alice = await newUser();
    const first = await hold(eventId, 7, alice.token, { holdDuration: 120 });
    expect(first.status).toBe(201);
    expect(first.body).toEqual({
      eventId,
      seatNumber: 7,
      userId: alice.id,
      heldAt: expect.stringMatching(/Z$/),
      expiresAt: expect.any(String),
    });
    const { heldAt, expiresAt } = first.body as { heldAt: string; expiresAt: string };
    expect(Date.parse(expiresAt) - Date.parse(heldAt)).toBe(120_000);
    const again = await hold(eventId, 7, alice.token);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
  });

  it('refuses a seat someone else holds or reserved, and seats above capacity', async () => {
    const eventId = await createEvent();
    const [alice, bob] = [await newUser(), await newUser()];
    expect((await hold(eventId, 1, alice.token)).status).toBe(201);
    expect((await hold(eventId, 1, bob.token)).body).toMatchObject({ error: { code: 'SEAT_UNAVAILABLE' } });
    expect((await reserve(eventId, 1, alice.token)).status).toBe(200);
    expect((await hold(eventId, 1, alice.token)).body).toMatchObject({ error: { code: 'SEAT_UNAVAILABLE' } });
    expect((await hold(eventId, 21, alice.token)).body).toMatchObject({ error: { code: 'SEAT_NOT_FOUND' } });
    expect((await hold(eventId, '123456789012345678901234567890', alice.token)).status).toBe(404);
  });

  it('validates path, body and identity before touching anything', async () => {
    const eventId = await createEvent();
    const alice = await newUser();
    for (const seat of ['0', '01', '-1', '1e3', '7.0', '+7', 'abc']) {
      const res = await hold(eventId, seat, alice.token);
      expect([seat, res.status, (res.body as { error: { code: string } }).error.code]).toEqual([
        seat,
        400,
        'VALIDATION_FAILED',
      ]);
    }
    for (const body of [
      { holdDuration: '60' },
      { holdDuration: 9 },
      { holdDuration: 3601 },
      { holdDuration: 10.5 },
      { holdDuration: null },
      { extra: 1 },
    ]) {
      expect((await hold(eventId, 2, alice.token, body)).status).toBe(400);
    }
    expect((await hold('not-a-uuid', 2, alice.token)).status).toBe(400);
    expect((await hold(eventId, 2, alice.token, { userId: newUserId() })).body).toMatchObject({
      error: { code: 'FORBIDDEN' },
    });
    expect((await http(seatUrl, 'POST', `/api/seats/${eventId}/2/hold`, {})).status).toBe(401);
    const text = await http(seatUrl, 'POST', `/api/seats/${eventId}/2/hold`, {
      token: alice.token,
      rawBody: '{}',
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(415);
    const big = await http(seatUrl, 'POST', `/api/seats/${eventId}/2/hold`, {
      token: alice.token,
      rawBody: JSON.stringify({ x: 'a'.repeat(17_000) }),
      headers: { 'content-type': 'application/json' },
    });
    expect(big.status).toBe(413);
    const malformed = await http(seatUrl, 'POST', `/api/seats/${eventId}/2/hold`, {
      token: alice.token,
      rawBody: '{"holdDuration":',
      headers: { 'content-type': 'application/json' },
    });
    expect(malformed.status).toBe(400);
    expect((await status(eventId, 2)).body).toMatchObject({ status: 'available' });
    expect(
      (await http(seatUrl, 'POST', `/api/seats/${newUserId()}/2/hold`, { token: alice.token })).body,
    ).toMatchObject({ error: { code: 'EVENT_NOT_FOUND' } });
  });

  it('enforces maxSeatsPerUser over live holds plus reservations', async () => {
    const eventId = await createEvent({ maxSeatsPerUser: 2 });
    const alice = await newUser();
    expect((await hold(eventId, 1, alice.token)).status).toBe(201);
    expect((await reserve(eventId, 1, alice.token)).status).toBe(200);
    expect((await hold(eventId, 2, alice.token)).status).toBe(201);
    expect((await hold(eventId, 3, alice.token)).body).toMatchObject({ error: { code: 'USER_LIMIT_REACHED' } });
    expect((await release(eventId, 2, alice.token)).status).toBe(204);
    expect((await hold(eventId, 3, alice.token)).status).toBe(201);
  });
});

describe('reserve, refresh, release', () => {
  it('follows SPEC.md for the holder, other users and available seats', async () => {
    const eventId = await createEvent();
    const [alice, bob] = [await newUser(), await newUser()];
    expect((await reserve(eventId, 5, alice.token)).body).toMatchObject({ error: { code: 'HOLD_NOT_FOUND' } });
    expect((await refresh(eventId, 5, alice.token)).body).toMatchObject({ error: { code: 'HOLD_NOT_FOUND' } });
    expect((await release(eventId, 5, alice.token)).body).toMatchObject({ error: { code: 'HOLD_NOT_FOUND' } });
    await hold(eventId, 5, alice.token, { holdDuration: 30 });
    expect((await reserve(eventId, 5, bob.token)).body).toMatchObject({ error: { code: 'SEAT_UNAVAILABLE' } });
    expect((await refresh(eventId, 5, bob.token)).body).toMatchObject({ error: { code: 'SEAT_UNAVAILABLE' } });
    expect((await release(eventId, 5, bob.token)).body).toMatchObject({ error: { code: 'SEAT_UNAVAILABLE' } });

    const before = await seatMap(eventId);
    const refreshed = await refresh(eventId, 5, alice.token);
    expect(refreshed.status).toBe(200);
    const r = refreshed.body as { heldAt: string; expiresAt: string };
    expect(Date.parse(r.expiresAt) - Date.now()).toBeGreaterThan(25_000); // default: the duration last set (30 s)
    expect(Date.parse(r.expiresAt) - Date.now()).toBeLessThanOrEqual(30_000);
    expect((await seatMap(eventId)).body.version).toBe(before.body.version); // a refresh is not a seat change

    const reserved = await reserve(eventId, 5, alice.token);
    expect(reserved.status).toBe(200);
    expect(reserved.body).toMatchObject({ eventId, seatNumber: 5, status: 'reserved', userId: alice.id });
    const again = await reserve(eventId, 5, alice.token);
    expect(again.status).toBe(200);
    expect((again.body as { reservedAt: string }).reservedAt).toBe(
      (reserved.body as { reservedAt: string }).reservedAt,
    );
    expect((await refresh(eventId, 5, alice.token)).body).toMatchObject({ error: { code: 'HOLD_NOT_FOUND' } });
    expect((await release(eventId, 5, alice.token)).body).toMatchObject({ error: { code: 'HOLD_NOT_FOUND' } });
    expect((await reserve(eventId, 5, bob.token)).body).toMatchObject({ error: { code: 'SEAT_UNAVAILABLE' } });
  });

  it('releases at once and shows userId only to the holder or an admin', async () => {
    const eventId = await createEvent();
    const [alice, bob] = [await newUser(), await newUser()];
    await hold(eventId, 3, alice.token);
    expect((await status(eventId, 3, alice.token)).body).toMatchObject({ status: 'held', userId: alice.id });
    expect((await status(eventId, 3, stack.admin)).body).toMatchObject({ userId: alice.id });
    expect((await status(eventId, 3, bob.token)).body).not.toHaveProperty('userId');
    expect((await status(eventId, 3)).body).not.toHaveProperty('userId');
    const map = await http<{ seats: Record<string, unknown>[] }>(seatUrl, 'GET', `/api/events/${eventId}/seats`, {
      token: bob.token,
    });
    expect(map.body.seats[2]).toMatchObject({ status: 'held' });
    expect(map.body.seats[2]).not.toHaveProperty('userId');
    expect((await release(eventId, 3, alice.token)).status).toBe(204);
    expect((await status(eventId, 3)).body).toEqual({ eventId, seatNumber: 3, status: 'available' });
    const available = await http<{ count: number; seats: number[] }>(
      seatUrl,
      'GET',
      `/api/events/${eventId}/seats/available`,
    );
    expect(available.body.count).toBe(20);
  });

  it('lets users read only their own holds unless admin', async () => {
    const eventId = await createEvent();
    const [alice, bob] = [await newUser(), await newUser()];
    await hold(eventId, 9, alice.token);
    await hold(eventId, 4, alice.token);
    await hold(eventId, 10, alice.token);
    await reserve(eventId, 10, alice.token);
    const own = await http<{ items: { seatNumber: number }[] }>(
      seatUrl,
      'GET',
      `/api/seats/${eventId}/user/${alice.id}/holds`,
      { token: alice.token },
    );
    expect(own.body.items.map((h) => h.seatNumber)).toEqual([4, 9]);
    expect(
      (await http(seatUrl, 'GET', `/api/seats/${eventId}/user/${alice.id}/holds`, { token: bob.token })).status,
    ).toBe(403);
    expect(
      (await http(seatUrl, 'GET', `/api/seats/${eventId}/user/${alice.id}/holds`, { token: stack.admin })).status,
    ).toBe(200);
    expect(
      (await http(seatUrl, 'GET', `/api/seats/${newUserId()}/user/${alice.id}/holds`, { token: alice.token })).status,
    ).toBe(404);
  });
});

describe('event status and expiry', () => {
  it('refuses holds, reserves and refreshes on an inactive event but allows a release', async () => {
    const eventId = await createEvent();
    const alice = await newUser();
    await hold(eventId, 1, alice.token);
    await hold(eventId, 2, alice.token);
    await stack.updateEvent(eventId, { status: 'inactive' });
    expect((await hold(eventId, 3, alice.token)).body).toMatchObject({ error: { code: 'EVENT_NOT_ACTIVE' } });
    expect((await reserve(eventId, 1, alice.token)).body).toMatchObject({ error: { code: 'EVENT_NOT_ACTIVE' } });
    expect((await refresh(eventId, 1, alice.token)).body).toMatchObject({ error: { code: 'EVENT_NOT_ACTIVE' } });
    expect((await release(eventId, 2, alice.token)).status).toBe(204);
    await stack.updateEvent(eventId, { status: 'active' });
    expect((await reserve(eventId, 1, alice.token)).status).toBe(200);
  });

  it('never honours a hold after expiresAt, even with no expiry worker running', async () => {
    const eventId = await createEvent();
    const [alice, bob] = [await newUser(), await newUser()];
    const held = await hold(eventId, 4, alice.token, { holdDuration: 10 });
    const expiresAt = Date.parse((held.body as { expiresAt: string }).expiresAt);
    expect((await seatCounts(eventId)).body).toEqual({ available: 19, held: 1, reserved: 0 });
    await new Promise((resolve) => setTimeout(resolve, expiresAt - Date.now() + 100));
    expect((await status(eventId, 4)).body).toMatchObject({ status: 'available' });
    expect((await seatCounts(eventId)).body).toEqual({ available: 20, held: 0, reserved: 0 });
    expect((await reserve(eventId, 4, alice.token)).body).toMatchObject({ error: { code: 'HOLD_NOT_FOUND' } });
    expect((await hold(eventId, 4, bob.token)).status).toBe(201);
  }, 20_000);
});

describe('seat counts', () => {
  it("tally the seat map, and the event-service's GET /api/events/:id shows them", async () => {
    const eventId = await createEvent({ totalSeats: 30 });
    const [alice, bob] = [await newUser(), await newUser()];
    expect((await seatCounts(eventId)).body).toEqual({ available: 30, held: 0, reserved: 0 });
    for (const seat of [1, 2, 3]) expect((await hold(eventId, seat, alice.token)).status).toBe(201);
    expect((await hold(eventId, 4, bob.token)).status).toBe(201);
    expect((await reserve(eventId, 2, alice.token)).status).toBe(200);
    expect((await release(eventId, 3, alice.token)).status).toBe(204);

    const expected = { available: 27, held: 2, reserved: 1 };
    const map = (await seatMap(eventId)).body.seats;
    expect({
      available: map.filter((s) => s.status === 'available').length,
      held: map.filter((s) => s.status === 'held').length,
      reserved: map.filter((s) => s.status === 'reserved').length,
    }).toEqual(expected);
    expect((await seatCounts(eventId)).body).toEqual(expected);
    await waitFor(
      async () => {
        const event = await http<{ seats: unknown }>(stack.urlOf('event-service'), 'GET', `/api/events/${eventId}`);
        return JSON.stringify(event.body.seats) === JSON.stringify(expected);
      },
      // The event-service keeps an answer 250 ms; the rest of the bound is for a loaded machine.
      { what: 'counts on the event', timeoutMs: 3000, intervalMs: 50 },
    );
  });

  it('answers 404 EVENT_NOT_FOUND for an event that does not exist and 400 for a bad id', async () => {
    const missing = await seatCounts('6f1c5b3e-1111-4222-8333-444455556666');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: { code: 'EVENT_NOT_FOUND' } });
    expect((await seatCounts('not-a-uuid')).status).toBe(400);
  });
});

describe('audit trail', () => {
  it('records every action once, in order, in PostgreSQL', async () => {
    const eventId = await createEvent();
    const alice = await newUser();
    await hold(eventId, 1, alice.token);
    await refresh(eventId, 1, alice.token);
    await hold(eventId, 2, alice.token);
    await release(eventId, 2, alice.token);
    await reserve(eventId, 1, alice.token);
    const history = await waitFor(
      async () => {
        const res = await http<{ items: { seq: number; action: string; seatNumber: number }[] }>(
          seatUrl,
          'GET',
          `/api/events/${eventId}/history`,
          { token: stack.admin },
        );
        return res.body.items.length === 5 ? res.body : undefined;
      },
      { timeoutMs: 3000, what: 'five audit entries' },
    );
    expect(history.items.map((i) => `${i.action}:${i.seatNumber}`)).toEqual([
      'held:1',
      'refreshed:1',
      'held:2',
      'released:2',
      'reserved:1',
    ]);
    const seqs = history.items.map((i) => i.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect((await http(seatUrl, 'GET', `/api/events/${eventId}/history`, { token: alice.token })).status).toBe(403);
    const page = await http<{ items: unknown[]; nextCursor: string }>(
      seatUrl,
      'GET',
      `/api/events/${eventId}/history?limit=2`,
      { token: stack.admin },
    );
    expect(page.body.items).toHaveLength(2);
    const next = await http<{ items: { seq: number }[] }>(
      seatUrl,
      'GET',
      `/api/events/${eventId}/history?limit=2&cursor=${page.body.nextCursor}`,
      { token: stack.admin },
    );
    expect(next.body.items[0]!.seq).toBe(seqs[2]);
    expect((await http(seatUrl, 'GET', `/api/events/${eventId}/history?limit=0`, { token: stack.admin })).status).toBe(
      400,
    );
    expect(
      (await http(seatUrl, 'GET', `/api/events/${eventId}/history?cursor=zzz`, { token: stack.admin })).status,
    ).toBe(400);

    const rows = await stack.db.query('select count(*)::int as n from seat_service.seat_audit where event_id = $1', [
      eventId,
    ]);
    expect(rows.rows[0].n).toBe(5);
  });
});

describe('internal expiry endpoint', () => {
  it('accepts a full batch of 500 hold references (bigger than a public body may be)', async () => {
    const eventId = await createEvent();
    const holds = Array.from({ length: 500 }, (_, i) => ({
      eventId,
      seatNumber: (i % 20) + 1,
      holdVersion: 1_000_000 + i,
    }));
    const res = await http<{ results: { outcome: string }[] }>(seatUrl, 'POST', '/internal/holds/expire', {
      body: { holds },
    });
    expect(res.status).toBe(200);
    expect(res.body.results).toHaveLength(500);
    expect(res.body.results.every((r) => r.outcome === 'gone')).toBe(true);
  });
});
