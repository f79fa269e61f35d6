import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { RoutingKeys, type SeatMap, type SeatRoutingKey } from '@zephyr/contracts';
import type { Broker } from '@zephyr/runtime/messaging';
import { mintToken } from '@zephyr/runtime';
import {
  connectWs,
  newUserId,
  userToken,
  waitFor,
  type ServiceProcess,
  type WsClient,
  publishSeatChanges,
  seatEnvelope,
  type SeatFacts,
} from '@zephyr/testing';
import type { SeatServiceStub } from './support/seat-service-stub';
import { useNotifierReplicas } from './support/replicas';
import { closeCode, metric, upgradeStatus, wsUrl } from './support/helpers';

/** Small enough that the stalled-client test can pass it in a few seconds of updates. */
const SMALL_BUFFER_BYTES = 64 * 1024;
const FAST_HEARTBEAT_MS = 300;

let stub: SeatServiceStub;
let broker: Broker;
let replicaA: ServiceProcess;
let replicaB: ServiceProcess;
const clients: WsClient[] = [];
const rawSockets: WebSocket[] = [];

/** Publishes a seat.* fact on the test's exchange, as the seat-service would. */
const publishSeat = (type: SeatRoutingKey, facts: SeatFacts) => publishSeatChanges(broker, seatEnvelope(type, facts));

/** An event the stub knows, with one held seat whose holder must never leak onto the event channel. */
function knownEvent(version = 0): string {
  const eventId = randomUUID();
  const map: SeatMap = {
    eventId,
    version,
    seats: [
      {
        eventId,
        seatNumber: 1,
        status: 'held',
        userId: newUserId(),
        heldAt: new Date().toISOString(),
        expiresAt: new Date(Date.now() + 60_000).toISOString(),
      },
      { eventId, seatNumber: 2, status: 'available' },
    ],
  };
  stub.maps.set(eventId, map);
  return eventId;
}

async function connect(proc: ServiceProcess, token?: string, path = '/ws'): Promise<WsClient> {
  const client = await connectWs(wsUrl(proc, path, token));
  clients.push(client);
  return client;
}

async function subscribeEvent(client: WsClient, eventId: string): Promise<void> {
  client.send({ type: 'SUBSCRIBE_EVENT', eventId });
  await client.next((m) => m.type === 'SUBSCRIBED' && m.id === eventId);
}

/** A client subscribed to `eventId` on each of `replicas`. */
const subscribersOn = <R extends ServiceProcess[]>(eventId: string, ...replicas: R) =>
  Promise.all(
    replicas.map(async (replica) => {
      const client = await connect(replica);
      await subscribeEvent(client, eventId);
      return client;
    }),
  ) as Promise<{ [K in keyof R]: WsClient }>;

const updatesOf = (client: WsClient, eventId: string, channel: 'event' | 'user') =>
  client.messages.filter((m) => m.type === 'SEAT_UPDATE' && m.eventId === eventId && m.channel === channel);

/**
 * Publishes a change on another seat and waits for it: the replica queue is FIFO, so once it arrived every
 * message published before it has been handled too (this is how "not pushed" is asserted without sleeping).
 */
let markers = 0;
async function flushThrough(client: WsClient, eventId: string, userId = newUserId()): Promise<void> {
  // Versions only grow: two markers on one seat of one event must both pass the replica's version check
  // (random ones collided once in a while, and the lower was dropped as stale).
  markers++;
  const seatNumber = 900 + (markers % 99);
  const marker: SeatFacts = { eventId, seatNumber, userId, version: 1_000_000 + markers };
  await publishSeat(RoutingKeys.SeatHeld, marker);
  await client.next((m) => m.type === 'SEAT_UPDATE' && m.seatNumber === seatNumber && m.version === marker.version);
}

const notifiers = useNotifierReplicas('notifier', {
  a: { MAX_BUFFERED_BYTES: String(SMALL_BUFFER_BYTES) },
  b: { HEARTBEAT_INTERVAL_MS: String(FAST_HEARTBEAT_MS) },
});

beforeAll(() => {
  [replicaA, replicaB] = notifiers.replicas as [ServiceProcess, ServiceProcess];
  stub = notifiers.stub;
  broker = notifiers.fixture.broker;
  notifiers.fixture.onTeardown(() => {
    for (const client of clients) client.socket.terminate();
    for (const socket of rawSockets) socket.terminate();
  });
});

