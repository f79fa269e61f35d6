import { Counter, type Registry } from '@zephyr/runtime';

export interface GatewayMetrics {
  rateLimited: Counter<'limiter'>;
  idempotencyOutcomes: Counter<'outcome'>;
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
  };
}
