import Joi from 'joi';

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