describe('client messages', () => {
  it('answers PING with PONG on / and /ws', async () => {
    for (const path of ['/', '/ws']) {
      const client = await connect(replicaA, undefined, path);
      client.send({ type: 'PING' });
      await client.next((m) => m.type === 'PONG');
    }
  });

  it('refuses upgrades on other paths with 404', async () => {
    expect(await upgradeStatus(`ws://127.0.0.1:${replicaA.port}/socket`)).toBe(404);
  });

  it('answers every bad message with VALIDATION_FAILED and keeps the connection open', async () => {
    const client = await connect(replicaA);
    const bad: (string | Buffer)[] = [
      '{not json',
      '[]',
      '"PING"',
      JSON.stringify({ type: 'DANCE' }),
      JSON.stringify({ eventId: randomUUID() }),
      JSON.stringify({ type: 'PING', extra: 1 }),
      JSON.stringify({ type: 'SUBSCRIBE_EVENT', eventId: 123 }),
      JSON.stringify({ type: 'SUBSCRIBE_EVENT', eventId: 'not-a-uuid' }),
      JSON.stringify({ type: 'SUBSCRIBE_EVENT', eventId: randomUUID(), snapshot: 'yes' }),
      JSON.stringify({ type: 'SUBSCRIBE_EVENT', eventId: randomUUID(), userId: newUserId() }),
      JSON.stringify({ type: 'SUBSCRIBE_USER' }),
      JSON.stringify({ type: 'AUTH', token: 42 }),
      Buffer.from(JSON.stringify({ type: 'PING' })),
    ];
    for (const message of bad) client.socket.send(message);
    client.send({ type: 'PING' });
    await client.next((m) => m.type === 'PONG');
    const errors = client.messages.filter((m) => m.type === 'ERROR');
    expect(errors).toHaveLength(bad.length);
    for (const error of errors) {
      expect(error).toEqual({ type: 'ERROR', code: 'VALIDATION_FAILED', message: expect.any(String) });
    }
    expect(client.socket.readyState).toBe(WebSocket.OPEN);
  });

  it('closes a connection that sends a frame over 4 KiB with 1009', async () => {
    const client = await connect(replicaA);
    const closed = closeCode(client.socket);
    client.send({ type: 'AUTH', token: 'x'.repeat(5000) });
    expect(await closed).toBe(1009);
    const next = await connect(replicaA);
    next.send({ type: 'PING' });
    await next.next((m) => m.type === 'PONG');
  });

  it('handles one socket’s messages strictly in order', async () => {
    const slowEvent = knownEvent();
    stub.delays.set(slowEvent, 300);
    const client = await connect(replicaA);
    client.send({ type: 'SUBSCRIBE_EVENT', eventId: slowEvent });
    client.send({ type: 'PING' });
    await client.next((m) => m.type === 'PONG');
    expect(client.messages.map((m) => m.type)).toEqual(['SUBSCRIBED', 'PONG']);
  });

  it('answers EVENT_NOT_FOUND for an unknown event, DEPENDENCY_UNAVAILABLE while the seat-service is down', async () => {
    const client = await connect(replicaA);
    client.send({ type: 'SUBSCRIBE_EVENT', eventId: randomUUID() });
    const notFound = await client.next((m) => m.type === 'ERROR');
    expect(notFound).toEqual({ type: 'ERROR', code: 'EVENT_NOT_FOUND', message: expect.any(String) });

    const eventId = knownEvent();
    stub.down = true;
    try {
      client.send({ type: 'SUBSCRIBE_EVENT', eventId });
      await client.next((m) => m.type === 'ERROR' && m.code === 'DEPENDENCY_UNAVAILABLE');
    } finally {
      stub.down = false;
    }
    client.send({ type: 'SUBSCRIBE_EVENT', eventId });
    await client.next((m) => m.type === 'SUBSCRIBED' && m.id === eventId);
    expect(client.socket.readyState).toBe(WebSocket.OPEN);
  });

  it('caps event subscriptions per socket at 100', async () => {
    const client = await connect(replicaA);
    const eventIds = Array.from({ length: 101 }, () => knownEvent());
    for (const eventId of eventIds) client.send({ type: 'SUBSCRIBE_EVENT', eventId });
    const over = await client.next((m) => m.type === 'ERROR');
    expect(over.code).toBe('VALIDATION_FAILED');
    expect(client.messages.filter((m) => m.type === 'SUBSCRIBED')).toHaveLength(100);
    client.send({ type: 'UNSUBSCRIBE_EVENT', eventId: eventIds[0] });
    await client.next((m) => m.type === 'UNSUBSCRIBED' && m.id === eventIds[0]);
    client.send({ type: 'SUBSCRIBE_EVENT', eventId: eventIds[100] });
    await client.next((m) => m.type === 'SUBSCRIBED' && m.id === eventIds[100]);
  });
});

