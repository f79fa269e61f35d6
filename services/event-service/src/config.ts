import {
  authConfigFrom,
  envRules,
  envSchemaWithAuth,
  loadEnv,
  serviceEnvRules,
  type AuthConfig,
  type ServiceEnvOf,
} from '@zephyr/runtime';
import { SERVICE_NAME } from './service';

export interface EventServiceEnv extends ServiceEnvOf<'database' | 'amqp' | 'auth'> {
  SEAT_SERVICE_URL: string;
  MIGRATE_ON_START: boolean;
}

const schema = envSchemaWithAuth<EventServiceEnv>({
  ...serviceEnvRules(SERVICE_NAME, 'database', 'amqp'),
  SEAT_SERVICE_URL: envRules.httpUrl('http://127.0.0.1:3002'),
  MIGRATE_ON_START: envRules.bool(true),
});

/** The only reader of process.env: validates everything at once so one line names every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv): Readonly<EventServiceEnv> {
  return loadEnv(SERVICE_NAME, schema, env);
}

export function authConfig(config: Readonly<EventServiceEnv>): AuthConfig {
  return authConfigFrom(config);
}
