import { ENVELOPE_VERSION, ErrorCodes, RoutingKeys, type SeatEnvelope, type SeatMap } from '@zephyr/contracts';
import { AppError } from '@zephyr/runtime/errors';
import { waitFor } from '@zephyr/testing';
import { ClientSession, SessionLimits, type SessionLog, type TokenVerifier, type Transport } from './client-session';
import { createEventDirectory, type SeatMapSource } from './event-directory';
import { SubscriptionHub } from './hub';

class FakeTransport implements Transport {
  readonly sent: Record<string, unknown>[] = [];
  send(frame: string | Buffer): boolean {
    this.sent.push(JSON.parse(frame.toString()) as Record<string, unknown>);
    return true;
  }
  close(): void {}
}

/** The session's log, kept quiet: what a test checks is what reaches the client. */
const logger: SessionLog = { warn: () => undefined, error: () => undefined };

const verifier: TokenVerifier = { verify: async () => ({ userId: crypto.randomUUID(), isAdmin: false }) };

/** A session on a fake transport, reading seat maps from `source`. */
function startSession(
  source: SeatMapSource,
  { hub = new SubscriptionHub<ClientSession>(), tokens = verifier } = {},
): { transport: FakeTransport; session: ClientSession } {
  const transport = new FakeTransport();
  const deps = { hub, verifier: tokens, events: createEventDirectory(source), logger };
  return { transport, session: new ClientSession(transport, deps) };
}

function seatChange(eventId: string, seatNumber: number, version: number): SeatEnvelope {
  return {
    id: crypto.randomUUID(),
    type: RoutingKeys.SeatHeld,
    version: ENVELOPE_VERSION,
    occurredAt: new Date().toISOString(),
    producer: 'test',
    data: { eventId, seatNumber, userId: crypto.randomUUID(), version, holdVersion: 1, status: 'held' },
  };
}

describe('ClientSession snapshot', () => {
  it('holds changes that arrive while the map is read and replays only those newer than the map', async () => {
    const eventId = crypto.randomUUID();
    const hub = new SubscriptionHub<ClientSession>();
    let answer: (map: SeatMap) => void = () => undefined;
    const source: SeatMapSource = { getSeatMap: () => new Promise<SeatMap>((resolve) => (answer = resolve)) };
    const { transport, session } = startSession(source, { hub });
    session.enqueue(JSON.stringify({ type: 'SUBSCRIBE_EVENT', eventId, snapshot: true }));
    await new Promise((resolve) => setImmediate(resolve));
    // Subscribed before the read: these changes must not be lost, nor sent before SUBSCRIBED/SEAT_MAP.
    hub.publish(seatChange(eventId, 1, 7));
    hub.publish(seatChange(eventId, 2, 9));
    expect(transport.sent).toEqual([]);
    answer({ eventId, version: 8, seats: [] });
    await waitFor(() => transport.sent.length === 3, { what: 'map and the newer change' });
    expect(transport.sent.map((m) => [m.type, m.version])).toEqual([
      ['SUBSCRIBED', undefined],
      ['SEAT_MAP', 8],
      ['SEAT_UPDATE', 9],
    ]);
    session.dispose();
    expect(hub.stats()).toMatchObject({ events: 0, batchEvents: 0, users: 0, trackedEvents: 0 });
  });

  it('in batch mode sends SUBSCRIBED, SEAT_MAP, then one SEAT_UPDATES with only the changes newer than the map', async () => {
    const eventId = crypto.randomUUID();
    const hub = new SubscriptionHub<ClientSession>({ batchIntervalMs: 100 });
    let answer: (map: SeatMap) => void = () => undefined;
    let slow = false;
    const source: SeatMapSource = {
      getSeatMap: (id) =>
        slow
          ? new Promise<SeatMap>((resolve) => (answer = resolve))
          : Promise.resolve({ eventId: id, version: 0, seats: [] }),
    };
    const transport = new FakeTransport();
    const deps = { hub, verifier, events: createEventDirectory(source), logger };
    const session = new ClientSession(transport, deps);
    // A second batch watcher without snapshot shows when the tick has gone out.
    const watcherTransport = new FakeTransport();
    const watcher = new ClientSession(watcherTransport, deps);
    watcher.enqueue(JSON.stringify({ type: 'SUBSCRIBE_EVENT', eventId, batch: true }));
    await waitFor(() => watcherTransport.sent.length === 1, { what: 'watcher subscribed' });
    slow = true;
    session.enqueue(JSON.stringify({ type: 'SUBSCRIBE_EVENT', eventId, snapshot: true, batch: true }));
    await new Promise((resolve) => setImmediate(resolve));
    hub.publish(seatChange(eventId, 1, 7));
    hub.publish(seatChange(eventId, 2, 9));
    await waitFor(() => watcherTransport.sent.length === 2, { what: 'the tick' });
    // The map is still being read: nothing may reach this socket yet.
    expect(transport.sent).toEqual([]);
    answer({ eventId, version: 8, seats: [] });
    await waitFor(() => transport.sent.length === 3, { what: 'map and the batch' });
    expect(transport.sent.map((m) => m.type)).toEqual(['SUBSCRIBED', 'SEAT_MAP', 'SEAT_UPDATES']);
    expect(transport.sent[2]!.updates).toEqual([expect.objectContaining({ seatNumber: 2, version: 9 })]);
    session.dispose();
    watcher.dispose();
    expect(hub.stats()).toMatchObject({ events: 0, batchEvents: 0, trackedEvents: 0 });
  });
});

