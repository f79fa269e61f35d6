import { envRules, envSchemaWithAuth, loadEnv, serviceEnvRules, type ServiceEnvOf } from '@zephyr/runtime';
import { SERVICE_NAME } from './service';

export interface EventServiceEnv extends ServiceEnvOf<'database' | 'migrations' | 'amqp' | 'auth'> {
  SEAT_SERVICE_URL: string;
}

const schema = envSchemaWithAuth<EventServiceEnv>({
  ...serviceEnvRules(SERVICE_NAME, 'database', 'migrations', 'amqp'),
  SEAT_SERVICE_URL: envRules.serviceUrl('seat-service'),
});

/** The only reader of process.env: validates everything at once so one line names every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv): Readonly<EventServiceEnv> {
  return loadEnv(SERVICE_NAME, schema, env);
}
