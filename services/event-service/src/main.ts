import { connectBroker } from '@zephyr/runtime/messaging';
import {
  createDb,
  createLifecycle,
  createLogger,
  createMetrics,
  createTokenVerifier,
  runMain,
  startOutboxRelay,
  keepConnectionsOpen,
} from '@zephyr/runtime';
import { createApp } from './app';
import { authConfig, loadConfig } from './config';
import { createEventStore } from './data-access/event-store';
import { SCHEMA } from './data-access/schema';
import { createSeatServiceClient } from './data-access/seat-service-client';
import { createSeatStateStore } from './data-access/seat-state-store';
import { createEventsService } from './domain/events';
import { startSeatCountsConsumer } from './entry-points/messaging/seat-counts-consumer';
import { createEventServiceMetrics } from './metrics';
import { runMigrations } from './migrations/run';
import { SERVICE_NAME } from './service';

runMain(async () => {
  const config = loadConfig(process.env);
  const logger = createLogger(SERVICE_NAME, config.LOG_LEVEL);
  const verifier = createTokenVerifier(authConfig(config));
  const metrics = createMetrics(SERVICE_NAME);
  const domainMetrics = createEventServiceMetrics(metrics.registry);
  const lifecycle = createLifecycle(logger, config.SHUTDOWN_DRAIN_MS);

  if (config.MIGRATE_ON_START) await runMigrations(config.DATABASE_URL, logger);

  const db = createDb(config.DATABASE_URL);
  const broker = connectBroker({
    url: config.AMQP_URL,
    exchange: config.AMQP_EXCHANGE,
    logger,
    onUnroutable: () => domainMetrics.amqpUnroutable.inc(),
  });
  const relay = startOutboxRelay({ db, schema: SCHEMA, broker, logger, registry: metrics.registry });
  const seatService = createSeatServiceClient(config.SEAT_SERVICE_URL, logger);
  const seatStates = createSeatStateStore(db);
  const events = createEventsService({
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
    readiness: {
      database: async () => {
        await db.raw('select 1');
      },
      rabbitmq: async () => {
        if (!broker.isConnected()) throw new Error('broker not connected');
      },
    },
  });
  const server = app.listen(config.PORT);
  keepConnectionsOpen(server);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  logger.info({ port: config.PORT }, 'event-service listening');

  lifecycle.onShutdown([
    { name: 'seat counts consumer', close: () => consumer.close() },
    {
      name: 'http server',
      close: () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        }),
    },
    // After HTTP drained, so the last commits get their messages published before we go.
    { name: 'outbox relay', close: () => relay.stop() },
    { name: 'amqp', close: () => broker.close() },
    { name: 'postgres', close: () => db.destroy() },
  ]);
});
