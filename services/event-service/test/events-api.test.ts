import { spawnSync } from 'node:child_process';
import path from 'node:path';
import {
  ErrorCodes,
  MAX_BODY_BYTES,
  RoutingKeys,
  type Event,
  type EventChangedData,
  type Page,
} from '@zephyr/contracts';
import { http, newUserId, probeQueue, REPO_ROOT, useService, userToken, waitFor, type Probe } from '@zephyr/testing';
import { startFakeSeatService, type FakeSeatService } from './support';

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

let seatService: FakeSeatService;
let probe: Probe;
let admin: string;
let user: string;
let base: string;

beforeAll(async () => {
  seatService = await startFakeSeatService();
});

const service = useService('event-service', 'es-api', { env: () => ({ SEAT_SERVICE_URL: seatService.url }) });

beforeAll(async () => {
  ({ baseUrl: base, admin } = service);
  user = await userToken(newUserId());
  probe = await probeQueue(service.broker, 'event.*');
  service.onTeardown(() => Promise.all([probe.close(), seatService.close()]));
});

const createEvent = async (body: Record<string, unknown> = {}) => {
  const res = await http<Event>(base, 'POST', '/api/events', {
    token: admin,
    body: { name: 'Concert', totalSeats: 100, ...body },
  });
  expect(res.status).toBe(201);
  return res.body;
};

const internalRecord = async (id: string) => (await http<EventChangedData>(base, 'GET', `/internal/events/${id}`)).body;

