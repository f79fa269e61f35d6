import { TEST_JWT_SECRET, connectWs, http, inParallel, newUserId, userToken, waitFor } from '@zephyr/testing';
import { expectError, hs256, nowSeconds, portOf, rawHttp, rawRequest, useSecurityStack } from './support';

/**
 * Object-level and function-level authorization through the gateway (OWASP API1, API3, API5, API6): a user
 * acts only on their own holds and sees no one else's identity, admin endpoints need the admin role, no
 * field can be mass-assigned, no header asserts an identity, and one account cannot sweep an event.
 */
const stack = useSecurityStack('secauthz', { eventDefaults: { name: 'Authz show' } });
const { createEvent } = stack;
const alice = { id: newUserId(), token: '' };
const bob = { id: newUserId(), token: '' };

beforeAll(async () => {
  alice.token = await userToken(alice.id);
  bob.token = await userToken(bob.id);
});

type SeatView = { status: string; userId?: string };
const seatStatus = (eventId: string, seat: number, token?: string) =>
  http<SeatView>(stack.gatewayUrl, 'GET', `/api/seats/${eventId}/${seat}/status`, { token });
const historyOf = async (eventId: string) =>
  (
    await http<{ items: { action: string; userId: string; seatNumber: number }[] }>(
      stack.gatewayUrl,
      'GET',
      `/api/events/${eventId}/history`,
      { token: stack.admin },
    )
  ).body.items;

describe('holds belong to their holder', () => {
  it("user B cannot reserve, refresh, release or list user A's hold, and A's hold is untouched", async () => {
    const eventId = await createEvent();
    const held = await http<{ expiresAt: string }>(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/3/hold`, {
      token: alice.token,
      body: { holdDuration: 300 },
    });
    expect(held.status).toBe(201);

    expectError(
      await http(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/3/reserve`, { token: bob.token }),
      409,
      'SEAT_UNAVAILABLE',
    );
    expectError(
      await http(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/3/refresh`, {
        token: bob.token,
        body: { holdDuration: 3600 },
      }),
      409,
      'SEAT_UNAVAILABLE',
    );
    expectError(
      await http(stack.gatewayUrl, 'DELETE', `/api/seats/${eventId}/3/hold`, { token: bob.token }),
      409,
      'SEAT_UNAVAILABLE',
    );
    expectError(
      await http(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/3/hold`, { token: bob.token }),
      409,
      'SEAT_UNAVAILABLE',
    );
    expectError(
      await http(stack.gatewayUrl, 'GET', `/api/seats/${eventId}/user/${alice.id}/holds`, { token: bob.token }),
      403,
      'FORBIDDEN',
    );
    // The same id in upper case is the same user.
    expectError(
      await http(stack.gatewayUrl, 'GET', `/api/seats/${eventId}/user/${alice.id.toUpperCase()}/holds`, {
        token: bob.token,
      }),
      403,
      'FORBIDDEN',
    );
    expectError(
      await http(stack.gatewayUrl, 'GET', `/api/seats/${eventId}/user/${alice.id}/holds`),
      401,
      'UNAUTHENTICATED',
    );

    // Naming A in the body does not make B act as A: 403 before anything is looked up.
    for (const [method, action] of [
      ['POST', 'reserve'],
      ['POST', 'refresh'],
      ['DELETE', 'hold'],
      ['POST', 'hold'],
    ] as const) {
      for (const seat of [3, 4]) {
        expectError(
          await http(stack.gatewayUrl, method, `/api/seats/${eventId}/${seat}/${action}`, {
            token: bob.token,
            body: { userId: alice.id },
          }),
          403,
          'FORBIDDEN',
        );
      }
    }

    const mine = await http<{ items: { seatNumber: number; expiresAt: string }[] }>(
      stack.gatewayUrl,
      'GET',
      `/api/seats/${eventId}/user/${alice.id}/holds`,
      { token: alice.token },
    );
    expect(mine.body.items).toEqual([
      expect.objectContaining({ seatNumber: 3, userId: alice.id, expiresAt: held.body.expiresAt }),
    ]);
    expect(
      (await http(stack.gatewayUrl, 'GET', `/api/seats/${eventId}/user/${alice.id}/holds`, { token: stack.admin }))
        .status,
    ).toBe(200);
    expect((await seatStatus(eventId, 4)).body.status).toBe('available');
    // The audit trail holds A's hold and nothing done in B's name. A's marker hold, made after B's attempts,
    // shows when the trail has caught up with them (instead of guessing how long it lags).
    expect((await http(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/5/hold`, { token: alice.token })).status).toBe(
      201,
    );
    const trail = await waitFor(async () => {
      const items = await historyOf(eventId);
      return items.some((e) => e.seatNumber === 5) && items;
    });
    expect(trail.map((e) => `${e.action}:${e.seatNumber}:${e.userId}`).sort()).toEqual(
      [`held:3:${alice.id}`, `held:5:${alice.id}`].sort(),
    );
  });

  it("shows a holder's identity only to that holder and admins, on status, the seat map and WebSocket", async () => {
    const eventId = await createEvent();
    const watcher = await connectWs(`${stack.gatewayUrl.replace('http', 'ws')}/ws?token=${bob.token}`);
    try {
      watcher.send({ type: 'SUBSCRIBE_EVENT', eventId });
      await watcher.next((m) => m.type === 'SUBSCRIBED');
      expect(
        (await http(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/5/hold`, { token: alice.token })).status,
      ).toBe(201);

      expect((await seatStatus(eventId, 5, alice.token)).body).toMatchObject({ status: 'held', userId: alice.id });
      expect((await seatStatus(eventId, 5, stack.admin)).body).toMatchObject({ status: 'held', userId: alice.id });
      for (const token of [bob.token, undefined]) {
        const seen = await seatStatus(eventId, 5, token);
        expect(seen.body.status).toBe('held');
        expect(seen.body).not.toHaveProperty('userId');
        const map = await http<{ seats: SeatView[] }>(stack.gatewayUrl, 'GET', `/api/events/${eventId}/seats`, {
          token,
        });
        expect(map.body.seats.find((s) => s.status === 'held')).not.toHaveProperty('userId');
        expect(JSON.stringify(map.body)).not.toContain(alice.id);
      }
      const update = await watcher.next((m) => m.type === 'SEAT_UPDATE' && m.seatNumber === 5);
      expect(update).not.toHaveProperty('userId');

      // B may not listen on A's user channel; an anonymous socket may not listen on any.
      watcher.send({ type: 'SUBSCRIBE_USER', userId: alice.id });
      expect(await watcher.next((m) => m.type === 'ERROR')).toMatchObject({ code: 'FORBIDDEN' });
      const anonymous = await connectWs(`${stack.gatewayUrl.replace('http', 'ws')}/ws`);
      anonymous.send({ type: 'SUBSCRIBE_USER', userId: alice.id });
      expect(await anonymous.next((m) => m.type === 'ERROR')).toMatchObject({ code: 'UNAUTHENTICATED' });
      // Nor switch identity on an authenticated socket.
      watcher.messages.length = 0;
      watcher.send({ type: 'AUTH', token: alice.token });
      expect(await watcher.next((m) => m.type === 'ERROR' || m.type === 'AUTHENTICATED')).toMatchObject({
        type: 'ERROR',
        code: 'FORBIDDEN',
      });
      anonymous.close();
    } finally {
      watcher.close();
    }
  });
});

