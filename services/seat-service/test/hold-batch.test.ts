import { randomUUID } from 'node:crypto';
import { InternalPaths, MAX_HOLD_BATCH, type HoldBatchAnswer, type HoldBatchItem } from '@zephyr/contracts';
import { mintToken } from '@zephyr/runtime';
import { http, newUser, useStack } from '@zephyr/testing';

/**
 * POST /internal/seats/holds, the gateway's batch of single-seat holds, against real Redis and PostgreSQL:
 * every item must get exactly the answer the public route gives the same request, refusals included.
 */
const stack = useStack('holdbatch', { services: ['event-service', 'seat-service'], timeoutMs: 90_000 });
const seatService = () => stack.urlOf('seat-service');

interface Case {
  name: string;
  seat: string;
  /** The event's path segment; `EVENT` stands for the case's event id. */
  event?: string;
  authorization?: string | 'none';
  contentType?: string;
  body?: string;
}

const batch = (items: HoldBatchItem[]) =>
  http<{ items: HoldBatchAnswer[] }>(seatService(), 'POST', InternalPaths.holdBatch, { body: { items } });

/** The same answer whichever event it was for: ids and times masked, everything else kept. */
function masked(value: unknown, eventId: string): string {
  return JSON.stringify(value)
    .replaceAll(eventId, 'EVENT')
    .replaceAll(eventId.toUpperCase(), 'EVENT')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, 'TIME');
}

it('answers each item as the public hold route answers the same request', async () => {
  const user = await newUser();
  const stranger = await newUser();
  const foreignToken = await mintToken({ secret: 'another-secret-that-is-at-least-32-characters', userId: user.id });
  const bearer = `Bearer ${user.token}`;
  const json = 'application/json';
  const cases: Case[] = [
    { name: 'no body', seat: '1' },
    { name: 'a duration', seat: '2', contentType: json, body: '{"holdDuration":120}' },
    { name: 'an empty JSON body', seat: '3', contentType: json, body: '' },
    { name: 'a +json type', seat: '4', contentType: 'application/merge-patch+json', body: '{}' },
    { name: 'already mine', seat: '5' },
    { name: 'taken', seat: '6' },
    { name: 'my own userId', seat: '7', contentType: json, body: JSON.stringify({ userId: user.id }) },
    { name: 'upper-case event id', seat: '8', event: 'UPPER' },
    { name: 'percent-encoded seat', seat: '%31%32' },
    { name: 'no token', seat: '9', authorization: 'none' },
    { name: 'not a bearer', seat: '9', authorization: 'Basic abc' },
    { name: 'not a JWT', seat: '9', authorization: 'Bearer nope' },
    { name: 'a token of another issuer', seat: '9', authorization: `Bearer ${foreignToken}` },
    { name: 'malformed JSON', seat: '9', contentType: json, body: '{"holdDuration":' },
    { name: 'text body', seat: '9', contentType: 'text/plain', body: 'hold it' },
    { name: 'a body without a type', seat: '9', body: '{}' },
    { name: 'null body', seat: '9', contentType: json, body: 'null' },
    { name: 'array body', seat: '9', contentType: json, body: '[]' },
    { name: 'a __proto__ key', seat: '9', contentType: json, body: '{"__proto__":{"x":1}}' },
    { name: 'negative duration', seat: '9', contentType: json, body: '{"holdDuration":-5}' },
    { name: 'duration as text', seat: '9', contentType: json, body: '{"holdDuration":"60"}' },
    { name: 'unknown field', seat: '9', contentType: json, body: '{"seats":[1]}' },
    { name: "another's userId", seat: '9', contentType: json, body: JSON.stringify({ userId: stranger.id }) },
    { name: 'seat 0', seat: '0' },
    { name: 'seat with a leading zero', seat: '01' },
    { name: 'seat not a number', seat: 'abc' },
    { name: 'seat past the last', seat: '999' },
    { name: 'huge seat number', seat: '99999999999999999999' },
    { name: 'event that does not exist', seat: '9', event: randomUUID() },
    { name: 'event id not a UUID', seat: '9', event: 'not-a-uuid' },
    { name: 'malformed percent-encoding', seat: '%E0%A4%A' },
  ];

  // Two events alike: one answers through the route, the other through the batch.
  const [viaRoute, viaBatch] = await Promise.all([
    stack.createEvent({ totalSeats: 20, maxSeatsPerUser: 20 }),
    stack.createEvent({ totalSeats: 20, maxSeatsPerUser: 20 }),
  ]);
  for (const eventId of [viaRoute, viaBatch]) {
    expect((await http(seatService(), 'POST', `/api/seats/${eventId}/5/hold`, { token: user.token })).status).toBe(201);
    expect((await http(seatService(), 'POST', `/api/seats/${eventId}/6/hold`, { token: stranger.token })).status).toBe(
      201,
    );
  }
  const eventSegment = (c: Case, eventId: string) =>
    c.event === undefined ? eventId : c.event === 'UPPER' ? eventId.toUpperCase() : c.event;
  const authorizationOf = (c: Case) => (c.authorization === 'none' ? undefined : (c.authorization ?? bearer));

  const viaRouteAnswers: HoldBatchAnswer[] = [];
  for (const c of cases) {
    const headers: Record<string, string> = {};
    const authorization = authorizationOf(c);
    if (authorization) headers.authorization = authorization;
    if (c.contentType) headers['content-type'] = c.contentType;
    const res = await http(seatService(), 'POST', `/api/seats/${eventSegment(c, viaRoute)}/${c.seat}/hold`, {
      headers,
      rawBody: c.body,
    });
    viaRouteAnswers.push({ status: res.status, body: res.body });
  }
  const viaBatchAnswers = await batch(
    cases.map((c, i) => ({
      requestId: `parity-${i}`,
      ...(authorizationOf(c) ? { authorization: authorizationOf(c) } : {}),
      ...(c.contentType ? { contentType: c.contentType } : {}),
      eventId: eventSegment(c, viaBatch),
      seatNumber: c.seat,
      body: c.body ?? '',
    })),
  );
  expect(viaBatchAnswers.status).toBe(200);

  const table = (answers: HoldBatchAnswer[], eventId: string) =>
    cases.map((c, i) => `${c.name}: ${answers[i]!.status} ${masked(answers[i]!.body, eventId)}`);
  expect(table(viaBatchAnswers.body.items, viaBatch)).toEqual(table(viaRouteAnswers, viaRoute));
  // The table covers wins and refusals alike.
  const statuses = new Set(viaRouteAnswers.map((a) => a.status));
  for (const status of [200, 201, 400, 401, 403, 404, 409, 415]) expect(statuses).toContain(status);
});

