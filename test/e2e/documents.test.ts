import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import Ajv, { type ValidateFunction } from 'ajv';
import Ajv2020 from 'ajv/dist/2020';
import specs from '@asyncapi/specs';
import { ROUTES, type RouteRule } from '@zephyr/contracts';
import { http, newUserId, untilGatewayRedisConnected, useStack, userToken } from '@zephyr/testing';

/**
 * SPEC.md §8 documents, through a real gateway: the OpenAPI 3.1 document passes a real validator, has an
 * entry for every route in the table, and real answers match the schemas it gives; the AsyncAPI 3.0
 * document passes the official schema and real WebSocket messages match it; the reference page loads
 * only local assets. All public, GET/HEAD only, behind the gateway's 404 and per-IP limit.
 */
type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const stack = useStack('documents', {
  services: ['event-service', 'seat-service', 'notifier', 'gateway'],
  env: { RATE_LIMIT_PER_IP: '0', RATE_LIMIT_PER_USER: '0' },
  timeoutMs: 90_000,
});
let gw: string;
let openapi: Doc;
let asyncapi: Doc;

beforeAll(async () => {
  gw = stack.gatewayUrl;
  openapi = (await http<Doc>(gw, 'GET', '/api/openapi.json')).body;
  asyncapi = (await http<Doc>(gw, 'GET', '/api/asyncapi.json')).body;
});

const openApiPath = (route: RouteRule) => route.path.replace(/:([a-zA-Z]+)/g, '{$1}');

