import { randomUUID } from 'node:crypto';
import {
  deleteRedisKeys,
  http,
  newUserId,
  startService,
  untilGatewayRedisConnected,
  useStack,
  userToken,
  waitFor,
  type JsonResponse,
  type ServiceProcess,
} from '@zephyr/testing';
import { startFakeUpstream, type FakeUpstream } from './support/fake-upstream';

/**
 * SPEC.md §7 Idempotency-Key through real gateway processes: in front of the real event-service and
 * seat-service (a replay never reaches them), and in front of a slow fake upstream to show that a crashed
 * gateway's in-flight marker expires after the upstream timeout.
 */
const stack = useStack('gwidemstack', { services: ['event-service', 'seat-service', 'gateway'], timeoutMs: 90_000 });
const extra: ServiceProcess[] = [];
let fake: FakeUpstream | undefined;
stack.onTeardown(async () => {
  fake?.open();
  await Promise.all(extra.map((p) => p.stop()));
});

// An Idempotency-Key needs the gateway's Redis connection, which comes up after the gateway is ready.
beforeAll(() => untilGatewayRedisConnected(stack.gatewayUrl));

afterAll(async () => {
  await fake?.close();
  await deleteRedisKeys(stack.isolation.redisPrefix);
});

const withKey = (key: string) => ({ 'idempotency-key': key });

const newEvent = () => stack.createEvent({ name: `idem ${randomUUID()}`, totalSeats: 10, maxSeatsPerUser: 10 });

function expectReplayOf(again: JsonResponse, first: JsonResponse): void {
  expect(again.status).toBe(first.status);
  expect(again.body).toEqual(first.body);
  expect(again.headers.get('idempotent-replayed')).toBe('true');
  expect(first.headers.get('idempotent-replayed')).toBeNull();
}

const seatStatus = async (eventId: string, seat: number) =>
  (await http<{ status: string; expiresAt?: string }>(stack.gatewayUrl, 'GET', `/api/seats/${eventId}/${seat}/status`))
    .body;

it('creates one event for a repeated POST /api/events', async () => {
  const name = `once ${randomUUID()}`;
  const body = { name, totalSeats: 10 };
  const first = await http(stack.gatewayUrl, 'POST', '/api/events', {
    token: stack.admin,
    body,
    headers: withKey('create-1'),
  });
  expect(first.status).toBe(201);
  const again = await http(stack.gatewayUrl, 'POST', '/api/events', {
    token: stack.admin,
    body,
    headers: withKey('create-1'),
  });
  expectReplayOf(again, first);
  const list = await http<{ items: { name: string }[] }>(stack.gatewayUrl, 'GET', '/api/events?limit=100');
  expect(list.body.items.filter((e) => e.name === name)).toHaveLength(1);
});

it('replays a hold without reaching the seat-service, and the replay changes nothing', async () => {
  const eventId = await newEvent();
  const token = await userToken(newUserId());
  const hold = () =>
    http(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/1/hold`, {
      token,
      body: { holdDuration: 60 },
      headers: withKey('h'),
    });
  const first = await hold();
  expect(first.status).toBe(201);
  // The seat-service answers a repeated hold by its holder with 200; the replay is the kept 201.
  expectReplayOf(await hold(), first);
  expect((await http(stack.gatewayUrl, 'DELETE', `/api/seats/${eventId}/1/hold`, { token })).status).toBe(204);
  expectReplayOf(await hold(), first);
  expect((await seatStatus(eventId, 1)).status).toBe('available');
});

it('keeps a 4xx answer: the repeat gets the same 409 even once the seat is free', async () => {
  const eventId = await newEvent();
  const [mine, theirs] = await Promise.all([userToken(newUserId()), userToken(newUserId())]);
  expect((await http(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/2/hold`, { token: theirs })).status).toBe(201);
  const hold = () =>
    http(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/2/hold`, { token: mine, headers: withKey('h2') });
  const first = await hold();
  expect(first.status).toBe(409);
  expect(first.body).toMatchObject({ error: { code: 'SEAT_UNAVAILABLE' } });
  expect((await http(stack.gatewayUrl, 'DELETE', `/api/seats/${eventId}/2/hold`, { token: theirs })).status).toBe(204);
  expectReplayOf(await hold(), first);
  expect((await seatStatus(eventId, 2)).status).toBe('available');
});

it('scopes keys by user: another user with the same key and body reaches the service', async () => {
  const eventId = await newEvent();
  const [first, second] = await Promise.all([userToken(newUserId()), userToken(newUserId())]);
  const hold = (token: string) =>
    http(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/3/hold`, { token, body: {}, headers: withKey('shared') });
  expect((await hold(first)).status).toBe(201);
  const other = await hold(second);
  expect(other.status).toBe(409);
  expect(other.body).toMatchObject({ error: { code: 'SEAT_UNAVAILABLE' } });
  expect(other.headers.get('idempotent-replayed')).toBeNull();
});