describe('POST /api/events', () => {
  it('creates an active event with defaults and ISO-8601 UTC timestamps', async () => {
    const res = await http<Event>(base, 'POST', '/api/events', {
      token: admin,
      body: { name: 'Opening night', totalSeats: 50 },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'Opening night',
      description: '',
      totalSeats: 50,
      maxSeatsPerUser: 10,
      // SPEC §7: one row of totalSeats unless told otherwise.
      seatsPerRow: 50,
      status: 'active',
      createdAt: expect.stringMatching(ISO_UTC),
      updatedAt: expect.stringMatching(ISO_UTC),
    });
    expect(res.body.updatedAt).toBe(res.body.createdAt);
    // Read-your-writes: readable at once, publicly and internally (with its revision).
    expect((await http(base, 'GET', `/api/events/${res.body.id}`)).status).toBe(200);
    expect(await internalRecord(res.body.id)).toEqual({ ...res.body, revision: 1 });
  });

  it('stores strings exactly as sent', async () => {
    const name = `<script>alert("x")</script> & 'quotes' ünïcødé 🎟️`;
    const description = '  leading and trailing spaces, \\ backslash, \n newline  ';
    const event = await createEvent({ name, description, maxSeatsPerUser: 100 });
    expect(event).toMatchObject({ name, description, maxSeatsPerUser: 100 });
    expect((await http<Event>(base, 'GET', `/api/events/${event.id}`)).body).toMatchObject({ name, description });
  });

  it('accepts the boundaries of every limit', async () => {
    await createEvent({ name: 'n'.repeat(200), description: 'd'.repeat(2000), totalSeats: 10, maxSeatsPerUser: 10 });
    await createEvent({ name: 'x', description: '', totalSeats: 1000, maxSeatsPerUser: 1 });
  });

  const valid = { name: 'Show', totalSeats: 100 };
  const rejected: [string, unknown][] = [
    ['totalSeats as a string', { ...valid, totalSeats: '10' }],
    ['totalSeats not an integer', { ...valid, totalSeats: 10.5 }],
    ['totalSeats below 10', { ...valid, totalSeats: 9 }],
    ['totalSeats above 1000', { ...valid, totalSeats: 1001 }],
    ['totalSeats missing', { name: 'Show' }],
    ['maxSeatsPerUser above totalSeats', { ...valid, totalSeats: 50, maxSeatsPerUser: 51 }],
    ['maxSeatsPerUser zero', { ...valid, maxSeatsPerUser: 0 }],
    ['maxSeatsPerUser as a string', { ...valid, maxSeatsPerUser: '5' }],
    ['an empty name', { ...valid, name: '' }],
    ['a 201-character name', { ...valid, name: 'n'.repeat(201) }],
    ['a name that is not a string', { ...valid, name: 42 }],
    ['name missing', { totalSeats: 100 }],
    ['a NUL in the name', { ...valid, name: 'bad\u0000name' }],
    ['a NUL in the description', { ...valid, description: 'bad\u0000' }],
    ['a 2001-character description', { ...valid, description: 'd'.repeat(2001) }],
    ['null for an optional field', { ...valid, description: null }],
    ['null maxSeatsPerUser', { ...valid, maxSeatsPerUser: null }],
    ['an unknown field', { ...valid, venue: 'Hall' }],
    ['status on create', { ...valid, status: 'active' }],
    ['a JSON array', [valid]],
    ['JSON null', null],
    ['a JSON string', 'Show'],
  ];
  it.each(rejected)('rejects %s with 400 VALIDATION_FAILED and creates nothing', async (_what, body) => {
    const before = await http<Page<Event>>(base, 'GET', '/api/events?limit=100');
    const res = await http(base, 'POST', '/api/events', {
      token: admin,
      rawBody: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: ErrorCodes.ValidationFailed, message: expect.any(String) } });
    const after = await http<Page<Event>>(base, 'GET', '/api/events?limit=100');
    expect(after.body.items.length).toBe(before.body.items.length);
  });

  const asJson = { 'content-type': 'application/json' };
  it.each([
    ['malformed JSON', { rawBody: '{"name": "x",', headers: asJson }],
    ['an empty JSON body, as no body (a body is required)', { rawBody: '', headers: asJson }],
    ['no body', {}],
  ])('rejects %s with 400', async (_what, options) => {
    const res = await http(base, 'POST', '/api/events', { token: admin, ...options });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: ErrorCodes.ValidationFailed } });
  });

  it('rejects a non-JSON body with 415 whatever its text', async () => {
    const res = await http(base, 'POST', '/api/events', {
      token: admin,
      rawBody: JSON.stringify(valid),
      headers: { 'content-type': 'text/plain' },
    });
    expect(res.status).toBe(415);
    expect(res.body).toMatchObject({ error: { code: ErrorCodes.UnsupportedMediaType } });
  });

  it('rejects a body over 16 KiB with 413, before looking at its type', async () => {
    const big = JSON.stringify({ ...valid, description: 'x'.repeat(MAX_BODY_BYTES) });
    const json = await http(base, 'POST', '/api/events', {
      token: admin,
      rawBody: big,
      headers: { 'content-type': 'application/json' },
    });
    expect(json.status).toBe(413);
    expect(json.body).toMatchObject({ error: { code: ErrorCodes.PayloadTooLarge } });
    const text = await http(base, 'POST', '/api/events', {
      token: admin,
      rawBody: big,
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(413);
  });

  it('needs a valid token (401) and the admin role (403), checked before the body', async () => {
    const none = await http(base, 'POST', '/api/events', { body: valid });
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ error: { code: ErrorCodes.Unauthenticated } });
    const malformed = await http(base, 'POST', '/api/events', { body: valid, headers: { authorization: 'Token abc' } });
    expect(malformed.status).toBe(401);
    const forged = await http(base, 'POST', '/api/events', { body: valid, token: `${admin.slice(0, -4)}AAAA` });
    expect(forged.status).toBe(401);
    const expired = await userToken(newUserId(), { admin: true, expiresInSeconds: -60 });
    expect((await http(base, 'POST', '/api/events', { body: valid, token: expired })).status).toBe(401);

    const plainUser = await http(base, 'POST', '/api/events', { body: valid, token: user });
    expect(plainUser.status).toBe(403);
    expect(plainUser.body).toMatchObject({ error: { code: ErrorCodes.Forbidden } });

    // Precedence: 401 and 403 win over 413/415/400.
    const huge = 'x'.repeat(MAX_BODY_BYTES + 10);
    expect(
      (await http(base, 'POST', '/api/events', { rawBody: huge, headers: { 'content-type': 'text/plain' } })).status,
    ).toBe(401);
    expect(
      (
        await http(base, 'POST', '/api/events', {
          token: user,
          rawBody: huge,
          headers: { 'content-type': 'text/plain' },
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await http(base, 'POST', '/api/events', {
          token: user,
          rawBody: '{bad',
          headers: { 'content-type': 'application/json' },
        })
      ).status,
    ).toBe(403);
  });
});

