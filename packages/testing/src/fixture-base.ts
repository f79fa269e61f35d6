import { isolate, type Isolation } from './index';
import { createTeardowns, type Teardowns } from './teardowns';
import { proxyInFront, type ProxiedBacking, type TcpProxy } from './tcp-proxy';

export interface FixtureBaseOptions {
  /** Puts a TCP proxy between the fixture's processes and this backing service. */
  throughProxy?: ProxiedBacking;
  /** The beforeAll's timeout; jest's own (60 s) by default. */
  timeoutMs?: number;
}

export interface FixtureBase {
  /** The file's isolation (throws before the beforeAll ran). */
  readonly isolation: Isolation;
  /** The proxy of `throughProxy`. */
  readonly proxy: TcpProxy;
  /** The env that routes a process through the proxy (empty without one). */
  readonly proxyEnv: Record<string, string>;
  readonly teardowns: Teardowns;
}

/**
 * What every file fixture shares: a beforeAll that isolates the file, puts the proxy in front and then
 * runs `setUp`; an afterAll that runs the registered teardowns, then `tearDown` (the fixture's own
 * processes and clients), closes the proxy and cleans the isolation up. `name` names the fixture in errors.
 */
export function useFixtureBase(
  name: string,
  label: string,
  options: FixtureBaseOptions,
  hooks: { setUp(isolation: Isolation): Promise<void>; tearDown(): Promise<void> },
): FixtureBase {
  let isolation: Isolation | undefined;
  let proxy: TcpProxy | undefined;
  let proxyEnv: Record<string, string> = {};
  const teardowns = createTeardowns();

  beforeAll(async () => {
    isolation = await isolate(label);
    if (options.throughProxy) ({ proxy, env: proxyEnv } = await proxyInFront(options.throughProxy, isolation));
    await hooks.setUp(isolation);
  }, options.timeoutMs);

  afterAll(async () => {
    const failure = await teardowns.run();
    await hooks.tearDown();
    await proxy?.close();
    await isolation?.cleanup();
    if (failure) throw failure;
  });

  return {
    get isolation() {
      if (!isolation) throw new Error(`${name} is read before its beforeAll ran`);
      return isolation;
    },
    get proxy() {
      if (!proxy) throw new Error(`${name} has no proxy: pass throughProxy`);
      return proxy;
    },
    get proxyEnv() {
      return proxyEnv;
    },
    teardowns,
  };
}
