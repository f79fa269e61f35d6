import { envRules, envSchemaWithAuth, loadEnv, serviceEnvRules, type ServiceEnvOf } from '@zephyr/runtime';

export interface SeatServiceConfig extends ServiceEnvOf<'database' | 'redis' | 'amqp' | 'auth'> {
  EVENT_SERVICE_URL: string;
  MIGRATE_ON_START: boolean;
  PG_POOL_MAX: number;
  IDLE_EVENT_EVICT_AFTER_S: number;
  IDLE_EVENT_SCAN_EVERY_S: number;
}

const schema = envSchemaWithAuth<SeatServiceConfig>({
  ...serviceEnvRules('seat-service', 'database', 'redis', 'amqp'),
  EVENT_SERVICE_URL: envRules.httpUrl('http://127.0.0.1:3001'),
  MIGRATE_ON_START: envRules.bool(true),
  PG_POOL_MAX: envRules.positiveInt(10),
  IDLE_EVENT_EVICT_AFTER_S: envRules.positiveInt(24 * 3600),
  IDLE_EVENT_SCAN_EVERY_S: envRules.positiveInt(600),
});

export function loadConfig(env: NodeJS.ProcessEnv): Readonly<SeatServiceConfig> {
  return loadEnv('seat-service', schema, env);
}
