import fc from 'fast-check';
import { createEventBody, holdBody, SEAT_NUMBER_PATTERN, UUID_PATTERN } from '@zephyr/contracts';
import { connectWs, http, newUserId, userToken, waitFor, type WsClient } from '@zephyr/testing';
import { expectError, expectNoLeak, portOf, rawHttp, rawRequest, useSecurityStack } from './support';

/**
 * Hostile input at every endpoint of SPEC.md §3 and every WebSocket message type, table-driven and
 * property-based: malformed JSON, wrong types, huge numbers, NUL, unicode, path and query tricks, header
 * injection and smuggling, duplicate and prototype keys, non-object bodies and non-JSON media types.
 * Each answer must be a 4xx from SPEC.md's table with the error envelope and no internals, and nothing may
 * change: the event list, the event, its seat map, the victim's holds and the audit trail are compared
 * before and after every group.
 */
const stack = useSecurityStack('sechostile');
let gw: string;
let port: number;
let eventId: string;
const alice = { id: newUserId(), token: '' };

const RUNS = Number(process.env.SECURITY_FC_RUNS ?? 60);

beforeAll(async () => {
  gw = stack.gatewayUrl;
  port = portOf(gw);
  alice.token = await userToken(alice.id);
  eventId = await stack.createEvent({ name: 'Target', totalSeats: 10 });
  // State worth protecting: a live hold on seat 1 and a reservation on seat 2.
  expect(
    (await http(gw, 'POST', `/api/seats/${eventId}/1/hold`, { token: alice.token, body: { holdDuration: 3600 } }))
      .status,
  ).toBe(201);
  expect((await http(gw, 'POST', `/api/seats/${eventId}/2/hold`, { token: alice.token })).status).toBe(201);
  expect((await http(gw, 'POST', `/api/seats/${eventId}/2/reserve`, { token: alice.token })).status).toBe(200);
  // The audit trail and the event's counts lag the writes: wait until both show them, so no snapshot races them.
  await waitFor(
    async () => {
      const history = await http<{ items: unknown[] }>(gw, 'GET', `/api/events/${eventId}/history?limit=100`, {
        token: stack.admin,
      });
      const event = await http<{ seats: { available: number; held: number; reserved: number } }>(
        gw,
        'GET',
        `/api/events/${eventId}`,
      );
      const { available, held, reserved } = event.body.seats;
      return history.body.items.length === 3 && available === 8 && held === 1 && reserved === 1;
    },
    { what: 'the audit trail and event counts to show the setup' },
  );
});

async function snapshot(): Promise<unknown> {
  const get = async (path: string, token?: string) => {
    const res = await http(gw, 'GET', path, { token });
    expect(res.status).toBe(200);
    return res.body;
  };
  return {
    events: await get('/api/events?limit=100'),
    event: await get(`/api/events/${eventId}`),
    seats: await get(`/api/events/${eventId}/seats`),
    holds: await get(`/api/seats/${eventId}/user/${alice.id}/holds`, alice.token),
    history: await get(`/api/events/${eventId}/history?limit=100`, stack.admin),
  };
}

/**
 * Table tests collect every failing case instead of stopping at the first, so one run lists all of them;
 * each test ends with expectNoFailures().
 */
let failures: string[] = [];
beforeEach(() => {
  failures = [];
});
const expectNoFailures = () => expect(failures).toEqual([]);

function labelled(label: string, check: () => void): void {
  try {
    check();
  } catch (err) {
    failures.push(`${label}: ${(err as Error).message.slice(0, 300)}`);
  }
}

/** Runs a group of hostile requests and records whether any of them changed anything. */
async function unchanged(attack: () => Promise<void>): Promise<void> {
  const before = (await snapshot()) as Record<string, unknown>;
  await attack();
  const after = (await snapshot()) as Record<string, unknown>;
  for (const key of Object.keys(before)) {
    labelled(`state of ${key}`, () => expect(after[key]).toEqual(before[key]));
  }
}

type Who = 'admin' | 'user';
interface BodyEndpoint {
  name: string;
  method: string;
  path: () => string;
  who: Who;
  /** Fields of a valid body, varied one at a time by the tables below. */
  valid: Record<string, unknown>;
}

