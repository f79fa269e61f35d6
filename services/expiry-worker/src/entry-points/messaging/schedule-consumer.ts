import { Bindings, QueueNames, isSeatEnvelope, startConsumer, type Broker } from '@zephyr/contracts';
import { createBatcher, createRecentIds, type Logger } from '@zephyr/runtime';
import { scheduleChangeFor, type ScheduleChange } from '../../domain/holds';

export interface ScheduleConsumerOptions {
  broker: Broker;
  logger: Logger;
  apply(changes: readonly ScheduleChange[]): Promise<void>;
  prefetch: number;
}

export interface ScheduleConsumer {
  stop(): Promise<void>;
}

const BATCH_DELAY_MS = 5;
const RECENT_IDS = 50_000;

/**
 * Keeps the expiry index in step with seat.* facts. Messages are grouped into one Redis pipeline per
 * batch and acked only once that batch is written; a failed batch is requeued whole.
 */
export function startScheduleConsumer(options: ScheduleConsumerOptions): ScheduleConsumer {
  const { broker, logger } = options;
  const batcher = createBatcher<ScheduleChange>((changes) => options.apply(changes), {
    maxItems: options.prefetch,
    maxDelayMs: BATCH_DELAY_MS,
  });
  // Effects are idempotent already; this only saves Redis round trips on redeliveries.
  const recent = createRecentIds(RECENT_IDS);

  const consumer = startConsumer({
    broker,
    queue: QueueNames.expiryWorkerSchedule(broker.exchange),
    bindings: [Bindings.allSeatEvents],
    prefetch: options.prefetch,
    logger,
    async handle(envelope) {
      if (!isSeatEnvelope(envelope) || recent.has(envelope.id)) return;
      const change = scheduleChangeFor(envelope);
      if (change.kind === 'ignore') {
        logger.warn({ id: envelope.id, reason: change.reason }, 'seat message ignored');
        return;
      }
      await batcher.add(change);
      recent.add(envelope.id);
    },
  });

  return {
    async stop() {
      await consumer.close();
      await batcher.drain();
    },
  };
}
