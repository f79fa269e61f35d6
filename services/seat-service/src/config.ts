import { DEFAULT_EXCHANGE, serviceEntry } from '@zephyr/contracts';
import { envRules, envSchemaWithAuth, loadEnv } from '@zephyr/runtime';

const schema = envSchemaWithAuth({
  PORT: envRules.port(serviceEntry('seat-service').port),
  LOG_LEVEL: envRules.logLevel(),
  DATABASE_URL: envRules.databaseUrl(),
  REDIS_URL: envRules.redisUrl(),
  REDIS_CLUSTER_NODES: envRules.redisClusterNodes(),
  REDIS_KEY_PREFIX: envRules.keyPrefix(),
  AMQP_URL: envRules.amqpUrl(),
  AMQP_EXCHANGE: envRules.name(DEFAULT_EXCHANGE),
  EVENT_SERVICE_URL: envRules.httpUrl('http://127.0.0.1:3001'),
  MIGRATE_ON_START: envRules.bool(true),
  SHUTDOWN_DRAIN_MS: envRules.nonNegativeInt(5000),
  PG_POOL_MAX: envRules.positiveInt(10),
  IDLE_EVENT_EVICT_AFTER_S: envRules.positiveInt(24 * 3600),
  IDLE_EVENT_SCAN_EVERY_S: envRules.positiveInt(600),
});

export type SeatServiceConfig = ReturnType<typeof loadConfig>;

export function loadConfig(env: NodeJS.ProcessEnv) {
  return loadEnv('seat-service', schema, env) as Readonly<{
    PORT: number;
    LOG_LEVEL: string;
    DATABASE_URL: string;
    REDIS_URL: string;
    REDIS_CLUSTER_NODES: string;
    REDIS_KEY_PREFIX: string;
    AMQP_URL: string;
    AMQP_EXCHANGE: string;
    EVENT_SERVICE_URL: string;
    MIGRATE_ON_START: boolean;
    SHUTDOWN_DRAIN_MS: number;
    PG_POOL_MAX: number;
    IDLE_EVENT_EVICT_AFTER_S: number;
    IDLE_EVENT_SCAN_EVERY_S: number;
    JWT_SECRET?: string;
    JWT_JWKS_URL?: string;
    JWT_ISSUER?: string;
    JWT_AUDIENCE?: string;
  }>;
}