describe('ClientSession resync', () => {
  it('sends RESYNC and a fresh map to snapshot subscriptions only, then the changes newer than that map', async () => {
    const [v1Event, batchEvent, plainEvent] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    const hub = new SubscriptionHub<ClientSession>({ batchIntervalMs: 100 });
    let version = 5;
    let answer: ((map: SeatMap) => void) | undefined;
    const source: SeatMapSource = {
      getSeatMap: (id) =>
        answer === undefined && version === 5
          ? Promise.resolve({ eventId: id, version, seats: [] })
          : new Promise<SeatMap>((resolve) => (answer = resolve)),
    };
    const { transport, session } = startSession(source, { hub });
    session.enqueue(JSON.stringify({ type: 'SUBSCRIBE_EVENT', eventId: v1Event, snapshot: true }));
    session.enqueue(JSON.stringify({ type: 'SUBSCRIBE_EVENT', eventId: batchEvent, snapshot: true, batch: true }));
    session.enqueue(JSON.stringify({ type: 'SUBSCRIBE_EVENT', eventId: plainEvent }));
    await waitFor(() => transport.sent.length === 5, { what: 'subscribed' });
    transport.sent.length = 0;

    version = 9;
    session.resync();
    await waitFor(() => answer !== undefined, { what: 'first map read' });
    // Changes arriving during the read wait for the map; the plain subscription is not disturbed.
    hub.publish(seatChange(v1Event, 1, 8));
    hub.publish(seatChange(v1Event, 2, 10));
    hub.publish(seatChange(plainEvent, 3, 4));
    await waitFor(() => transport.sent.length === 1, { what: 'the plain update' });
    expect(transport.sent[0]).toMatchObject({ type: 'SEAT_UPDATE', eventId: plainEvent, version: 4 });
    const first = answer!;
    answer = undefined;
    first({ eventId: v1Event, version: 9, seats: [] });
    await waitFor(() => answer !== undefined, { what: 'second map read' });
    hub.publish(seatChange(batchEvent, 1, 11));
    answer!({ eventId: batchEvent, version: 9, seats: [] });
    await waitFor(() => transport.sent.length === 7, { what: 'both resyncs and the updates after them' });
    expect(transport.sent.slice(1).map((m) => [m.type, m.eventId, m.version])).toEqual([
      ['RESYNC', v1Event, undefined],
      ['SEAT_MAP', v1Event, 9],
      ['SEAT_UPDATE', v1Event, 10],
      ['RESYNC', batchEvent, undefined],
      ['SEAT_MAP', batchEvent, 9],
      ['SEAT_UPDATES', batchEvent, undefined],
    ]);
    session.dispose();
  });

  it('keeps the subscription when the map cannot be read, and resyncs once it can', async () => {
    const eventId = crypto.randomUUID();
    const hub = new SubscriptionHub<ClientSession>();
    let down = false;
    const source: SeatMapSource = {
      getSeatMap: async (id) => {
        if (down) throw new Error('seat-service down');
        return { eventId: id, version: 1, seats: [] };
      },
    };
    const { transport, session } = startSession(source, { hub });
    session.enqueue(JSON.stringify({ type: 'SUBSCRIBE_EVENT', eventId, snapshot: true }));
    await waitFor(() => transport.sent.length === 2, { what: 'subscribed' });
    down = true;
    session.resync();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(transport.sent).toHaveLength(2);
    hub.publish(seatChange(eventId, 1, 2));
    await waitFor(() => transport.sent.length === 3, { what: 'updates still flowing' });
    down = false;
    await waitFor(() => transport.sent.length === 5, {
      what: 'the retried resync',
      timeoutMs: SessionLimits.resyncRetryMs * 2 + 2000,
    });
    expect(transport.sent.slice(3).map((m) => m.type)).toEqual(['RESYNC', 'SEAT_MAP']);
    session.dispose();
  });
});

