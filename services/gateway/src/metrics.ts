import { Counter, Histogram, type Registry } from '@zephyr/runtime';

export interface GatewayMetrics {
  rateLimited: Counter<'limiter'>;
  idempotencyOutcomes: Counter<'outcome'>;
  /** Holds per batch sent to the seat-service (HOLD_BATCHING): how much the batching saves under the load. */
  holdBatchSize: Histogram;
}

/** Domain counters on top of the RED metrics runService already records. */
export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  return {
    rateLimited: new Counter({
      name: 'zephyr_rate_limited_total',
      help: 'Requests refused by a rate limit',
      labelNames: ['limiter'] as const,
      registers: [registry],
    }),
    idempotencyOutcomes: new Counter({
      name: 'zephyr_idempotency_total',
      help: 'Idempotency-Key requests by outcome: replayed, reused, in_flight, stored, not_kept',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    holdBatchSize: new Histogram({
      name: 'zephyr_hold_batch_size',
      help: 'Single-seat holds per batched request to the seat-service',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers: [registry],
    }),
  };
}
