import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import WebSocket from 'ws';
import amqp from 'amqplib';
import { mintToken, Redis } from '@zephyr/runtime';
import { QueueNames, serviceNodeArgs } from '@zephyr/contracts';

import { BACKING, raceRounds } from './backing';
import type { BackingUrls } from './private-backing';

export { BACKING, raceRounds };
export * from './messaging';
export * from './fake-http';
export * from './socket-writes';

export const TEST_JWT_SECRET = 'test-secret-that-is-at-least-32-characters-long';
export const REPO_ROOT = path.resolve(__dirname, '../../..');

/** Everything one test file needs to be isolated: its own database, Redis prefix and exchange. */
export interface Isolation {
  id: string;
  databaseUrl: string;
  redisPrefix: string;
  exchange: string;
  env: Record<string, string>;
  /** Queues this isolation's processes declared beyond the fixed service queues (notifier replicas). */
  queues: Set<string>;
  cleanup(): Promise<void>;
}

/** Deletes the isolation's exchange and every queue that derives from it (quorum queues are not free). */
export async function deleteBrokerObjects(
  exchange: string,
  extraQueues: Iterable<string>,
  amqpUrl: string = BACKING.amqpUrl,
): Promise<void> {
  const queues = [
    QueueNames.eventServiceSeatCounts(exchange),
    QueueNames.seatServiceEventConfig(exchange),
    QueueNames.expiryWorkerSchedule(exchange),
    QueueNames.notifierReplicasDeadLetter(exchange),
    ...extraQueues,
  ];
  const connection = await amqp.connect(amqpUrl).catch(() => undefined);
  if (!connection) return;
  try {
    for (const queue of queues) {
      for (const name of [queue, QueueNames.deadLetter(queue)]) {
        const channel = await connection.createChannel();
        await channel.deleteQueue(name).catch(() => undefined);
        await channel.close().catch(() => undefined);
      }
    }
    const channel = await connection.createChannel();
    await channel.deleteExchange(exchange).catch(() => undefined);
    await channel.deleteExchange(QueueNames.deadLetterExchange(exchange)).catch(() => undefined);
    await channel.close().catch(() => undefined);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** A database, Redis prefix and exchange of the caller's own, on the machine's backing services or on `backing`. */
export async function isolate(label: string, backing: BackingUrls = BACKING): Promise<Isolation> {
  const id = `${label
    .replace(/[^a-z0-9]/gi, '')
    .toLowerCase()
    .slice(0, 20)}_${randomBytes(4).toString('hex')}`;
  const database = `zt_${id}`;
  const admin = new Client({ connectionString: backing.postgresAdminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${database}"`);
  await admin.end();
  const url = new URL(backing.postgresAdminUrl);
  url.pathname = `/${database}`;
  const databaseUrl = url.toString();
  const redisPrefix = `zt:${id}:`;
  const exchange = `zt.${id}`;
  const queues = new Set<string>();
  return {
    id,
    databaseUrl,
    redisPrefix,
    exchange,
    env: {
      DATABASE_URL: databaseUrl,
      REDIS_URL: backing.redisUrl,
      AMQP_URL: backing.amqpUrl,
      REDIS_KEY_PREFIX: redisPrefix,
      ...(BACKING.redisClusterNodes ? { REDIS_CLUSTER_NODES: BACKING.redisClusterNodes } : {}),
      AMQP_EXCHANGE: exchange,
      JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
      SHUTDOWN_DRAIN_MS: '0',
    },
    queues,
    async cleanup() {
      await deleteBrokerObjects(exchange, queues, backing.amqpUrl);
      const client = new Client({ connectionString: backing.postgresAdminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`).catch(() => undefined);
      await client.end();
    },
  };
}

/** Deletes every key under `prefix` in the shared Redis (an isolation's keys, or a file's own prefix). */
export async function deleteRedisKeys(prefix: string): Promise<void> {
  const redis = new Redis(BACKING.redisUrl);
  try {
    const keys: string[] = [];
    for await (const batch of redis.scanStream({ match: `${prefix}*`, count: 500 })) keys.push(...(batch as string[]));
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

export function userToken(
  userId: string,
  options: { admin?: boolean; expiresInSeconds?: number } = {},
): Promise<string> {
  return mintToken({
    secret: TEST_JWT_SECRET,
    userId,
    admin: options.admin,
    expiresInSeconds: options.expiresInSeconds,
  });
}

export const newUserId = (): string => randomUUID();

/** A fresh user and their bearer token. */
export async function newUser(): Promise<{ id: string; token: string }> {
  const id = newUserId();
  return { id, token: await userToken(id) };
}

export const newUsers = (count: number): Promise<{ id: string; token: string }[]> =>
  Promise.all(Array.from({ length: count }, newUser));

export async function waitFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 10_000, intervalMs = 50, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const result = await check();
      if (result !== undefined && result !== false) return result as T;
    } catch (err) {
      lastError = err;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`Timed out waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
}

export interface ServiceProcess {
  name: string;
  port: number;
  baseUrl: string;
  child: ChildProcess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const TCP_TIME_WAIT = '06';

/**
 * Local TCP ports some socket on this machine holds (Linux's /proc/net/tcp and tcp6; TIME_WAIT left out, a
 * listener binds over those), so a service started on one would fail with EADDRINUSE. Empty elsewhere.
 */
export function portsInUse(): Set<number> {
  const used = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (!local || state === TCP_TIME_WAIT) continue;
      used.add(parseInt(local.slice(local.lastIndexOf(':') + 1), 16));
    }
  }
  return used;
}

// Below Linux's ephemeral range (32768+), so a port is not taken by some outgoing connection; ports already
// held (RabbitMQ's 25672, another suite's services) are skipped.
let nextPort = 20000 + Math.floor(Math.random() * 10000);
export const freePort = (): number => {
  const used = portsInUse();
  while (used.has(nextPort)) nextPort++;
  return nextPort++;
};

/** Starts a built service (`node services/<name>/dist/main.js`) and waits until /health/ready answers 200. */
export async function startService(
  name: string,
  env: Record<string, string>,
  options: { port?: number; readyTimeoutMs?: number; waitReady?: boolean; nodeArgs?: string[] } = {},
): Promise<ServiceProcess> {
  const port = options.port ?? freePort();
  const script = path.join(REPO_ROOT, 'services', name, 'dist', 'main.js');
  // options.nodeArgs come after the defaults, so a run can override them (V8 takes the last value).
  const heapCap = serviceNodeArgs(name);
  const child = spawn(process.execPath, [...heapCap, ...(options.nodeArgs ?? []), script], {
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const append = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const baseUrl = `http://127.0.0.1:${port}`;
  const proc: ServiceProcess = {
    name,
    port,
    baseUrl,
    child,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill(signal);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 10_000)))]);
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
  if (options.waitReady !== false) {
    try {
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}`);
          const res = await fetch(`${baseUrl}/health/ready`);
          return res.status === 200;
        },
        { timeoutMs: options.readyTimeoutMs ?? 30_000, intervalMs: 100, what: `${name} ready` },
      );
    } catch (err) {
      await proc.stop('SIGKILL');
      throw new Error(`${(err as Error).message}\n--- ${name} output ---\n${output}`);
    }
  }
  return proc;
}

export interface JsonResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/** Small HTTP helper for tests: JSON in, JSON out, never throws on a status. */
export async function http<T = any>( // eslint-disable-line @typescript-eslint/no-explicit-any
  baseUrl: string,
  method: string,
  pathName: string,
  options: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${baseUrl}${pathName}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* keep text */
  }
  return { status: res.status, headers: res.headers, body: parsed as T };
}

/**
 * A gateway is ready before its Redis connection is up: until then its rate limits count in a per-replica
 * memory window (an outage of the limiter's store must not stop sales) and an Idempotency-Key gets a 503.
 * A test that counts against the shared limits, or sends keys, waits for the connection first.
 */
export async function untilGatewayRedisConnected(gatewayUrl: string): Promise<void> {
  await waitFor(async () => (await http(gatewayUrl, 'GET', '/health/redis')).status === 200, {
    what: 'gateway connected to Redis',
  });
}

/** A WebSocket test client that records every message it receives. */
export interface WsClient {
  socket: WebSocket;
  messages: any[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  send(message: unknown): void;
  next<T = any>(predicate: (m: any) => boolean, timeoutMs?: number): Promise<T>; // eslint-disable-line @typescript-eslint/no-explicit-any
  close(): void;
}

export async function connectWs(url: string, headers: Record<string, string> = {}): Promise<WsClient> {
  const socket = new WebSocket(url, { headers });
  const messages: unknown[] = [];
  const waiters: { predicate: (m: unknown) => boolean; resolve: (m: unknown) => void }[] = [];
  socket.on('message', (data) => {
    const message = JSON.parse(data.toString());
    messages.push(message);
    for (const waiter of [...waiters]) {
      if (waiter.predicate(message)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(message);
      }
    }
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
    socket.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused with ${res.statusCode}`)));
  });
  return {
    socket,
    messages,
    send: (message) => socket.send(JSON.stringify(message)),
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    next<T>(predicate: (m: any) => boolean, timeoutMs = 5000): Promise<T> {
      const found = messages.find(predicate);
      if (found) return Promise.resolve(found as T);
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `no matching WebSocket message within ${timeoutMs} ms; got ${JSON.stringify(messages).slice(0, 2000)}`,
              ),
            ),
          timeoutMs,
        );
        waiters.push({
          predicate,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m as T);
          },
        });
      });
    },
    close: () => socket.close(),
  };
}

export * from './stack';
export * from './stack-fixture';
export * from './service-fixture';
export * from './redis-fixture';
export * from './tcp-proxy';
export * from './redis-cluster';
export * from './private-backing';

/**
 * Runs tasks with at most `limit` in flight (the order is the caller's; shuffle it for races). Thousands of
 * simultaneous sockets from one test process measure the kernel's accept queue, not the system under test.
 */
export async function inParallel<T>(limit: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await tasks[index]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}
