import { Cluster, connectRedis, createRedis, createSlotPipeline, type RedisClient } from '@zephyr/runtime';
import { startRedisCluster, type LocalRedisCluster } from '@zephyr/testing';

/**
 * The local cluster the TEST_REDIS_CLUSTER runs use, and the runtime's cluster client on it: keyPrefix,
 * defineCommand scripts and a master failover.
 */
let cluster: LocalRedisCluster;
let redis: RedisClient;

beforeAll(async () => {
  cluster = await startRedisCluster();
  redis = createRedis('redis://127.0.0.1:6379', {
    name: 'cluster-test',
    keyPrefix: 'zt:c:',
    clusterNodes: cluster.nodes,
  });
  await connectRedis(redis);
}, 90_000);

afterAll(async () => {
  await redis?.quit().catch(() => undefined);
  redis?.disconnect();
  await cluster?.stop();
});

const bump = (client: RedisClient, key: string) =>
  (client as RedisClient & { zephyrBump(key: string): Promise<number> }).zephyrBump(key);

it('returns a Cluster client that prefixes keys and runs scripts on every shard, through a master failover', async () => {
  expect(redis).toBeInstanceOf(Cluster);
  redis.defineCommand('zephyrBump', { numberOfKeys: 1, lua: "return redis.call('INCR', KEYS[1])" });
  // Keys spread over all three masters (different hash tags land in different slots).
  const keys = Array.from({ length: 30 }, (_, i) => `k:{${i}}`);
  for (const key of keys) expect(await bump(redis, key)).toBe(1);
  const nodeWith = new Set(await Promise.all(keys.map((k) => (redis as Cluster).cluster('KEYSLOT', `zt:c:${k}`))));
  expect(nodeWith.size).toBeGreaterThan(3);

  // Replication is asynchronous: make sure every master's writes reached its replica before killing one.
  await Promise.all((redis as Cluster).nodes('master').map((node) => node.call('WAIT', 1, 5000)));
  const { killed, promoted } = await cluster.killMaster();
  expect(promoted).not.toBe(killed);
  // The client finds the promoted replica; every key kept its value.
  const values = await Promise.all(
    keys.map(async (key) => {
      for (;;) {
        try {
          return await bump(redis, key);
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    }),
  );
  expect(values.every((v) => v === 2)).toBe(true);
}, 90_000);

it('runs one slot pipeline over keys on every shard and answers in the order the commands were added', async () => {
  const tags = Array.from({ length: 30 }, (_, i) => `p${i}`);
  const setUp = createSlotPipeline(redis);
  for (const tag of tags) setUp.add(tag, (p) => p.set(`v:{${tag}}`, tag));
  expect((await setUp.exec()).every(([err, reply]) => err === null && reply === 'OK')).toBe(true);

  const read = createSlotPipeline(redis);
  for (const tag of [...tags].reverse()) {
    read.add(tag, (p) => p.get(`v:{${tag}}`));
    read.add(tag, (p) => p.strlen(`v:{${tag}}`));
  }
  expect(read.length).toBe(60);
  expect(await read.exec()).toEqual(
    [...tags].reverse().flatMap((tag) => [
      [null, tag],
      [null, tag.length],
    ]),
  );
  // A plain ioredis pipeline over the same keys is refused: the reason the relay uses slot pipelines.
  const plain = redis.pipeline();
  for (const tag of tags) plain.get(`v:{${tag}}`);
  await expect(plain.exec()).rejects.toThrow('same slots allocation group');
});
