import { connectBroker } from '@zephyr/runtime/messaging';
import {
  authConfigFrom,
  backingChecks,
  closeBacking,
  connectRedis,
  createAppServer,
  createDb,
  createServiceRedis,
  createTokenVerifier,
  keepConnectionsOpen,
  runService,
} from '@zephyr/runtime';
import { createApp } from './app';
import { loadConfig } from './config';
import { createGatewayMetrics } from './metrics';
import { SERVICE_NAME } from './service';
import { createRateLimit } from './data-access/rate-limits';
import { createIdempotencyStore } from './data-access/idempotency-store';
import { createUpstreamProxy } from './entry-points/http/proxy';
import { batchedHolds } from './entry-points/http/hold-batches';
import { createUpgradeHandler } from './entry-points/ws/upgrade';
import { answerClientError, MAX_HEADER_BYTES } from './entry-points/http/client-errors';

/** Time after the upstream timeout for the proxy to report it and the marker to be released. */
const IDEMPOTENCY_MARKER_MARGIN_MS = 1000;

runService({ name: SERVICE_NAME, loadConfig }, async ({ config, logger, metrics, lifecycle, serve }) => {
  const redis = createServiceRedis(config, SERVICE_NAME, logger);
  // Rate limits fall back to memory while Redis is away, so the gateway starts without it.
  void connectRedis(redis);
  const db = createDb(config.DATABASE_URL, { min: 0, max: 1 });
  const broker = connectBroker({ url: config.AMQP_URL, exchange: config.AMQP_EXCHANGE, logger });

  const verifier = createTokenVerifier(authConfigFrom(config));
  const ipLimit = createRateLimit(redis, 'ip', config.RATE_LIMIT_PER_IP, config.RATE_LIMIT_WINDOW_SECONDS);
  const userLimit = createRateLimit(redis, 'user', config.RATE_LIMIT_PER_USER, config.RATE_LIMIT_WINDOW_SECONDS);
  const gatewayMetrics = createGatewayMetrics(metrics.registry);
  // Ready when at least one replica of each upstream answers.
  const upstreamCheck = (urls: string) => async () => {
    await Promise.any(
      urls.split(',').map(async (url) => {
        const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
        await res.body?.cancel();
        if (!res.ok) throw new Error(`${url}: status ${res.status}`);
      }),
    );
  };
  const backing = { database: db, redis, rabbitmq: broker };
  const dependencyChecks = backingChecks(backing);
  const eventProxy = createUpstreamProxy(config.EVENT_SERVICE_URL, logger, config.UPSTREAM_TIMEOUT_MS);
  const seatProxy = createUpstreamProxy(config.SEAT_SERVICE_URL, logger, config.UPSTREAM_TIMEOUT_MS);

  const app = createApp({
    logger,
    metrics,
    verifier,
    ipLimit,
    userLimit,
    rateLimited: gatewayMetrics.rateLimited,
    idempotency: {
      store: createIdempotencyStore(redis),
      // A claim outlives its request only by this margin, so a crashed gateway blocks its key no longer.
      markerTtlMs: config.UPSTREAM_TIMEOUT_MS + IDEMPOTENCY_MARKER_MARGIN_MS,
      outcomes: gatewayMetrics.idempotencyOutcomes,
    },
    trustProxy: config.TRUST_PROXY,
    proxies: { event: eventProxy, seat: seatProxy },
    batchedHolds: config.HOLD_BATCHING
      ? batchedHolds(
          config.SEAT_SERVICE_URL,
          logger,
          config.UPSTREAM_TIMEOUT_MS,
          seatProxy,
          gatewayMetrics.holdBatchSize,
        )
      : undefined,
    dependencyChecks,
    // Ready when the REST upstreams answer; WebSocket availability is the notifier's own readiness.
    readiness: {
      'event-service': upstreamCheck(config.EVENT_SERVICE_URL),
      'seat-service': upstreamCheck(config.SEAT_SERVICE_URL),
    },
    isAcceptingTraffic: lifecycle.isAcceptingTraffic,
  });

  // Bounds against slow or oversized clients: header size, header/request time (checked every
  // connectionsCheckingInterval, so that must be well under the timeouts), idle keep-alive.
  const server = createAppServer(app, {
    maxHeaderSize: MAX_HEADER_BYTES,
    requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(config.HTTP_HEADERS_TIMEOUT_MS / 4))),
  });
  keepConnectionsOpen(server, { headersTimeoutMs: config.HTTP_HEADERS_TIMEOUT_MS });
  server.on(
    'upgrade',
    createUpgradeHandler({
      notifierUrl: config.NOTIFIER_URL,
      verifier,
      ipLimit,
      logger,
      trustProxy: config.TRUST_PROXY,
      maxConnections: config.WS_MAX_CONNECTIONS,
    }),
  );
  server.on('clientError', answerClientError);
  await serve({
    server,
    closeAfter: closeBacking(backing),
  });
});
