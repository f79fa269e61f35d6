import { DEFAULT_EXCHANGE, serviceEntry } from '@zephyr/contracts';
import { authConfigFrom, envRules, envSchemaWithAuth, loadEnv, type AuthConfig } from '@zephyr/runtime';
import { SERVICE_NAME } from './service';

export interface EventServiceEnv {
  PORT: number;
  LOG_LEVEL: string;
  DATABASE_URL: string;
  AMQP_URL: string;
  AMQP_EXCHANGE: string;
  SEAT_SERVICE_URL: string;
  MIGRATE_ON_START: boolean;
  SHUTDOWN_DRAIN_MS: number;
  JWT_SECRET?: string;
  JWT_JWKS_URL?: string;
  JWT_ISSUER?: string;
  JWT_AUDIENCE?: string;
}

const schema = envSchemaWithAuth<EventServiceEnv>({
  PORT: envRules.port(serviceEntry(SERVICE_NAME).port),
  LOG_LEVEL: envRules.logLevel(),
  DATABASE_URL: envRules.databaseUrl(),
  AMQP_URL: envRules.amqpUrl(),
  AMQP_EXCHANGE: envRules.name(DEFAULT_EXCHANGE),
  SEAT_SERVICE_URL: envRules.httpUrl('http://127.0.0.1:3002'),
  MIGRATE_ON_START: envRules.bool(true),
  SHUTDOWN_DRAIN_MS: envRules.nonNegativeInt(5000),
});

/** The only reader of process.env: validates everything at once so one line names every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv): Readonly<EventServiceEnv> {
  return loadEnv(SERVICE_NAME, schema, env);
}

export function authConfig(config: Readonly<EventServiceEnv>): AuthConfig {
  return authConfigFrom(config);
}
