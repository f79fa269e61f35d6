import { Bindings, createRecentIds, QueueNames, seatChangesOf } from '@zephyr/contracts';
import { startConsumer, type Broker } from '@zephyr/runtime/messaging';
import { createBatcher, type Logger, type Registry } from '@zephyr/runtime';
import { newestPerSeat, seatStateFrom, type SeatState, type SeatStateStore } from '../../domain/seat-states';

export interface SeatCountsConsumerOptions {
  broker: Broker;
  seatStates: SeatStateStore;
  logger: Logger;
  prefetch?: number;
  batch?: { maxItems: number; maxDelayMs: number };
  registry?: Registry;
}

export interface SeatCountsConsumer {
  close(): Promise<void>;
}

/** Batch messages in hand at once: up to 20 × MAX_SEAT_CHANGE_BATCH changes. */
const PREFETCH_BATCHES = 20;

/**
 * Keeps seat_states current from the relays' seat-changes.batch messages (one delivery per relay turn, not
 * one per change; single seat.* messages left in the queue from before are still read). Changes from many
 * deliveries share one upsert (batcher); a message is acked only after all its changes committed. While
 * PostgreSQL is down startConsumer retries the effect with backoff instead of requeueing, so an outage never
 * pushes good messages over the delivery limit into the DLQ.
 */
export function startSeatCountsConsumer(options: SeatCountsConsumerOptions): SeatCountsConsumer {
  const { broker, seatStates, logger } = options;
  const batcher = createBatcher<SeatState>(
    (states) => seatStates.applyNewer(newestPerSeat(states)),
    options.batch ?? { maxItems: 200, maxDelayMs: 20 },
  );
  const recent = createRecentIds(20_000);

  const consumer = startConsumer({
    broker,
    queue: QueueNames.eventServiceSeatCounts(broker.exchange),
    bindings: [Bindings.seatChangeBatches],
    retiredBindings: [Bindings.allSeatEvents],
    prefetch: options.prefetch ?? PREFETCH_BATCHES,
    logger,
    registry: options.registry,
    async handle(envelope) {
      // Duplicates are harmless (versions only move forward); skipping them just saves a write.
      const changes = seatChangesOf(envelope).filter((change) => !recent.has(change.id));
      await Promise.all(changes.map((change) => batcher.add(seatStateFrom(change.data))));
      for (const change of changes) recent.add(change.id);
    },
  });

  return {
    async close() {
      await consumer.close();
      await batcher.drain().catch(() => undefined);
    },
  };
}
