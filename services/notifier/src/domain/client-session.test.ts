import { randomUUID } from 'node:crypto';
import { ENVELOPE_VERSION, RoutingKeys, type SeatEnvelope, type SeatMap } from '@zephyr/contracts';
import { createLogger, type TokenVerifier } from '@zephyr/runtime';
import { waitFor } from '@zephyr/testing';
import { ClientSession, type Transport } from './client-session';
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
    const eventId = randomUUID();
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
    const deps = { hub, verifier, events: createEventDirectory(source), logger: createLogger('test', 'silent') };
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