/** Every endpoint that takes a body; a body accepted by mistake would show in the snapshot. */
const bodyEndpoints = (): BodyEndpoint[] => [
  {
    name: 'create event',
    method: 'POST',
    path: () => '/api/events',
    who: 'admin',
    valid: { name: 'Valid', totalSeats: 10 },
  },
  {
    name: 'update event',
    method: 'PATCH',
    path: () => `/api/events/${eventId}`,
    who: 'admin',
    valid: { name: 'Renamed' },
  },
  {
    name: 'hold',
    method: 'POST',
    path: () => `/api/seats/${eventId}/5/hold`,
    who: 'user',
    valid: { holdDuration: 60 },
  },
  { name: 'reserve', method: 'POST', path: () => `/api/seats/${eventId}/1/reserve`, who: 'user', valid: {} },
  {
    name: 'refresh',
    method: 'POST',
    path: () => `/api/seats/${eventId}/1/refresh`,
    who: 'user',
    valid: { holdDuration: 60 },
  },
  { name: 'release', method: 'DELETE', path: () => `/api/seats/${eventId}/1/hold`, who: 'user', valid: {} },
];

const tokenOf = (who: Who) => (who === 'admin' ? stack.admin : alice.token);

const send = (endpoint: BodyEndpoint, rawBody: string, contentType = 'application/json') =>
  http(gw, endpoint.method, endpoint.path(), {
    token: tokenOf(endpoint.who),
    rawBody,
    headers: { 'content-type': contentType },
  });

