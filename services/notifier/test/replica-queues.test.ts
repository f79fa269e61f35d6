import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { BatchRoutingKeys, Bindings, QueueNames, RoutingKeys } from '@zephyr/contracts';
import { REPLICA_DLQ_MAX_LENGTH, REPLICA_QUEUE_MAX_LENGTH } from '@zephyr/runtime/messaging';
import { BACKING, seatEnvelope, unroutableRecordingBroker, waitFor, type ServiceProcess } from '@zephyr/testing';
import { useNotifierReplicas } from './support/replicas';
import { metric } from './support/helpers';

const REPLICAS = ['x', 'y'];

const notifiers = useNotifierReplicas('notifierqueues', Object.fromEntries(REPLICAS.map((id) => [id, {}])));
let replicas: ServiceProcess[] = [];

beforeAll(() => {
  replicas = notifiers.replicas;
});

/** The arguments a replica queue is declared with. */
const replicaQueueArguments = () => ({
  'x-queue-type': 'quorum',
  'x-delivery-limit': 10,
  'x-dead-letter-exchange': QueueNames.deadLetterExchange(notifiers.fixture.isolation.exchange),
  'x-dead-letter-routing-key': QueueNames.notifierReplicasDeadLetter(notifiers.fixture.isolation.exchange),
  'x-expires': 60 * 60 * 1000,
  'x-max-length': REPLICA_QUEUE_MAX_LENGTH,
  'x-overflow': 'drop-head',
});

/** Runs `check` on its own channel: a failed passive check or redeclare closes the channel it ran on. */
async function onChannel<T>(connection: amqp.ChannelModel, check: (ch: amqp.Channel) => Promise<T>): Promise<T> {
  const channel = await connection.createChannel();
  channel.on('error', () => undefined);
  try {
    return await check(channel);
  } finally {
    await channel.close().catch(() => undefined);
  }
}

it('replica queues are bounded, expire when idle and dead-letter into one shared, bounded DLQ', async () => {
  const connection = await amqp.connect(BACKING.amqpUrl);
  try {
    const shared = QueueNames.notifierReplicasDeadLetter(notifiers.fixture.isolation.exchange);
    const confirm = await connection.createConfirmChannel();
    // Poison reaches every replica queue and is dead-lettered by each into the same DLQ.
    confirm.publish(notifiers.fixture.isolation.exchange, BatchRoutingKeys.SeatChanges, Buffer.from('{not json'), {
      persistent: true,
    });
    await confirm.waitForConfirms();
    await waitFor(async () => (await onChannel(connection, (ch) => ch.checkQueue(shared))).messageCount === 2, {
      what: 'both poison copies in the shared DLQ',
    });
    await waitFor(async () => (await metric(replicas[0]!, 'zephyr_dlq_messages')) === 2, { what: 'DLQ depth' });

    for (const id of REPLICAS) {
      const queue = QueueNames.notifierReplica(notifiers.fixture.isolation.exchange, id);
      // No DLQ per replica id: autoscaling leaves nothing behind.
      await expect(onChannel(connection, (ch) => ch.checkQueue(QueueNames.deadLetter(queue)))).rejects.toThrow(
        /NOT_FOUND/,
      );
      // Redeclaring with exactly these arguments succeeds only if the queue was declared with them.
      await onChannel(connection, (ch) =>
        ch.assertQueue(queue, {
          durable: true,
          arguments: replicaQueueArguments(),
        }),
      );
    }
    await onChannel(connection, (ch) =>
      ch.assertQueue(shared, {
        durable: true,
        arguments: { 'x-queue-type': 'quorum', 'x-max-length': REPLICA_DLQ_MAX_LENGTH, 'x-overflow': 'drop-head' },
      }),
    );
  } finally {
    await connection.close();
  }
});

it('deletes the queue an older build of the same replica used, so single seat.* messages stop piling up there', async () => {
  const { exchange } = notifiers.fixture.isolation;
  const old = QueueNames.notifierReplicaBeforeBatches(exchange, 'upgraded');
  const connection = await amqp.connect(BACKING.amqpUrl);
  const { broker, returned } = unroutableRecordingBroker(exchange);
  try {
    // What an older build of replica "upgraded" left: its queue, bound to seat.*, holding a message.
    await onChannel(connection, async (ch) => {
      await ch.assertQueue(old, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      await ch.bindQueue(old, exchange, Bindings.allSeatEvents);
    });
    await waitFor(() => broker.isConnected(), { what: 'test broker connection' });
    await broker.publish(seatEnvelope(RoutingKeys.SeatHeld, { eventId: randomUUID(), seatNumber: 1 }));
    expect((await onChannel(connection, (ch) => ch.checkQueue(old))).messageCount).toBe(1);

    const upgraded = await notifiers.fixture.start({ NOTIFIER_REPLICA_ID: 'upgraded' });
    try {
      await expect(onChannel(connection, (ch) => ch.checkQueue(old))).rejects.toThrow(/NOT_FOUND/);
      // Its new queue is declared with the replica arguments, and no queue takes seat.* any more: a
      // mandatory publish on it comes back before its confirm.
      await onChannel(connection, (ch) =>
        ch.assertQueue(QueueNames.notifierReplica(exchange, 'upgraded'), {
          durable: true,
          arguments: replicaQueueArguments(),
        }),
      );
      await broker.publish(seatEnvelope(RoutingKeys.SeatHeld, { eventId: randomUUID(), seatNumber: 1 }));
      expect(returned).toEqual([RoutingKeys.SeatHeld]);
    } finally {
      await upgraded.stop();
    }
  } finally {
    await broker.close();
    await connection.close();
  }
});
