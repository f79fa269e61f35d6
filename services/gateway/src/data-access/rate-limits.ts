import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RedisClient } from '@zephyr/runtime';

export interface LimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  resetSeconds: number;
}

export interface RateLimit {
  readonly limit: number;
  consume(key: string): Promise<LimitDecision>;
}

/**
 * A fixed-window limit shared by every gateway replica through Redis. If Redis is down the limit falls
 * back to a per-replica in-memory window of the same size (fail open to a bounded rate, never a 500):
 * an outage of the limiter's store must not take the on-sale down with it.
 */
export function createRateLimit(
  redis: RedisClient,
  name: string,
  points: number,
  windowSeconds: number,
): RateLimit | undefined {
  if (points === 0) return undefined;
  const limiter = new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: `gateway:rl:${name}`,
    points,
    duration: windowSeconds,
    insuranceLimiter: new RateLimiterMemory({ keyPrefix: `gateway:rl:${name}:local`, points, duration: windowSeconds }),
  });
  const decide = (res: RateLimiterRes, allowed: boolean): LimitDecision => ({
    allowed,
    limit: points,
    remaining: Math.max(0, res.remainingPoints),
    resetSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
  });
  return {
    limit: points,
    async consume(key) {
      try {
        return decide(await limiter.consume(key), true);
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) return decide(rejection, false);
        throw rejection;
      }
    },
  };
}
