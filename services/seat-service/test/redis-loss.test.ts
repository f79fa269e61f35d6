import { connectWs, deleteRedisKeys, http, newUserId, useStack, userToken, waitFor } from '@zephyr/testing';

/**
 * Issue 10, item 5: holds live only in Redis. When Redis loses its data, every hold that was live must end
 * visibly (SEAT_UPDATE available and an audit entry), reservations come back from PostgreSQL, and versions
 * keep growing. The "loss" here deletes this test's own keys (its prefix), not the shared Redis.
 */
const stack = useStack('redisloss', { services: ['event-service', 'seat-service', 'notifier'] });

const audit = async (eventId: string) =>
  (
    await stack.db.query<{ action: string; seat_number: number }>(
      'SELECT action, seat_number FROM seat_service.seat_audit WHERE event_id = $1 ORDER BY seq',
      [eventId],
    )
  ).rows.map((r) => `${r.action}:${r.seat_number}`);

it('announces every hold lost with Redis as ended, keeps reservations, and versions keep growing', async () => {
  const seatUrl = stack.urlOf('seat-service');
  const eventId = await stack.createEvent({ name: 'Wiped', totalSeats: 10 });
  const buyerId = newUserId();
  const buyer = await userToken(buyerId);
  for (const seat of [1, 2, 3]) {
    expect((await http(seatUrl, 'POST', `/api/seats/${eventId}/${seat}/hold`, { token: buyer })).status).toBe(201);
  }
  expect((await http(seatUrl, 'POST', `/api/seats/${eventId}/3/reserve`, { token: buyer })).status).toBe(200);
  await waitFor(async () => (await audit(eventId)).length === 4, { what: 'the changes audited' });
  const before = await http<{ version: number }>(seatUrl, 'GET', `/api/events/${eventId}/seats`);

  const ws = await connectWs(`${stack.urls.notifier[0]!.replace('http', 'ws')}/ws`);
  try {
    ws.send({ type: 'SUBSCRIBE_EVENT', eventId });
    await ws.next((m) => m.type === 'SUBSCRIBED');

    await deleteRedisKeys(stack.isolation.redisPrefix);

    const ended = await Promise.all(
      [1, 2].map((seat) =>
        ws.next((m) => m.type === 'SEAT_UPDATE' && m.seatNumber === seat && m.status === 'available', 5000),
      ),
    );
    for (const update of ended) expect(update.version).toBeGreaterThan(before.body.version);
    await waitFor(async () => (await audit(eventId)).length === 6, { what: 'the ends audited' });
    expect((await audit(eventId)).slice(4).sort()).toEqual(['expired:1', 'expired:2']);

    const map = await http<{ seats: { seatNumber: number; status: string }[] }>(
      seatUrl,
      'GET',
      `/api/events/${eventId}/seats`,
    );
    expect(map.body.seats.filter((s) => s.status !== 'available')).toEqual([
      expect.objectContaining({ seatNumber: 3, status: 'reserved' }),
    ]);
    const holds = await http<{ items: unknown[] }>(seatUrl, 'GET', `/api/seats/${eventId}/user/${buyerId}/holds`, {
      token: buyer,
    });
    expect(holds.body.items).toEqual([]);
    // The seats are anyone's again; the reserved one is not.
    const other = await userToken(newUserId());
    expect((await http(seatUrl, 'POST', `/api/seats/${eventId}/1/hold`, { token: other })).status).toBe(201);
    expect((await http(seatUrl, 'POST', `/api/seats/${eventId}/3/hold`, { token: other })).status).toBe(409);
    // Nothing is announced twice.
    expect(ws.messages.filter((m) => m.type === 'SEAT_UPDATE' && m.status === 'available')).toHaveLength(2);
  } finally {
    ws.close();
  }
});
