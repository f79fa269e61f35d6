import { connectBroker } from '@zephyr/runtime/messaging';
import {
  authConfigFrom,
  closeBacking,
  createAppServer,
  createTokenVerifier,
  keepConnectionsOpen,
  runService,
} from '@zephyr/runtime';
import { createApp } from './app';
import { loadConfig } from './config';
import { createSeatServiceClient } from './data-access/seat-service-client';
import type { ClientSession } from './domain/client-session';
import { createEventDirectory } from './domain/event-directory';
import { SubscriptionHub } from './domain/hub';
import {
  checkConsumerAttached,
  replicaQueue,
  startSeatUpdateConsumer,
} from './entry-points/messaging/seat-update-consumer';
import { attachWebSocketEndpoint } from './entry-points/ws/websocket-endpoint';
import { createNotifierMetrics } from './metrics';
import { SERVICE_NAME } from './service';

/** A subscribe waits on the seat-service; keep it well inside the client's patience. */
const SEAT_SERVICE_TIMEOUT_MS = 3000;

// The metrics are made before the hub they read from; the gauge reads the hub once it exists.
let fanoutBacklog = (): number => 0;

runService(
  {
    name: SERVICE_NAME,
    loadConfig,
    createMetrics: () => createNotifierMetrics({ fanoutBacklog: () => fanoutBacklog() }),
  },
  async ({ config, logger, metrics, lifecycle, serve }) => {
    const verifier = createTokenVerifier(authConfigFrom(config));

    const broker = connectBroker({ url: config.AMQP_URL, exchange: config.AMQP_EXCHANGE, logger });
    const hub = new SubscriptionHub<ClientSession>(
      { batchIntervalMs: config.WS_BATCH_INTERVAL_MS, fanoutSlice: config.WS_FANOUT_SLICE },
      (frames) => metrics.messagesPushed.inc(frames),
    );
    fanoutBacklog = () => hub.stats().fanoutBacklog;
    const events = createEventDirectory(
      createSeatServiceClient({ baseUrl: config.SEAT_SERVICE_URL, timeoutMs: SEAT_SERVICE_TIMEOUT_MS }),
    );
    const queue = replicaQueue(broker, config.NOTIFIER_REPLICA_ID);
    const consumer = startSeatUpdateConsumer({
      broker,
      replicaId: config.NOTIFIER_REPLICA_ID,
      hub,
      logger,
      registry: metrics.registry,
      resyncSpreadMs: config.WS_RESYNC_SPREAD_MS,
      onResync: () => metrics.resyncs.inc(),
    });

    const app = createApp({
      logger,
      metrics,
      readiness: { rabbitmq: () => checkConsumerAttached(broker, queue) },
      isAcceptingTraffic: lifecycle.isAcceptingTraffic,
    });
    const server = createAppServer(app);
    const websockets = attachWebSocketEndpoint({
      server,
      session: { hub, verifier, events, logger },
      metrics,
      logger,
      heartbeatIntervalMs: config.HEARTBEAT_INTERVAL_MS,
      maxBufferedBytes: config.MAX_BUFFERED_BYTES,
      maxConnections: config.WS_MAX_CONNECTIONS,
      isAcceptingTraffic: lifecycle.isAcceptingTraffic,
    });

    keepConnectionsOpen(server);
    await serve({
      server,
      logFields: { replicaId: config.NOTIFIER_REPLICA_ID, queue },
      closeFirst: [
        { name: 'consumer', close: () => consumer.close() },
        { name: 'websockets', close: () => websockets.close() },
      ],
      closeAfter: closeBacking({ rabbitmq: broker }),
    });
  },
);
