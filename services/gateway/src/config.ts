import Joi from 'joi';
import { envRules, envSchemaWithAuth, loadEnv, serviceEnvRules, type ServiceEnvOf } from '@zephyr/runtime';
import { SERVICE_NAME } from './service';

export interface GatewayConfig extends ServiceEnvOf<'database' | 'redis' | 'amqp' | 'auth'> {
  EVENT_SERVICE_URL: string;
  SEAT_SERVICE_URL: string;
  NOTIFIER_URL: string;
  RATE_LIMIT_WINDOW_SECONDS: number;
  RATE_LIMIT_PER_IP: number;
  RATE_LIMIT_PER_USER: number;
  TRUST_PROXY: number;
  UPSTREAM_TIMEOUT_MS: number;
  HOLD_BATCHING: boolean;
  HTTP_HEADERS_TIMEOUT_MS: number;
  HTTP_REQUEST_TIMEOUT_MS: number;
  WS_MAX_CONNECTIONS: number;
}

const schema = envSchemaWithAuth<GatewayConfig>({
  ...serviceEnvRules(SERVICE_NAME, 'database', 'redis', 'amqp'),
  EVENT_SERVICE_URL: envRules.serviceUrls('event-service'),
  SEAT_SERVICE_URL: envRules.serviceUrls('seat-service'),
  NOTIFIER_URL: envRules.serviceUrls('notifier'),
  RATE_LIMIT_WINDOW_SECONDS: envRules.positiveInt(60),
  RATE_LIMIT_PER_IP: envRules.nonNegativeInt(600),
  RATE_LIMIT_PER_USER: envRules.nonNegativeInt(120),
  /** Proxy hops in front of the gateway whose X-Forwarded-For is trusted (nginx: 1). */
  TRUST_PROXY: envRules.nonNegativeInt(0),
  UPSTREAM_TIMEOUT_MS: envRules.positiveInt(10_000),
  /**
   * Single-seat holds that arrive together go to the seat-service as one request (docs/architecture.md,
   * Decisions). Off: each is proxied on its own. Needs seat-services that serve the batch route.
   */
  HOLD_BATCHING: envRules.bool(true),
  /** Time a client gets to send all request headers (slowloris bound). */
  HTTP_HEADERS_TIMEOUT_MS: envRules.positiveInt(10_000).max(Joi.ref('HTTP_REQUEST_TIMEOUT_MS')),
  /** Time a client gets to send a whole request, body included. */
  HTTP_REQUEST_TIMEOUT_MS: envRules.positiveInt(30_000),
  /** Proxied WebSockets per replica; two descriptors each, so keep 2× this well under `ulimit -n`. */
  WS_MAX_CONNECTIONS: envRules.positiveInt(5_000),
});

export function loadConfig(env: NodeJS.ProcessEnv): Readonly<GatewayConfig> {
  return loadEnv(SERVICE_NAME, schema, env);
}
