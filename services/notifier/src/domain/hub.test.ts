import { ENVELOPE_VERSION, RoutingKeys, type SeatEnvelope, type SeatRoutingKey } from '@zephyr/contracts';
import { waitFor } from '@zephyr/testing';
import { SubscriptionHub, type Subscriber } from './hub';
import type { Channel } from './protocol';

interface Frame {
  at: number;
  raw: Buffer;
  message: Record<string, unknown> & { type: string };
}

class Recorder implements Subscriber {
  readonly frames: Frame[] = [];
  deliverUpdate(_channel: Channel, _eventId: string, _version: number, frame: Buffer): boolean {
    return this.record(frame);
  }
  deliverBatch(_eventId: string, frame: Buffer): boolean {
    return this.record(frame);
  }
  resyncs = 0;
  resync(): void {
    this.resyncs++;
  }
  /** Every change this recorder got, flattened from SEAT_UPDATE and SEAT_UPDATES, as `seat:version`. */
  changes(): string[] {
    return this.frames.flatMap(({ message }) =>
      message.type === 'SEAT_UPDATES'
        ? (message.updates as { seatNumber: number; version: number }[]).map((u) => `${u.seatNumber}:${u.version}`)
        : [`${String(message.seatNumber)}:${String(message.version)}`],
    );
  }
  private record(raw: Buffer): boolean {
    this.frames.push({ at: Date.now(), raw, message: JSON.parse(raw.toString('utf8')) as Frame['message'] });
    return true;
  }
}

const eventId = crypto.randomUUID();
const userId = crypto.randomUUID();

function envelope(type: SeatRoutingKey, seatNumber: number, version: number, id = crypto.randomUUID()): SeatEnvelope {
  return {
    id,
    type,
    version: ENVELOPE_VERSION,
    occurredAt: '2030-01-01T00:00:00.000Z',
    producer: 'test',
    data: {
      eventId,
      seatNumber,
      userId,
      version,
      holdVersion: 1,
      status: type === RoutingKeys.SeatHeld ? 'held' : 'available',
    },
  };
}

