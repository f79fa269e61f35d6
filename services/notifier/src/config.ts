import os from 'node:os';
import Joi from 'joi';
import { envRules, envSchemaWithAuth, loadEnv, serviceEnvRules, type ServiceEnvOf } from '@zephyr/runtime';
import { SERVICE_NAME } from './service';

const MIB = 1024 * 1024;

interface RawConfig extends ServiceEnvOf<'amqp' | 'auth'> {
  SEAT_SERVICE_URL: string;
  NOTIFIER_REPLICA_ID?: string;
  HEARTBEAT_INTERVAL_MS: number;
  MAX_BUFFERED_BYTES: number;
  WS_MAX_CONNECTIONS: number;
  WS_BATCH_INTERVAL_MS: number;
  WS_FANOUT_SLICE: number;
  WS_RESYNC_SPREAD_MS: number;
}

export interface NotifierConfig extends RawConfig {
  NOTIFIER_REPLICA_ID: string;
}

const schema = envSchemaWithAuth<RawConfig>({
  ...serviceEnvRules(SERVICE_NAME, 'amqp'),
  SEAT_SERVICE_URL: envRules.serviceUrl('seat-service'),
  // No Joi default: the fallback depends on the validated PORT.
  NOTIFIER_REPLICA_ID: Joi.string()
    .max(100)
    .pattern(/^[A-Za-z0-9._-]+$/),
  HEARTBEAT_INTERVAL_MS: envRules.positiveInt(15_000),
  MAX_BUFFERED_BYTES: envRules.positiveInt(MIB),
  // ~9 KB each: 10,000 sockets stay far below the memory and descriptor budget of one replica.
  WS_MAX_CONNECTIONS: envRules.positiveInt(10_000),
  // SPEC.md §4 allows at most one SEAT_UPDATES per subscription per 100 ms; never less.
  WS_BATCH_INTERVAL_MS: envRules.positiveInt(100).min(100).max(500),
  WS_FANOUT_SLICE: envRules.positiveInt(1_000),
  // 10,000 sockets resyncing over 5 s: ~2,000 map writes a second, and the seat-service reads each map twice.
  WS_RESYNC_SPREAD_MS: envRules.positiveInt(5_000),
});

/** Hostnames may carry characters a queue-name segment should not; keep the safe ones. */
function defaultReplicaId(port: number): string {
  const host = os.hostname().replace(/[^A-Za-z0-9._-]/g, '-') || 'notifier';
  return `${host}-${port}`;
}

export function loadConfig(env: NodeJS.ProcessEnv): Readonly<NotifierConfig> {
  const raw = loadEnv(SERVICE_NAME, schema, env);
  return Object.freeze({
    ...raw,
    SEAT_SERVICE_URL: raw.SEAT_SERVICE_URL.replace(/\/+$/, ''),
    NOTIFIER_REPLICA_ID: raw.NOTIFIER_REPLICA_ID ?? defaultReplicaId(raw.PORT),
  });
}