describe('identity', () => {
  it('rejects an invalid ?token= with 401 and accepts a valid one', async () => {
    expect(await upgradeStatus(wsUrl(replicaA, '/ws', 'garbage'))).toBe(401);
    expect(await upgradeStatus(wsUrl(replicaA, '/', ''))).toBe(401);
    const forged = await mintToken({ secret: 'another-secret-that-is-at-least-32-chars!', userId: newUserId() });
    expect(await upgradeStatus(wsUrl(replicaA, '/ws', forged))).toBe(401);

    const userId = newUserId();
    const client = await connect(replicaA, await userToken(userId));
    client.send({ type: 'SUBSCRIBE_USER', userId });
    expect(await client.next((m) => m.type === 'SUBSCRIBED')).toEqual({
      type: 'SUBSCRIBED',
      channel: 'user',
      id: userId,
    });
  });

  it('requires authentication and the own id (unless admin) for user channels', async () => {
    const userId = newUserId();
    const client = await connect(replicaA);
    client.send({ type: 'SUBSCRIBE_USER', userId });
    expect(await client.next((m) => m.type === 'ERROR')).toMatchObject({ code: 'UNAUTHENTICATED' });

    client.send({ type: 'AUTH', token: 'not.a.token' });
    await client.next((m) => m.type === 'ERROR' && client.messages.filter((x) => x.type === 'ERROR').length === 2);
    expect(client.messages[1]).toMatchObject({ type: 'ERROR', code: 'UNAUTHENTICATED' });

    client.send({ type: 'AUTH', token: await userToken(userId) });
    expect(await client.next((m) => m.type === 'AUTHENTICATED')).toEqual({ type: 'AUTHENTICATED', userId });
    client.send({ type: 'SUBSCRIBE_USER', userId: newUserId() });
    expect(await client.next((m) => m.type === 'ERROR' && m.code !== 'UNAUTHENTICATED')).toMatchObject({
      code: 'FORBIDDEN',
    });
    client.send({ type: 'SUBSCRIBE_USER', userId });
    await client.next((m) => m.type === 'SUBSCRIBED' && m.channel === 'user');

    const admin = await connect(replicaA, await userToken(newUserId(), { admin: true }));
    const someone = newUserId();
    admin.send({ type: 'SUBSCRIBE_USER', userId: someone });
    await admin.next((m) => m.type === 'SUBSCRIBED' && m.id === someone);
  });

  it('allows at most 20 sockets per user; the next one gets an ERROR and close 1008', async () => {
    const token = await userToken(newUserId());
    for (let i = 0; i < 20; i++) await connect(replicaA, token);
    const extra = await connect(replicaA, token);
    const closed = closeCode(extra.socket);
    expect(await extra.next((m) => m.type === 'ERROR')).toMatchObject({ code: 'RATE_LIMITED' });
    expect(await closed).toBe(1008);
  });
});