/** Lets the sliced fan-out (setImmediate turns) and due batch ticks run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('SubscriptionHub v1 fan-out', () => {
  it('encodes once per channel and hands the same Buffer to every subscriber', async () => {
    let delivered = 0;
    const hub = new SubscriptionHub<Recorder>({}, (n) => (delivered += n));
    const [a, b, owner] = [new Recorder(), new Recorder(), new Recorder()];
    hub.subscribeEvent(a, eventId);
    hub.subscribeEvent(b, eventId);
    hub.subscribeEvent(owner, eventId);
    hub.subscribeUser(owner, userId);
    expect(hub.publish(envelope(RoutingKeys.SeatHeld, 1, 1))).toBe(true);
    await waitFor(() => delivered === 4, { what: 'four frames' });
    expect(a.frames[0]!.raw).toBe(b.frames[0]!.raw);
    expect(a.frames[0]!.message).not.toHaveProperty('userId');
    expect(owner.frames.map((f) => f.message.channel)).toEqual(['event', 'user']);
    expect(owner.frames[1]!.message.userId).toBe(userId);
  });

  it('drops refreshes, duplicate ids and versions not newer than the last one per seat', () => {
    const hub = new SubscriptionHub<Recorder>();
    hub.subscribeEvent(new Recorder(), eventId);
    const held = envelope(RoutingKeys.SeatHeld, 1, 5);
    expect(hub.publish(held)).toBe(true);
    expect(hub.publish(held)).toBe(false);
    expect(hub.publish(envelope(RoutingKeys.SeatRefreshed, 1, 5))).toBe(false);
    expect(hub.publish(envelope(RoutingKeys.SeatReleased, 1, 4))).toBe(false);
    expect(hub.publish(envelope(RoutingKeys.SeatReleased, 1, 5))).toBe(false);
    expect(hub.publish(envelope(RoutingKeys.SeatReleased, 2, 4))).toBe(true);
    expect(hub.publish(envelope(RoutingKeys.SeatReleased, 1, 6))).toBe(true);
  });

  it('writes a big fan-out in slices, yielding the loop between them, in order per subscriber', async () => {
    const hub = new SubscriptionHub<Recorder>({ fanoutSlice: 100 });
    const subscribers = Array.from({ length: 1000 }, () => new Recorder());
    for (const s of subscribers) hub.subscribeEvent(s, eventId);
    hub.publish(envelope(RoutingKeys.SeatHeld, 1, 1));
    hub.publish(envelope(RoutingKeys.SeatHeld, 2, 2));
    let turns = 0;
    while (subscribers.some((s) => s.frames.length < 2)) {
      await new Promise((resolve) => setImmediate(resolve));
      turns++;
    }
    // 2,000 writes at 100 per turn: the loop got at least ~20 turns in between.
    expect(turns).toBeGreaterThanOrEqual(19);
    for (const s of subscribers) expect(s.changes()).toEqual(['1:1', '2:2']);
  });

  it('reports the frames still waiting to be written', async () => {
    const hub = new SubscriptionHub<Recorder>({ fanoutSlice: 100 });
    const subscribers = Array.from({ length: 300 }, () => new Recorder());
    for (const s of subscribers) hub.subscribeEvent(s, eventId);
    hub.publish(envelope(RoutingKeys.SeatHeld, 1, 1));
    expect(hub.stats().fanoutBacklog).toBe(300);
    await new Promise((resolve) => setImmediate(resolve));
    expect(hub.stats().fanoutBacklog).toBe(200);
    while (hub.stats().fanoutBacklog > 0) await new Promise((resolve) => setImmediate(resolve));
    expect(subscribers.every((s) => s.frames.length === 1)).toBe(true);
  });

  it('tells every event subscriber to resync once, each at its own moment within the spread', async () => {
    const hub = new SubscriptionHub<Recorder>();
    const [plain, batched, both, userOnly] = [new Recorder(), new Recorder(), new Recorder(), new Recorder()];
    hub.subscribeEvent(plain, eventId);
    hub.subscribeEvent(batched, crypto.randomUUID(), { batch: true });
    hub.subscribeEvent(both, eventId);
    hub.subscribeEvent(both, crypto.randomUUID(), { batch: true });
    hub.subscribeUser(userOnly, userId);
    // In the order the hub meets them: plain at 180 ms, both at 20 ms, batched at 100 ms.
    const delays = [0.9, 0.1, 0.5];
    expect(hub.resyncAll(200, () => delays.shift()!)).toBe(3);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect([plain.resyncs, batched.resyncs, both.resyncs]).toEqual([0, 0, 1]);
    await waitFor(() => plain.resyncs === 1 && both.resyncs === 1, { what: 'the later resyncs' });
    expect([batched.resyncs, both.resyncs, userOnly.resyncs]).toEqual([1, 1, 0]);
  });

  it('keeps no per-event state once nobody watches the event', async () => {
    const hub = new SubscriptionHub<Recorder>();
    const [a, b] = [new Recorder(), new Recorder()];
    hub.subscribeEvent(a, eventId);
    hub.subscribeEvent(b, eventId, { batch: true });
    hub.publish(envelope(RoutingKeys.SeatHeld, 1, 1));
    expect(hub.stats()).toMatchObject({ events: 1, batchEvents: 1, trackedEvents: 1 });
    hub.unsubscribeEvent(a, eventId);
    hub.unsubscribeEvent(b, eventId);
    expect(hub.stats()).toMatchObject({ events: 0, batchEvents: 0, users: 0, trackedEvents: 0 });
    expect(hub.publish(envelope(RoutingKeys.SeatHeld, 1, 2))).toBe(false);
    await settle();
    expect(b.frames).toEqual([]);
  });

  it('bounds the events whose versions it remembers', () => {
    const hub = new SubscriptionHub<Recorder>({ recentIds: 100, trackedEvents: 3 });
    const a = new Recorder();
    for (let i = 0; i < 10; i++) {
      const id = crypto.randomUUID();
      hub.subscribeEvent(a, id);
      hub.publish({
        ...envelope(RoutingKeys.SeatHeld, 1, 1),
        data: { ...envelope(RoutingKeys.SeatHeld, 1, 1).data, eventId: id },
      });
    }
    expect(hub.stats().trackedEvents).toBe(3);
  });

  it('caps connections per user', () => {
    const hub = new SubscriptionHub<Recorder>();
    const sockets = [new Recorder(), new Recorder(), new Recorder()];
    expect(hub.claimConnection(sockets[0]!, userId, 2)).toBe(true);
    expect(hub.claimConnection(sockets[1]!, userId, 2)).toBe(true);
    expect(hub.claimConnection(sockets[2]!, userId, 2)).toBe(false);
    hub.releaseConnection(sockets[0]!, userId);
    expect(hub.claimConnection(sockets[2]!, userId, 2)).toBe(true);
  });
});

describe('SubscriptionHub batches', () => {
  it('coalesces an event’s changes per tick into one SEAT_UPDATES, encoded once for every batch subscriber', async () => {
    const hub = new SubscriptionHub<Recorder>({ batchIntervalMs: 100 });
    const [a, b] = [new Recorder(), new Recorder()];
    hub.subscribeEvent(a, eventId, { batch: true });
    hub.subscribeEvent(b, eventId, { batch: true });
    hub.publish(envelope(RoutingKeys.SeatHeld, 1, 1));
    hub.publish(envelope(RoutingKeys.SeatHeld, 2, 2));
    hub.publish(envelope(RoutingKeys.SeatReleased, 1, 3));
    await waitFor(() => a.frames.length === 1 && b.frames.length === 1, { what: 'one batch each' });
    expect(a.frames[0]!.raw).toBe(b.frames[0]!.raw);
    expect(a.frames[0]!.message).toEqual({
      type: 'SEAT_UPDATES',
      channel: 'event',
      eventId,
      updates: [
        { seatNumber: 1, status: 'held', timestamp: '2030-01-01T00:00:00.000Z', version: 1 },
        { seatNumber: 2, status: 'held', timestamp: '2030-01-01T00:00:00.000Z', version: 2 },
        { seatNumber: 1, status: 'available', timestamp: '2030-01-01T00:00:00.000Z', version: 3 },
      ],
    });
  });

  it('sends at most one batch per interval however fast changes come, each change once', async () => {
    const hub = new SubscriptionHub<Recorder>({ batchIntervalMs: 100 });
    const a = new Recorder();
    hub.subscribeEvent(a, eventId, { batch: true });
    for (let version = 1; version <= 60; version++) {
      hub.publish(envelope(RoutingKeys.SeatHeld, (version % 7) + 1, version));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await waitFor(() => a.changes().length === 60, { what: 'all 60 changes' });
    expect(a.changes()).toEqual(Array.from({ length: 60 }, (_, i) => `${((i + 1) % 7) + 1}:${i + 1}`));
    for (let i = 1; i < a.frames.length; i++) {
      expect(a.frames[i]!.at - a.frames[i - 1]!.at).toBeGreaterThanOrEqual(100);
    }
  });

  it('switches modes on re-subscribe with nothing lost or repeated', async () => {
    const hub = new SubscriptionHub<Recorder>({ batchIntervalMs: 100 });
    const a = new Recorder();
    hub.subscribeEvent(a, eventId);
    hub.publish(envelope(RoutingKeys.SeatHeld, 1, 1));
    hub.subscribeEvent(a, eventId, { batch: true });
    hub.publish(envelope(RoutingKeys.SeatHeld, 2, 2));
    await waitFor(() => a.changes().length === 2, { what: 'v1 then batch' });
    hub.publish(envelope(RoutingKeys.SeatHeld, 3, 3));
    // Back to v1 before the tick: seat 3 is owed and comes as a SEAT_UPDATE.
    hub.subscribeEvent(a, eventId);
    hub.publish(envelope(RoutingKeys.SeatHeld, 4, 4));
    // A marker through the same FIFO: once it arrived, anything sent twice would have arrived too.
    hub.publish(envelope(RoutingKeys.SeatHeld, 5, 5));
    await waitFor(() => a.changes().includes('5:5'), { what: 'the marker' });
    expect(a.changes()).toEqual(['1:1', '2:2', '3:3', '4:4', '5:5']);
    expect(a.frames.map((f) => f.message.type)).toEqual([
      'SEAT_UPDATE',
      'SEAT_UPDATES',
      'SEAT_UPDATE',
      'SEAT_UPDATE',
      'SEAT_UPDATE',
    ]);
  });

  it('holds a batch subscription during its snapshot and then sends only what is newer than the map', async () => {
    const hub = new SubscriptionHub<Recorder>({ batchIntervalMs: 100 });
    const [a, other] = [new Recorder(), new Recorder()];
    hub.subscribeEvent(other, eventId, { batch: true });
    hub.subscribeEvent(a, eventId, { batch: true, holdForSnapshot: true });
    hub.publish(envelope(RoutingKeys.SeatHeld, 1, 10));
    hub.publish(envelope(RoutingKeys.SeatHeld, 2, 12));
    await waitFor(() => other.frames.length === 1, { what: 'the other subscriber’s batch' });
    expect(a.frames).toEqual([]);
    hub.releaseSnapshot(a, eventId, 11);
    hub.publish(envelope(RoutingKeys.SeatHeld, 3, 13));
    await waitFor(() => a.changes().length === 2, { what: 'changes after the map' });
    expect(a.changes()).toEqual(['2:12', '3:13']);
    expect(a.frames).toHaveLength(1);
  });
});
