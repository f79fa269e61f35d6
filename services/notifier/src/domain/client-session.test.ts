import { randomUUID } from 'node:crypto';
import { ENVELOPE_VERSION, RoutingKeys, type SeatEnvelope, type SeatMap } from '@zephyr/contracts';
import { createLogger, type TokenVerifier } from '@zephyr/runtime';
import { ClientSession, type Transport } from './client-session';
import { createEventDirectory, type SeatMapSource } from './event-directory';
import { SubscriptionHub } from './hub';

class FakeTransport implements Transport {
  readonly sent: Record<string, unknown>[] = [];
  send(text: string): boolean {
    this.sent.push(JSON.parse(text) as Record<string, unknown>);
    return true;
  }
  close(): void {}
}

const verifier: TokenVerifier = { verify: async () => ({ userId: randomUUID(), isAdmin: false }) };

function seatChange(eventId: string, seatNumber: number, version: number): SeatEnvelope {
  return {
    id: randomUUID(),
    type: RoutingKeys.SeatHeld,
    version: ENVELOPE_VERSION,
    occurredAt: new Date().toISOString(),
    producer: 'test',
    data: { eventId, seatNumber, userId: randomUUID(), version, holdVersion: 1, status: 'held' },
  };
}

describe('ClientSession snapshot', () => {
  it('holds changes that arrive while the map is read and replays only those newer than the map', async () => {
    const eventId = randomUUID();
    const hub = new SubscriptionHub<ClientSession>();
    let answer: (map: SeatMap) => void = () => undefined;
    const source: SeatMapSource = { getSeatMap: () => new Promise<SeatMap>((resolve) => (answer = resolve)) };
    const transport = new FakeTransport();
    const session = new ClientSession(transport, {
      hub,
      verifier,
      events: createEventDirectory(source),
      logger: createLogger('test', 'silent'),
    });
    session.enqueue(JSON.stringify({ type: 'SUBSCRIBE_EVENT', eventId, snapshot: true }));
    await new Promise((resolve) => setImmediate(resolve));
    // Subscribed before the read: these changes must not be lost, nor sent before SUBSCRIBED/SEAT_MAP.
    hub.publish(seatChange(eventId, 1, 7));
    hub.publish(seatChange(eventId, 2, 9));
    expect(transport.sent).toEqual([]);
    answer({ eventId, version: 8, seats: [] });
    await new Promise((resolve) => setImmediate(resolve));
    expect(transport.sent.map((m) => [m.type, m.version])).toEqual([
      ['SUBSCRIBED', undefined],
      ['SEAT_MAP', 8],
      ['SEAT_UPDATE', 9],
    ]);
    session.dispose();
    expect(hub.stats()).toEqual({ events: 0, users: 0, trackedEvents: 0 });
  });
});
