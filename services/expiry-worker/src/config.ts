import Joi from 'joi';
import { MAX_EXPIRE_BATCH } from '@zephyr/contracts';
import { envRules, loadEnv, serviceEnvRules, type ServiceEnv } from '@zephyr/runtime';
import { SERVICE_NAME } from './service';

export interface Config extends ServiceEnv {
  SEAT_SERVICE_URL: string;
  /** Longest sleep between two claims when nothing is due sooner. */
  EXPIRY_POLL_MS: number;
  /** Holds claimed and sent to the seat-service per call (the seat-service accepts at most MAX_EXPIRE_BATCH). */
  EXPIRY_BATCH_SIZE: number;
  /** How long a claimed batch stays with one replica before another may take it over (crash recovery). */
  EXPIRY_LEASE_MS: number;
}

export function loadConfig(env: NodeJS.ProcessEnv): Readonly<Config> {
  return loadEnv<Config>(
    SERVICE_NAME,
    Joi.object<Config>({
      ...serviceEnvRules(SERVICE_NAME),
      SEAT_SERVICE_URL: envRules.serviceUrl('seat-service'),
      EXPIRY_POLL_MS: Joi.number().integer().min(10).max(1000).default(100),
      EXPIRY_BATCH_SIZE: Joi.number().integer().min(1).max(MAX_EXPIRE_BATCH).default(MAX_EXPIRE_BATCH),
      // At least 1 s: the seat-service call timeout is half the lease, so a lease never ends mid-call.
      EXPIRY_LEASE_MS: Joi.number().integer().min(1000).max(300_000).default(10_000),
    }),
    env,
  );
}