describe('seat updates', () => {
  it('pushes a change once per channel within 1 s, without userId on the event channel', async () => {
    const eventId = knownEvent();
    const userId = newUserId();
    const watcher = await connect(replicaA);
    await subscribeEvent(watcher, eventId);
    const owner = await connect(replicaA, await userToken(userId));
    await subscribeEvent(owner, eventId);
    owner.send({ type: 'SUBSCRIBE_USER', userId });
    await owner.next((m) => m.type === 'SUBSCRIBED' && m.channel === 'user');

    const envelope = seatEnvelope(RoutingKeys.SeatHeld, { eventId, seatNumber: 7, userId, version: 3 });
    const started = Date.now();
    await publishSeatChanges(broker, envelope);
    const onEvent = await watcher.next((m) => m.type === 'SEAT_UPDATE');
    expect(Date.now() - started).toBeLessThan(1000);
    const expected = {
      type: 'SEAT_UPDATE',
      eventId,
      seatNumber: 7,
      status: 'held',
      timestamp: envelope.occurredAt,
      version: 3,
    };
    expect(onEvent).toEqual({ ...expected, channel: 'event' });
    expect(await owner.next((m) => m.type === 'SEAT_UPDATE' && m.channel === 'user')).toEqual({
      ...expected,
      channel: 'user',
      userId,
    });

    await publishSeat(RoutingKeys.SeatReserved, { eventId, seatNumber: 7, userId, version: 4 });
    await publishSeat(RoutingKeys.SeatReleased, { eventId, seatNumber: 8, userId, version: 5 });
    await publishSeat(RoutingKeys.SeatExpired, { eventId, seatNumber: 9, userId, version: 6 });
    await flushThrough(owner, eventId);
    await flushThrough(watcher, eventId);

    const statuses = (client: WsClient, channel: 'event' | 'user') =>
      updatesOf(client, eventId, channel)
        .filter((m) => m.seatNumber < 900)
        .map((m) => `${m.seatNumber}:${m.status}:${m.version}`);
    const all = ['7:held:3', '7:reserved:4', '8:available:5', '9:available:6'];
    expect(statuses(watcher, 'event')).toEqual(all);
    expect(statuses(owner, 'event')).toEqual(all);
    expect(statuses(owner, 'user')).toEqual(all);
    expect(updatesOf(watcher, eventId, 'user')).toHaveLength(0);
    for (const m of [...updatesOf(watcher, eventId, 'event'), ...updatesOf(owner, eventId, 'event')]) {
      expect(m).not.toHaveProperty('userId');
    }
    expect(await metric(replicaA, 'zephyr_ws_messages_pushed_total')).toBeGreaterThanOrEqual(12);
  });

  it('pushes nothing for a refresh, a duplicate envelope once, and drops an older version', async () => {
    const eventId = knownEvent();
    const userId = newUserId();
    const [client] = await subscribersOn(eventId, replicaA);

    const held = seatEnvelope(RoutingKeys.SeatHeld, { eventId, seatNumber: 3, userId, version: 10 });
    await publishSeatChanges(broker, held);
    await publishSeatChanges(broker, held);
    await publishSeat(RoutingKeys.SeatRefreshed, { eventId, seatNumber: 3, userId, version: 10 });
    await publishSeat(RoutingKeys.SeatReleased, { eventId, seatNumber: 3, userId, version: 8 });
    await publishSeat(RoutingKeys.SeatReleased, { eventId, seatNumber: 3, userId, version: 10 });
    await flushThrough(client, eventId);

    const seat3 = updatesOf(client, eventId, 'event').filter((m) => m.seatNumber === 3);
    expect(seat3).toEqual([expect.objectContaining({ status: 'held', version: 10 })]);
  });

  it('stops pushing after UNSUBSCRIBE_EVENT', async () => {
    const eventId = knownEvent();
    const [client, other] = await subscribersOn(eventId, replicaA, replicaA);
    client.send({ type: 'UNSUBSCRIBE_EVENT', eventId });
    expect(await client.next((m) => m.type === 'UNSUBSCRIBED')).toEqual({
      type: 'UNSUBSCRIBED',
      channel: 'event',
      id: eventId,
    });
    await publishSeat(RoutingKeys.SeatHeld, { eventId, seatNumber: 4, userId: newUserId(), version: 1 });
    await flushThrough(other, eventId);
    expect(updatesOf(client, eventId, 'event')).toHaveLength(0);
  });

  it('sends SUBSCRIBED then SEAT_MAP for a snapshot, with no user identities in it', async () => {
    const eventId = knownEvent(42);
    const client = await connect(replicaA);
    client.send({ type: 'SUBSCRIBE_EVENT', eventId, snapshot: true });
    const map = await client.next((m) => m.type === 'SEAT_MAP');
    expect(client.messages.map((m) => m.type)).toEqual(['SUBSCRIBED', 'SEAT_MAP']);
    expect(map.eventId).toBe(eventId);
    expect(map.version).toBe(42);
    expect(map.seats).toEqual([
      { eventId, seatNumber: 1, status: 'held', heldAt: expect.any(String), expiresAt: expect.any(String) },
      { eventId, seatNumber: 2, status: 'available' },
    ]);
    await publishSeat(RoutingKeys.SeatReleased, { eventId, seatNumber: 1, userId: newUserId(), version: 43 });
    expect(await client.next((m) => m.type === 'SEAT_UPDATE')).toMatchObject({
      seatNumber: 1,
      status: 'available',
      version: 43,
    });
  });

  it('delivers to subscribers on every replica, each replica to its own sockets', async () => {
    const eventId = knownEvent();
    const [onA, onB] = await subscribersOn(eventId, replicaA, replicaB);
    await publishSeat(RoutingKeys.SeatHeld, { eventId, seatNumber: 5, userId: newUserId(), version: 1 });
    await onA.next((m) => m.type === 'SEAT_UPDATE' && m.seatNumber === 5);
    await onB.next((m) => m.type === 'SEAT_UPDATE' && m.seatNumber === 5);
    await flushThrough(onA, eventId);
    await flushThrough(onB, eventId);
    expect(updatesOf(onA, eventId, 'event').filter((m) => m.seatNumber === 5)).toHaveLength(1);
    expect(updatesOf(onB, eventId, 'event').filter((m) => m.seatNumber === 5)).toHaveLength(1);
  });
});

