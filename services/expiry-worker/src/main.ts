import { runService } from '@zephyr/runtime';
import { createApp } from './app';
import { loadConfig } from './config';
import { SERVICE_NAME } from './service';
import { createSeatServiceClient } from './data-access/seat-service-client';
import { startExpiryLoop } from './entry-points/jobs/expiry-loop';
import { createExpiryMetrics } from './metrics';

const SEAT_SERVICE_TIMEOUT_MS = 5000;

runService({ name: SERVICE_NAME, loadConfig }, async ({ config, logger, metrics, lifecycle, serve }) => {
  // The schedule is the seat-service's (its relay keeps it with every seat change); this worker only
  // drives it: claim what is due, expire it through the seat rules, settle.
  // The call must end well before its lease does, or another replica could take the batch over mid-call.
  const seatService = createSeatServiceClient({
    baseUrl: config.SEAT_SERVICE_URL,
    timeoutMs: Math.min(SEAT_SERVICE_TIMEOUT_MS, Math.floor(config.EXPIRY_LEASE_MS / 2)),
  });
  const expiryMetrics = createExpiryMetrics(metrics.registry, () => seatService.counts());

  const loop = startExpiryLoop({
    index: seatService,
    expirer: seatService,
    logger,
    batchSize: config.EXPIRY_BATCH_SIZE,
    pollMs: config.EXPIRY_POLL_MS,
    leaseMs: config.EXPIRY_LEASE_MS,
    onExpired: (lagSeconds) => expiryMetrics.observeExpired(lagSeconds),
  });

  const app = createApp({
    logger,
    metrics,
    isAcceptingTraffic: lifecycle.isAcceptingTraffic,
    // Ready when the seat-service, the worker's one dependency, answers.
    readiness: { 'seat-service': async () => void (await seatService.counts()) },
  });
  await serve({
    server: app,
    closeFirst: [{ name: 'expiry loop', close: () => loop.stop() }],
    closeAfter: [{ name: 'seat-service client', close: () => seatService.close() }],
  });
});
