import { envRules, envSchemaWithAuth, loadEnv, serviceEnvRules, type ServiceEnvOf } from '@zephyr/runtime';
import { SERVICE_NAME } from './service';

export interface SeatServiceConfig extends ServiceEnvOf<'database' | 'migrations' | 'redis' | 'amqp' | 'auth'> {
  EVENT_SERVICE_URL: string;
  PG_POOL_MAX: number;
  IDLE_EVENT_EVICT_AFTER_S: number;
  IDLE_EVENT_SCAN_EVERY_S: number;
}

const schema = envSchemaWithAuth<SeatServiceConfig>({
  ...serviceEnvRules(SERVICE_NAME, 'database', 'migrations', 'redis', 'amqp'),
  EVENT_SERVICE_URL: envRules.serviceUrl('event-service'),
  PG_POOL_MAX: envRules.positiveInt(10),
  IDLE_EVENT_EVICT_AFTER_S: envRules.positiveInt(24 * 3600),
  IDLE_EVENT_SCAN_EVERY_S: envRules.positiveInt(600),
});

export function loadConfig(env: NodeJS.ProcessEnv): Readonly<SeatServiceConfig> {
  return loadEnv(SERVICE_NAME, schema, env);
}