it('refuses the same key with another body (422) and leaves the hold as it was', async () => {
  const eventId = await newEvent();
  const token = await userToken(newUserId());
  const hold = (holdDuration: number) =>
    http(stack.gatewayUrl, 'POST', `/api/seats/${eventId}/4/hold`, {
      token,
      body: { holdDuration },
      headers: withKey('h4'),
    });
  const first = await hold(60);
  expect(first.status).toBe(201);
  const reused = await hold(120);
  expect(reused.status).toBe(422);
  expect(reused.body).toMatchObject({ error: { code: 'IDEMPOTENCY_KEY_REUSED' } });
  expect((await seatStatus(eventId, 4)).expiresAt).toBe((first.body as { expiresAt: string }).expiresAt);
});

it("lets a retry through once a crashed gateway's in-flight marker expires (upstream timeout + margin)", async () => {
  const upstreamTimeoutMs = 1500;
  fake = await startFakeUpstream();
  const env = {
    ...stack.isolation.env,
    REDIS_KEY_PREFIX: `${stack.isolation.redisPrefix}crash:`,
    EVENT_SERVICE_URL: fake.url,
    SEAT_SERVICE_URL: fake.url,
    NOTIFIER_URL: fake.url,
    UPSTREAM_TIMEOUT_MS: String(upstreamTimeoutMs),
  };
  const [doomed, survivor] = await Promise.all([startService('gateway', env), startService('gateway', env)]);
  extra.push(doomed!, survivor!);
  await Promise.all([doomed!, survivor!].map((gateway) => untilGatewayRedisConnected(gateway.baseUrl)));
  const eventId = randomUUID();
  fake.behave(eventId, 'gate');
  const token = await userToken(newUserId());
  const hold = (base: string) =>
    http(base, 'POST', `/api/seats/${eventId}/1/hold`, { token, body: {}, headers: withKey('crash') });

  void hold(doomed!.baseUrl).catch(() => undefined);
  await waitFor(() => fake!.seen(eventId).length === 1, { what: 'the first request upstream' });
  const claimedAt = Date.now();
  await doomed!.stop('SIGKILL');
  const blocked = await hold(survivor!.baseUrl);
  expect(blocked.status).toBe(409);
  expect(blocked.body).toMatchObject({ error: { code: 'IDEMPOTENCY_IN_FLIGHT' } });

  fake.behave(eventId, 'ok');
  const retried = await waitFor(
    async () => {
      const res = await hold(survivor!.baseUrl);
      return res.status === 201 ? res : undefined;
    },
    { what: 'the marker to expire', intervalMs: 100 },
  );
  // Blocked no longer than the upstream timeout plus the margin (and a little scheduling slack).
  expect(Date.now() - claimedAt).toBeLessThan(upstreamTimeoutMs + 1000 + 1500);
  expect(retried.headers.get('idempotent-replayed')).toBeNull();
  expect(fake.seen(eventId)).toHaveLength(2);
  expectReplayOf(await hold(survivor!.baseUrl), retried);
});
