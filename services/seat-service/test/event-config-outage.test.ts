import {
  BACKING,
  http,
  isolate,
  metricValue,
  newUserId,
  startStack,
  startTcpProxy,
  userToken,
  waitFor,
  type Isolation,
  type Stack,
  type TcpProxy,
} from '@zephyr/testing';

/**
 * Issue 10 item 2: an event cancelled while the seat-service's Redis blips must not stay on sale. The
 * event-service's direct push fails in the blip, so the event.updated message is the path that carries it;
 * it used to be requeued at once until the delivery limit sent it to the DLQ.
 */
let iso: Isolation;
let proxy: TcpProxy;
let stack: Stack;

beforeAll(async () => {
  iso = await isolate('configoutage');
  proxy = await startTcpProxy(Number(new URL(BACKING.redisUrl).port || 6379));
  const viaProxy = new URL(BACKING.redisUrl);
  viaProxy.port = String(proxy.port);
  // Only the seat-service uses Redis here.
  stack = await startStack(
    { ...iso.env, REDIS_URL: viaProxy.toString() },
    { services: ['event-service', 'seat-service'] },
  );
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await proxy?.close();
  await iso?.cleanup();
});

it('applies an event change made during a Redis blip once Redis is back, and dead-letters nothing', async () => {
  const admin = await userToken(newUserId(), { admin: true });
  const eventUrl = stack.urls['event-service'][0]!;
  const seatUrl = stack.urls['seat-service'][0]!;
  const created = await http<{ id: string }>(eventUrl, 'POST', '/api/events', {
    token: admin,
    body: { name: 'Cancelled in a blip', totalSeats: 10 },
  });
  const eventId = created.body.id;
  const token = await userToken(newUserId());
  expect((await http(seatUrl, 'POST', `/api/seats/${eventId}/1/hold`, { token })).status).toBe(201);

  await proxy.down();
  const patched = await http(eventUrl, 'PATCH', `/api/events/${eventId}`, {
    token: admin,
    body: { status: 'cancelled' },
  });
  expect(patched.status).toBe(200);
  // The blip under test: the seat-service's Redis stays unreachable for 1.5 s after the change.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await proxy.up();

  await waitFor(
    async () =>
      (await http<{ error: { code: string } }>(seatUrl, 'POST', `/api/seats/${eventId}/2/hold`, { token })).body.error
        ?.code === 'EVENT_NOT_ACTIVE',
    { what: 'the cancellation applied', timeoutMs: 20_000, intervalMs: 250 },
  );
  expect(await metricValue(seatUrl, 'zephyr_dlq_messages')).toBe(0);
});
