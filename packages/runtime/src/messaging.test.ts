import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { ENVELOPE_VERSION, RoutingKeys, type EventEnvelope } from '@zephyr/contracts';
import {
  BACKING,
  countSocketWrites,
  deleteBrokerObjects,
  probeQueue,
  quietLogger,
  seatChangeBatchesFor,
  seatEnvelope,
  waitFor,
} from '@zephyr/testing';
import { connectBroker, type Broker } from './messaging';

describe('connectBroker: which publishes are mandatory', () => {
  const exchange = `zt_mandatory_${randomUUID().slice(0, 8)}`;
  const returned: string[] = [];
  let broker: Broker;

  beforeAll(async () => {
    broker = connectBroker({
      url: BACKING.amqpUrl,
      exchange,
      logger: quietLogger,
      onUnroutable: (key) => returned.push(key),
    });
    await waitFor(() => broker.isConnected(), { what: 'broker connection' });
  });

  afterAll(async () => {
    await broker.close();
    await deleteBrokerObjects(exchange, []);
  });

  it('drops a seat.* fact no one subscribes to without a return, and returns keys Zephyr consumes', async () => {
    const change = seatEnvelope(RoutingKeys.SeatHeld, { eventId: randomUUID(), seatNumber: 1 });
    const now = new Date().toISOString();
    const eventCreated: EventEnvelope = {
      id: randomUUID(),
      type: RoutingKeys.EventCreated,
      version: ENVELOPE_VERSION,
      occurredAt: now,
      producer: 'test',
      data: {
        id: randomUUID(),
        name: 'n',
        description: '',
        totalSeats: 1,
        maxSeatsPerUser: 1,
        seatsPerRow: 1,
        status: 'active',
        createdAt: now,
        updatedAt: now,
        revision: 1,
      },
    };
    // Nothing is bound on this exchange. The broker sends a mandatory publish's return before its confirm,
    // so once a publish resolves, whether it came back is known.
    await broker.publish(change);
    expect(returned).toEqual([]);
    for (const batch of seatChangeBatchesFor([change])) await broker.publish(batch);
    await broker.publish(eventCreated);
    expect(returned).toEqual(['seat-changes.batch', RoutingKeys.EventCreated]);
  });
});

describe('connectBroker: publishes issued together leave in one write (real RabbitMQ)', () => {
  const exchange = `zt_coalesce_${randomUUID().slice(0, 8)}`;
  let broker: Broker;
  const socketOf = (b: Broker) =>
    (b.connection as unknown as { connection: { connection: { stream: Socket } } }).connection.connection.stream;

  beforeAll(async () => {
    broker = connectBroker({ url: BACKING.amqpUrl, exchange, logger: quietLogger });
    await waitFor(() => broker.isConnected(), { what: 'broker connection' });
  });

  afterAll(async () => {
    await broker.close();
    await deleteBrokerObjects(exchange, []);
  });

  const thirtyChanges = () => {
    const eventId = randomUUID();
    return Array.from({ length: 30 }, (_, i) => seatEnvelope(RoutingKeys.SeatHeld, { eventId, seatNumber: i + 1 }));
  };

  it('sends thirty publishes in one system call, each confirmed and delivered in order', async () => {
    const probe = await probeQueue(broker, 'seat.#');
    try {
      const counted = countSocketWrites(socketOf(broker));
      const changes = thirtyChanges();
      await Promise.all(changes.map((change) => broker.publish(change)));
      // A heartbeat may go out on its own meanwhile (one chunk); the publishes share one write.
      expect(counted.writes.filter((chunks) => chunks > 1)).toEqual([30]);
      await waitFor(() => probe.received.length >= 30, { what: 'thirty deliveries' });
      expect(probe.received.map((e) => e.id)).toEqual(changes.map((c) => c.id));
    } finally {
      await probe.close();
    }
  });

  it('keeps coalescing on the socket of a reconnection', async () => {
    const first = socketOf(broker);
    first.destroy(new Error('connection reset by the test'));
    await waitFor(() => broker.isConnected() && socketOf(broker) !== first, { what: 'reconnection' });
    // The publisher channel is open again once a publish is confirmed.
    await waitFor(() => broker.publish(thirtyChanges()[0]!).then(() => true), { what: 'publisher channel' });
    const counted = countSocketWrites(socketOf(broker));
    await Promise.all(thirtyChanges().map((change) => broker.publish(change)));
    expect(counted.writes.filter((chunks) => chunks > 1)).toEqual([30]);
  });
});