describe('GET /api/events (pagination)', () => {
  it('walks every event exactly once, newest first, with an opaque cursor', async () => {
    // Sequential creates plus a concurrent burst (which may share a millisecond: the id breaks ties).
    for (let i = 0; i < 12; i++) await createEvent({ name: `seq ${i}` });
    await Promise.all(Array.from({ length: 15 }, (_, i) => createEvent({ name: `burst ${i}` })));

    const all = await http<Page<Event>>(base, 'GET', '/api/events?limit=100');
    expect(all.status).toBe(200);
    expect(all.body.nextCursor).toBeNull();
    const expected = all.body.items.map((e) => e.id);
    expect(expected.length).toBeGreaterThan(27);

    const walked: Event[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `?limit=7&cursor=${cursor}` : '?limit=7';
      const page: Awaited<ReturnType<typeof http<Page<Event>>>> = await http<Page<Event>>(
        base,
        'GET',
        `/api/events${query}`,
      );
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(7);
      if (page.body.nextCursor !== null) {
        expect(page.body.items.length).toBe(7);
        expect(page.body.nextCursor).toMatch(/^[A-Za-z0-9_-]+$/);
      }
      walked.push(...page.body.items);
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor && pages < 50);

    const ids = walked.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expected);
    for (let i = 1; i < walked.length; i++) expect(walked[i - 1]!.createdAt >= walked[i]!.createdAt).toBe(true);
    expect(walked[0]).not.toHaveProperty('seats');
  });

  it('defaults to 20 items', async () => {
    const page = await http<Page<Event>>(base, 'GET', '/api/events');
    expect(page.status).toBe(200);
    expect(page.body.items).toHaveLength(20);
    expect(typeof page.body.nextCursor).toBe('string');
  });

  it.each([
    ['limit=0'],
    ['limit=101'],
    ['limit=abc'],
    ['limit=01'],
    ['limit=1.5'],
    ['limit=-1'],
    ['limit='],
    ['limit=5&limit=6'],
    ['cursor=not*base64'],
    ['cursor=abc'],
    [`cursor=${Buffer.from('["2020-01-01T00:00:00.000Z","nope"]').toString('base64url')}`],
    [`cursor=${Buffer.from('{"a":1}').toString('base64url')}`],
    ['cursor='],
    ['offset=10'],
  ])('rejects ?%s with 400', async (query) => {
    const res = await http(base, 'GET', `/api/events?${query}`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: ErrorCodes.ValidationFailed } });
  });

  it('is public, but a token that is sent must be valid', async () => {
    expect((await http(base, 'GET', '/api/events?limit=1', { token: user })).status).toBe(200);
    expect((await http(base, 'GET', '/api/events?limit=1', { token: 'a.b.c' })).status).toBe(401);
  });
});

