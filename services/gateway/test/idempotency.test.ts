import { randomBytes, randomUUID } from 'node:crypto';
import { deleteRedisKeys, newUserId, startTcpProxy, userToken, waitFor, type TcpProxy } from '@zephyr/testing';
import { rawStatus, startInProcessGateway, type InProcessGateway } from './support/gateway-app';
import { startFakeUpstream, type Behaviour, type FakeUpstream } from './support/fake-upstream';

/**
 * SPEC.md §7 Idempotency-Key, in process: createApp on real Redis in front of a fake upstream whose answers
 * and timing the test controls (a slow first request, 5xx/429 answers, a streamed or broken-off answer).
 */
const UPSTREAM_TIMEOUT_MS = 1500;
const PREFIX = `zt:gwidem_${randomBytes(4).toString('hex')}:`;

let upstream: FakeUpstream;
let gateway: InProcessGateway;
let token: string;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  gateway = await startInProcessGateway({
    upstreamUrl: upstream.url,
    redisPrefix: PREFIX,
    upstreamTimeoutMs: UPSTREAM_TIMEOUT_MS,
  });
  token = await userToken(newUserId());
});

afterAll(async () => {
  upstream?.open();
  await gateway?.close();
  await upstream?.close();
  await deleteRedisKeys(PREFIX);
});

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json(): unknown;
}

/** A fresh path (its own behaviour in the fake upstream) for one test. */
function seatPath(behaviour: Behaviour = 'ok'): { eventId: string; path: string } {
  const eventId = randomUUID();
  upstream.behave(eventId, behaviour);
  return { eventId, path: `/api/seats/${eventId}/1/hold` };
}

