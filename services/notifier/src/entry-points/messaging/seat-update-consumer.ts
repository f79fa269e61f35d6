import { Bindings, QueueNames, seatChangesOf } from '@zephyr/contracts';
import {
  REPLICA_QUEUE_MAX_LENGTH,
  startConsumer,
  type Broker,
  type Consumer,
  type QueueDeclared,
} from '@zephyr/runtime/messaging';
import type { Logger, Registry } from '@zephyr/runtime';
import type { ClientSession } from '../../domain/client-session';
import type { SubscriptionHub } from '../../domain/hub';

export interface SeatUpdateConsumerDeps {
  broker: Broker;
  replicaId: string;
  hub: SubscriptionHub<ClientSession>;
  logger: Logger;
  registry?: Registry;
  /** When changes may have been lost, subscribers are told over this long (ms), not all at once. */
  resyncSpreadMs: number;
  /** Told each time subscribers were asked to resync (metrics). */
  onResync?: () => void;
}

/**
 * Batch messages in hand at once (up to 20 × MAX_SEAT_CHANGE_BATCH changes). Pushing only queues the fan-out,
 * so a deep prefetch keeps latency low under bursts.
 */
const PREFETCH_BATCHES = 20;

export const replicaQueue = (broker: Broker, replicaId: string): string =>
  QueueNames.notifierReplica(broker.exchange, replicaId);

/**
 * Every replica gets every seat change on its own queue and pushes it to its own sockets. It reads the relays'
 * seat-changes.batch messages (one delivery per relay turn, not one per change), like the other consumers of
 * seat changes. The queue an older build of the same replica id used (single seat.* messages) is deleted: it
 * holds changes for sockets that closed when that process stopped.
 */
export function startSeatUpdateConsumer(deps: SeatUpdateConsumerDeps): Consumer {
  return startConsumer({
    broker: deps.broker,
    queue: replicaQueue(deps.broker, deps.replicaId),
    bindings: [Bindings.seatChangeBatches],
    retiredQueues: [QueueNames.notifierReplicaBeforeBatches(deps.broker.exchange, deps.replicaId)],
    kind: 'replica',
    deadLetterQueue: QueueNames.notifierReplicasDeadLetter(deps.broker.exchange),
    registry: deps.registry,
    prefetch: PREFETCH_BATCHES,
    logger: deps.logger,
    onQueueDeclared: (declared) => resyncIfChangesLost(deps, declared),
    // Only queues the fan-out (written in slices on later loop turns), so acks and heartbeats never wait on sockets.
    async handle(envelope) {
      for (const change of seatChangesOf(envelope)) deps.hub.publish(change);
    },
  });
}

/**
 * A broker outage alone loses nothing: the durable replica queue keeps what is published meanwhile and the
 * consumer picks it up on reconnection. Changes are lost only when the queue itself went away (expired after
 * an hour without its consumer, deleted, or the broker's data lost) and had to be created again, or when it
 * overflowed and dropped its oldest messages: then every snapshot subscriber resyncs. At process start there
 * is nobody to tell.
 */
export function resyncIfChangesLost(deps: SeatUpdateConsumerDeps, declared: QueueDeclared): void {
  const overflowed = declared.messageCount >= REPLICA_QUEUE_MAX_LENGTH;
  if (declared.first || (declared.existed && !overflowed)) return;
  const subscribers = deps.hub.resyncAll(deps.resyncSpreadMs);
  deps.logger.warn(
    { existed: declared.existed, messageCount: declared.messageCount, subscribers, spreadMs: deps.resyncSpreadMs },
    'replica queue was lost or overflowed: subscribers resync from a snapshot',
  );
  deps.onResync?.();
}

/**
 * Ready once our consumer is attached to the replica queue, which startConsumer does only after declaring and
 * binding it: before that, seat changes published now would miss this replica.
 */
export async function checkConsumerAttached(broker: Broker, queue: string): Promise<void> {
  const connection = broker.connection.connection;
  if (!connection) throw new Error('broker not connected');
  const channel = await connection.createChannel();
  // A missing queue closes the channel with an error; the rejected check below reports it.
  channel.on('error', () => undefined);
  try {
    const { consumerCount } = await channel.checkQueue(queue);
    if (consumerCount < 1) throw new Error('consumer not attached yet');
  } finally {
    await channel.close().catch(() => undefined);
  }
}
