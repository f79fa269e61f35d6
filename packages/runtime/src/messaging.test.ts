import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { ENVELOPE_VERSION, QueueNames, RoutingKeys, type EventEnvelope } from '@zephyr/contracts';
import { BACKING, quietLogger, seatChangeBatchesFor, seatEnvelope, waitFor } from '@zephyr/testing';
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
    const connection = await amqp.connect(BACKING.amqpUrl);
    const channel = await connection.createChannel();
    await channel.deleteExchange(exchange);
    await channel.deleteExchange(QueueNames.deadLetterExchange(exchange));
    await connection.close();
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
