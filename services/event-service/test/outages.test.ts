import { Client } from 'pg';
import { ErrorCodes, RoutingKeys, type DomainEnvelope, type Event, type Page } from '@zephyr/contracts';
import {
  BACKING,
  http,
  probeQueue,
  proxiedUrl,
  startTcpProxy,
  useService,
  waitFor,
  type ServiceProcess,
  type TcpProxy,
} from '@zephyr/testing';
import { closedPort, startFakeSeatService, type FakeSeatService } from './support';

// Each test starts its own process: the outage it plays is in its env.
let seatService: FakeSeatService;

beforeAll(async () => {
  seatService = await startFakeSeatService();
});

const fixture = useService('event-service', 'es-outage', {
  startOnSetup: false,
  env: () => ({ SEAT_SERVICE_URL: seatService.url, LOG_LEVEL: 'silent' }),
});
let service: ServiceProcess | undefined;
let proxy: TcpProxy | undefined;
let admin: string;

beforeAll(() => {
  admin = fixture.admin;
  fixture.onTeardown(() => seatService.close());
});

afterEach(async () => {
  await service?.stop();
  service = undefined;
  await proxy?.close();
  proxy = undefined;
});

/** Starts the service with PostgreSQL behind a proxy the test cuts; its base URL. */
async function startBehindPostgresProxy(): Promise<string> {
  proxy = await startTcpProxy(Number(new URL(BACKING.postgresAdminUrl).port || 5432));
  service = await fixture.start({ DATABASE_URL: proxiedUrl(fixture.isolation.databaseUrl, proxy) });
  return service.baseUrl;
}

async function outboxRows(): Promise<{ message_id: string; envelope: DomainEnvelope }[]> {
  const client = new Client({ connectionString: fixture.isolation.databaseUrl });
  await client.connect();
  try {
    return (await client.query('SELECT message_id, envelope FROM event_service.outbox ORDER BY seq')).rows;
  } finally {
    await client.end();
  }
}

it('keeps committed domain events in the outbox while RabbitMQ is unreachable and publishes them once it is back', async () => {
  const deadBroker = `amqp://guest:guest@127.0.0.1:${await closedPort()}`;
  service = await fixture.start({ AMQP_URL: deadBroker }, { waitReady: false });
  const base = service.baseUrl;
  await waitFor(async () => (await fetch(`${base}/health`)).status === 200, { what: 'liveness' });
  const ready = await http(base, 'GET', '/health/ready');
  expect(ready.status).toBe(503);
  expect(ready.body).toMatchObject({ checks: { database: 'up', rabbitmq: 'down' } });

  // Writes still succeed: the outbox is in the same PostgreSQL transaction, not the broker.
  const first = await http<Event>(base, 'POST', '/api/events', {
    token: admin,
    body: { name: 'While down 1', totalSeats: 10 },
  });
  const second = await http<Event>(base, 'POST', '/api/events', {
    token: admin,
    body: { name: 'While down 2', totalSeats: 10 },
  });
  expect([first.status, second.status]).toEqual([201, 201]);
  expect(
    (await http(base, 'PATCH', `/api/events/${first.body.id}`, { token: admin, body: { status: 'inactive' } })).status,
  ).toBe(200);

  await new Promise((resolve) => setTimeout(resolve, 1000));
  const pending = await outboxRows();
  expect(pending.map((r) => [r.envelope.type, r.envelope.data.id])).toEqual([
    [RoutingKeys.EventCreated, first.body.id],
    [RoutingKeys.EventCreated, second.body.id],
    [RoutingKeys.EventUpdated, first.body.id],
  ]);

  // The broker "comes back" for a restarted process: the rows are published with confirms, then deleted.
  await service.stop();
  const probe = await probeQueue(fixture.broker, 'event.*');
  service = await fixture.start();
  await waitFor(() => probe.received.length >= 3, { what: 'outbox published' });
  expect(probe.invalid).toEqual([]);
  expect(probe.received.map((e) => e.id)).toEqual(pending.map((r) => r.message_id));
  await waitFor(async () => (await outboxRows()).length === 0, { what: 'outbox emptied' });
  await probe.close();
});

it('answers 503 DEPENDENCY_UNAVAILABLE while PostgreSQL is unreachable and recovers by itself', async () => {
  const base = await startBehindPostgresProxy();
  const event = await http<Event>(base, 'POST', '/api/events', {
    token: admin,
    body: { name: 'Before outage', totalSeats: 10 },
  });
  expect(event.status).toBe(201);
  const countBefore = (await http<Page<Event>>(base, 'GET', '/api/events?limit=100')).body.items.length;

  await proxy.down();
  const attempts = [
    await http(base, 'GET', '/api/events'),
    await http(base, 'GET', `/api/events/${event.body.id}`),
    await http(base, 'POST', '/api/events', { token: admin, body: { name: 'During outage', totalSeats: 10 } }),
    await http(base, 'PATCH', `/api/events/${event.body.id}`, { token: admin, body: { status: 'cancelled' } }),
    await http(base, 'GET', `/internal/events/${event.body.id}`),
  ];
  for (const res of attempts) {
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ error: { code: ErrorCodes.DependencyUnavailable, message: expect.any(String) } });
  }
  const ready = await http(base, 'GET', '/health/ready');
  expect(ready.status).toBe(503);
  expect(ready.body).toMatchObject({ checks: { database: 'down' } });
  // Validation and auth do not need the database.
  expect((await http(base, 'POST', '/api/events', { token: admin, body: { name: '' } })).status).toBe(400);
  expect((await http(base, 'POST', '/api/events', { body: {} })).status).toBe(401);

  await proxy.up();
  await waitFor(async () => (await http(base, 'GET', '/api/events')).status === 200, {
    what: 'recovery',
    timeoutMs: 15_000,
  });
  expect((await http(base, 'GET', '/health/ready')).status).toBe(200);
  // Nothing was changed by the refused requests.
  const after = await http<Page<Event>>(base, 'GET', '/api/events?limit=100');
  expect(after.body.items.length).toBe(countBefore);
  expect((await http<Event>(base, 'GET', `/api/events/${event.body.id}`)).body.status).toBe('active');
  expect(
    (await http(base, 'POST', '/api/events', { token: admin, body: { name: 'After outage', totalSeats: 10 } })).status,
  ).toBe(201);
});