async function post(
  path: string,
  options: { key?: string; body?: string; bearer?: string | null; contentType?: string; base?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  const bearer = options.bearer === undefined ? token : options.bearer;
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  if (options.key !== undefined) headers['idempotency-key'] = options.key;
  if (options.body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
  const res = await fetch(`${options.base ?? gateway.url}${path}`, { method: 'POST', headers, body: options.body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) };
}

function expectCode(answer: Answer, status: number, code: string): void {
  expect({ status: answer.status, code: (answer.json() as { error: { code: string } }).error.code }).toEqual({
    status,
    code,
  });
  expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
}

async function outcomes(): Promise<Record<string, number>> {
  const metric = await gateway.metrics.registry.getSingleMetric('zephyr_idempotency_total')!.get();
  return Object.fromEntries(metric.values.map((v) => [String(v.labels.outcome), v.value]));
}

describe('replay', () => {
  it('answers a repeat with the kept status, headers and bytes, marked replayed, without reaching the service', async () => {
    const { eventId, path } = seatPath('ok');
    const before = await outcomes();
    const body = '{"holdDuration": 60}';
    const first = await post(path, { key: 'k-1', body });
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const again = await post(path, { key: 'k-1', body });
    expect(again.status).toBe(201);
    expect(again.text).toBe(first.text);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('content-type')).toBe(first.headers.get('content-type'));
    expect(again.headers.get('location')).toBe(first.headers.get('location'));
    expect(upstream.seen(eventId)).toHaveLength(1);
    const after = await outcomes();
    expect((after.stored ?? 0) - (before.stored ?? 0)).toBe(1);
    expect((after.replayed ?? 0) - (before.replayed ?? 0)).toBe(1);
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(text).toMatch(/zephyr_idempotency_total\{outcome="replayed"/);
  });

  it('replays a request sent with no body, and another key or path runs again', async () => {
    const { eventId, path } = seatPath('ok');
    expect((await post(path, { key: 'no-body' })).status).toBe(201);
    const again = await post(path, { key: 'no-body' });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect((await post(path, { key: 'other-key' })).headers.get('idempotent-replayed')).toBeNull();
    expect(
      (await post(`/api/seats/${eventId}/2/hold`, { key: 'no-body' })).headers.get('idempotent-replayed'),
    ).toBeNull();
    expect(upstream.seen(eventId)).toHaveLength(3);
  });

  it('keeps 4xx answers and replays them', async () => {
    const { eventId, path } = seatPath('conflict');
    const first = await post(path, { key: 'conflict' });
    expectCode(first, 409, 'SEAT_UNAVAILABLE');
    upstream.behave(eventId, 'ok');
    const again = await post(path, { key: 'conflict' });
    expectCode(again, 409, 'SEAT_UNAVAILABLE');
    expect(again.text).toBe(first.text);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(upstream.seen(eventId)).toHaveLength(1);
  });

  it.each<[Behaviour, number, string]>([
    ['unavailable', 503, 'DEPENDENCY_UNAVAILABLE'],
    ['limited', 429, 'RATE_LIMITED'],
    ['hang', 503, 'DEPENDENCY_UNAVAILABLE'],
  ])('does not keep a %s answer (%i): the retry runs again', async (behaviour, status, code) => {
    const { eventId, path } = seatPath(behaviour);
    expectCode(await post(path, { key: 'retry-me', body: '{}' }), status, code);
    upstream.behave(eventId, 'ok');
    const retry = await post(path, { key: 'retry-me', body: '{}' });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect(upstream.seen(eventId)).toHaveLength(2);
    expect((await post(path, { key: 'retry-me', body: '{}' })).headers.get('idempotent-replayed')).toBe('true');
  });

  it('does not keep an answer that broke off midway', async () => {
    const { eventId, path } = seatPath('cut');
    await expect(post(path, { key: 'cut' })).rejects.toThrow();
    upstream.behave(eventId, 'ok');
    await waitFor(async () => (await post(path, { key: 'cut' })).status === 201, { what: 'the retry to run' });
    expect(upstream.seen(eventId)).toHaveLength(2);
  });

  it('streams the first answer to the client as it comes and keeps it whole', async () => {
    const { path } = seatPath('stream');
    const res = await fetch(`${gateway.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'idempotency-key': 'stream' },
    });
    expect(res.status).toBe(201);
    const reader = res.body!.getReader();
    const firstChunk = await reader.read();
    // The upstream has not finished yet: the client already has the first half.
    expect(Buffer.from(firstChunk.value!).toString()).toBe('first 1;');
    upstream.open();
    let rest = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
      rest += Buffer.from(chunk.value).toString();
    expect(rest).toBe('second 1');
    const again = await post(path, { key: 'stream' });
    expect(again.text).toBe('first 1;second 1');
    expect(again.headers.get('content-type')).toBe('text/plain');
    expect(again.headers.get('idempotent-replayed')).toBe('true');
  });
});

describe('refusals', () => {
  it('refuses another body for the same key with 422, byte for byte, and never reaches the service', async () => {
    const { eventId, path } = seatPath('ok');
    const before = await outcomes();
    expect((await post(path, { key: 'reuse', body: '{"holdDuration":60}' })).status).toBe(201);
    expectCode(await post(path, { key: 'reuse', body: '{"holdDuration": 60}' }), 422, 'IDEMPOTENCY_KEY_REUSED');
    expectCode(await post(path, { key: 'reuse' }), 422, 'IDEMPOTENCY_KEY_REUSED');
    expect(upstream.seen(eventId)).toHaveLength(1);
    expect((await outcomes()).reused! - (before.reused ?? 0)).toBe(2);
  });

  it('answers 409 IDEMPOTENCY_IN_FLIGHT while the first is running, whatever the body, then replays', async () => {
    const { eventId, path } = seatPath('gate');
    const first = post(path, { key: 'slow', body: '{}' });
    await waitFor(() => upstream.seen(eventId).length === 1, { what: 'the first request upstream' });
    expectCode(await post(path, { key: 'slow', body: '{}' }), 409, 'IDEMPOTENCY_IN_FLIGHT');
    expectCode(await post(path, { key: 'slow', body: '{"other":1}' }), 409, 'IDEMPOTENCY_IN_FLIGHT');
    upstream.open();
    const answer = await first;
    expect(answer.status).toBe(201);
    const again = await post(path, { key: 'slow', body: '{}' });
    expect(again.text).toBe(answer.text);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(upstream.seen(eventId)).toHaveLength(1);
  });

  it('lets concurrent first requests through exactly once', async () => {
    const { eventId, path } = seatPath('gate');
    const racing = Array.from({ length: 8 }, () => post(path, { key: 'race', body: '{}' }));
    await waitFor(() => upstream.seen(eventId).length === 1, { what: 'one request upstream' });
    upstream.open();
    const answers = await Promise.all(racing);
    // One ran; the others were refused while it ran, or (arriving after it) got its answer replayed.
    const ran = answers.filter((a) => a.status === 201 && a.headers.get('idempotent-replayed') === null);
    expect(ran).toHaveLength(1);
    for (const other of answers.filter((a) => a !== ran[0])) {
      if (other.status === 201) expect(other.text).toBe(ran[0]!.text);
      else expectCode(other, 409, 'IDEMPOTENCY_IN_FLIGHT');
    }
    expect(answers.some((a) => a.status === 409)).toBe(true);
    expect(upstream.seen(eventId)).toHaveLength(1);
  });
});

describe('scope', () => {
  it('scopes keys by caller: two users with one key are independent', async () => {
    const { eventId, path } = seatPath('ok');
    const other = await userToken(newUserId());
    const mine = await post(path, { key: 'shared', body: '{}' });
    const theirs = await post(path, { key: 'shared', body: '{}', bearer: other });
    expect([mine.status, theirs.status]).toEqual([201, 201]);
    expect(theirs.headers.get('idempotent-replayed')).toBeNull();
    expect(theirs.text).not.toBe(mine.text);
    expect((await post(path, { key: 'shared', body: '{"x":1}', bearer: other })).status).toBe(422);
    expect((await post(path, { key: 'shared', body: '{}' })).text).toBe(mine.text);
    expect(upstream.seen(eventId)).toHaveLength(2);
  });

  it('ignores the header on other methods and never calls Redis without it', async () => {
    const { eventId } = seatPath('ok');
    gateway.storeCalls.length = 0;
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${gateway.url}/api/seats/${eventId}/1/hold`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${token}`, 'idempotency-key': '' },
      });
      expect(res.status).toBe(201);
    }
    expect((await post(`/api/seats/${eventId}/1/hold`, { body: '{}' })).status).toBe(201);
    expect(gateway.storeCalls).toEqual([]);
    expect(upstream.seen(eventId)).toHaveLength(3);
  });
});

describe('bad keys', () => {
  const invalid: [string, string][] = [
    ['empty', ''],
    ['256 characters', 'k'.repeat(256)],
    ['a tab', 'a\tb'],
    ['non-ASCII', 'caf\u00e9'],
  ];

  it.each(invalid)('refuses a key that is %s with 400 VALIDATION_FAILED, reaching nothing', async (_what, key) => {
    const { eventId, path } = seatPath('ok');
    expectCode(await post(path, { key, body: '{}' }), 400, 'VALIDATION_FAILED');
    expect(upstream.seen(eventId)).toHaveLength(0);
  });

  it.each(['\x01', '\x7f'])('refuses control character %j in a key with 400', async (control) => {
    const { eventId, path } = seatPath('ok');
    const status = await rawStatus(
      gateway.url,
      `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nIdempotency-Key: a${control}b\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
    );
    expect(status).toBe(400);
    expect(upstream.seen(eventId)).toHaveLength(0);
  });

  it('accepts 1 and 255 printable characters, spaces and symbols included', async () => {
    const { path } = seatPath('ok');
    for (const key of ['k', 'k'.repeat(255), 'a b~!@#$%^&*()[]{}"\\'])
      expect((await post(path, { key })).status).toBe(201);
  });

  it("puts 401, 403 (role), 413 and 415 before a bad key's 400", async () => {
    const { path } = seatPath('ok');
    expectCode(await post(path, { key: '', bearer: null }), 401, 'UNAUTHENTICATED');
    expectCode(await post('/api/events', { key: '', body: '{}' }), 403, 'FORBIDDEN');
    expectCode(await post(path, { key: '', body: 'x'.repeat(17 * 1024) }), 413, 'PAYLOAD_TOO_LARGE');
    expectCode(await post(path, { key: '', body: 'hi', contentType: 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectCode(await post(path, { key: '', body: '{}' }), 400, 'VALIDATION_FAILED');
  });
});

describe('Redis outage', () => {
  let cut: TcpProxy;
  let outageGateway: InProcessGateway;

  beforeAll(async () => {
    cut = await startTcpProxy(Number(new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379').port || 6379));
    outageGateway = await startInProcessGateway({
      upstreamUrl: upstream.url,
      redisUrl: `redis://127.0.0.1:${cut.port}`,
      redisPrefix: PREFIX,
      upstreamTimeoutMs: UPSTREAM_TIMEOUT_MS,
    });
  });

  afterAll(async () => {
    await outageGateway?.close();
    await cut?.close();
  });

  it('answers 503 DEPENDENCY_UNAVAILABLE with a key, changing nothing, and recovers by itself', async () => {
    const { eventId, path } = seatPath('ok');
    await cut.down();
    expectCode(await post(path, { key: 'outage', body: '{}', base: outageGateway.url }), 503, 'DEPENDENCY_UNAVAILABLE');
    expect(upstream.seen(eventId)).toHaveLength(0);
    // Requests without a key do not depend on it.
    expect((await post(path, { body: '{}', base: outageGateway.url })).status).toBe(201);
    await cut.up();
    const first = await waitFor(
      async () => {
        const res = await post(path, { key: 'outage', body: '{}', base: outageGateway.url });
        return res.status === 201 ? res : undefined;
      },
      { what: 'Redis to be back', intervalMs: 200 },
    );
    const again = await post(path, { key: 'outage', body: '{}', base: outageGateway.url });
    expect(again.text).toBe(first.text);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(upstream.seen(eventId)).toHaveLength(2);
  });
});
