/**
 * Where the tests' PostgreSQL, Redis and RabbitMQ come from. The configured URLs win when they answer;
 * otherwise, with a Docker engine present, the jest global setup starts throwaway containers for the ones
 * that do not; without one it stops the run with a message naming what is missing and how to provide it.
 */
export type BackingName = 'postgres' | 'redis' | 'rabbitmq';

export interface BackingProbe {
  name: BackingName;
  /** The URL the tests are configured with (env or the loopback default). */
  url: string;
  answers: boolean;
}

export type BackingPlan =
  | { kind: 'use-configured' }
  | { kind: 'start-containers'; names: BackingName[] }
  | { kind: 'fail'; message: string };

/** Env variable a developer sets to point the tests at an existing service. */
export const BACKING_ENV: Readonly<Record<BackingName, string>> = {
  postgres: 'TEST_POSTGRES_URL',
  redis: 'REDIS_URL',
  rabbitmq: 'AMQP_URL',
};

export function planBacking(probes: readonly BackingProbe[], dockerAvailable: boolean): BackingPlan {
  const missing = probes.filter((p) => !p.answers);
  if (missing.length === 0) return { kind: 'use-configured' };
  if (dockerAvailable) return { kind: 'start-containers', names: missing.map((p) => p.name) };
  const list = missing.map((p) => `${p.name} at ${p.url} (${BACKING_ENV[p.name]})`).join(', ');
  return {
    kind: 'fail',
    message:
      `Tests need PostgreSQL, Redis and RabbitMQ. Not answering: ${list}. ` +
      'Start them, point the variables at running ones, or start a Docker engine so the tests run them in containers.',
  };
}

/** host:port of a service URL, with the scheme's default port when it has none. */
export function endpointOf(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  const defaults: Record<string, number> = {
    'postgres:': 5432,
    'postgresql:': 5432,
    'redis:': 6379,
    'rediss:': 6379,
    'amqp:': 5672,
    'amqps:': 5671,
  };
  const port = parsed.port ? Number(parsed.port) : defaults[parsed.protocol];
  if (!port) throw new Error(`No port for ${url}`);
  return { host: parsed.hostname, port };
}