describe('connection health', () => {
  it('closes a peer that stops answering pings within two heartbeat intervals', async () => {
    const live = await connect(replicaB);
    const before = await metric(replicaB, 'zephyr_ws_connections');
    const dead = new WebSocket(wsUrl(replicaB));
    rawSockets.push(dead);
    await new Promise((resolve) => dead.once('open', resolve));
    // A paused socket reads nothing, so it never sees a ping and never answers with a pong.
    (dead as unknown as { _socket: Socket })._socket.pause();
    await waitFor(async () => (await metric(replicaB, 'zephyr_ws_connections')) === before + 1, {
      what: 'connection counted',
    });
    const pausedAt = Date.now();
    await waitFor(async () => (await metric(replicaB, 'zephyr_ws_connections')) === before, {
      timeoutMs: 4 * FAST_HEARTBEAT_MS + 1000,
      intervalMs: 50,
      what: 'dead peer closed',
    });
    expect(Date.now() - pausedAt).toBeLessThan(3 * FAST_HEARTBEAT_MS + 500);
    expect(live.socket.readyState).toBe(WebSocket.OPEN);
  });

  it('disconnects a client that stopped reading once its buffer passes the bound, and stays bounded', async () => {
    const eventId = knownEvent();
    const userId = newUserId();
    const [healthy] = await subscribersOn(eventId, replicaA);
    const baseline = await metric(replicaA, 'zephyr_ws_connections');

    const stalled = new WebSocket(wsUrl(replicaA, '/ws', await userToken(userId)));
    rawSockets.push(stalled);
    const subscribed: unknown[] = [];
    stalled.on('message', (data) => subscribed.push(JSON.parse(data.toString())));
    await new Promise((resolve) => stalled.once('open', resolve));
    // Both channels, so every change costs the stalled socket two messages.
    stalled.send(JSON.stringify({ type: 'SUBSCRIBE_EVENT', eventId }));
    stalled.send(JSON.stringify({ type: 'SUBSCRIBE_USER', userId }));
    await waitFor(() => subscribed.length === 2, { what: 'stalled client subscribed' });
    (stalled as unknown as { _socket: Socket })._socket.pause();

    const slowBefore = await metric(replicaA, 'zephyr_ws_slow_disconnects_total');
    const deadline = Date.now() + 25_000;
    let version = 0;
    while ((await metric(replicaA, 'zephyr_ws_slow_disconnects_total')) === slowBefore) {
      if (Date.now() > deadline) throw new Error(`stalled client still connected after ${version} updates`);
      const batch = Array.from({ length: 2000 }, () => {
        version++;
        return seatEnvelope(RoutingKeys.SeatHeld, { eventId, seatNumber: (version % 500) + 1, userId, version });
      });
      await publishSeatChanges(broker, ...batch);
    }
    expect(await metric(replicaA, 'zephyr_ws_slow_disconnects_total')).toBe(slowBefore + 1);
    await waitFor(async () => (await metric(replicaA, 'zephyr_ws_connections')) === baseline, {
      what: 'gauge back to baseline',
    });
    // The healthy subscriber of the same event got everything, up to the last change.
    await healthy.next((m) => m.type === 'SEAT_UPDATE' && m.version === version, 15_000);
    expect(healthy.socket.readyState).toBe(WebSocket.OPEN);
    expect(await metric(replicaA, 'nodejs_heap_size_used_bytes')).toBeLessThan(256 * 1024 * 1024);
  }, 45_000);
});

describe('shutdown', () => {
  it('closes sockets with 1001 and turns readiness off', async () => {
    const client = await connect(replicaB);
    const closed = closeCode(client.socket, 10_000);
    await replicaB.stop();
    expect(await closed).toBe(1001);
    expect(replicaB.child.exitCode).toBe(0);
  });
});
