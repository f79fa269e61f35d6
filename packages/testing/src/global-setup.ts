import { existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startRedisCluster, type LocalRedisCluster } from './redis-cluster';
import { BACKING_ENV, endpointOf, planBacking, type BackingName, type BackingProbe } from './backing-plan';

/**
 * jest globalSetup: makes sure PostgreSQL, Redis and RabbitMQ answer before any test file runs. The choice
 * is planBacking's; this file only probes, and starts containers when told to. Container URLs are exported
 * through the same variables a developer would set, so every test and every service it starts sees them.
 */
const CONFIGURED: Record<BackingName, string> = {
  postgres: process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  rabbitmq: process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
};

const PROBE_TIMEOUT_MS = 1500;

/** Whether something accepts TCP connections at each URL's host and port. */
export async function probeBacking(targets: readonly { name: BackingName; url: string }[]): Promise<BackingProbe[]> {
  return Promise.all(
    targets.map(
      ({ name, url }) =>
        new Promise<BackingProbe>((resolve) => {
          const { host, port } = endpointOf(url);
          const socket = net.connect({ host, port });
          const done = (answers: boolean) => {
            socket.destroy();
            resolve({ name, url, answers });
          };
          socket.setTimeout(PROBE_TIMEOUT_MS, () => done(false));
          socket.once('connect', () => done(true));
          socket.once('error', () => done(false));
        }),
    ),
  );
}

/** A Docker engine is reachable through DOCKER_HOST or one of the usual sockets. */
export function dockerEnginePresent(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.DOCKER_HOST) return true;
  return ['/var/run/docker.sock', path.join(os.homedir(), '.docker/run/docker.sock')].some((socket) =>
    existsSync(socket),
  );
}

/** Images and ports for the start path; tests only ever need a throwaway instance of each. */
const CONTAINERS: Record<BackingName, { image: string; port: number; env: Record<string, string>; ready: RegExp }> = {
  postgres: {
    image: 'postgres:16-alpine',
    port: 5432,
    env: { POSTGRES_HOST_AUTH_METHOD: 'trust' },
    ready: /database system is ready to accept connections/,
  },
  redis: { image: 'redis:7-alpine', port: 6379, env: {}, ready: /Ready to accept connections/ },
  rabbitmq: { image: 'rabbitmq:3.13-alpine', port: 5672, env: {}, ready: /Server startup complete/ },
};

const urlFor = (name: BackingName, host: string, port: number): string =>
  ({
    postgres: `postgres://postgres@${host}:${port}/postgres`,
    redis: `redis://${host}:${port}`,
    rabbitmq: `amqp://guest:guest@${host}:${port}`,
  })[name];

/** What globalTeardown stops: jest runs both in its parent process, so globalThis carries it across. */
const STARTED = Symbol.for('zephyr.testing.startedContainers');
type Started = { stop(): Promise<unknown> }[];
export function startedContainers(): Started {
  const store = globalThis as unknown as Record<symbol, Started | undefined>;
  return (store[STARTED] ??= []);
}

async function startContainers(names: readonly BackingName[]): Promise<void> {
  // Loaded only on this path: a machine with its own services never pays for the Docker client.
  const { GenericContainer, Wait } = await import('testcontainers');
  for (const name of names) {
    const spec = CONTAINERS[name];
    const container = await new GenericContainer(spec.image)
      .withExposedPorts(spec.port)
      .withEnvironment(spec.env)
      // PostgreSQL logs "ready" once for its init run and once for the real server.
      .withWaitStrategy(Wait.forLogMessage(spec.ready, name === 'postgres' ? 2 : 1))
      .start();
    startedContainers().push(container);
    process.env[BACKING_ENV[name]] = urlFor(name, container.getHost(), container.getMappedPort(spec.port));
  }
}

/** The local Redis Cluster globalSetup started for TEST_REDIS_CLUSTER=1 (stopped by globalTeardown). */
const CLUSTER = Symbol.for('zephyr.testing.redisCluster');
export function startedRedisCluster(): { current?: LocalRedisCluster } {
  const store = globalThis as unknown as Record<symbol, { current?: LocalRedisCluster } | undefined>;
  return (store[CLUSTER] ??= {});
}

export default async function globalSetup(): Promise<void> {
  const probes = await probeBacking(
    (Object.keys(CONFIGURED) as BackingName[]).map((name) => ({ name, url: CONFIGURED[name] })),
  );
  const plan = planBacking(probes, dockerEnginePresent());
  if (plan.kind === 'fail') throw new Error(plan.message);
  if (plan.kind === 'start-containers') await startContainers(plan.names);
  // TEST_REDIS_CLUSTER=1: every service and test client of this run talks to a fresh local Redis Cluster.
  if (process.env.TEST_REDIS_CLUSTER === '1' && !process.env.REDIS_CLUSTER_NODES) {
    const cluster = await startRedisCluster();
    startedRedisCluster().current = cluster;
    process.env.REDIS_CLUSTER_NODES = cluster.nodes;
  }
}