describe('request bodies', () => {
  const malformed = [
    '{',
    '}',
    '{"a":}',
    '{"name":"x",}',
    "{'name':'x'}",
    '[',
    'nul',
    'tru',
    'NaN',
    'Infinity',
    '{"a":1}{"b":2}',
    '\uFEFF{}',
    '{"name":"a\u0000b"}',
    '/* comment */ {}',
    '0x10',
    '{"a":1',
    '['.repeat(8000),
    '{"a":"\\x41"}',
    '{"a":"\\u12"}',
  ];
  const notObjects = [
    'null',
    '[]',
    '[{}]',
    '"string"',
    '123',
    'true',
    '1e308',
    '-0',
    '['.repeat(4000) + ']'.repeat(4000),
  ];

  it(`refuses ${malformed.length} kinds of malformed JSON and ${notObjects.length} non-object bodies at every body endpoint with 400`, async () => {
    await unchanged(async () => {
      for (const endpoint of bodyEndpoints()) {
        for (const body of [...malformed, ...notObjects]) {
          const res = await send(endpoint, body);
          labelled(`${endpoint.name} ${JSON.stringify(body.slice(0, 30))}`, () =>
            expectError(res, 400, 'VALIDATION_FAILED'),
          );
        }
      }
    });
    expectNoFailures();
  });

  it('refuses wrong types, huge numbers, NUL, null fields, unknown, prototype and duplicate keys with 400', async () => {
    const common: Record<string, unknown[]> = {
      extra: [1, null, 'x'],
      constructor: [{ prototype: { isAdmin: true } }],
      prototype: [1],
    };
    const holdDuration = ['60', 10.5, 1e308, 2 ** 53 + 1, -60, 0, 9, 3601, null, true, [], {}, '1e1'];
    const userId = [
      'x',
      123,
      null,
      '',
      `{${alice.id}}`,
      `${alice.id} `,
      `${alice.id}\u0000`,
      [alice.id],
      'ffffffff-ffff-ffff-ffff-fffffffffffff',
    ];
    const variations: Record<string, Record<string, unknown[]>> = {
      'create event': {
        totalSeats: ['10', 10.5, 1e308, 2 ** 53 + 1, -10, 0, 9, 1001, true, null, [], {}, '1e1'],
        name: [123, '', 'x'.repeat(201), null, ['a'], {}, 'a\u0000b', true],
        description: [null, 'x'.repeat(2001), 5, 'a\u0000', ['a']],
        maxSeatsPerUser: [0, 11, 1.5, '5', null, 2 ** 53 + 1, -1],
        id: [newUserId()],
        status: ['cancelled'],
        ...common,
      },
      'update event': {
        status: ['ACTIVE', 'deleted', '', null, 1, ['active']],
        name: ['', null, 'x'.repeat(201), 'a\u0000', 7],
        description: [null, 'x'.repeat(2001), 'a\u0000'],
        totalSeats: [20],
        maxSeatsPerUser: [5],
        id: [newUserId()],
        ...common,
      },
      hold: { holdDuration, userId, seatNumber: [5], ...common },
      reserve: { userId, holdDuration: [60], ...common },
      refresh: { holdDuration, userId, ...common },
      release: { userId, ...common },
    };
    const rawBodies = (valid: Record<string, unknown>) => {
      const base = JSON.stringify(valid).slice(1, -1);
      const sep = base ? ',' : '';
      return [
        `{${base}${sep}"__proto__":{"isAdmin":true,"roles":["admin"]}}`,
        `{${base}${sep}"constructor":{"prototype":{"isAdmin":true}}}`,
        `{"__proto__":null${sep}${base}}`,
        `{${base}${sep}"a":1,"a":2}`,
      ];
    };
    let cases = 0;
    await unchanged(async () => {
      for (const endpoint of bodyEndpoints()) {
        for (const [field, values] of Object.entries(variations[endpoint.name]!)) {
          for (const value of values) {
            cases++;
            const res = await send(endpoint, JSON.stringify({ ...endpoint.valid, [field]: value }));
            labelled(`${endpoint.name} ${field}=${JSON.stringify(value)?.slice(0, 30)}`, () =>
              expectError(res, 400, 'VALIDATION_FAILED'),
            );
          }
        }
        for (const body of rawBodies(endpoint.valid)) {
          cases++;
          const res = await send(endpoint, body);
          labelled(`${endpoint.name} ${body.slice(0, 60)}`, () => expectError(res, 400, 'VALIDATION_FAILED'));
        }
      }
      // Duplicate keys: the last one counts, so an invalid last value is refused.
      for (const [index, body] of [
        [0, '{"name":"a","totalSeats":10,"totalSeats":"10"}'],
        [2, '{"holdDuration":60,"holdDuration":"60"}'],
        [1, '{"status":"active","status":"bogus"}'],
      ] as const) {
        const res = await send(bodyEndpoints()[index]!, body);
        labelled(body, () => expectError(res, 400, 'VALIDATION_FAILED'));
      }
    });
    expect(cases).toBeGreaterThan(100);
    // Prototype keys polluted nothing: a plain user is still not an admin.
    expectError(
      await http(gw, 'POST', '/api/events', { token: alice.token, body: { name: 'x', totalSeats: 10 } }),
      403,
      'FORBIDDEN',
    );
    expectNoFailures();
  });

  it('refuses bodies that are not JSON with 415, whatever their text, before validation', async () => {
    const types = [
      'text/plain',
      'text/plain; charset=utf-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'text/html',
      'application/xml',
      'application/octet-stream',
      'json',
      'application/jsonx',
    ];
    await unchanged(async () => {
      for (const endpoint of bodyEndpoints()) {
        for (const type of types) {
          const res = await send(endpoint, JSON.stringify(endpoint.valid), type);
          labelled(`${endpoint.name} as ${type}`, () => expectError(res, 415, 'UNSUPPORTED_MEDIA_TYPE'));
        }
        // A body with no Content-Type at all is not JSON either.
        const untyped = await rawHttp(
          port,
          rawRequest(
            endpoint.method,
            endpoint.path(),
            { Authorization: `Bearer ${tokenOf(endpoint.who)}` },
            JSON.stringify(endpoint.valid),
          ),
        );
        labelled(`${endpoint.name} untyped`, () => expectError(untyped, 415, 'UNSUPPORTED_MEDIA_TYPE'));
      }
    });
    expectNoFailures();
  });

  it('property: any JSON value that is not a valid event body is a 400 on create', async () => {
    await unchanged(async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.jsonValue(),
            fc.record({ name: fc.jsonValue(), totalSeats: fc.jsonValue() }, { requiredKeys: [] }),
            fc.record({
              name: fc.string(),
              totalSeats: fc.oneof(fc.double(), fc.integer(), fc.string()),
              maxSeatsPerUser: fc.jsonValue(),
            }),
          ),
          async (body) => {
            fc.pre(createEventBody.validate(body).error !== undefined);
            expectError(await send(bodyEndpoints()[0]!, JSON.stringify(body)), 400, 'VALIDATION_FAILED');
          },
        ),
        { numRuns: RUNS },
      );
    });
    expectNoFailures();
  }, 60_000);

  it('property: any object that is not a valid hold body is a 400 and holds nothing', async () => {
    await unchanged(async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.dictionary(
            fc.constantFrom('userId', 'holdDuration', 'extra', 'seatNumber', '__proto__', 'toString'),
            fc.jsonValue(),
            { minKeys: 1 },
          ),
          async (body) => {
            fc.pre(holdBody.validate(body).error !== undefined);
            expectError(await send(bodyEndpoints()[2]!, JSON.stringify(body)), 400, 'VALIDATION_FAILED');
          },
        ),
        { numRuns: RUNS },
      );
    });
    expectNoFailures();
  }, 60_000);
});