describe('ClientSession token expiry', () => {
  it('ends the user channels with ERROR UNAUTHENTICATED when the token expires, and a fresh AUTH restores them', async () => {
    const userId = crypto.randomUUID();
    const eventId = crypto.randomUUID();
    let expiresAtMs = Date.now() + 300;
    const expiring: TokenVerifier = { verify: async () => ({ userId, isAdmin: false, expiresAtMs }) };
    const hub = new SubscriptionHub<ClientSession>();
    const source: SeatMapSource = { getSeatMap: async (id) => ({ eventId: id, version: 0, seats: [] }) };
    const { transport, session } = startSession(source, { hub, tokens: expiring });
    session.enqueue(JSON.stringify({ type: 'AUTH', token: 'a' }));
    session.enqueue(JSON.stringify({ type: 'SUBSCRIBE_USER', userId }));
    session.enqueue(JSON.stringify({ type: 'SUBSCRIBE_EVENT', eventId }));
    await waitFor(() => transport.sent.length === 3, { what: 'authenticated and subscribed' });
    expect(hub.stats()).toMatchObject({ users: 1, events: 1 });

    await waitFor(() => transport.sent.length === 4, { what: 'expiry notice', timeoutMs: 3000 });
    expect(transport.sent[3]).toMatchObject({ type: 'ERROR', code: 'UNAUTHENTICATED' });
    expect(session.userId).toBeUndefined();
    // The user channel is gone, the public event channel stays.
    expect(hub.stats()).toMatchObject({ users: 0, events: 1 });
    hub.publish({ ...seatChange(eventId, 1, 5), data: { ...seatChange(eventId, 1, 5).data, userId } });
    await waitFor(() => transport.sent.length === 5, { what: 'event channel update' });
    expect(transport.sent[4]).toMatchObject({ type: 'SEAT_UPDATE', channel: 'event' });
    session.enqueue(JSON.stringify({ type: 'SUBSCRIBE_USER', userId }));
    await waitFor(() => transport.sent.length === 6, { what: 'refused user subscribe' });
    expect(transport.sent[5]).toMatchObject({ type: 'ERROR', code: 'UNAUTHENTICATED' });

    expiresAtMs = Date.now() + 60_000;
    session.enqueue(JSON.stringify({ type: 'AUTH', token: 'b' }));
    session.enqueue(JSON.stringify({ type: 'SUBSCRIBE_USER', userId }));
    await waitFor(() => transport.sent.length === 8, { what: 're-authenticated' });
    expect(transport.sent.slice(6).map((m) => m.type)).toEqual(['AUTHENTICATED', 'SUBSCRIBED']);
    expect(hub.stats()).toMatchObject({ users: 1 });
    session.dispose();
  });
});

describe('ClientSession lookup rate', () => {
  it('answers RATE_LIMITED past the per-socket burst of snapshots, without calling the seat-service', async () => {
    const eventId = crypto.randomUUID();
    let calls = 0;
    const source: SeatMapSource = {
      getSeatMap: async (id) => {
        calls++;
        return { eventId: id, version: 0, seats: [] };
      },
    };
    const { transport, session } = startSession(source);
    const attempts = SessionLimits.lookupBurst + 10;
    for (let i = 0; i < attempts; i++) {
      session.enqueue(JSON.stringify({ type: 'SUBSCRIBE_EVENT', eventId, snapshot: true }));
    }
    // A plain subscribe to a known event needs no call and is never limited.
    session.enqueue(JSON.stringify({ type: 'SUBSCRIBE_EVENT', eventId }));
    session.enqueue(JSON.stringify({ type: 'PING' }));
    await waitFor(() => transport.sent.some((m) => m.type === 'PONG'), { what: 'all handled' });
    const limited = transport.sent.filter((m) => m.type === 'ERROR' && m.code === 'RATE_LIMITED');
    // The burst, plus what refilled while they ran (a few at most on a busy machine).
    expect(calls).toBeGreaterThanOrEqual(SessionLimits.lookupBurst);
    expect(calls).toBeLessThan(attempts);
    expect(limited.length).toBe(attempts - calls);
    expect(transport.sent.filter((m) => m.type === 'SUBSCRIBED')).toHaveLength(calls + 1);
    session.dispose();
  });

  it('limits subscribes to events that do not exist (random ids), never those to events that do', async () => {
    const existing = new Set(Array.from({ length: 60 }, () => crypto.randomUUID()));
    let calls = 0;
    const source: SeatMapSource = {
      getSeatMap: async (id) => {
        calls++;
        if (!existing.has(id)) throw new AppError(ErrorCodes.EventNotFound, 'No such event');
        return { eventId: id, version: 0, seats: [] };
      },
    };
    const { transport, session } = startSession(source);
    // Far more existing events than the burst: all subscribed.
    for (const eventId of existing) session.enqueue(JSON.stringify({ type: 'SUBSCRIBE_EVENT', eventId }));
    const attempts = SessionLimits.lookupBurst + 30;
    for (let i = 0; i < attempts; i++) {
      session.enqueue(JSON.stringify({ type: 'SUBSCRIBE_EVENT', eventId: crypto.randomUUID() }));
    }
    session.enqueue(JSON.stringify({ type: 'PING' }));
    await waitFor(() => transport.sent.some((m) => m.type === 'PONG'), { what: 'all handled' });
    expect(transport.sent.filter((m) => m.type === 'SUBSCRIBED')).toHaveLength(existing.size);
    const misses = calls - existing.size;
    expect(misses).toBeGreaterThanOrEqual(SessionLimits.lookupBurst);
    expect(misses).toBeLessThan(attempts);
    const errors = transport.sent.filter((m) => m.type === 'ERROR');
    expect(errors.filter((m) => m.code === 'EVENT_NOT_FOUND')).toHaveLength(misses);
    expect(errors.filter((m) => m.code === 'RATE_LIMITED')).toHaveLength(attempts - misses);
    session.dispose();
  });
});