describe('GET /api/events/:id', () => {
  it('returns the event with seat counts', async () => {
    const event = await createEvent({ totalSeats: 40 });
    const res = await http(base, 'GET', `/api/events/${event.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ...event, seats: { available: 40, held: 0, reserved: 0 } });
    // Upper-case ids are the same UUID.
    expect((await http(base, 'GET', `/api/events/${event.id.toUpperCase()}`)).body).toMatchObject({ id: event.id });
  });

  it('answers 400 for a bad id, 404 EVENT_NOT_FOUND for an unknown one, 401 for a bad token', async () => {
    for (const bad of [
      'not-a-uuid',
      '123',
      '{6f1c5b3e-1111-4222-8333-444455556666}',
      '6f1c5b3e:1111:4222:8333:444455556666',
    ]) {
      const res = await http(base, 'GET', `/api/events/${encodeURIComponent(bad)}`);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: { code: ErrorCodes.ValidationFailed } });
    }
    const unknown = await http(base, 'GET', `/api/events/${newUserId()}`);
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error: { code: ErrorCodes.EventNotFound } });
    expect((await http(base, 'GET', `/api/events/${newUserId()}`, { token: 'x.y.z' })).status).toBe(401);
  });
});

describe('PATCH /api/events/:id', () => {
  it('changes status, name and description, bumping revision and updatedAt', async () => {
    const event = await createEvent({ name: 'Before', description: 'old' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const res = await http<Event>(base, 'PATCH', `/api/events/${event.id}`, {
      token: admin,
      body: { status: 'inactive', name: 'After', description: '' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      ...event,
      status: 'inactive',
      name: 'After',
      description: '',
      updatedAt: expect.stringMatching(ISO_UTC),
    });
    expect(res.body.updatedAt > event.updatedAt).toBe(true);
    expect(await internalRecord(event.id)).toEqual({ ...res.body, revision: 2 });

    const cancelled = await http<Event>(base, 'PATCH', `/api/events/${event.id}`, {
      token: admin,
      body: { status: 'cancelled' },
    });
    expect(cancelled.body).toMatchObject({ status: 'cancelled', name: 'After' });
    expect((await internalRecord(event.id)).revision).toBe(3);
    expect((await http(base, 'GET', `/api/events/${event.id}`)).body).toMatchObject({ status: 'cancelled' });
  });

  it('returns the event unchanged for {} or no body', async () => {
    const event = await createEvent();
    for (const options of [{ body: {} }, {}, { rawBody: '', headers: { 'content-type': 'application/json' } }]) {
      const res = await http<Event>(base, 'PATCH', `/api/events/${event.id}`, { token: admin, ...options });
      expect(res.status).toBe(200);
      expect(res.body).toEqual(event);
    }
    expect((await internalRecord(event.id)).revision).toBe(1);
  });

  it.each([
    ['totalSeats', { totalSeats: 200 }],
    ['maxSeatsPerUser', { maxSeatsPerUser: 5 }],
    ['an unknown status', { status: 'deleted' }],
    ['an empty name', { name: '' }],
    ['a 201-character name', { name: 'n'.repeat(201) }],
    ['null name', { name: null }],
    ['null status', { status: null }],
    ['a NUL in the description', { description: '\u0000' }],
    ['id', { id: '6f1c5b3e-1111-4222-8333-444455556666' }],
    ['a JSON array', []],
    ['JSON null', null],
  ])('rejects %s with 400 and changes nothing', async (_what, body) => {
    const event = await createEvent();
    const res = await http(base, 'PATCH', `/api/events/${event.id}`, { token: admin, body });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: ErrorCodes.ValidationFailed } });
    expect(await internalRecord(event.id)).toEqual({ ...event, revision: 1 });
  });

  it('orders errors: 401, 403, 415, 400, then 404', async () => {
    const unknown = newUserId();
    const body = { status: 'inactive' };
    expect((await http(base, 'PATCH', `/api/events/${unknown}`, { body })).status).toBe(401);
    expect((await http(base, 'PATCH', `/api/events/${unknown}`, { body, token: user })).status).toBe(403);
    expect(
      (
        await http(base, 'PATCH', `/api/events/${unknown}`, {
          token: admin,
          rawBody: 'x',
          headers: { 'content-type': 'text/plain' },
        })
      ).status,
    ).toBe(415);
    expect(
      (await http(base, 'PATCH', `/api/events/${unknown}`, { token: admin, body: { totalSeats: 10 } })).status,
    ).toBe(400);
    expect((await http(base, 'PATCH', '/api/events/nope', { token: admin, body })).status).toBe(400);
    const missing = await http(base, 'PATCH', `/api/events/${unknown}`, { token: admin, body });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: { code: ErrorCodes.EventNotFound } });
    const missingEmpty = await http(base, 'PATCH', `/api/events/${unknown}`, { token: admin, body: {} });
    expect(missingEmpty.status).toBe(404);
  });
});

describe('domain events and the seat-service push', () => {
  it('publishes event.created and event.updated envelopes through the outbox', async () => {
    const event = await createEvent({ name: 'Published' });
    await http(base, 'PATCH', `/api/events/${event.id}`, { token: admin, body: { status: 'inactive' } });
    const mine = await waitFor(
      () => {
        const found = probe.received.filter((e) => e.data.id === event.id);
        return found.length >= 2 && found;
      },
      { what: 'event.created and event.updated on the exchange' },
    );
    expect(probe.invalid).toEqual([]);
    const created = mine.find((e) => e.type === RoutingKeys.EventCreated)!;
    const updated = mine.find((e) => e.type === RoutingKeys.EventUpdated)!;
    expect(created).toMatchObject({ producer: 'event-service', version: 1, data: { ...event, revision: 1 } });
    expect(updated).toMatchObject({
      producer: 'event-service',
      data: { id: event.id, status: 'inactive', revision: 2 },
    });
    expect(created.id).not.toBe(updated.id);
  });

  it('pushes each committed change to seat-service with its revision', async () => {
    const event = await createEvent({ name: 'Pushed' });
    await http(base, 'PATCH', `/api/events/${event.id}`, { token: admin, body: { status: 'cancelled' } });
    const pushes = seatService.puts.filter((p) => p.path === `PUT /internal/events/${event.id}`);
    // The push happens before the response returns, so it is already there.
    expect(pushes.map((p) => (p.body as EventChangedData).revision)).toEqual([1, 2]);
    expect(pushes[1]!.body).toEqual({
      ...event,
      status: 'cancelled',
      revision: 2,
      updatedAt: expect.stringMatching(ISO_UTC),
    });
  });

  it('does not let a hanging seat-service hold a request longer than the 1 s push timeout', async () => {
    seatService.mode = 'hang';
    try {
      const started = Date.now();
      const res = await http(base, 'POST', '/api/events', {
        token: admin,
        body: { name: 'Slow peer', totalSeats: 10 },
      });
      expect(res.status).toBe(201);
      expect(Date.now() - started).toBeLessThan(2500);
    } finally {
      seatService.mode = 'ok';
    }
  });
});

describe('internal API, routes, metrics and configuration', () => {
  it('serves GET /internal/events/:id with 404 and 400 like the public route', async () => {
    expect((await http(base, 'GET', `/internal/events/${newUserId()}`)).status).toBe(404);
    expect((await http(base, 'GET', '/internal/events/zzz')).status).toBe(400);
  });

  it('answers unknown routes and methods with 404 NOT_FOUND', async () => {
    const event = await createEvent();
    for (const [method, url] of [
      ['GET', '/nope'],
      ['DELETE', `/api/events/${event.id}`],
      ['PUT', `/api/events/${event.id}`],
      ['POST', `/api/events/${event.id}`],
      ['PATCH', '/api/events'],
    ] as const) {
      const res = await http(base, method, url, { token: admin });
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ error: { code: ErrorCodes.NotFound } });
    }
  });

  it('exposes zephyr_events_created_total and RED metrics', async () => {
    const before = await http<string>(base, 'GET', '/metrics');
    const count = (text: string) => Number(/^zephyr_events_created_total\{[^}]*\} (\d+)$/m.exec(text)?.[1]);
    const n = count(before.body);
    await createEvent();
    const after = await http<string>(base, 'GET', '/metrics');
    expect(count(after.body)).toBe(n + 1);
    expect(after.body).toMatch(/http_requests_total\{[^}]*route="\/api\/events"/);
  });

  it('reports readiness of PostgreSQL and RabbitMQ', async () => {
    const res = await http(base, 'GET', '/health/ready');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', checks: { database: 'up', rabbitmq: 'up' } });
  });

  it('refuses to start without a JWT secret, naming every bad variable in one line', () => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...service.isolation.env, PORT: 'x', MIGRATE_ON_START: 'maybe' };
    delete env.JWT_SECRET;
    delete env.JWT_JWKS_URL;
    const run = spawnSync(process.execPath, [path.join(REPO_ROOT, 'services/event-service/dist/main.js')], {
      env,
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(run.status).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/PORT.*MIGRATE_ON_START.*JWT_SECRET.*or JWT_JWKS_URL is required/);
  });
});
