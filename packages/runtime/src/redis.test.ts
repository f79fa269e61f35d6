import type { Socket } from 'node:net';
import { BACKING, countSocketWrites } from '@zephyr/testing';
import { Cluster, connectRedis, createRedis, parseClusterNodes, Redis } from './redis';
import { envRules } from './config';

describe('parseClusterNodes', () => {
  it('reads host:port lists, IPv6 in brackets included, and treats empty as no cluster', () => {
    expect(parseClusterNodes('10.0.0.1:7000, redis-1.internal:7001,[::1]:7002')).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: 'redis-1.internal', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
    expect(parseClusterNodes('')).toEqual([]);
    expect(parseClusterNodes(undefined)).toEqual([]);
  });

  it('refuses an entry without a usable port', () => {
    expect(() => parseClusterNodes('10.0.0.1')).toThrow(/not host:port/);
    expect(() => parseClusterNodes('10.0.0.1:0')).toThrow(/not host:port/);
    expect(() => parseClusterNodes('h:70000')).toThrow(/not host:port/);
  });
});

describe('createRedis', () => {
  it('gives a single-node client without cluster nodes and a Cluster client with them (neither connects yet)', () => {
    const single = createRedis('redis://127.0.0.1:6379', { name: 't', keyPrefix: 'p:' });
    const cluster = createRedis('redis://user:secret@127.0.0.1:6379', {
      name: 't',
      keyPrefix: 'p:',
      clusterNodes: '127.0.0.1:7000,127.0.0.1:7001',
    });
    try {
      expect(single).toBeInstanceOf(Redis);
      expect(single.status).toBe('wait');
      expect(cluster).toBeInstanceOf(Cluster);
      expect(cluster.status).toBe('wait');
      const options = (cluster as Cluster).options;
      expect(options.keyPrefix).toBe('p:');
      expect(options.enableOfflineQueue).toBe(false);
      expect(options.redisOptions).toMatchObject({ password: 'secret', username: 'user', commandTimeout: 3000 });
    } finally {
      single.disconnect();
      cluster.disconnect();
    }
  });
});

describe('coalesced writes (real Redis)', () => {
  const countWrites = (redis: Redis) => countSocketWrites((redis as unknown as { stream: Socket }).stream);

  it('sends the commands of one event-loop pass in one write, answers each in order, and flushes every pass', async () => {
    const prefix = `coalesce:${process.pid}:${Date.now()}:`;
    const redis = createRedis(BACKING.redisUrl, { name: 'coalesce-test', keyPrefix: prefix }) as Redis;
    try {
      await connectRedis(redis);
      const counted = countWrites(redis);
      const replies = await Promise.all(
        Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? redis.set(`k${i}`, String(i)) : redis.get(`k${i - 1}`))),
      );
      expect(replies).toEqual(Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? 'OK' : String(i - 1))));
      expect(counted.writes).toEqual([50]);

      // A command issued from a setImmediate callback (after the pass's flush was scheduled) still leaves.
      const late = await new Promise<string | null>((resolve, reject) =>
        setImmediate(() => redis.get('k0').then(resolve, reject)),
      );
      expect(late).toBe('0');
      // And from a timer, with the loop otherwise idle.
      const timed = await new Promise<string | null>((resolve, reject) =>
        setTimeout(() => redis.get('k2').then(resolve, reject), 5),
      );
      expect(timed).toBe('2');
      expect(counted.writes).toEqual([50, 1, 1]);
    } finally {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys.map((key) => key.slice(prefix.length)));
      await redis.quit();
    }
  });

  it('keeps coalescing after a reconnect (a new socket)', async () => {
    const redis = createRedis(BACKING.redisUrl, { name: 'coalesce-test' }) as Redis;
    try {
      await connectRedis(redis);
      const first = (redis as unknown as { stream: Socket }).stream;
      redis.disconnect(true);
      await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
      expect((redis as unknown as { stream: Socket }).stream).not.toBe(first);
      const counted = countWrites(redis);
      await Promise.all(Array.from({ length: 10 }, () => redis.ping()));
      expect(counted.writes).toEqual([10]);
    } finally {
      await redis.quit();
    }
  });
});

describe('envRules.redisClusterNodes', () => {
  const rule = envRules.redisClusterNodes();
  it('accepts empty and host:port lists, refuses anything else', () => {
    expect(rule.validate('').error).toBeUndefined();
    expect(rule.validate('a:1,b.c:6379').error).toBeUndefined();
    expect(rule.validate('redis://a:1').error).toBeDefined();
    expect(rule.validate('a:1, b:2').error).toBeDefined();
    expect(rule.validate('a').error).toBeDefined();
    expect(rule.validate('[::1]:7000,10.0.0.1:7001').error).toBeUndefined();
  });
});
