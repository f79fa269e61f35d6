import { QueueNames } from '@zephyr/contracts';
import type { Broker } from '@zephyr/runtime/messaging';
import { isolate, newUserId, startService, userToken, type Isolation, type ServiceProcess } from './index';
import { testBroker } from './messaging';
import { createTeardowns } from './teardowns';
import { proxyInFront, type ProxiedBacking, type TcpProxy } from './tcp-proxy';

export interface ServiceFixtureOptions {
  /**
   * Env beyond the isolation's for every process the fixture starts. A function is called in the beforeAll,
   * after the file's earlier beforeAll hooks (fakes the service talks to).
   */
  env?: Record<string, string> | ((isolation: Isolation) => Record<string, string> | Promise<Record<string, string>>);
  /** Puts a TCP proxy between every process and this backing service (`proxy`). */
  throughProxy?: ProxiedBacking;
  /** Starts one process in the beforeAll (the default); false when each test starts its own with `start`. */
  startOnSetup?: boolean;
  /** The beforeAll's timeout; jest's own (60 s) by default. */
  timeoutMs?: number;
}

/** The file's service, readable once the fixture's beforeAll has run (inside tests and later hooks). */
export interface ServiceFixture {
  readonly isolation: Isolation;
  /** The process the beforeAll started. */
  readonly process: ServiceProcess;
  /** Its base URL. */
  readonly baseUrl: string;
  /** An admin's bearer token. */
  readonly admin: string;
  /** The proxy of `throughProxy`. */
  readonly proxy: TcpProxy;
  /** A broker client on the isolation's exchange (opened on first use, closed in the afterAll). */
  readonly broker: Broker;
  /** Env for one process of this file: the isolation's, the fixture's `env`, then `overrides`. */
  env(overrides?: Record<string, string>): Record<string, string>;
  /** Starts one more process of the service with `env(overrides)`, stopped in the afterAll. */
  start(overrides?: Record<string, string>, options?: Parameters<typeof startService>[2]): Promise<ServiceProcess>;
  /** Runs `teardown` in the afterAll, before the processes stop (the last registered first). */
  onTeardown(teardown: () => unknown): void;
}

/**
 * One jest file's single service: an isolation, one process of `name` (or those the tests start), an admin
 * token and a broker on the isolated exchange, set up in a beforeAll and torn down in an afterAll
 * registered where this is called. The one-service counterpart of useStack.
 */
export function useService(name: string, label: string, options: ServiceFixtureOptions = {}): ServiceFixture {
  let isolation: Isolation | undefined;
  let fixtureEnv: Record<string, string> = {};
  let first: ServiceProcess | undefined;
  let admin: string | undefined;
  let broker: Broker | undefined;
  let proxy: TcpProxy | undefined;
  let proxyEnv: Record<string, string> = {};
  const processes: ServiceProcess[] = [];
  const teardowns = createTeardowns();

  const started = (): { isolation: Isolation; admin: string } => {
    if (!isolation || admin === undefined) throw new Error(`useService('${label}') is read before its beforeAll ran`);
    return { isolation, admin };
  };
  const env = (overrides: Record<string, string> = {}) => ({
    ...started().isolation.env,
    ...fixtureEnv,
    ...proxyEnv,
    ...overrides,
  });
  const start: ServiceFixture['start'] = async (overrides, startOptions) => {
    const processEnv = env(overrides);
    // A notifier replica declares a queue of its own; the isolation deletes it with the others.
    if (processEnv.NOTIFIER_REPLICA_ID) {
      started().isolation.queues.add(
        QueueNames.notifierReplica(processEnv.AMQP_EXCHANGE!, processEnv.NOTIFIER_REPLICA_ID),
      );
    }
    const proc = await startService(name, processEnv, startOptions);
    processes.push(proc);
    return proc;
  };

  beforeAll(async () => {
    isolation = await isolate(label);
    if (options.throughProxy) ({ proxy, env: proxyEnv } = await proxyInFront(options.throughProxy, isolation));
    fixtureEnv = typeof options.env === 'function' ? await options.env(isolation) : (options.env ?? {});
    admin = await userToken(newUserId(), { admin: true });
    if (options.startOnSetup !== false) first = await start();
  }, options.timeoutMs);

  afterAll(async () => {
    const failure = await teardowns.run();
    await Promise.all(processes.map((proc) => proc.stop()));
    await broker?.close();
    await proxy?.close();
    await isolation?.cleanup();
    if (failure) throw failure;
  });

  return {
    get isolation() {
      return started().isolation;
    },
    get process() {
      if (!first) throw new Error(`useService('${label}') started no process on setup`);
      return first;
    },
    get baseUrl() {
      return this.process.baseUrl;
    },
    get proxy() {
      if (!proxy) throw new Error(`useService('${label}') has no proxy: pass throughProxy`);
      return proxy;
    },
    get admin() {
      return started().admin;
    },
    get broker() {
      broker ??= testBroker(started().isolation.exchange, started().isolation.env.AMQP_URL);
      return broker;
    },
    env,
    start,
    onTeardown: teardowns.add,
  };
}
