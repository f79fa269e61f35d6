import { Redlock } from '@sesamecare-oss/redlock';
import { DependencyUnavailableError, type RedisClient } from '@zephyr/runtime';
import type { SeatLocks } from '../domain/ports';
import { seatKeys } from './seat-store';

/**
 * Redlock on the seat-service's Redis. The lock only narrows the window in which two commits of the same
 * seat race; correctness rests on the Redis state machine and the PostgreSQL primary key. Contention that
 * outlasts the retries becomes a clean 503, never a 500.
 */
export function createSeatLocks(redis: RedisClient): SeatLocks {
  const redlock = new Redlock([redis], {
    retryCount: 40,
    retryDelay: 25,
    retryJitter: 25,
    automaticExtensionThreshold: 500,
  });
  return {
    async acquire(eventId, seatNumbers, ttlMs) {
      const keys = seatNumbers.map((n) => seatKeys.lock(eventId, n));
      let lock;
      try {
        lock = await redlock.acquire(keys, ttlMs);
      } catch (err) {
        throw new DependencyUnavailableError(`seat lock unavailable: ${(err as Error).message}`);
      }
      return async () => {
        await lock.release().catch(() => undefined);
      };
    },
  };
}
