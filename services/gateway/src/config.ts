import Joi from 'joi';
import { envRules, envSchemaWithAuth, loadEnv } from '@zephyr/runtime';
import { DEFAULT_EXCHANGE, serviceEntry } from '@zephyr/contracts';

const schema = envSchemaWithAuth<GatewayConfig>({
  PORT: envRules.port(serviceEntry('gateway').port),
  LOG_LEVEL: envRules.logLevel(),
  DATABASE_URL: envRules.databaseUrl(),
  REDIS_URL: envRules.redisUrl(),
  REDIS_CLUSTER_NODES: envRules.redisClusterNodes(),
  REDIS_KEY_PREFIX: envRules.keyPrefix(),
  AMQP_URL: envRules.amqpUrl(),
  AMQP_EXCHANGE: envRules.name(DEFAULT_EXCHANGE),
  EVENT_SERVICE_URL: envRules.httpUrlList('http://127.0.0.1:3001'),
  SEAT_SERVICE_URL: envRules.httpUrlList('http://127.0.0.1:3002'),
  NOTIFIER_URL: envRules.httpUrlList('http://127.0.0.1:3003'),
  RATE_LIMIT_WINDOW_SECONDS: envRules.positiveInt(60),
  RATE_LIMIT_PER_IP: envRules.nonNegativeInt(600),
  RATE_LIMIT_PER_USER: envRules.nonNegativeInt(120),
  /** Proxy hops in front of the gateway whose X-Forwarded-For is trusted (nginx: 1). */
  TRUST_PROXY: envRules.nonNegativeInt(0),
  UPSTREAM_TIMEOUT_MS: envRules.positiveInt(10_000),
  /** Time a client gets to send all request headers (slowloris bound). */
  HTTP_HEADERS_TIMEOUT_MS: envRules.positiveInt(10_000).max(Joi.ref('HTTP_REQUEST_TIMEOUT_MS')),
  /** Time a client gets to send a whole request, body included. */
  HTTP_REQUEST_TIMEOUT_MS: envRules.positiveInt(30_000),
  SHUTDOWN_DRAIN_MS: envRules.nonNegativeInt(5000),
  /** Proxied WebSockets per replica; two descriptors each, so keep 2× this well under `ulimit -n`. */
  WS_MAX_CONNECTIONS: envRules.positiveInt(5_000),
});

export interface GatewayConfig {
  PORT: number;
  LOG_LEVEL: string;
  DATABASE_URL: string;
  REDIS_URL: string;
  REDIS_CLUSTER_NODES: string;
  REDIS_KEY_PREFIX: string;
  AMQP_URL: string;
  AMQP_EXCHANGE: string;
  EVENT_SERVICE_URL: string;
  SEAT_SERVICE_URL: string;
  NOTIFIER_URL: string;
  RATE_LIMIT_WINDOW_SECONDS: number;
  RATE_LIMIT_PER_IP: number;
  RATE_LIMIT_PER_USER: number;
  TRUST_PROXY: number;
  UPSTREAM_TIMEOUT_MS: number;
  HTTP_HEADERS_TIMEOUT_MS: number;
  HTTP_REQUEST_TIMEOUT_MS: number;
  SHUTDOWN_DRAIN_MS: number;
  WS_MAX_CONNECTIONS: number;
  JWT_SECRET?: string;
  JWT_JWKS_URL?: string;
  JWT_ISSUER?: string;
  JWT_AUDIENCE?: string;
}

export function loadConfig(env: NodeJS.ProcessEnv): Readonly<GatewayConfig> {
  return loadEnv('gateway', schema, env) as Readonly<GatewayConfig>;
}