describe('GET /api/openapi.json', () => {
  it('is public JSON, answers HEAD, and passes an OpenAPI 3.1 validator', async () => {
    const res = await fetch(`${gw}/api/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect((await fetch(`${gw}/api/openapi.json`, { method: 'HEAD' })).status).toBe(200);
    expect(openapi.openapi).toBe('3.1.0');

    // The validator is ESM-only: run it in its own node process on the document the gateway served.
    const validator = pathToFileURL(require.resolve('@seriousme/openapi-schema-validator')).href;
    const script = `import { Validator } from ${JSON.stringify(validator)};
      let text = ''; for await (const chunk of process.stdin) text += chunk;
      const v = new Validator(); const r = await v.validate(JSON.parse(text));
      process.stdout.write(JSON.stringify({ valid: r.valid, version: v.version, errors: r.errors ?? null }));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      input: JSON.stringify(openapi),
    }).toString();
    expect(JSON.parse(out)).toEqual({ valid: true, version: '3.1', errors: null });
  });

  it('has an entry for every route in the route table, with its security, answers and error codes', () => {
    for (const route of ROUTES) {
      const op = openapi.paths[openApiPath(route)]?.[route.method.toLowerCase()];
      expect({ route: `${route.method} ${route.path}`, documented: Boolean(op) }).toEqual({
        route: `${route.method} ${route.path}`,
        documented: true,
      });
      expect(op.security).toEqual(route.access === 'public' ? [{}, { bearer: [] }] : [{ bearer: [] }]);
      for (const answer of route.doc.answers) expect(op.responses[String(answer.status)]).toBeDefined();
      for (const status of ['400', '401', '429', '503']) expect(op.responses[status]).toBeDefined();
      if (route.access === 'admin') expect(op.responses['403']).toBeDefined();
      if (route.method === 'POST') {
        expect(op.parameters).toContainEqual({ $ref: '#/components/parameters/IdempotencyKey' });
        expect(op.responses['422']).toBeDefined();
      }
    }
    // Every code of the contract with its status appears somewhere; health, metrics and the documents too.
    expect(openapi.components.schemas.Error.properties.error.properties.code.enum).toContain('IDEMPOTENCY_IN_FLIGHT');
    for (const path of ['/health', '/health/ready', '/health/database', '/metrics', '/api/docs', '/api/asyncapi.json'])
      expect(openapi.paths[path]?.get).toBeDefined();
  });

  it('documents the bodies with the Joi schemas the services validate with', () => {
    const body = (method: string, path: string) =>
      openapi.paths[path][method].requestBody.content['application/json'].schema as Doc;
    const create = body('post', '/api/events');
    expect(create.required).toEqual(['name', 'totalSeats']);
    expect(create.additionalProperties).toBe(false);
    expect(create.properties.totalSeats).toMatchObject({ type: 'integer', minimum: 10, maximum: 1000 });
    expect(body('post', '/api/seats/{eventId}/hold').properties.seats).toMatchObject({
      type: 'array',
      uniqueItems: true,
      minItems: 1,
    });
    expect(body('post', '/api/seats/{eventId}/best-available').properties.adjacent).toEqual({ type: 'boolean' });
  });

  it('describes the answers the services really give', async () => {
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    ajv.addSchema({ $id: 'openapi', components: openapi.components });
    const check = (route: string, status: number, body: unknown) => {
      const [method, path] = route.split(' ') as [string, string];
      const response = openapi.paths[path][method.toLowerCase()].responses[String(status)];
      expect({ route, status, documented: Boolean(response) }).toEqual({ route, status, documented: true });
      const schema = JSON.parse(
        JSON.stringify(response.content['application/json'].schema).replaceAll('"#/', '"openapi#/'),
      );
      const validate = ajv.compile(schema);
      expect({ route, status, errors: validate(body) ? null : validate.errors }).toEqual({
        route,
        status,
        errors: null,
      });
    };
    const { admin } = stack;
    const userId = newUserId();
    const user = await userToken(userId);

    const created = await http(gw, 'POST', '/api/events', {
      token: admin,
      body: { name: 'Docs', totalSeats: 20, seatsPerRow: 10 },
    });
    check('POST /api/events', created.status, created.body);
    const id = (created.body as { id: string }).id;
    const get = async (route: string, path: string, token?: string) => {
      const res = await http(gw, 'GET', path, { token });
      check(route, res.status, res.body);
    };
    await get('GET /api/events', '/api/events?limit=5');
    await get('GET /api/events/{id}', `/api/events/${id}`);
    await get('GET /api/events/{id}/seats', `/api/events/${id}/seats`);
    await get('GET /api/events/{id}/seats/available', `/api/events/${id}/seats/available`);

    const held = await http(gw, 'POST', `/api/seats/${id}/3/hold`, { token: user, body: { holdDuration: 30 } });
    check('POST /api/seats/{eventId}/{seatNumber}/hold', held.status, held.body);
    const again = await http(gw, 'POST', `/api/seats/${id}/3/hold`, { token: user });
    check('POST /api/seats/{eventId}/{seatNumber}/hold', again.status, again.body);
    expect(again.status).toBe(200);
    const refreshed = await http(gw, 'POST', `/api/seats/${id}/3/refresh`, { token: user });
    check('POST /api/seats/{eventId}/{seatNumber}/refresh', refreshed.status, refreshed.body);
    await get('GET /api/seats/{eventId}/{seatNumber}/status', `/api/seats/${id}/3/status`, user);
    await get('GET /api/seats/{eventId}/user/{userId}/holds', `/api/seats/${id}/user/${userId}/holds`, user);
    const taken = await http(gw, 'POST', `/api/seats/${id}/3/hold`, { token: await userToken(newUserId()) });
    expect(taken.status).toBe(409);
    check('POST /api/seats/{eventId}/{seatNumber}/hold', taken.status, taken.body);
    const reserved = await http(gw, 'POST', `/api/seats/${id}/3/reserve`, { token: user });
    check('POST /api/seats/{eventId}/{seatNumber}/reserve', reserved.status, reserved.body);
    const badBody = await http(gw, 'PATCH', `/api/events/${id}`, { token: admin, body: { totalSeats: 30 } });
    check('PATCH /api/events/{id}', badBody.status, badBody.body);
    const patched = await http(gw, 'PATCH', `/api/events/${id}`, { token: admin, body: { name: 'Docs 2' } });
    check('PATCH /api/events/{id}', patched.status, patched.body);
    const unknown = await http(gw, 'GET', `/api/events/${newUserId()}`);
    check('GET /api/events/{id}', unknown.status, unknown.body);
    for (const seat of [5, 6])
      expect((await http(gw, 'POST', `/api/seats/${id}/${seat}/hold`, { token: user })).status).toBe(201);
    const several = await http(gw, 'POST', `/api/seats/${id}/reserve`, { token: user, body: { seats: [6, 5] } });
    expect(several.status).toBe(200);
    check('POST /api/seats/{eventId}/reserve', several.status, several.body);
    const refused = await http(gw, 'POST', `/api/seats/${id}/reserve`, { token: user, body: { seats: [7, 8] } });
    expect(refused.body).toMatchObject({
      error: { code: 'HOLD_NOT_FOUND', details: [{ seatNumber: 7 }, { seatNumber: 8 }] },
    });
    check('POST /api/seats/{eventId}/reserve', refused.status, refused.body);
    const history = await http(gw, 'GET', `/api/events/${id}/history`, { token: admin });
    check('GET /api/events/{id}/history', history.status, history.body);
    expect((history.body as { items: unknown[] }).items.length).toBeGreaterThan(0);

    // The gateway's metrics name routes by the table's templates, the same the document lists.
    const metrics = await (await fetch(`${gw}/metrics`)).text();
    expect(metrics).toMatch(/http_requests_total\{[^}]*route="GET \/api\/events\/:id"/);
    expect(metrics).toMatch(/http_requests_total\{[^}]*route="\/api\/openapi.json"/);
  });
});

