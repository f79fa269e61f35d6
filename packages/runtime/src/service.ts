import type { Server } from 'node:http';
import { createDb, runMigrations, type Knex, type MigrationPlan } from './db';
import { startService, type ReadinessCheck, type StartServiceOptions } from './http';
import { createLogger, type Logger } from './logger';
import type { Broker } from './messaging';
import { createMetrics, type ServiceMetrics } from './metrics';
import { connectRedis, createRedis, type RedisClient } from './redis';
import { createLifecycle, runMain, type Lifecycle, type ShutdownStep } from './shutdown';
import type { DatabaseEnv, RedisEnv, ServiceEnv } from './config';

/** What every service process sets up first, and its one way to start serving. */
export interface ServiceBasics<M extends ServiceMetrics> {
  logger: Logger;
  metrics: M;
  lifecycle: Lifecycle;
  /** startService with this process's name, port, logger and lifecycle. */
  serve(options: Omit<StartServiceOptions, 'name' | 'port' | 'logger' | 'lifecycle'>): Promise<Server>;
}

/** The logger, metrics (the plain service set unless given) and shutdown lifecycle of process `name`. */
export function createServiceBasics<M extends ServiceMetrics = ServiceMetrics>(
  name: string,
  config: ServiceEnv,
  metrics?: M,
): ServiceBasics<M> {
  const logger = createLogger(name, config.LOG_LEVEL);
  const lifecycle = createLifecycle(logger, config.SHUTDOWN_DRAIN_MS);
  return {
    logger,
    metrics: metrics ?? (createMetrics(name) as M),
    lifecycle,
    serve: (options) => startService({ ...options, name, port: config.PORT, logger, lifecycle }),
  };
}

export interface ServiceContext<C, M extends ServiceMetrics> extends ServiceBasics<M> {
  config: Readonly<C>;
}

/**
 * Every service's main: loads its config from the environment, sets up its basics (with `createMetrics`'s
 * metrics, if given) and runs `main` under runMain.
 */
export function runService<C extends ServiceEnv, M extends ServiceMetrics = ServiceMetrics>(
  service: { name: string; loadConfig: (env: NodeJS.ProcessEnv) => Readonly<C>; createMetrics?: () => M },
  main: (context: ServiceContext<C, M>) => Promise<void>,
): void {
  runMain(async () => {
    const config = service.loadConfig(process.env);
    await main({ config, ...createServiceBasics(service.name, config, service.createMetrics?.()) });
  });
}

/**
 * A Redis client on the service's REDIS_* settings, named `name` on the server. It reconnects by itself, so
 * its errors are only logged (at `errorLevel`); connect it with connectRedis.
 */
export function createServiceRedis(
  config: RedisEnv,
  name: string,
  logger: Logger,
  errorLevel: 'debug' | 'warn' = 'debug',
): RedisClient {
  const redis = createRedis(config.REDIS_URL, {
    keyPrefix: config.REDIS_KEY_PREFIX,
    clusterNodes: config.REDIS_CLUSTER_NODES,
    name,
  });
  redis.on('error', (err: Error) => logger[errorLevel]({ err: err.message }, 'redis error'));
  return redis;
}

/** createServiceRedis, connected (startup waits for Redis). */
export async function connectServiceRedis(...args: Parameters<typeof createServiceRedis>): Promise<RedisClient> {
  const redis = createServiceRedis(...args);
  await connectRedis(redis);
  return redis;
}

/** The pool of a service owning a schema, migrated first where MIGRATE_ON_START asks for it. */
export async function openServiceDatabase(
  config: DatabaseEnv & { MIGRATE_ON_START: boolean },
  plan: Omit<MigrationPlan, 'databaseUrl'>,
  pool?: Parameters<typeof createDb>[1],
): Promise<Knex> {
  if (config.MIGRATE_ON_START) await runMigrations({ ...plan, databaseUrl: config.DATABASE_URL });
  return createDb(config.DATABASE_URL, pool);
}

/** The backing services a process uses, by the names /health/ready reports them under. */
export interface BackingClients {
  database?: Knex;
  redis?: RedisClient;
  rabbitmq?: Pick<Broker, 'isConnected' | 'close'>;
}

const BACKING_CHECKS: { [K in keyof BackingClients]-?: (client: NonNullable<BackingClients[K]>) => ReadinessCheck } = {
  database: (db) => async () => {
    await db.raw('select 1');
  },
  redis: (redis) => async () => {
    await redis.ping();
  },
  rabbitmq: (broker) => async () => {
    if (!broker.isConnected()) throw new Error('not connected');
  },
};

/** A readiness check for each backing service given: a query, a PING, the broker's connection. */
export function backingChecks<C extends BackingClients>(clients: C): Record<keyof C, ReadinessCheck> {
  const checks: Partial<Record<keyof BackingClients, ReadinessCheck>> = {};
  for (const [name, client] of Object.entries(clients) as [keyof BackingClients, never][]) {
    if (client) checks[name] = BACKING_CHECKS[name](client);
  }
  return checks as Record<keyof C, ReadinessCheck>;
}

/** The last shutdown steps: the broker, then Redis (every client given), then the database pool. */
export function closeBacking({
  rabbitmq,
  redis,
  database,
}: Omit<BackingClients, 'redis'> & { redis?: RedisClient | RedisClient[] }): ShutdownStep[] {
  const steps: ShutdownStep[] = [];
  if (rabbitmq) steps.push({ name: 'broker', close: () => rabbitmq.close() });
  if (redis) steps.push({ name: 'redis', close: () => Promise.all([redis].flat().map((client) => client.quit())) });
  if (database) steps.push({ name: 'database', close: () => database.destroy() });
  return steps;
}