describe('paths and queries', () => {
  const eventPaths = (id: string) =>
    [
      ['GET', `/api/events/${id}`, undefined],
      ['PATCH', `/api/events/${id}`, 'admin'],
      ['GET', `/api/events/${id}/seats/available`, undefined],
      ['GET', `/api/events/${id}/seats`, undefined],
      ['GET', `/api/events/${id}/history`, 'admin'],
      ['POST', `/api/seats/${id}/3/hold`, 'user'],
      ['POST', `/api/seats/${id}/1/reserve`, 'user'],
      ['POST', `/api/seats/${id}/1/refresh`, 'user'],
      ['DELETE', `/api/seats/${id}/1/hold`, 'user'],
      ['GET', `/api/seats/${id}/1/status`, undefined],
      ['GET', `/api/seats/${id}/user/${alice.id}/holds`, 'user'],
    ] as const;

  const request = (method: string, target: string, who: Who | undefined) =>
    rawHttp(port, rawRequest(method, target, who ? { Authorization: `Bearer ${tokenOf(who)}` } : {}));

  it('refuses bad event ids in every path with 400 (or 404 for a path that is no route)', async () => {
    const ids = () => [
      '..',
      '.',
      '%2e%2e',
      '%2E%2E',
      '.%2e',
      '..%2F..%2Finternal',
      '%2F',
      '%5C..%5C',
      '%00',
      `${eventId}%00`,
      `${eventId}%20`,
      `%20${eventId}`,
      `%7B${eventId}%7D`,
      'null',
      'undefined',
      '0',
      '-1',
      'a'.repeat(1500),
      eventId.replace(/-/g, ''),
      `${eventId}a`,
      `${eventId};x=1`,
      `${eventId}%3Bx=1`,
      '%E2%80%AE',
      '%F0%9F%8E%9F',
      '%C0%AE%C0%AE',
      '%',
      '%zz',
      '%u0041',
      `${eventId.slice(0, 35)}%C4%B1`,
      '*',
      '$where',
    ];
    let cases = 0;
    await unchanged(async () => {
      for (const id of ids()) {
        for (const [method, target, who] of eventPaths(id)) {
          cases++;
          const res = await request(method, target, who);
          labelled(`${method} ${target.slice(0, 80)}`, () =>
            expectError(res, [400, 404], res.status === 404 ? 'NOT_FOUND' : 'VALIDATION_FAILED'),
          );
        }
      }
      // Dot segments that split the path are simply no route.
      for (const target of [
        `/api/events/../events/${eventId}/history`,
        `/api/seats/${eventId}/../../events/${eventId}/1/hold`,
        `/api/events/${eventId}/seats/../history`,
      ]) {
        expectError(await request('GET', target, 'user'), 404, 'NOT_FOUND');
      }
    });
    expect(cases).toBeGreaterThan(300);
  });

  it('refuses seat numbers that are not canonical positive integers with 400, and numbers above totalSeats with 404', async () => {
    const seats = [
      '0',
      '00',
      '01',
      '+1',
      '1e2',
      '1E0',
      '%201',
      '1%20',
      '1.0',
      '1.',
      '-1',
      '0x1',
      '0b1',
      '%EF%BC%91',
      '%D9%A1',
      '1%00',
      '9'.repeat(101),
      'Infinity',
      'NaN',
      '1,2',
      '..',
      '%2e%2e',
      '1;2',
      '%2B1',
      '1_0',
      'one',
      '%2F1',
    ];
    await unchanged(async () => {
      for (const seat of seats) {
        for (const [method, action] of [
          ['POST', 'hold'],
          ['POST', 'reserve'],
          ['POST', 'refresh'],
          ['DELETE', 'hold'],
          ['GET', 'status'],
        ] as const) {
          const res = await request(method, `/api/seats/${eventId}/${seat}/${action}`, 'user');
          labelled(`${method} seat ${seat} ${action}`, () => expectError(res, 400, 'VALIDATION_FAILED'));
        }
      }
      for (const seat of ['11', '9'.repeat(100), String(2 ** 53 + 1)]) {
        const res = await request('POST', `/api/seats/${eventId}/${seat}/hold`, 'user');
        labelled(`seat ${seat.slice(0, 20)}`, () => expectError(res, 404, 'SEAT_NOT_FOUND'));
      }
      expectError(await request('POST', `/api/seats/${eventId}//hold`, 'user'), 404, 'NOT_FOUND');
      for (const userId of ['me', '..', '%2e%2e', '*', 'null', `${alice.id}%00`, `${alice.id}%0A`]) {
        expectError(
          await request('GET', `/api/seats/${eventId}/user/${userId}/holds`, 'user'),
          400,
          'VALIDATION_FAILED',
        );
      }
      expectError(
        await request('GET', `/api/seats/${newUserId()}/user/${alice.id}/holds`, 'user'),
        404,
        'EVENT_NOT_FOUND',
      );
    });
    expectNoFailures();
  });

  it('refuses bad limits, cursors and unexpected query parameters with 400', async () => {
    const limits = [
      '0',
      '101',
      '10.5',
      '1e1',
      '-1',
      '%2B1',
      '%201',
      'abc',
      '',
      '1&limit=2',
      '%00',
      '01',
      '1000000000000000000000',
      'null',
    ];
    const cursors = ['..%2F..', '%00', 'x'.repeat(201), '!!!', '', 'a&cursor=b', '%27%20OR%201%3D1--'];
    await unchanged(async () => {
      for (const [base, who] of [
        ['/api/events', undefined],
        [`/api/events/${eventId}/history`, 'admin'],
      ] as const) {
        for (const limit of limits) {
          const res = await request('GET', `${base}?limit=${limit}`, who);
          labelled(`${base} limit=${limit}`, () => expectError(res, 400, 'VALIDATION_FAILED'));
        }
        for (const cursor of cursors) {
          const res = await request('GET', `${base}?cursor=${cursor}`, who);
          labelled(`${base} cursor=${cursor.slice(0, 20)}`, () => expectError(res, 400, 'VALIDATION_FAILED'));
        }
      }
      for (const target of [
        `/api/seats/${eventId}/1/status?x=1`,
        `/api/events/${eventId}/seats/available?limit=1`,
        `/api/events/${eventId}/seats?__proto__=1`,
      ]) {
        const res = await request('GET', target, undefined);
        labelled(target, () => expectError(res, 400, 'VALIDATION_FAILED'));
      }
    });
    expectNoFailures();
  });

  it('services behind the gateway also answer malformed percent-encoding with 400 (defense in depth)', async () => {
    const direct = [
      [stack.urls['event-service'][0]!, '/api/events/%C0%AE'],
      [stack.urls['seat-service'][0]!, '/api/events/%C0%AE/seats'],
      [stack.urls['seat-service'][0]!, `/api/seats/${eventId}/%E0%A4%A/status`],
    ] as const;
    for (const [base, target] of direct) {
      const res = await rawHttp(portOf(base), rawRequest('GET', target));
      labelled(`${base} ${target}`, () => expectError(res, 400, 'VALIDATION_FAILED'));
    }
    expectNoFailures();
  });

  it('property: any non-UUID event id segment is a 400, never a 5xx', async () => {
    await unchanged(async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }),
          fc.constantFrom(...eventPaths('ID')),
          async (segment, [method, template, who]) => {
            fc.pre(!UUID_PATTERN.test(segment));
            const res = await request(method, template.replace('ID', encodeURIComponent(segment)), who);
            expectError(res, 400, 'VALIDATION_FAILED');
          },
        ),
        { numRuns: RUNS },
      );
    });
    expectNoFailures();
  }, 60_000);

  it('property: any non-canonical seat number is a 400', async () => {
    await unchanged(async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.string({ minLength: 1, maxLength: 30 }),
            fc.double().map(String),
            fc.integer({ max: 0 }).map(String),
            fc.nat().map((n) => `0${n}`),
          ),
          async (seat) => {
            fc.pre(!SEAT_NUMBER_PATTERN.test(seat));
            expectError(
              await request('POST', `/api/seats/${eventId}/${encodeURIComponent(seat)}/hold`, 'user'),
              400,
              'VALIDATION_FAILED',
            );
          },
        ),
        { numRuns: RUNS },
      );
    });
    expectNoFailures();
  }, 60_000);
});

