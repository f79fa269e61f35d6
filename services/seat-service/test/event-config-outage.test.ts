import { http, metricValue, newUserId, useStack, userToken, waitFor } from '@zephyr/testing';

/**
 * Issue 10 item 2: an event cancelled while the seat-service's Redis blips must not stay on sale. The
 * event-service's direct push fails in the blip, so the event.updated message is the path that carries it;
 * it used to be requeued at once until the delivery limit sent it to the DLQ.
 */
// Only the seat-service uses Redis here.
const stack = useStack('configoutage', { services: ['event-service', 'seat-service'], throughProxy: 'redis' });

it('applies an event change made during a Redis blip once Redis is back, and dead-letters nothing', async () => {
  const eventUrl = stack.urlOf('event-service');
  const seatUrl = stack.urlOf('seat-service');
  const eventId = await stack.createEvent({ name: 'Cancelled in a blip', totalSeats: 10 });
  const token = await userToken(newUserId());
  expect((await http(seatUrl, 'POST', `/api/seats/${eventId}/1/hold`, { token })).status).toBe(201);

  await stack.proxy.down();
  const patched = await http(eventUrl, 'PATCH', `/api/events/${eventId}`, {
    token: stack.admin,
    body: { status: 'cancelled' },
  });
  expect(patched.status).toBe(200);
  // The blip under test: the seat-service's Redis stays unreachable for 1.5 s after the change.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await stack.proxy.up();

  await waitFor(
    async () =>
      (await http<{ error: { code: string } }>(seatUrl, 'POST', `/api/seats/${eventId}/2/hold`, { token })).body.error
        ?.code === 'EVENT_NOT_ACTIVE',
    { what: 'the cancellation applied', timeoutMs: 20_000, intervalMs: 250 },
  );
  expect(await metricValue(seatUrl, 'zephyr_dlq_messages')).toBe(0);
});
