import { Bindings, QueueNames, isEventEnvelope } from '@zephyr/contracts';
import { startConsumer, type Broker } from '@zephyr/runtime/messaging';
import type { Logger, Registry } from '@zephyr/runtime';
import type { EventDirectory } from '../../data-access/event-directory';

/** The durable path for event config changes (the event-service's direct push is only the fast path). */
export function startEventConfigConsumer(
  broker: Broker,
  directory: EventDirectory,
  logger: Logger,
  registry?: Registry,
) {
  return startConsumer({
    broker,
    queue: QueueNames.seatServiceEventConfig(broker.exchange),
    bindings: [Bindings.allEventEvents],
    prefetch: 50,
    logger,
    registry,
    // Applying a revision is idempotent (older or equal revisions change nothing), so redeliveries are safe.
    handle: async (envelope) => {
      if (isEventEnvelope(envelope)) await directory.apply(envelope.data);
    },
  });
}
