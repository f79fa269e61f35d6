import { connectWs, http, newUserId, useStack, userToken } from '@zephyr/testing';

/**
 * One seat's whole journey through all five processes, as a client sees it through the gateway:
 * admin creates an event → a user holds seat 7 → a WebSocket subscriber sees it held → the user reserves
 * it → reserved → a 10 s hold on seat 8 expires → the subscriber sees it available within 2 s of expiresAt.
 */
const stack = useStack('journey', { env: { RATE_LIMIT_PER_IP: '0', RATE_LIMIT_PER_USER: '0' }, timeoutMs: 90_000 });

it('admin creates, user holds, reserves and lets a hold expire; the WebSocket client sees every change', async () => {
  const gw = stack.gatewayUrl;
  const { admin } = stack;
  const userId = newUserId();
  const user = await userToken(userId);

  const eventId = await stack.createEvent({ name: 'Summer Festival', totalSeats: 100 });

  const ws = await stack.openWs();
  ws.send({ type: 'SUBSCRIBE_EVENT', eventId });
  await ws.next((m) => m.type === 'SUBSCRIBED' && m.id === eventId);

  const held = await http(gw, 'POST', `/api/seats/${eventId}/7/hold`, { token: user });
  expect(held.status).toBe(201);
  const heldUpdate = await ws.next((m) => m.type === 'SEAT_UPDATE' && m.seatNumber === 7 && m.status === 'held', 1500);
  expect(heldUpdate).toMatchObject({
    channel: 'event',
    eventId,
    version: expect.any(Number),
    timestamp: expect.stringMatching(/Z$/),
  });
  expect(heldUpdate).not.toHaveProperty('userId');

  const reserved = await http(gw, 'POST', `/api/seats/${eventId}/7/reserve`, { token: user });
  expect(reserved.status).toBe(200);
  expect(reserved.body).toMatchObject({ status: 'reserved', seatNumber: 7, userId });
  const reservedUpdate = await ws.next(
    (m) => m.type === 'SEAT_UPDATE' && m.seatNumber === 7 && m.status === 'reserved',
    1500,
  );
  expect(reservedUpdate.version).toBeGreaterThan(heldUpdate.version);

  const shortHold = await http<{ expiresAt: string }>(gw, 'POST', `/api/seats/${eventId}/8/hold`, {
    token: user,
    body: { holdDuration: 10 },
  });
  expect(shortHold.status).toBe(201);
  const expiresAt = Date.parse(shortHold.body.expiresAt);
  const available = await ws.next(
    (m) => m.type === 'SEAT_UPDATE' && m.seatNumber === 8 && m.status === 'available',
    14_000,
  );
  const lagMs = Date.now() - expiresAt;
  expect(lagMs).toBeLessThan(2000);
  expect(Date.parse(available.timestamp)).toBeGreaterThanOrEqual(expiresAt);

  const event = await http<{ seats: { available: number; held: number; reserved: number } }>(
    gw,
    'GET',
    `/api/events/${eventId}`,
  );
  expect(event.body.seats).toEqual({ available: 99, held: 0, reserved: 1 });
  const history = await http<{ items: { action: string; seatNumber: number }[] }>(
    gw,
    'GET',
    `/api/events/${eventId}/history`,
    { token: admin },
  );
  expect(history.body.items.map((i) => `${i.action}:${i.seatNumber}`)).toEqual([
    'held:7',
    'reserved:7',
    'held:8',
    'expired:8',
  ]);
}, 40_000);

it('answers unknown routes, missing tokens and down upstreams with the error envelope', async () => {
  const gw = stack.gatewayUrl;
  expect(await http(gw, 'GET', '/api/nope')).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
  expect(await http(gw, 'POST', '/api/events', { body: { name: 'x', totalSeats: 10 } })).toMatchObject({
    status: 401,
    body: { error: { code: 'UNAUTHENTICATED' } },
  });
  const plain = await http(gw, 'POST', '/api/events', {
    token: await userToken(newUserId()),
    body: { name: 'x', totalSeats: 10 },
  });
  expect(plain).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });
  for (const path of ['/health', '/health/ready', '/health/database', '/health/redis', '/health/rabbitmq']) {
    expect((await http(gw, 'GET', path)).status).toBe(200);
  }
  const refused = await connectWs(`${gw.replace('http', 'ws')}/ws?token=not.a.token`).catch((err: Error) => err);
  expect(String(refused)).toContain('401');
});
