import type { Socket } from 'node:net';
import Redis, { Cluster, type ChainableCommander, type ClusterNode } from 'ioredis';
import { coalesceSocketWrites } from './socket-writes';

export { Redis, Cluster };

/** Either client: every Redis user in Zephyr works on a single node and on Redis Cluster. */
export type RedisClient = Redis | Cluster;

export interface RedisOptions {
  keyPrefix?: string;
  name: string;
  /**
   * Redis Cluster seed nodes as `host:port,host:port` (REDIS_CLUSTER_NODES). When given, a Cluster client is
   * returned; the URL then only contributes credentials and TLS (`rediss:`), which apply to every node.
   */
  clusterNodes?: string;
}

/** Parses `host:port,host:port` (the REDIS_CLUSTER_NODES form); an empty string gives no nodes. */
export function parseClusterNodes(list: string | undefined): ClusterNode[] {
  if (!list) return [];
  return list
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const at = entry.lastIndexOf(':');
      const host = entry.slice(0, at).replace(/^\[(.*)\]$/, '$1');
      const port = Number(entry.slice(at + 1));
      if (at <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
        throw new Error(`REDIS_CLUSTER_NODES: '${entry}' is not host:port`);
      }
      return { host, port };
    });
}

const FAIL_FAST = {
  maxRetriesPerRequest: 1,
  commandTimeout: 3000,
  connectTimeout: 3000,
} as const;

// Reconnect forever, backing off to one attempt a second.
const reconnectDelay = (times: number): number => Math.min(times * 100, 1000);

/**
 * Fail-fast Redis client: no offline queue (a request during an outage gets a 503 at once instead of
 * waiting), reconnects forever in the background. With cluster nodes it is an ioredis Cluster with the
 * same behaviour; a failover shows as a short run of failed commands (503s), never as queued ones.
 */
export function createRedis(url: string, options: RedisOptions): RedisClient {
  const nodes = parseClusterNodes(options.clusterNodes);
  if (nodes.length === 0) {
    return coalesceWrites(
      new Redis(url, {
        keyPrefix: options.keyPrefix || undefined,
        connectionName: options.name,
        lazyConnect: true,
        enableOfflineQueue: false,
        retryStrategy: reconnectDelay,
        ...FAIL_FAST,
      }),
    );
  }
  const parsed = new URL(url);
  const cluster = new Cluster(nodes, {
    keyPrefix: options.keyPrefix || undefined,
    lazyConnect: true,
    enableOfflineQueue: false,
    clusterRetryStrategy: reconnectDelay,
    // MOVED/ASK and a promotion in progress (CLUSTERDOWN, TRYAGAIN) are retried by the client within its
    // per-request budget; a dead master's commands fail until its replica is promoted.
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: 2000,
    redisOptions: {
      connectionName: options.name,
      username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
      password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
      tls: parsed.protocol === 'rediss:' ? {} : undefined,
      ...FAIL_FAST,
    },
  });
  // Each node's connection coalesces its own writes, as a single-node client does.
  cluster.on('+node', (node: Redis) => coalesceWrites(node));
  return cluster;
}

/**
 * The commands a client writes during one pass of the event loop leave in one system call: its socket is
 * corked at the pass's first write and uncorked once the pass's I/O callbacks ran (setImmediate). Under load
 * a service issues many commands per pass (one script per request), and each used to be its own write
 * (the seat-service's largest cost, docs/performance.md). Commands and replies keep their order; nothing
 * waits longer than the rest of the pass. ioredis's own auto-pipelining was measured slower.
 */
export function coalesceWrites(redis: Redis): Redis {
  redis.on('connect', () => coalesceSocketWrites((redis as unknown as { stream: Socket }).stream, setImmediate));
  return redis;
}

/** Commands added to a SlotPipeline, run together; replies come back in the order the commands were added. */
export interface SlotPipeline {
  /** Adds one command whose keys all carry hash tag `tag` (an event id for `seat:{<event id>}:…`). */
  add(tag: string, command: (pipeline: ChainableCommander) => unknown): void;
  readonly length: number;
  /** One [error, reply] per command; one failed shard fails only its own commands. */
  exec(): Promise<[Error | null, unknown][]>;
}

/**
 * A pipeline over many hash tags that works on both clients: one pipeline on a single Redis, one per tag
 * on a Cluster, because ioredis refuses a pipeline whose keys live on different shards. The Cluster's
 * per-tag pipelines still leave in one write per node (coalesceWrites).
 */
export function createSlotPipeline(redis: RedisClient): SlotPipeline {
  const perTag = redis instanceof Cluster;
  const pipelines = new Map<string, ChainableCommander>();
  const order: { group: string; index: number }[] = [];
  return {
    add(tag, command) {
      const group = perTag ? tag : '';
      let pipeline = pipelines.get(group);
      if (!pipeline) pipelines.set(group, (pipeline = redis.pipeline()));
      const index = pipeline.length;
      command(pipeline);
      if (pipeline.length !== index + 1) throw new Error('SlotPipeline.add takes exactly one command');
      order.push({ group, index });
    },
    get length() {
      return order.length;
    },
    async exec() {
      const replies = new Map<string, [Error | null, unknown][]>();
      await Promise.all(
        [...pipelines].map(async ([group, pipeline]) => {
          const failAll = (err: Error) => Array.from({ length: pipeline.length }, () => [err, null]);
          replies.set(group, (await pipeline.exec().then((r) => r ?? [], failAll)) as [Error | null, unknown][]);
        }),
      );
      return order.map(({ group, index }) => replies.get(group)?.[index] ?? [new Error('no reply'), null]);
    },
  };
}

/** Waits for the first connection (startup), retrying while Redis is not up yet. */
export async function connectRedis(redis: RedisClient): Promise<void> {
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
