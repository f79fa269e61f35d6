import { Bindings, createRecentIds, QueueNames, seatChangesOf, type SeatEnvelope } from '@zephyr/contracts';
import { startConsumer, type Broker } from '@zephyr/runtime/messaging';
import { createBatcher, type Logger, type Registry } from '@zephyr/runtime';
import { scheduleChangeFor, type ScheduleChange } from '../../domain/holds';

export interface ScheduleConsumerOptions {
  broker: Broker;
  logger: Logger;
  apply(changes: readonly ScheduleChange[]): Promise<void>;
  /** Messages in hand at once; a batch message carries up to MAX_SEAT_CHANGE_BATCH changes. */
  prefetch: number;
  registry?: Registry;
}

export interface ScheduleConsumer {
  /** Stops taking messages, finishes (and acks) the ones in hand, then closes the channel. */
  stop(): Promise<void>;
}

const BATCH_DELAY_MS = 5;
const CHANGES_PER_PIPELINE = 500;
/**
 * RabbitMQ (seen on 3.10) may still hold a burst of acks for a quorum queue when the channel closes,
 * and then hands those messages out again; a short pause after the last ack lets it apply them.
 */
const ACK_SETTLE_MS = 500;
const RECENT_IDS = 50_000;

/**
 * Keeps the expiry index in step with seat facts, taken from the relays' seat-changes.batch messages (one
 * delivery per relay turn; single seat.* messages left in the queue from before are still read). Changes
 * are grouped into one Redis pipeline per batch and a message is acked only once all its changes are written.
 */
export function startScheduleConsumer(options: ScheduleConsumerOptions): ScheduleConsumer {
  const { broker, logger } = options;
  const batcher = createBatcher<ScheduleChange>((changes) => options.apply(changes), {
    maxItems: CHANGES_PER_PIPELINE,
    maxDelayMs: BATCH_DELAY_MS,
  });
  // Effects are idempotent already; this only saves Redis round trips on redeliveries.
  const recent = createRecentIds(RECENT_IDS);
  const inHand = new Set<Promise<void>>();
  let stopping = false;
  let lastHandledAt = 0;

  const schedule = async (envelope: SeatEnvelope): Promise<void> => {
    if (recent.has(envelope.id)) return;
    const change = scheduleChangeFor(envelope);
    if (change.kind === 'ignore') {
      logger.warn({ id: envelope.id, reason: change.reason }, 'seat message ignored');
      return;
    }
    const written = batcher.add(change);
    inHand.add(written);
    try {
      await written;
    } finally {
      inHand.delete(written);
    }
    recent.add(envelope.id);
  };

  const consumer = startConsumer({
    broker,
    queue: QueueNames.expiryWorkerSchedule(broker.exchange),
    bindings: [Bindings.seatChangeBatches],
    retiredBindings: [Bindings.allSeatEvents],
    prefetch: options.prefetch,
    logger,
    registry: options.registry,
    async handle(envelope) {
      if (stopping) {
        // Neither ack nor requeue now (that would spin the message through this channel): left pending,
        // it goes back to the queue unacked when the channel closes.
        await new Promise<never>(() => undefined);
      }
      try {
        await Promise.all(seatChangesOf(envelope).map(schedule));
      } finally {
        lastHandledAt = Date.now();
      }
    },
  });

  return {
    async stop() {
      stopping = true;
      // Closing the channel before these acks are out (and applied) hands written messages out again.
      await batcher.drain();
      await Promise.allSettled([...inHand]);
      const settleFor = lastHandledAt + ACK_SETTLE_MS - Date.now();
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, settleFor)));
      await consumer.close();
    },
  };
}