it('refuses a malformed batch with 400 and holds nothing of it', async () => {
  const user = await newUser();
  const eventId = await stack.createEvent({ totalSeats: 200, maxSeatsPerUser: 200 });
  const item = (seat: number): HoldBatchItem => ({
    requestId: `r${seat}`,
    authorization: `Bearer ${user.token}`,
    eventId,
    seatNumber: String(seat),
    body: '',
  });
  const tooMany = Array.from({ length: MAX_HOLD_BATCH + 1 }, (_, i) => item(i + 1));
  const malformed: unknown[] = [
    { items: [] },
    { items: tooMany },
    { items: [{ ...item(1), requestId: 'has spaces' }] },
    { items: [{ ...item(1), extra: true }] },
    { items: [{ ...item(1), seatNumber: 1 }] },
    { items: [item(1)], more: 1 },
  ];
  for (const body of malformed) {
    const res = await http(seatService(), 'POST', InternalPaths.holdBatch, { body });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
  }
  const map = await http<{ seats: { status: string }[] }>(seatService(), 'GET', `/api/events/${eventId}/seats`);
  expect(map.body.seats.filter((s) => s.status !== 'available')).toEqual([]);
});

it('counts each item in the RED metrics as the public hold route', async () => {
  const user = await newUser();
  const eventId = await stack.createEvent({ totalSeats: 20, maxSeatsPerUser: 20 });
  const series = 'http_requests_total{method="POST",route="/api/seats/:eventId/:seatNumber/hold",status="201"';
  const count = async () => {
    const text = (await http<string>(seatService(), 'GET', '/metrics')).body;
    const line = text.split('\n').find((l) => l.startsWith(series));
    return line ? Number(line.split(' ').pop()) : 0;
  };
  const before = await count();
  const res = await batch(
    [1, 2, 3].map((seat) => ({
      requestId: `m${seat}`,
      authorization: `Bearer ${user.token}`,
      eventId,
      seatNumber: String(seat),
      body: '',
    })),
  );
  expect(res.body.items.map((a) => a.status)).toEqual([201, 201, 201]);
  expect((await count()) - before).toBe(3);
});
