import { QueueNames } from '@zephyr/contracts';
import { connectBroker, retireQueues } from '@zephyr/runtime/messaging';
import {
  authConfigFrom,
  backingChecks,
  closeBacking,
  createTokenVerifier,
  openServiceDatabase,
  runService,
  startOutboxRelay,
} from '@zephyr/runtime';
import { createApp } from './app';
import { loadConfig } from './config';
import { createEventStore } from './data-access/event-store';
import { SCHEMA } from './data-access/schema';
import { createSeatServiceClient } from './data-access/seat-service-client';
import { cacheSeatCounts } from './data-access/seat-counts-cache';
import { createEventsService } from './domain/events';
import { createEventServiceMetrics } from './metrics';
import { migrations } from './migrations';
import { SERVICE_NAME } from './service';

/** Well inside SPEC's "counts may lag writes by at most 1 s", with the read's own time on top. */
const SEAT_COUNTS_FRESH_MS = 250;

runService({ name: SERVICE_NAME, loadConfig }, async ({ config, logger, metrics, lifecycle, serve }) => {
  const verifier = createTokenVerifier(authConfigFrom(config));
  const domainMetrics = createEventServiceMetrics(metrics.registry);

  const db = await openServiceDatabase(config, { schema: SCHEMA, migrations, logger });
  const broker = connectBroker({
    url: config.AMQP_URL,
    exchange: config.AMQP_EXCHANGE,
    logger,
    registry: metrics.registry,
  });
  const relay = startOutboxRelay({ db, schema: SCHEMA, broker, logger, registry: metrics.registry });
  const seatService = createSeatServiceClient(config.SEAT_SERVICE_URL, logger);
  const events = createEventsService({
    producer: SERVICE_NAME,
    store: createEventStore(db),
    seatCounts: cacheSeatCounts((eventId, requestId) => seatService.seatCounts(eventId, requestId), {
      freshMs: SEAT_COUNTS_FRESH_MS,
      maxEvents: 10_000,
    }),
    async afterCommit(event, requestId) {
      relay.kick();
      await seatService.pushEvent(event, requestId);
    },
  });
  // The seat counts' queue of earlier builds: the counts are now read from the seat-service.
  const retired = retireQueues(broker, [QueueNames.eventServiceSeatCounts(config.AMQP_EXCHANGE)]);

  const app = createApp({
    logger,
    metrics,
    domainMetrics,
    events,
    verifier,
    isAcceptingTraffic: lifecycle.isAcceptingTraffic,
    readiness: backingChecks({ database: db, rabbitmq: broker }),
  });
  await serve({
    server: app,
    closeAfter: [
      // After HTTP drained, so the last commits get their messages published before we go.
      { name: 'outbox relay', close: () => relay.stop() },
      { name: 'retired queues', close: () => retired.stop() },
      ...closeBacking({ rabbitmq: broker, database: db }),
    ],
  });
});
