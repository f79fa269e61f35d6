import Joi from 'joi';
import { DEFAULT_EXCHANGE, serviceEntry, type ServiceName } from '@zephyr/contracts';
import type { AuthEnv } from './auth';

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/zephyr';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';

export class ConfigError extends Error {
  constructor(
    readonly service: string,
    readonly problems: string[],
  ) {
    super(`${service}: invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** A service's address on this host, at the manifest's port (how `npm start` runs them). */
const localServiceUrl = (name: ServiceName): string => `http://127.0.0.1:${serviceEntry(name).port}`;

/** Reusable env var rules; each service composes the ones it needs. */
export const envRules = {
  port: (fallback: number) => Joi.number().integer().min(0).max(65535).default(fallback),
  databaseUrl: () =>
    Joi.string()
      .uri({ scheme: ['postgres', 'postgresql'] })
      .default(DEFAULT_DATABASE_URL),
  redisUrl: () =>
    Joi.string()
      .uri({ scheme: ['redis', 'rediss'] })
      .default(DEFAULT_REDIS_URL),
  /** Redis Cluster seed nodes, `host:port,host:port`; empty means a single node at the Redis URL. */
  redisClusterNodes: () =>
    Joi.string()
      .allow('')
      .pattern(/^(\[[0-9A-Fa-f:.]+\]|[^\s,/:[\]]+):\d{1,5}(,(\[[0-9A-Fa-f:.]+\]|[^\s,/:[\]]+):\d{1,5})*$/, {
        name: 'comma-separated host:port list',
      })
      .default(''),
  amqpUrl: () =>
    Joi.string()
      .uri({ scheme: ['amqp', 'amqps'] })
      .default(DEFAULT_AMQP_URL),
  logLevel: () => Joi.string().valid('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent').default('info'),
  httpUrl: (fallback: string) =>
    Joi.string()
      .uri({ scheme: ['http', 'https'] })
      .default(fallback),
  /** One URL, or several separated by commas (replicas balanced round-robin by the caller). */
  httpUrlList: (fallback: string) =>
    Joi.string()
      .pattern(/^https?:\/\/[^,\s]+(,https?:\/\/[^,\s]+)*$/, { name: 'comma-separated http(s) URLs' })
      .default(fallback),
  /** Where another Zephyr service answers; by default on this host at the manifest's port (`npm start`). */
  serviceUrl: (name: ServiceName) => envRules.httpUrl(localServiceUrl(name)),
  /** The same, as a comma-separated list of replicas. */
  serviceUrls: (name: ServiceName) => envRules.httpUrlList(localServiceUrl(name)),
  keyPrefix: () =>
    Joi.string()
      .allow('')
      .pattern(/^[A-Za-z0-9:_-]*$/)
      .default(''),
  name: (fallback: string) =>
    Joi.string()
      .pattern(/^[A-Za-z0-9._-]+$/)
      .default(fallback),
  bool: (fallback: boolean) => Joi.boolean().truthy('1').falsy('0').default(fallback),
  positiveInt: (fallback: number) => Joi.number().integer().min(1).default(fallback),
  nonNegativeInt: (fallback: number) => Joi.number().integer().min(0).default(fallback),
  jwtSecret: () => Joi.string().min(32),
};

/** The env every service reads. */
export interface ServiceEnv {
  PORT: number;
  LOG_LEVEL: string;
  SHUTDOWN_DRAIN_MS: number;
}
export interface DatabaseEnv {
  DATABASE_URL: string;
}
export interface RedisEnv {
  REDIS_URL: string;
  /** See envRules.redisClusterNodes. */
  REDIS_CLUSTER_NODES: string;
  REDIS_KEY_PREFIX: string;
}
/** A service that owns a PostgreSQL schema may migrate it at start (else `node dist/migrate.js` does). */
export interface MigrationsEnv {
  MIGRATE_ON_START: boolean;
}
export interface AmqpEnv {
  AMQP_URL: string;
  AMQP_EXCHANGE: string;
}

type RulesOf<T> = Record<keyof T, Joi.Schema>;

/** The env groups a service may read besides its own settings (auth: see envSchemaWithAuth). */
export interface EnvGroups {
  database: DatabaseEnv;
  migrations: MigrationsEnv;
  redis: RedisEnv;
  amqp: AmqpEnv;
  auth: AuthEnv;
}
type Intersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;
/** A service's env: the common settings and those of the groups `G`. */
export type ServiceEnvOf<G extends keyof EnvGroups> = ServiceEnv & Intersection<EnvGroups[G]>;

const GROUP_RULES: { [G in Exclude<keyof EnvGroups, 'auth'>]: () => RulesOf<EnvGroups[G]> } = {
  database: () => ({ DATABASE_URL: envRules.databaseUrl() }),
  migrations: () => ({ MIGRATE_ON_START: envRules.bool(true) }),
  redis: () => ({
    REDIS_URL: envRules.redisUrl(),
    REDIS_CLUSTER_NODES: envRules.redisClusterNodes(),
    REDIS_KEY_PREFIX: envRules.keyPrefix(),
  }),
  amqp: () => ({ AMQP_URL: envRules.amqpUrl(), AMQP_EXCHANGE: envRules.name(DEFAULT_EXCHANGE) }),
};

/** The rules of the common settings (the port defaults to the manifest's) and of `groups`, for a schema. */
export function serviceEnvRules(
  name: ServiceName,
  ...groups: Exclude<keyof EnvGroups, 'auth'>[]
): Record<string, Joi.Schema> {
  const common: RulesOf<ServiceEnv> = {
    PORT: envRules.port(serviceEntry(name).port),
    LOG_LEVEL: envRules.logLevel(),
    SHUTDOWN_DRAIN_MS: envRules.nonNegativeInt(5000),
  };
  return Object.assign(common, ...groups.map((group) => GROUP_RULES[group]()));
}

/**
 * Validates the environment against `schema` (keys are env var names) and returns a frozen copy.
 * Every bad variable is collected so the operator sees them all in one line.
 */
export function loadEnv<T extends object>(
  service: string,
  schema: Joi.ObjectSchema<T>,
  env: NodeJS.ProcessEnv,
): Readonly<T> {
  const relevant: Record<string, string> = {};
  const keys = Object.keys(schema.describe().keys ?? {});
  for (const key of keys) {
    const value = env[key];
    if (value !== undefined && value !== '') relevant[key] = value;
  }
  const { error, value } = schema.validate(relevant, { abortEarly: false, convert: true, allowUnknown: false });
  if (error) {
    const problems = error.details.map(
      (d) => `${d.path.join('.') || d.context?.label || '?'}: ${d.message.replace(/"/g, '')}`,
    );
    throw new ConfigError(service, problems);
  }
  return Object.freeze(value as T);
}
