import { Bindings, createRecentIds, isSeatEnvelope, QueueNames } from '@zephyr/contracts';
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

/**
 * Keeps seat_states current from seat.* messages. Many deliveries share one upsert (batcher); a message is
 * acked only after its batch committed. While PostgreSQL is down startConsumer retries the effect with
 * backoff instead of requeueing, so an outage never pushes good messages over the delivery limit into the DLQ.
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
    bindings: [Bindings.allSeatEvents],
    prefetch: options.prefetch ?? 500,
    logger,
    registry: options.registry,
    async handle(envelope) {
      // Duplicates are harmless (versions only move forward); skipping them just saves a write.
      if (recent.has(envelope.id) || !isSeatEnvelope(envelope)) return;
      await batcher.add(seatStateFrom(envelope.data));
      recent.add(envelope.id);
    },
  });

  return {
    async close() {
      await consumer.close();
      await batcher.drain().catch(() => undefined);
    },
  };
}
