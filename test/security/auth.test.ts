import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import httpServer from 'node:http';
import type { AddressInfo } from 'node:net';
import { mintToken } from '@zephyr/runtime';
import {
  TEST_JWT_SECRET,
  connectWs,
  freePort,
  http,
  newUserId,
  type ServiceProcess,
  type WsClient,
} from '@zephyr/testing';
import {
  b64url,
  expectError,
  hs256,
  nowSeconds,
  portOf,
  rawHttp,
  rawRequest,
  signWith,
  startServiceSafely,
  unsigned,
  upgradeStatus,
  useSecurityStack,
  withPayload,
} from './support';

/**
 * Authentication attacks (OWASP API2) through the gateway: REST on a user route and on a public route (a
 * token, when sent, is verified), the WebSocket `?token=` upgrade and the `AUTH` message. Every forged,
 * expired or malformed credential is a 401 with the error envelope; the good ones are the controls.
 */
const ISSUER = 'https://issuer.zephyr.test/';
const AUDIENCE = 'zephyr-api';
const WRONG_SECRET = 'a-different-secret-that-is-also-long-enough!';

let gw: string;
let eventId: string;
const userId = newUserId();
let good: string;

const claims = (extra: Record<string, unknown> = {}) => ({
  sub: userId,
  iss: ISSUER,
  aud: AUDIENCE,
  iat: nowSeconds(),
  exp: nowSeconds() + 600,
  ...extra,
});
const without = (key: string) => {
  const c: Record<string, unknown> = claims();
  delete c[key];
  return c;
};

const stack = useSecurityStack('secauth', {
  env: { JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE },
  adminToken: () =>
    mintToken({ secret: TEST_JWT_SECRET, userId: newUserId(), admin: true, issuer: ISSUER, audience: AUDIENCE }),
});

beforeAll(async () => {
  gw = stack.gatewayUrl;
  good = await mintToken({ secret: TEST_JWT_SECRET, userId, issuer: ISSUER, audience: AUDIENCE });
  eventId = await stack.createEvent({ name: 'Auth show', totalSeats: 10 });
});

/** The four doors a credential can come through; each answers 401 / ERROR UNAUTHENTICATED for a bad one. */
async function expectRefusedEverywhere(token: string, ws: WsClient, label: string): Promise<void> {
  const userRoute = await http(gw, 'GET', `/api/seats/${eventId}/user/${userId}/holds`, { token });
  const publicRoute = await http(gw, 'GET', '/api/events', { token });
  const upgrade = await upgradeStatus(portOf(gw), `/ws?token=${encodeURIComponent(token)}`);
  ws.send({ type: 'AUTH', token });
  const answer = await ws.next((m) => m.type === 'ERROR' || m.type === 'AUTHENTICATED');
  ws.messages.length = 0;
  try {
    expectError(userRoute, 401, 'UNAUTHENTICATED');
    expectError(publicRoute, 401, 'UNAUTHENTICATED');
    expectError(upgrade, 401, 'UNAUTHENTICATED');
    expect(answer).toMatchObject({ type: 'ERROR', code: 'UNAUTHENTICATED' });
  } catch (err) {
    throw new Error(`${label}: ${(err as Error).message}`);
  }
}

