import { randomUUID } from 'node:crypto';
import { ENVELOPE_VERSION, RoutingKeys, type SeatEnvelope, type SeatRoutingKey } from '@zephyr/contracts';
import { SubscriptionHub, type Subscriber } from './hub';
import type { Channel } from './protocol';

class Recorder implements Subscriber {
  readonly texts: string[] = [];
  deliverUpdate(_channel: Channel, _eventId: string, _version: number, text: string): boolean {
    this.texts.push(text);
    return true;
  }
}

const eventId = randomUUID();
const userId = randomUUID();

function envelope(type: SeatRoutingKey, seatNumber: number, version: number, id = randomUUID()): SeatEnvelope {
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

describe('SubscriptionHub', () => {
  it('serializes once per channel and hands the same string to every subscriber', () => {
    const hub = new SubscriptionHub<Recorder>();
    const [a, b, owner] = [new Recorder(), new Recorder(), new Recorder()];
    hub.subscribeEvent(a, eventId);
    hub.subscribeEvent(b, eventId);
    hub.subscribeEvent(owner, eventId);
    hub.subscribeUser(owner, userId);
    expect(hub.publish(envelope(RoutingKeys.SeatHeld, 1, 1))).toBe(4);
    expect(a.texts[0]).toBe(b.texts[0]);
    expect(JSON.parse(a.texts[0]!)).not.toHaveProperty('userId');
    expect(owner.texts.map((t) => JSON.parse(t).channel)).toEqual(['event', 'user']);
    expect(JSON.parse(owner.texts[1]!).userId).toBe(userId);
  });

  it('drops refreshes, duplicate ids and versions not newer than the last one per seat', () => {
    const hub = new SubscriptionHub<Recorder>();
    const a = new Recorder();
    hub.subscribeEvent(a, eventId);
    const held = envelope(RoutingKeys.SeatHeld, 1, 5);
    expect(hub.publish(held)).toBe(1);
    expect(hub.publish(held)).toBe(0);
    expect(hub.publish(envelope(RoutingKeys.SeatRefreshed, 1, 5))).toBe(0);
    expect(hub.publish(envelope(RoutingKeys.SeatReleased, 1, 4))).toBe(0);
    expect(hub.publish(envelope(RoutingKeys.SeatReleased, 1, 5))).toBe(0);
    expect(hub.publish(envelope(RoutingKeys.SeatReleased, 2, 4))).toBe(1);
    expect(hub.publish(envelope(RoutingKeys.SeatReleased, 1, 6))).toBe(1);
  });

  it('keeps no per-event state once nobody watches the event', () => {
    const hub = new SubscriptionHub<Recorder>();
    const a = new Recorder();
    hub.subscribeEvent(a, eventId);
    hub.publish(envelope(RoutingKeys.SeatHeld, 1, 1));
    expect(hub.stats()).toEqual({ events: 1, users: 0, trackedEvents: 1 });
    hub.unsubscribeEvent(a, eventId);
    expect(hub.stats()).toEqual({ events: 0, users: 0, trackedEvents: 0 });
    expect(hub.publish(envelope(RoutingKeys.SeatHeld, 1, 2))).toBe(0);
    expect(hub.stats().trackedEvents).toBe(0);
  });

  it('bounds the events whose versions it remembers', () => {
    const hub = new SubscriptionHub<Recorder>({ recentIds: 100, trackedEvents: 3 });
    const a = new Recorder();
    for (let i = 0; i < 10; i++) {
      const id = randomUUID();
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
