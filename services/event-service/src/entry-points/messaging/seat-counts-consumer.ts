import { Bindings, QueueNames, isSeatEnvelope } from '@zephyr/contracts';
import { startConsumer, type Broker } from '@zephyr/runtime/messaging';
import { createBatcher, createRecentIds, isDependencyFailure, type Logger } from '@zephyr/runtime';
import { newestPerSeat, seatStateFrom, type SeatState, type SeatStateStore } from '../../domain/seat-states';

export interface SeatCountsConsumerOptions {
  broker: Broker;
  seatStates: SeatStateStore;
  logger: Logger;
  prefetch?: number;
  batch?: { maxItems: number; maxDelayMs: number };
}

export interface SeatCountsConsumer {
  close(): Promise<void>;
}

const DEPENDENCY_RETRY_MS = 1000;

/**
 * Keeps seat_states current from seat.* messages. Many deliveries share one upsert (batcher); a message is
 * acked only after its batch committed. While PostgreSQL is down the effect is retried here instead of being
 * requeued, so an outage never pushes good messages over the delivery limit into the DLQ.
 */
export function startSeatCountsConsumer(options: SeatCountsConsumerOptions): SeatCountsConsumer {
  const { broker, seatStates, logger } = options;
  const batcher = createBatcher<SeatState>(
    (states) => seatStates.applyNewer(newestPerSeat(states)),
    options.batch ?? { maxItems: 200, maxDelayMs: 20 },
  );
  const recent = createRecentIds(20_000);
  let closing = false;

  const apply = async (state: SeatState): Promise<void> => {
    for (;;) {
      try {
        return await batcher.add(state);
      } catch (err) {
        if (closing || !isDependencyFailure(err)) throw err;
        logger.warn({ err: (err as Error).message }, 'seat counts store unavailable; retrying');
        await new Promise((resolve) => setTimeout(resolve, DEPENDENCY_RETRY_MS));
      }
    }
  };

  const consumer = startConsumer({
    broker,
    queue: QueueNames.eventServiceSeatCounts(broker.exchange),
    bindings: [Bindings.allSeatEvents],
    prefetch: options.prefetch ?? 500,
    logger,
    async handle(envelope) {
      // Duplicates are harmless (versions only move forward); skipping them just saves a write.
      if (recent.has(envelope.id) || !isSeatEnvelope(envelope)) return;
      await apply(seatStateFrom(envelope.data));
      recent.add(envelope.id);
    },
  });

  return {
    async close() {
      closing = true;
      await consumer.close();
      await batcher.drain().catch(() => undefined);
    },
  };
}