describe('HS256 mode with JWT_ISSUER and JWT_AUDIENCE', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const goodSignature = () => good.split('.')[2]!;

  const attacks: [string, () => string][] = [
    ['alg none', () => unsigned(claims())],
    ['alg None (case variant)', () => unsigned(claims(), { alg: 'None', typ: 'JWT' })],
    ['alg none carrying a valid signature', () => `${unsigned(claims())}${goodSignature()}`],
    ['HS256 signed with a wrong secret', () => hs256(claims(), WRONG_SECRET)],
    ['HS256 signed with an empty secret', () => hs256(claims(), '')],
    ['HS256 signed with an RSA public key (PEM) as secret', () => hs256(claims(), publicPem)],
    [
      'RS256 token (algorithm not allowed)',
      () => signWith('RS256', rsa.privateKey, claims(), { alg: 'RS256', typ: 'JWT' }),
    ],
    [
      'HS512 with the right secret (algorithm pinned)',
      () => hs256(claims(), TEST_JWT_SECRET, { alg: 'HS512', typ: 'JWT' }, 'sha512'),
    ],
    ['tampered payload: another sub', () => withPayload(good, claims({ sub: newUserId() }))],
    ['tampered payload: roles admin added', () => withPayload(good, claims({ roles: ['admin'] }))],
    [
      'tampered header: kid added',
      () => `${b64url({ alg: 'HS256', typ: 'JWT', kid: 'x' })}.${good.split('.').slice(1).join('.')}`,
    ],
    ['signature stripped', () => good.replace(/[^.]+$/, '')],
    ['signature bit-flipped', () => good.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))],
    ['expired exp', () => hs256(claims({ exp: nowSeconds() - 120, iat: nowSeconds() - 720 }), TEST_JWT_SECRET)],
    ['missing exp', () => hs256(without('exp'), TEST_JWT_SECRET)],
    ['exp as a string', () => hs256(claims({ exp: String(nowSeconds() + 600) }), TEST_JWT_SECRET)],
    ['nbf in the future', () => hs256(claims({ nbf: nowSeconds() + 600 }), TEST_JWT_SECRET)],
    ['missing sub', () => hs256(without('sub'), TEST_JWT_SECRET)],
    ['sub not a UUID', () => hs256(claims({ sub: 'admin' }), TEST_JWT_SECRET)],
    ['sub empty', () => hs256(claims({ sub: '' }), TEST_JWT_SECRET)],
    ['sub a number', () => hs256(claims({ sub: 123 }), TEST_JWT_SECRET)],
    ['sub a UUID in braces', () => hs256(claims({ sub: `{${userId}}` }), TEST_JWT_SECRET)],
    ['sub a UUID with a trailing newline', () => hs256(claims({ sub: `${userId}\n` }), TEST_JWT_SECRET)],
    ['roles a string', () => hs256(claims({ roles: 'admin' }), TEST_JWT_SECRET)],
    ['roles an object', () => hs256(claims({ roles: { 0: 'admin' } }), TEST_JWT_SECRET)],
    ['roles with a number', () => hs256(claims({ roles: [1] }), TEST_JWT_SECRET)],
    ['roles nested', () => hs256(claims({ roles: [['admin']] }), TEST_JWT_SECRET)],
    ['roles null', () => hs256(claims({ roles: null }), TEST_JWT_SECRET)],
    ['wrong aud', () => hs256(claims({ aud: 'someone-else' }), TEST_JWT_SECRET)],
    ['aud list without ours', () => hs256(claims({ aud: ['someone-else', 'other'] }), TEST_JWT_SECRET)],
    ['missing aud', () => hs256(without('aud'), TEST_JWT_SECRET)],
    ['wrong iss', () => hs256(claims({ iss: 'https://evil.example/' }), TEST_JWT_SECRET)],
    ['missing iss', () => hs256(without('iss'), TEST_JWT_SECRET)],
    ['unknown crit header', () => hs256(claims(), TEST_JWT_SECRET, { alg: 'HS256', crit: ['x-must'], 'x-must': 1 })],
    ['payload not JSON', () => hs256('not json', TEST_JWT_SECRET)],
    ['payload a JSON array', () => hs256('[1,2]', TEST_JWT_SECRET)],
    ['garbage', () => 'not.a.token'],
  ];

  it('accepts the controls: a good token at every door', async () => {
    expect((await http(gw, 'GET', `/api/seats/${eventId}/user/${userId}/holds`, { token: good })).status).toBe(200);
    expect((await http(gw, 'GET', '/api/events', { token: good })).status).toBe(200);
    expect((await upgradeStatus(portOf(gw), `/ws?token=${good}`)).status).toBe(101);
    const withAudList = hs256(claims({ aud: ['other', AUDIENCE], roles: [] }), TEST_JWT_SECRET);
    expect((await http(gw, 'GET', `/api/seats/${eventId}/user/${userId}/holds`, { token: withAudList })).status).toBe(
      200,
    );
    const ws = await connectWs(`${gw.replace('http', 'ws')}/ws`);
    ws.send({ type: 'AUTH', token: good });
    expect(await ws.next((m) => m.type === 'AUTHENTICATED' || m.type === 'ERROR')).toEqual({
      type: 'AUTHENTICATED',
      userId,
    });
    ws.close();
  });

  it(`refuses ${attacks.length} forged, expired and malformed tokens on REST, the upgrade and AUTH`, async () => {
    const ws = await connectWs(`${gw.replace('http', 'ws')}/ws`);
    try {
      for (const [label, make] of attacks) await expectRefusedEverywhere(make(), ws, label);
      // The socket survived every bad AUTH and still works.
      ws.send({ type: 'PING' });
      await ws.next((m) => m.type === 'PONG');
    } finally {
      ws.close();
    }
  }, 60_000);

  it('refuses malformed Authorization headers, on user and public routes alike', async () => {
    const headers = [
      'Bearer',
      'Bearer ',
      `Bearer  ${good}`,
      `Basic ${Buffer.from('user:pass').toString('base64')}`,
      good,
      `Token ${good}`,
      `Bearer ${good} extra`,
      `Bearer ${good},Bearer ${good}`,
      'Bearer a.b',
      'Bearer a.b.c.d.e',
      `Bearer ${'A'.repeat(8000)}.a.a`,
      'Bearer %00.%00.%00',
    ];
    for (const authorization of headers) {
      for (const path of [`/api/seats/${eventId}/user/${userId}/holds`, '/api/events']) {
        const res = await http(gw, 'GET', path, { headers: { authorization } });
        try {
          expectError(res, 401, 'UNAUTHENTICATED');
        } catch (err) {
          throw new Error(`${authorization.slice(0, 40)} on ${path}: ${(err as Error).message}`);
        }
      }
    }
    // Two Authorization headers (raw, a client would merge them): the first, a forged one, is what counts.
    const forged = hs256(claims(), WRONG_SECRET);
    const twice = await rawHttp(
      portOf(gw),
      rawRequest('GET', `/api/seats/${eventId}/user/${userId}/holds`, {}).replace(
        '\r\n\r\n',
        `\r\nAuthorization: Bearer ${forged}\r\nAuthorization: Bearer ${good}\r\n\r\n`,
      ),
    );
    expectError(twice, 401, 'UNAUTHENTICATED');
  });

  it('refuses an empty ?token= on the upgrade', async () => {
    expectError(await upgradeStatus(portOf(gw), '/ws?token='), 401, 'UNAUTHENTICATED');
  });
});