describe('GET /api/asyncapi.json', () => {
  let payloads: Ajv;
  const message = (name: string): ValidateFunction =>
    payloads.getSchema(`asyncapi#/components/messages/${name}/payload`)!;

  it('is public JSON and passes the official AsyncAPI 3.0 schema', async () => {
    const res = await fetch(`${gw}/api/asyncapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(asyncapi.asyncapi).toBe('3.0.0');
    // The official schema carries its own copy of the draft-07 meta-schema, so Ajv's built-in one stays out.
    const ajv = new Ajv({ strict: false, validateFormats: false, meta: false, validateSchema: false, allErrors: true });
    const validate = ajv.compile(specs.schemas['3.0.0']);
    expect(validate(asyncapi) ? null : validate.errors).toBeNull();
    const broken = JSON.parse(JSON.stringify(asyncapi)) as Doc;
    broken.channels.websocket.address = 7;
    expect(validate(broken)).toBe(false);

    for (const key of [
      'event.created',
      'seat.held',
      'seat.refreshed',
      'seat.released',
      'seat.expired',
      'seat.reserved',
    ])
      expect(Object.values(asyncapi.channels).some((c) => (c as Doc).address === key)).toBe(true);
    for (const type of ['AUTH', 'SUBSCRIBE_EVENT', 'SEAT_UPDATE', 'SEAT_UPDATES', 'SEAT_MAP', 'ERROR', 'PONG'])
      expect(Object.values(asyncapi.components.messages).some((m) => (m as Doc).name === type)).toBe(true);
  });

  it('describes the messages the WebSocket really sends', async () => {
    payloads = new Ajv({ strict: false, validateFormats: false });
    payloads.addSchema({ ...asyncapi, $id: 'asyncapi' });
    const expectValid = (name: string, value: unknown) => {
      const validate = message(name);
      expect({ name, errors: validate(value) ? null : validate.errors }).toEqual({ name, errors: null });
    };
    const user = await userToken(newUserId());
    const eventId = await stack.createEvent({ name: 'Docs WS', totalSeats: 10 });
    const ws = await stack.openWs();

    const subscribe = { type: 'SUBSCRIBE_EVENT', eventId, snapshot: true };
    expectValid('subscribeEvent', subscribe);
    ws.send(subscribe);
    expectValid('subscribed', await ws.next((m) => m.type === 'SUBSCRIBED'));
    expectValid('seatMap', await ws.next((m) => m.type === 'SEAT_MAP'));
    await http(gw, 'POST', `/api/seats/${eventId}/2/hold`, { token: user });
    expectValid('seatUpdate', await ws.next((m) => m.type === 'SEAT_UPDATE'));
    ws.send({ type: 'PING' });
    expectValid('pong', await ws.next((m) => m.type === 'PONG'));
    ws.send({ type: 'SUBSCRIBE_EVENT', eventId: 'nope' });
    expectValid('error', await ws.next((m) => m.type === 'ERROR'));
    // The client schemas are the notifier's own: what they refuse, the document refuses too.
    expect(message('subscribeEvent')({ type: 'SUBSCRIBE_EVENT', eventId, batch: 'yes' })).toBe(false);
  });
});

describe('GET /api/docs', () => {
  it('is an HTML page whose every script and stylesheet is served by the gateway', async () => {
    const res = await fetch(`${gw}/api/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    const urls = [...html.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(urls.length).toBeGreaterThanOrEqual(3);
    for (const url of urls) {
      expect(url).toMatch(/^\/[^/]/); // same origin: no scheme, no host
      const asset = await fetch(`${gw}${url}`);
      expect({ url, status: asset.status }).toEqual({ url, status: 200 });
      expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(0);
    }
    // The initializer points Swagger UI at this gateway's document and turns its public validator off.
    const init = await (await fetch(`${gw}${urls.find((u) => u.endsWith('init.js'))!}`)).text();
    expect(init).toContain('"/api/openapi.json"');
    expect(init).toContain('validatorUrl: null');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
  });

  it('keeps the 404 for everything else: other methods, unknown assets', async () => {
    for (const [method, path] of [
      ['POST', '/api/openapi.json'],
      ['DELETE', '/api/docs'],
      ['GET', '/api/docs/assets/swagger-ui.js.map'],
      ['GET', '/api/docs/assets/..%2Fpackage.json'],
      ['GET', '/api/docs/nothing'],
    ] as const) {
      const res = await http(gw, method, path);
      expect({ method, path, status: res.status, body: res.body }).toMatchObject({
        method,
        path,
        status: 404,
        body: { error: { code: 'NOT_FOUND' } },
      });
    }
  });

  it('counts against the per-IP rate limit', async () => {
    const extraGateway = await stack.startService('gateway', {
      RATE_LIMIT_PER_IP: '3',
      RATE_LIMIT_WINDOW_SECONDS: '60',
      REDIS_KEY_PREFIX: `${stack.isolation.redisPrefix}limited:`,
    });
    // Counted in Redis only once the new gateway's connection is up (before that, in its memory window).
    await untilGatewayRedisConnected(extraGateway.baseUrl);
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 5; i++) {
      last = await fetch(`${extraGateway.baseUrl}/api/openapi.json`);
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(last!.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await last!.json()) as Doc).error.code).toBe('RATE_LIMITED');
  });
});
