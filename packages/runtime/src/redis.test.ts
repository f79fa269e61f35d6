import { Cluster, createRedis, parseClusterNodes, Redis } from './redis';
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