describe('JWKS mode (RS256/ES256 from JWT_JWKS_URL)', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const foreign = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = (key: KeyObject, kid: string, alg: string) => ({
    ...key.export({ format: 'jwk' }),
    kid,
    alg,
    use: 'sig',
  });
  const keySet = { keys: [jwk(rsa.publicKey, 'rsa-1', 'RS256'), jwk(ec.publicKey, 'ec-1', 'ES256')] };
  let jwksServer: httpServer.Server;
  let attackerHits = 0;
  let attackerServer: httpServer.Server;
  let jwksUrl: string;
  let jgw: string;
  let jEventId: string;
  const sub = newUserId();
  const jclaims = (extra: Record<string, unknown> = {}) => ({
    sub,
    iat: nowSeconds(),
    exp: nowSeconds() + 600,
    ...extra,
  });
  const rs = (payload: object, header: object = { alg: 'RS256', kid: 'rsa-1' }) =>
    signWith('RS256', rsa.privateKey, payload, header);
  const es = (payload: object, header: object = { alg: 'ES256', kid: 'ec-1' }) =>
    signWith('ES256', ec.privateKey, payload, header);

  const listen = async (server: httpServer.Server) => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  beforeAll(async () => {
    jwksServer = httpServer.createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(keySet)),
    );
    attackerServer = httpServer.createServer((_req, res) => {
      attackerHits++;
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ keys: [jwk(foreign.publicKey, 'rsa-1', 'RS256')] }));
    });
    jwksUrl = `${await listen(jwksServer)}/.well-known/jwks.json`;
    await listen(attackerServer);
  });

  // JWT_SECRET stays set from the isolation env: the JWKS must win, so HS256 tokens made with it fail.
  const jwksStack = useSecurityStack('secjwks', { env: () => ({ JWT_JWKS_URL: jwksUrl }) });

  beforeAll(() => {
    jgw = jwksStack.gatewayUrl;
  });

  afterAll(() => {
    jwksServer?.close();
    attackerServer?.close();
  });

  it('accepts RS256 and ES256 tokens from the key set, over REST and WebSocket', async () => {
    const admin = rs(jclaims({ sub: newUserId(), roles: ['admin'] }));
    const created = await http<{ id: string }>(jgw, 'POST', '/api/events', {
      token: admin,
      body: { name: 'JWKS show', totalSeats: 10 },
    });
    expect(created.status).toBe(201);
    jEventId = created.body.id;
    expect((await http(jgw, 'POST', `/api/seats/${jEventId}/1/hold`, { token: es(jclaims()) })).status).toBe(201);
    const holds = await http<{ items: unknown[] }>(jgw, 'GET', `/api/seats/${jEventId}/user/${sub}/holds`, {
      token: rs(jclaims()),
    });
    expect(holds.status).toBe(200);
    expect(holds.body.items).toHaveLength(1);
    expect((await upgradeStatus(portOf(jgw), `/ws?token=${es(jclaims())}`)).status).toBe(101);
    const ws = await connectWs(`${jgw.replace('http', 'ws')}/ws`);
    ws.send({ type: 'AUTH', token: rs(jclaims()) });
    expect(await ws.next((m) => m.type === 'AUTHENTICATED' || m.type === 'ERROR')).toEqual({
      type: 'AUTHENTICATED',
      userId: sub,
    });
    ws.close();
  });

  it('refuses HS256 (with the old secret or the public key as secret), foreign keys and header tricks', async () => {
    const attackerJwks = `http://127.0.0.1:${(attackerServer.address() as AddressInfo).port}/jwks.json`;
    const rsaPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const attacks: [string, string][] = [
      ['HS256 with JWT_SECRET', hs256(jclaims(), TEST_JWT_SECRET)],
      ['HS256 with the RSA public key PEM as secret', hs256(jclaims(), rsaPem, { alg: 'HS256', kid: 'rsa-1' })],
      [
        'HS256 with the RSA public JWK JSON as secret',
        hs256(jclaims(), JSON.stringify(keySet.keys[0]), { alg: 'HS256', kid: 'rsa-1' }),
      ],
      [
        'HS256 with the modulus as secret',
        hs256(jclaims(), Buffer.from(keySet.keys[0]!.n!, 'base64url'), { alg: 'HS256', kid: 'rsa-1' }),
      ],
      ['alg none with a kid', unsigned(jclaims(), { alg: 'none', kid: 'rsa-1' })],
      [
        'RS256 by a foreign key under our kid',
        signWith('RS256', foreign.privateKey, jclaims(), { alg: 'RS256', kid: 'rsa-1' }),
      ],
      [
        'RS256 with an embedded jwk header',
        signWith('RS256', foreign.privateKey, jclaims(), { alg: 'RS256', jwk: jwk(foreign.publicKey, 'x', 'RS256') }),
      ],
      [
        'RS256 with a jku header to another key set',
        signWith('RS256', foreign.privateKey, jclaims(), { alg: 'RS256', kid: 'rsa-1', jku: attackerJwks }),
      ],
      [
        'RS256 with an x5u header',
        signWith('RS256', foreign.privateKey, jclaims(), { alg: 'RS256', x5u: attackerJwks }),
      ],
      ['unknown kid', signWith('RS256', foreign.privateKey, jclaims(), { alg: 'RS256', kid: 'nope' })],
      [
        'kid path traversal',
        signWith('RS256', foreign.privateKey, jclaims(), { alg: 'RS256', kid: '../../../../dev/null' }),
      ],
      [
        'PS256 by the real key (algorithm not allowed)',
        signWith('PS256', rsa.privateKey, jclaims(), { alg: 'PS256', kid: 'rsa-1' }),
      ],
      ['EC key claimed as RS256', signWith('ES256', ec.privateKey, jclaims(), { alg: 'RS256', kid: 'ec-1' })],
      ['tampered RS256 payload', withPayload(rs(jclaims()), jclaims({ roles: ['admin'] }))],
      ['expired RS256', rs(jclaims({ exp: nowSeconds() - 60 }))],
      ['RS256 without exp', rs({ sub })],
      ['ES256 with sub not a UUID', es(jclaims({ sub: 'root' }))],
    ];
    const ws = await connectWs(`${jgw.replace('http', 'ws')}/ws`);
    try {
      for (const [label, token] of attacks) {
        const rest = await http(jgw, 'POST', `/api/seats/${jEventId}/2/hold`, { token });
        const publicRead = await http(jgw, 'GET', `/api/events/${jEventId}`, { token });
        const upgrade = await upgradeStatus(portOf(jgw), `/ws?token=${encodeURIComponent(token)}`);
        ws.send({ type: 'AUTH', token });
        const answer = await ws.next((m) => m.type === 'ERROR' || m.type === 'AUTHENTICATED');
        ws.messages.length = 0;
        try {
          expectError(rest, 401, 'UNAUTHENTICATED');
          expectError(publicRead, 401, 'UNAUTHENTICATED');
          expectError(upgrade, 401, 'UNAUTHENTICATED');
          expect(answer).toMatchObject({ type: 'ERROR', code: 'UNAUTHENTICATED' });
        } catch (err) {
          throw new Error(`${label}: ${(err as Error).message}`);
        }
      }
    } finally {
      ws.close();
    }
    expect(attackerHits).toBe(0);
    // Nothing was held by any of them.
    const seat = await http(jgw, 'GET', `/api/seats/${jEventId}/2/status`);
    expect(seat.body).toMatchObject({ status: 'available' });
  }, 60_000);

  it('answers 503, not 401 or 500, while the key set cannot be fetched', async () => {
    let lonely: ServiceProcess | undefined;
    try {
      lonely = await startServiceSafely(
        'gateway',
        jwksStack.serviceEnv({ JWT_JWKS_URL: `http://127.0.0.1:${freePort()}/jwks.json` }),
      );
      const token = rs(jclaims({ jti: randomUUID() }));
      expectError(await http(lonely.baseUrl, 'GET', '/api/events', { token }), 503, 'DEPENDENCY_UNAVAILABLE');
      expectError(await upgradeStatus(lonely.port, `/ws?token=${token}`), 503, 'DEPENDENCY_UNAVAILABLE');
      // Without a token, public reads do not need the key set at all.
      expect((await http(lonely.baseUrl, 'GET', '/api/events')).status).toBe(200);
    } finally {
      await lonely?.stop();
    }
  });
});
