import Redis from 'ioredis';

export { Redis };

export interface RedisOptions {
  keyPrefix?: string;
  name: string;
}

/**
 * Fail-fast Redis client: no offline queue (a request during an outage gets a 503 at once instead of
 * waiting), reconnects forever in the background.
 */
export function createRedis(url: string, options: RedisOptions): Redis {
  return new Redis(url, {
    keyPrefix: options.keyPrefix || undefined,
    connectionName: options.name,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 3000,
    connectTimeout: 3000,
    retryStrategy: (times) => Math.min(times * 100, 1000),
  });
}

/** Waits for the first connection (startup), retrying while Redis is not up yet. */
export async function connectRedis(redis: Redis): Promise<void> {
  for (;;) {
    try {
      if (redis.status === 'wait' || redis.status === 'end') await redis.connect();
      if (redis.status === 'ready') return;
      await new Promise<void>((resolve, reject) => {
        redis.once('ready', resolve);
        redis.once('error', reject);
      });
      return;
    } catch {
      if (redis.status === 'ready') return;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}
