import { connectBroker } from '@zephyr/runtime/messaging';
import { backingChecks, closeBacking, connectServiceRedis, runService } from '@zephyr/runtime';
import { createApp } from './app';
import { loadConfig } from './config';
import { SERVICE_NAME } from './service';
import { createExpiryIndex } from './data-access/expiry-index';
import { createSeatServiceClient } from './data-access/seat-service-client';
import { startExpiryLoop } from './domain/expiry-loop';
import { startScheduleConsumer } from './entry-points/messaging/schedule-consumer';
import { createExpiryMetrics } from './metrics';

const SEAT_SERVICE_TIMEOUT_MS = 5000;

runService({ name: SERVICE_NAME, loadConfig }, async ({ config, logger, metrics, lifecycle, serve }) => {
  const redis = await connectServiceRedis(config, SERVICE_NAME, logger, 'warn');
  const broker = connectBroker({ url: config.AMQP_URL, exchange: config.AMQP_EXCHANGE, logger });

  const index = createExpiryIndex(redis);
  const expiryMetrics = createExpiryMetrics(metrics.registry, () => index.counts());
  // The call must end well before its lease does, or another replica could take the batch over mid-call.
  const seatService = createSeatServiceClient({
    baseUrl: config.SEAT_SERVICE_URL,
    timeoutMs: Math.min(SEAT_SERVICE_TIMEOUT_MS, Math.floor(config.EXPIRY_LEASE_MS / 2)),
  });

  const loop = startExpiryLoop({
    index,
    expirer: seatService,
    logger,
    batchSize: config.EXPIRY_BATCH_SIZE,
    pollMs: config.EXPIRY_POLL_MS,
    leaseMs: config.EXPIRY_LEASE_MS,
    onExpired: (lagSeconds) => expiryMetrics.observeExpired(lagSeconds),
  });
  const consumer = startScheduleConsumer({
    broker,
    logger,
    apply: (changes) => index.apply(changes),
    prefetch: 20,
    registry: metrics.registry,
  });

  const app = createApp({
    logger,
    metrics,
    isAcceptingTraffic: lifecycle.isAcceptingTraffic,
    readiness: backingChecks({ redis, rabbitmq: broker }),
  });
  await serve({
    server: app,
    logFields: { exchange: config.AMQP_EXCHANGE },
    closeFirst: [
      { name: 'schedule consumer', close: () => consumer.stop() },
      { name: 'expiry loop', close: () => loop.stop() },
    ],
    closeAfter: [
      { name: 'seat-service client', close: () => seatService.close() },
      ...closeBacking({ rabbitmq: broker, redis }),
    ],
  });
});
