import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import {
  connectRedis,
  createLogger,
  createMetrics,
  createRedis,
  createTokenVerifier,
  type ServiceMetrics,
} from '@zephyr/runtime';
import { BACKING, TEST_JWT_SECRET } from '@zephyr/testing';
import { createApp } from '../../src/app';
import { createIdempotencyStore, type IdempotencyStore } from '../../src/data-access/idempotency-store';
import { createGatewayMetrics } from '../../src/metrics';
import { createUpstreamProxy } from '../../src/entry-points/http/proxy';
import { batchedHolds } from '../../src/entry-points/http/hold-batches';

export interface InProcessGateway {
  url: string;
  metrics: ServiceMetrics;
  /** Calls the app made to its idempotency store (the real Redis one), to show the hot path skips it. */
  storeCalls: string[];
  close(): Promise<void>;
}

/** The real store, with each call recorded. */
function recorded(store: IdempotencyStore, calls: string[]): IdempotencyStore {
  return {
    claim: (...args) => (calls.push('claim'), store.claim(...args)),
    complete: (...args) => (calls.push('complete'), store.complete(...args)),
    release: (...args) => (calls.push('release'), store.release(...args)),
  };
}

/**
 * createApp on a real listening server, with both upstreams pointing at `upstreamUrl` and no rate limits;
 * holds are proxied one by one unless `batchedHolds`.
 */
export async function startInProcessGateway(options: {
  upstreamUrl: string;
  redisUrl?: string;
  redisPrefix: string;
  upstreamTimeoutMs: number;
  /** Single-seat holds batched to the upstream, as a deployed gateway does by default (HOLD_BATCHING). */
  batchedHolds?: boolean;
}): Promise<InProcessGateway> {
  const logger = createLogger('gateway', 'silent');
  const metrics = createMetrics('gateway');
  const gatewayMetrics = createGatewayMetrics(metrics.registry);
  const redis = createRedis(options.redisUrl ?? BACKING.redisUrl, {
    clusterNodes: options.redisUrl ? undefined : BACKING.redisClusterNodes,
    keyPrefix: options.redisPrefix,
    name: 'test',
  });
  redis.on('error', () => undefined);
  await connectRedis(redis);
  const storeCalls: string[] = [];
  const proxy = createUpstreamProxy(options.upstreamUrl, logger, options.upstreamTimeoutMs);
  const app = createApp({
    logger,
    metrics,
    verifier: createTokenVerifier({ jwtSecret: TEST_JWT_SECRET }),
    rateLimited: gatewayMetrics.rateLimited,
    idempotency: {
      store: recorded(createIdempotencyStore(redis), storeCalls),
      markerTtlMs: options.upstreamTimeoutMs + 1000,
      outcomes: gatewayMetrics.idempotencyOutcomes,
    },
    proxies: { event: proxy, seat: proxy },
    batchedHolds: options.batchedHolds
      ? batchedHolds(options.upstreamUrl, logger, options.upstreamTimeoutMs, proxy, gatewayMetrics.holdBatchSize)
      : undefined,
    dependencyChecks: {
      database: async () => undefined,
      redis: async () => undefined,
      rabbitmq: async () => undefined,
    },
    readiness: {},
    trustProxy: 0,
  });
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    metrics,
    storeCalls,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      redis.disconnect();
    },
  };
}

/** Sends the bytes as given (for header values fetch would refuse) and returns the answer's status. */
export function rawStatus(url: string, request: string): Promise<number> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1');
    let received = '';
    socket.on('data', (data) => (received += data.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve(Number(received.split(' ')[1])));
    socket.write(request, 'latin1');
  });
}
