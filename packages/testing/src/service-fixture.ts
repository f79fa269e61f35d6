import { QueueNames } from '@zephyr/contracts';
import type { Broker } from '@zephyr/runtime/messaging';
import { newUserId, startService, userToken, type Isolation, type ServiceProcess } from './index';
import { testBroker } from './messaging';
import { useFixtureBase, type FixtureBaseOptions } from './fixture-base';
import type { TcpProxy } from './tcp-proxy';

export interface ServiceFixtureOptions extends FixtureBaseOptions {
  /**
   * Env beyond the isolation's for every process the fixture starts. A function is called in the beforeAll,
   * after the file's earlier beforeAll hooks (fakes the service talks to).
   */
  env?: Record<string, string> | ((isolation: Isolation) => Record<string, string> | Promise<Record<string, string>>);
  /** Starts one process in the beforeAll (the default); false when each test starts its own with `start`. */
  startOnSetup?: boolean;
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
  let fixtureEnv: Record<string, string> = {};
  let first: ServiceProcess | undefined;
  let admin: string | undefined;
  let broker: Broker | undefined;
  const processes: ServiceProcess[] = [];
  const base = useFixtureBase(`useService('${label}')`, label, options, {
    async setUp(isolation) {
      fixtureEnv = typeof options.env === 'function' ? await options.env(isolation) : (options.env ?? {});
      admin = await userToken(newUserId(), { admin: true });
      if (options.startOnSetup !== false) first = await start();
    },
    async tearDown() {
      await Promise.all(processes.map((proc) => proc.stop()));
      await broker?.close();
    },
  });

  const started = (): { isolation: Isolation; admin: string } => {
    const { isolation } = base;
    if (admin === undefined) throw new Error(`useService('${label}') is read before its beforeAll ran`);
    return { isolation, admin };
  };
  const env = (overrides: Record<string, string> = {}) => ({
    ...started().isolation.env,
    ...fixtureEnv,
    ...base.proxyEnv,
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
      return base.proxy;
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
    onTeardown: base.teardowns.add,
  };
}