describe('admin endpoints', () => {
  it('refuse a plain user (403) and an anonymous caller (401), change nothing, and work for an admin', async () => {
    const eventId = await createEvent();
    const before = await http(stack.gatewayUrl, 'GET', '/api/events?limit=100');
    const notAdmin = [
      alice.token,
      await userToken(newUserId(), {}),
      hs256({ sub: newUserId(), roles: ['Admin'], exp: nowSeconds() + 600 }, TEST_JWT_SECRET),
      hs256({ sub: newUserId(), roles: ['admin '], exp: nowSeconds() + 600 }, TEST_JWT_SECRET),
      hs256(
        { sub: newUserId(), roles: ['user'], admin: true, isAdmin: true, role: 'admin', exp: nowSeconds() + 600 },
        TEST_JWT_SECRET,
      ),
    ];
    const calls = [
      ['POST', '/api/events', { name: 'Mine now', totalSeats: 10 }],
      ['PATCH', `/api/events/${eventId}`, { status: 'cancelled' }],
      ['GET', `/api/events/${eventId}/history`, undefined],
    ] as const;
    for (const [method, path, body] of calls) {
      expectError(await http(stack.gatewayUrl, method, path, { body }), 401, 'UNAUTHENTICATED');
      for (const token of notAdmin)
        expectError(await http(stack.gatewayUrl, method, path, { token, body }), 403, 'FORBIDDEN');
    }
    expect(await http(stack.gatewayUrl, 'GET', '/api/events?limit=100')).toMatchObject({
      status: 200,
      body: before.body,
    });

    expect(
      (
        await http(stack.gatewayUrl, 'PATCH', `/api/events/${eventId}`, {
          token: stack.admin,
          body: { name: 'Renamed' },
        })
      ).body,
    ).toMatchObject({ name: 'Renamed', status: 'active' });
    expect((await http(stack.gatewayUrl, 'GET', `/api/events/${eventId}/history`, { token: stack.admin })).status).toBe(
      200,
    );
  });

  it('refuse mass assignment of server-owned fields (400, nothing created or changed)', async () => {
    const eventId = await createEvent({ maxSeatsPerUser: 2 });
    const before = await http(stack.gatewayUrl, 'GET', '/api/events?limit=100');
    for (const extra of [
      { id: newUserId() },
      { createdAt: '2000-01-01T00:00:00.000Z' },
      { status: 'cancelled' },
      { seats: { available: 0 } },
      { revision: 99 },
      { ownerId: alice.id },
    ]) {
      expectError(
        await http(stack.gatewayUrl, 'POST', '/api/events', {
          token: stack.admin,
          body: { name: 'Assign', totalSeats: 10, ...extra },
        }),
        400,
        'VALIDATION_FAILED',
      );
    }
    for (const extra of [
      { totalSeats: 1000 },
      { maxSeatsPerUser: 1000 },
      { id: newUserId() },
      { updatedAt: '2000-01-01T00:00:00.000Z' },
      { createdAt: '2000-01-01T00:00:00.000Z' },
    ]) {
      expectError(
        await http(stack.gatewayUrl, 'PATCH', `/api/events/${eventId}`, { token: stack.admin, body: extra }),
        400,
        'VALIDATION_FAILED',
      );
    }
    for (const extra of [
      { expiresAt: '2100-01-01T00:00:00.000Z' },
      { status: 'reserved' },
      { heldAt: '2000-01-01T00:00:00.000Z' },
      { seatNumber: 2 },
      { version: 1 },
    ]) {
      expectError(
        await http(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/1/hold`, { token: alice.token, body: extra }),
        400,
        'VALIDATION_FAILED',
      );
    }
    expect(await http(stack.gatewayUrl, 'GET', '/api/events?limit=100')).toMatchObject({
      status: 200,
      body: before.body,
    });
    expect((await seatStatus(eventId, 1)).body.status).toBe('available');
  });
});

describe('no way around the gateway', () => {
  it('never routes /internal, whatever the method or spelling', async () => {
    const eventId = await createEvent();
    const targets = [
      `/internal/events/${eventId}`,
      '/internal/holds/expire',
      `/api/../internal/events/${eventId}`,
      `/api/events/../../internal/events/${eventId}`,
      `/api/events/%2e%2e/%2e%2e/internal/events/${eventId}`,
      `/api/events/..%2F..%2Finternal%2Fevents%2F${eventId}`,
      `//internal/events/${eventId}`,
      `/INTERNAL/events/${eventId}`,
      `http://127.0.0.1/internal/events/${eventId}`,
    ];
    for (const target of targets) {
      for (const method of ['GET', 'PUT', 'POST', 'DELETE']) {
        const res = await rawHttp(
          portOf(stack.gatewayUrl),
          rawRequest(
            method,
            target,
            { Authorization: `Bearer ${stack.admin}`, 'Content-Type': 'application/json' },
            method === 'GET' ? undefined : '{"holds":[]}',
          ),
        );
        try {
          expectError(res, [400, 404], ['NOT_FOUND', 'VALIDATION_FAILED']);
        } catch (err) {
          throw new Error(`${method} ${target}: ${(err as Error).message}`);
        }
      }
    }
    expect((await http(stack.gatewayUrl, 'GET', `/api/events/${eventId}`)).body).toMatchObject({
      status: 'active',
      name: 'Authz show',
    });
  });

  it('ignores identity headers: only the verified token says who the caller is', async () => {
    const eventId = await createEvent();
    const spoof = {
      'x-user-id': alice.id,
      'x-user-roles': 'admin',
      'x-forwarded-user': alice.id,
      'x-auth-request-user': alice.id,
      'x-remote-user': alice.id,
      'x-roles': 'admin',
    };
    expectError(
      await http(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/1/hold`, { headers: spoof }),
      401,
      'UNAUTHENTICATED',
    );
    expectError(
      await http(stack.gatewayUrl, 'POST', '/api/events', {
        token: bob.token,
        headers: spoof,
        body: { name: 'x', totalSeats: 10 },
      }),
      403,
      'FORBIDDEN',
    );
    const held = await http(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/1/hold`, {
      token: bob.token,
      headers: spoof,
    });
    expect(held).toMatchObject({ status: 201, body: { userId: bob.id } });
    expectError(
      await http(stack.gatewayUrl, 'GET', `/api/seats/${eventId}/user/${alice.id}/holds`, {
        token: bob.token,
        headers: spoof,
      }),
      403,
      'FORBIDDEN',
    );
  });
});

describe('one account cannot sweep an event (API6)', () => {
  it('caps a user at maxSeatsPerUser, also under a concurrent burst', async () => {
    const eventId = await createEvent({ totalSeats: 50, maxSeatsPerUser: 3 });
    const bot = await userToken(newUserId());
    const results = await inParallel(
      10,
      Array.from(
        { length: 20 },
        (_, i) => () => http(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/${i + 1}/hold`, { token: bot }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(3);
    for (const refused of results.filter((r) => r.status !== 201)) expectError(refused, 409, 'USER_LIMIT_REACHED');
    const available = await http<{ count: number }>(stack.gatewayUrl, 'GET', `/api/events/${eventId}/seats/available`);
    expect(available.body.count).toBe(47);
    // Another user is not affected by the bot's limit.
    expect((await http(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/50/hold`, { token: alice.token })).status).toBe(
      201,
    );
  });
});