describe('header injection and request smuggling (raw sockets)', () => {
  it('refuses CR, LF, NUL and folding in headers, conflicting framing and bare requests, and reflects nothing', async () => {
    const admin64 = `Authorization: Bearer ${stack.admin}`;
    const smuggled = `POST /api/events HTTP/1.1\r\nHost: x\r\n${admin64}\r\nContent-Type: application/json\r\nContent-Length: 33\r\n\r\n{"name":"Smuggled","totalSeats":10}`;
    const cases: [string, string][] = [
      ['CR in a header value', 'GET /api/events HTTP/1.1\r\nHost: x\r\nX-Test: a\rInjected: 1\r\n\r\n'],
      ['NUL in a header value', 'GET /api/events HTTP/1.1\r\nHost: x\r\nX-Test: a\u0000b\r\n\r\n'],
      ['space in a header name', 'GET /api/events HTTP/1.1\r\nHost: x\r\nX Test: a\r\n\r\n'],
      ['obsolete line folding', 'GET /api/events HTTP/1.1\r\nHost: x\r\nX-Test: a\r\n b\r\n\r\n'],
      [
        'CL.TE smuggling',
        `POST /api/events HTTP/1.1\r\nHost: x\r\n${admin64}\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`,
      ],
      [
        'TE.CL smuggling',
        `POST /api/events HTTP/1.1\r\nHost: x\r\n${admin64}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nContent-Length: 200\r\n\r\n0\r\n\r\n${smuggled}`,
      ],
      [
        'two Content-Lengths',
        `POST /api/events HTTP/1.1\r\nHost: x\r\n${admin64}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}`,
      ],
      [
        'Transfer-Encoding not ending in chunked',
        `POST /api/events HTTP/1.1\r\nHost: x\r\n${admin64}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked, identity\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
      ],
      [
        'unknown Transfer-Encoding',
        `POST /api/events HTTP/1.1\r\nHost: x\r\n${admin64}\r\nContent-Type: application/json\r\nTransfer-Encoding: xchunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
      ],
      ['no Host', 'GET /api/events HTTP/1.1\r\n\r\n'],
      [
        'bad chunk size',
        `POST /api/events HTTP/1.1\r\nHost: x\r\n${admin64}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
      ],
    ];
    // Node reads a request line without a version leniently; what matters is that nothing is split off.
    const lenient: [string, string][] = [
      ['CRLF in the request line', 'GET /api/events\r\nSet-Cookie: a=1 HTTP/1.1\r\nHost: x\r\n\r\n'],
      ['HTTP/0.9 style request', 'GET /api/events\r\n\r\n'],
    ];
    await unchanged(async () => {
      for (const [label, bytes] of cases) {
        const res = await rawHttp(port, bytes);
        labelled(label, () => {
          expectError(res, 400);
          expect(res.headers['set-cookie']).toBeUndefined();
          expect(res.headers.injected).toBeUndefined();
        });
      }
      for (const [label, bytes] of lenient) {
        const res = await rawHttp(port, bytes).catch(() => undefined);
        labelled(label, () => {
          if (res === undefined) return; // dropped without an answer is fine too
          expect(res.status).toBeLessThan(500);
          expect(res.headers['set-cookie']).toBeUndefined();
        });
      }
      // Encoded CR/LF stays data: a 400, no header is split off.
      const encoded = await rawHttp(port, rawRequest('GET', '/api/events/%0D%0ASet-Cookie:%20a=1'));
      expectError(encoded, 400, 'VALIDATION_FAILED');
      expect(encoded.headers['set-cookie']).toBeUndefined();
      // A request id that is not a plain token is replaced, not reflected.
      const reflected = await rawHttp(
        port,
        rawRequest('GET', '/api/events', { 'X-Request-Id': '"><script>alert(1)</script>' }),
      );
      expect(reflected.status).toBe(200);
      expect(reflected.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    });
    expect((await http(gw, 'GET', '/health')).status).toBe(200);
  });
});

describe('unicode is stored exactly as sent', () => {
  const names = [
    '🎟️ Sommer Festival 🎉',
    'مهرجان الصيف',
    'שלום עולם',
    'e\u0301te\u0301 (combining marks)',
    '👨‍👩‍👧‍👦 family',
    '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕊𝕙𝕠𝕨',
    '\u202Eevil\u202C',
    'zero\u200Bwidth\u2060joiner',
    '<script>alert(1)</script>',
    "Robert'); DROP TABLE events;--",
    '{{7*7}} ${7*7} %s %n',
    '\\u0000 is text here',
    'ﷺ 𒐫 ẞ',
    ' leading and trailing ',
  ];

  it(`round-trips ${names.length} hostile but valid names and descriptions through create, read and update`, async () => {
    for (const name of names) {
      const created = await http<{ id: string; name: string; description: string }>(gw, 'POST', '/api/events', {
        token: stack.admin,
        body: { name, description: name, totalSeats: 10 },
      });
      labelled(name, () => {
        expect(created.status).toBe(201);
        expect(created.body.name).toBe(name);
        expect(created.body.description).toBe(name);
      });
      const read = await http<{ name: string; description: string }>(gw, 'GET', `/api/events/${created.body.id}`);
      expect([read.body.name, read.body.description]).toEqual([name, name]);
      const renamed = `${name}·2`;
      const patched = await http<{ name: string }>(gw, 'PATCH', `/api/events/${created.body.id}`, {
        token: stack.admin,
        body: { name: renamed },
      });
      expect(patched.body.name).toBe(renamed);
      expect(patched.headers.get('content-type')).toMatch(/^application\/json/);
    }
  }, 30_000);

  it('refuses or keeps a lone surrogate exactly, never alters it', async () => {
    for (const name of ['bad \uD800 half', 'bad \uDC00 half']) {
      const created = await http<{ id: string; name: string }>(gw, 'POST', '/api/events', {
        token: stack.admin,
        rawBody: JSON.stringify({ name, totalSeats: 10 }),
        headers: { 'content-type': 'application/json' },
      });
      if (created.status === 400) continue;
      expect(created.status).toBe(201);
      const read = await http(gw, 'GET', `/api/events/${created.body.id}`, {});
      // Compare the escaped JSON: a replacement character (U+FFFD) would be a silent change.
      expect(JSON.stringify((read.body as { name: string }).name)).toBe(JSON.stringify(name));
    }
  });

  it('property: any grapheme string without NUL round-trips unchanged', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }), async (name) => {
        fc.pre(!name.includes('\u0000') && name.length <= 200);
        const created = await http<{ id: string; name: string }>(gw, 'POST', '/api/events', {
          token: stack.admin,
          body: { name, totalSeats: 10 },
        });
        expect(created.status).toBe(201);
        expect(created.body.name).toBe(name);
        expect((await http<{ name: string }>(gw, 'GET', `/api/events/${created.body.id}`)).body.name).toBe(name);
      }),
      { numRuns: Math.min(RUNS, 30) },
    );
  }, 60_000);
});

describe('WebSocket messages', () => {
  let ws: WsClient;
  const wsUrl = () => `${gw.replace('http', 'ws')}/ws`;

  beforeEach(async () => {
    ws = await connectWs(wsUrl());
  });
  afterEach(() => ws.close());

  /** Sends one frame and waits for the answer to it (messages are handled in order). */
  async function answer(frame: string | Buffer): Promise<{ type: string; code?: string; message?: string }> {
    ws.messages.length = 0;
    ws.socket.send(frame);
    return ws.next(() => true);
  }

  async function expectWsError(frame: string | Buffer, code: string | string[]): Promise<void> {
    const reply = await answer(frame);
    labelled(`frame ${String(frame).slice(0, 60)}`, () => {
      expect(reply.type).toBe('ERROR');
      expect(Array.isArray(code) ? code : [code]).toContain(reply.code);
      expect(typeof reply.message).toBe('string');
      expectNoLeak(reply);
    });
  }

  it('answers every malformed frame of every message type with ERROR and keeps the connection', async () => {
    const uuid = newUserId();
    const bad: [unknown, string][] = [
      // AUTH
      [{ type: 'AUTH' }, 'VALIDATION_FAILED'],
      [{ type: 'AUTH', token: 123 }, 'VALIDATION_FAILED'],
      [{ type: 'AUTH', token: '' }, 'VALIDATION_FAILED'],
      [{ type: 'AUTH', token: null }, 'VALIDATION_FAILED'],
      [{ type: 'AUTH', token: ['a.b.c'] }, 'VALIDATION_FAILED'],
      [{ type: 'AUTH', token: 'x'.repeat(4000) }, 'UNAUTHENTICATED'],
      [{ type: 'AUTH', token: 'a.b.c', extra: 1 }, 'VALIDATION_FAILED'],
      // SUBSCRIBE_EVENT / UNSUBSCRIBE_EVENT
      ...(['SUBSCRIBE_EVENT', 'UNSUBSCRIBE_EVENT'] as const).flatMap((type): [unknown, string][] => [
        [{ type }, 'VALIDATION_FAILED'],
        [{ type, eventId: 123 }, 'VALIDATION_FAILED'],
        [{ type, eventId: null }, 'VALIDATION_FAILED'],
        [{ type, eventId: '..' }, 'VALIDATION_FAILED'],
        [{ type, eventId: 'not-a-uuid' }, 'VALIDATION_FAILED'],
        [{ type, eventId: `${eventId}\u0000` }, 'VALIDATION_FAILED'],
        [{ type, eventId: `{${eventId}}` }, 'VALIDATION_FAILED'],
        [{ type, eventId: [eventId] }, 'VALIDATION_FAILED'],
        [{ type, eventId, extra: true }, 'VALIDATION_FAILED'],
      ]),
      [{ type: 'SUBSCRIBE_EVENT', eventId, snapshot: 'yes' }, 'VALIDATION_FAILED'],
      [{ type: 'SUBSCRIBE_EVENT', eventId: uuid }, 'EVENT_NOT_FOUND'],
      // SUBSCRIBE_USER / UNSUBSCRIBE_USER
      ...(['SUBSCRIBE_USER', 'UNSUBSCRIBE_USER'] as const).flatMap((type): [unknown, string][] => [
        [{ type }, 'VALIDATION_FAILED'],
        [{ type, userId: 1 }, 'VALIDATION_FAILED'],
        [{ type, userId: 'me' }, 'VALIDATION_FAILED'],
        [{ type, userId: `${alice.id}\u0000` }, 'VALIDATION_FAILED'],
        [{ type, userId: alice.id, roles: ['admin'] }, 'VALIDATION_FAILED'],
      ]),
      [{ type: 'SUBSCRIBE_USER', userId: alice.id }, 'UNAUTHENTICATED'],
      // PING and the type itself
      [{ type: 'PING', extra: 1 }, 'VALIDATION_FAILED'],
      [{ type: 'ping' }, 'VALIDATION_FAILED'],
      [{ type: 'PONG' }, 'VALIDATION_FAILED'],
      [{ type: '' }, 'VALIDATION_FAILED'],
      [{ type: null }, 'VALIDATION_FAILED'],
      [{ type: 123 }, 'VALIDATION_FAILED'],
      [{ type: ['PING'] }, 'VALIDATION_FAILED'],
      [{ type: '__proto__' }, 'VALIDATION_FAILED'],
      [{ type: 'constructor' }, 'VALIDATION_FAILED'],
      [{ type: 'toString' }, 'VALIDATION_FAILED'],
      [{ type: 'hasOwnProperty' }, 'VALIDATION_FAILED'],
      [{}, 'VALIDATION_FAILED'],
      [{ type: 'PING\u0000' }, 'VALIDATION_FAILED'],
      [{ type: '🎟️' }, 'VALIDATION_FAILED'],
    ];
    const rawFrames = [
      'null',
      '[]',
      '"PING"',
      '123',
      'true',
      '{',
      '',
      ' ',
      'nul',
      '\uFEFF{"type":"PING"}',
      '{"type":"PING"}{"type":"PING"}',
      '{"type":"PING","type":"AUTH"}',
      '{"type":"PING","__proto__":{"isAdmin":true}}',
      '{"type":"SUBSCRIBE_USER","userId":"' + alice.id + '","__proto__":{"isAdmin":true}}',
      '{"__proto__":{"type":"PING"}}',
      '[{"type":"PING"}]',
      '{"type":"PING",}',
      '{"type":"PING"',
      `{"type":"SUBSCRIBE_EVENT","eventId":${'1'.repeat(400)}}`,
      '{"type":"SUBSCRIBE_EVENT","eventId":1e308}',
    ];
    for (const [message, code] of bad) await expectWsError(JSON.stringify(message), code);
    for (const frame of rawFrames) await expectWsError(frame, ['VALIDATION_FAILED', 'UNAUTHENTICATED']);
    await expectWsError(Buffer.from(JSON.stringify({ type: 'PING' })), 'VALIDATION_FAILED');
    expect(await answer(JSON.stringify({ type: 'PING' }))).toEqual({ type: 'PONG' });
    expect(bad.length + rawFrames.length + 1).toBeGreaterThan(60);
    expectNoFailures();
  }, 30_000);

  it('property: any JSON frame that is not a protocol message gets ERROR and the socket lives on', async () => {
    const known = new Set([
      'AUTH',
      'SUBSCRIBE_EVENT',
      'UNSUBSCRIBE_EVENT',
      'SUBSCRIBE_USER',
      'UNSUBSCRIBE_USER',
      'PING',
    ]);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue(),
          fc.record(
            {
              type: fc.oneof(fc.constantFrom(...known), fc.string()),
              eventId: fc.jsonValue(),
              userId: fc.jsonValue(),
              token: fc.jsonValue(),
            },
            { requiredKeys: ['type'] },
          ),
        ),
        async (message) => {
          const text = JSON.stringify(message);
          fc.pre(Buffer.byteLength(text) < 4000);
          const type = (message as { type?: unknown } | null)?.type;
          // A well-formed PING or subscribe of a real id is not hostile; everything else must be refused.
          fc.pre(!(type === 'PING' && Object.keys(message as object).length === 1));
          fc.pre(
            !(
              typeof type === 'string' &&
              known.has(type) &&
              ['eventId', 'userId', 'token'].some(
                (k) =>
                  typeof (message as Record<string, unknown>)[k] === 'string' &&
                  UUID_PATTERN.test((message as Record<string, string>)[k]!),
              )
            ),
          );
          const reply = await answer(text);
          expect(reply.type).toBe('ERROR');
          expectNoLeak(reply);
        },
      ),
      { numRuns: RUNS },
    );
    expect(await answer(JSON.stringify({ type: 'PING' }))).toEqual({ type: 'PONG' });
  }, 60_000);

  it('property: any text frame that is not JSON gets ERROR', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', maxLength: 200 }), async (text) => {
        let parses = true;
        try {
          JSON.parse(text);
        } catch {
          parses = false;
        }
        fc.pre(!parses);
        expect(await answer(text)).toMatchObject({ type: 'ERROR', code: 'VALIDATION_FAILED' });
      }),
      { numRuns: RUNS },
    );
  }, 60_000);
});
