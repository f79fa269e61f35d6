import { randomBytes } from 'node:crypto';
import { connectRedis, createRedis, type RedisClient } from '@zephyr/runtime';
import { BACKING } from './backing';
import { deleteRedisKeys } from './index';

/** A Redis client under a key prefix of the file's own, readable once the fixture's beforeAll has run. */
export interface RedisFixture {
  readonly client: RedisClient;
  readonly prefix: string;
}

/**
 * One jest file's Redis, for tests of code that talks to Redis without a service process: connected in a
 * beforeAll; its keys deleted and the client closed in an afterAll registered where this is called.
 */
export function useTestRedis(label: string): RedisFixture {
  const prefix = `zt:${label}_${randomBytes(4).toString('hex')}:`;
  let client: RedisClient | undefined;

  beforeAll(async () => {
    client = createRedis(BACKING.redisUrl, {
      clusterNodes: BACKING.redisClusterNodes,
      keyPrefix: prefix,
      name: 'test',
    });
    await connectRedis(client);
  });

  afterAll(async () => {
    await client?.quit();
    await deleteRedisKeys(prefix);
  });

  return {
    get client() {
      if (!client) throw new Error(`useTestRedis('${label}') is read before its beforeAll ran`);
      return client;
    },
    prefix,
  };
}
