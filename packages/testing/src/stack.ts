import { QueueNames } from '@zephyr/contracts';
import { freePort, startService, type Isolation, type ServiceProcess } from './index';

export type ServiceName = 'event-service' | 'seat-service' | 'notifier' | 'expiry-worker' | 'gateway';

export interface StackOptions {
  /** Which services to run (in start order); default all five. */
  services?: ServiceName[];
  /** Replicas per service (default 1). Upstream URLs are passed to the gateway as comma lists. */
  replicas?: Partial<Record<ServiceName, number>>;
  /** Extra env for every process (rate limits, intervals, ...). */
  env?: Record<string, string>;
  /** Node flags per service (a benchmark's `--cpu-prof`). */
  nodeArgs?: Partial<Record<ServiceName, string[]>>;
}

export interface Stack {
  processes: ServiceProcess[];
  urls: Record<ServiceName, string[]>;
  gatewayUrl: string;
  of(name: ServiceName): ServiceProcess[];
  /** The env a replica of `name` on `port` was started with (to restart it on the same port). */
  envFor(name: ServiceName, port: number): Record<string, string>;
  stop(): Promise<void>;
}

const ORDER: ServiceName[] = ['event-service', 'seat-service', 'notifier', 'expiry-worker', 'gateway'];

/** Starts real service processes wired to each other, on free ports, with the isolation env. */
export async function startStack(
  isolation: Isolation | Record<string, string>,
  options: StackOptions = {},
): Promise<Stack> {
  const isolationEnv =
    'env' in isolation && typeof isolation.env === 'object'
      ? (isolation as Isolation).env
      : (isolation as Record<string, string>);
  const wanted = options.services ?? ORDER;
  const ports = {} as Record<ServiceName, number[]>;
  // TEST_REDIS_CLUSTER=1 (npm run test:cluster) runs at least two replicas of every service, as production does.
  const minReplicas = process.env.TEST_REDIS_CLUSTER === '1' ? 2 : 1;
  for (const name of ORDER) {
    ports[name] = Array.from({ length: Math.max(minReplicas, options.replicas?.[name] ?? 1) }, () => freePort());
  }
  const urls = {} as Record<ServiceName, string[]>;
  for (const name of ORDER) urls[name] = ports[name].map((p) => `http://127.0.0.1:${p}`);
  const env = {
    ...isolationEnv,
    EVENT_SERVICE_URL: urls['event-service'][0]!,
    SEAT_SERVICE_URL: urls['seat-service'][0]!,
    NOTIFIER_URL: urls.notifier[0]!,
    ...options.env,
  };
  const gatewayEnv = {
    ...env,
    EVENT_SERVICE_URL: urls['event-service'].join(','),
    SEAT_SERVICE_URL: urls['seat-service'].join(','),
    NOTIFIER_URL: urls.notifier.join(','),
    ...options.env,
  };
  const envFor = (name: ServiceName, port: number) => ({
    ...(name === 'gateway' ? gatewayEnv : env),
    NOTIFIER_REPLICA_ID: `r${port}`,
  });
  const processes: ServiceProcess[] = [];
  if ('queues' in isolation && isolation.queues instanceof Set) {
    for (const port of ports.notifier)
      isolation.queues.add(QueueNames.notifierReplica(isolationEnv.AMQP_EXCHANGE!, `r${port}`));
  }
  const stop = async () => {
    await Promise.all(processes.map((p) => p.stop()));
  };
  try {
    for (const name of ORDER.filter((n) => wanted.includes(n))) {
      // Replicas of one service start together; the first migration wins the lock, the others wait.
      const started = await Promise.all(
        ports[name].map((port) => startService(name, envFor(name, port), { port, nodeArgs: options.nodeArgs?.[name] })),
      );
      processes.push(...started);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    processes,
    urls,
    gatewayUrl: urls.gateway[0]!,
    of: (name) => processes.filter((p) => p.name === name),
    envFor,
    stop,
  };
}
