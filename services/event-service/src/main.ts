import { connectBroker } from '@zephyr/runtime/messaging';
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
import { createSeatStateStore } from './data-access/seat-state-store';
import { createEventsService } from './domain/events';
import { startSeatCountsConsumer } from './entry-points/messaging/seat-counts-consumer';
import { createEventServiceMetrics } from './metrics';
import { migrations } from './migrations';
import { SERVICE_NAME } from './service';

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
  const seatStates = createSeatStateStore(db);
  const events = createEventsService({
    producer: SERVICE_NAME,
    store: createEventStore(db),
    seatStates,
    async afterCommit(event, requestId) {
      relay.kick();
      await seatService.pushEvent(event, requestId);
    },
  });
  const consumer = startSeatCountsConsumer({ broker, seatStates, logger, registry: metrics.registry });

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
    closeFirst: [{ name: 'seat counts consumer', close: () => consumer.close() }],
    closeAfter: [
      // After HTTP drained, so the last commits get their messages published before we go.
      { name: 'outbox relay', close: () => relay.stop() },
      ...closeBacking({ rabbitmq: broker, database: db }),
    ],
  });
});
