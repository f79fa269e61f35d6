import { Client, type QueryResult, type QueryResultRow } from 'pg';
import {
  connectWs,
  http,
  newUserId,
  startService,
  userToken,
  type Isolation,
  type ServiceProcess,
  type WsClient,
} from './index';
import { startStack, type ServiceName, type Stack, type StackOptions } from './stack';
import { useFixtureBase } from './fixture-base';
import type { ProxiedBacking, TcpProxy } from './tcp-proxy';

export interface StackFixtureOptions extends Omit<StackOptions, 'env'> {
  /**
   * Extra env for every process. A function is called once the isolation exists, after the file's earlier
   * beforeAll hooks (a TCP proxy in front of a backing service, a Redis Cluster): its values override the
   * isolation's own (`REDIS_URL` through the proxy).
   */
  env?: Record<string, string> | ((isolation: Isolation) => Record<string, string>);
  /** Puts a TCP proxy between every process and this backing service. */
  throughProxy?: ProxiedBacking;
  /** How the stack is started (a wrapper of `startStack`, e.g. one that retries a port clash). */
  start?: typeof startStack;
  /** The admin token (default: an HS256 one with the test secret), for stacks that verify other claims. */
  adminToken?: () => string | Promise<string>;
  /** The beforeAll's timeout; jest's own (60 s) by default. */
  timeoutMs?: number;
  /** The body `createEvent` starts from; a call's body overrides its fields. */
  eventDefaults?: Record<string, unknown>;
}

/** The file's stack, readable once the fixture's beforeAll has run (inside tests and later hooks). */
export interface StackFixture extends Omit<Stack, 'stop'> {
  readonly isolation: Isolation;
  /** The proxy of `throughProxy`. */
  readonly proxy: TcpProxy;
  /** An admin's bearer token. */
  readonly admin: string;
  /** The first replica of `name`. */
  urlOf(name: ServiceName): string;
  /** Creates an event through the gateway (the event-service when no gateway runs); its id. */
  createEvent(body?: Record<string, unknown>, options?: { headers?: Record<string, string> }): Promise<string>;
  /** Changes an event through the same service as createEvent (PATCH, as the admin); fails unless 200. */
  updateEvent(eventId: string, body: Record<string, unknown>): Promise<void>;
  /** Env for one more process beside the stack: the isolation's (and proxy's), the stack's upstreams, `env`. */
  serviceEnv(env?: Record<string, string>): Record<string, string>;
  /** Starts one more process with `serviceEnv(env)`, stopped before the stack stops. */
  startService(name: ServiceName, env?: Record<string, string>, options?: { port?: number }): Promise<ServiceProcess>;
  /** A WebSocket client on `path` of `baseUrl` (the gateway by default), closed before the stack stops. */
  openWs(path?: string, options?: { baseUrl?: string; headers?: Record<string, string> }): Promise<WsClient>;
  /** Queries the isolation's database (connected on first use, closed with the stack). */
  readonly db: {
    // Rows are untyped unless the caller names them, as with pg's own Client.query.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    query<R extends QueryResultRow = any>(sql: string, values?: unknown[]): Promise<QueryResult<R>>;
  };
  /** Runs `teardown` in the afterAll, before the stack stops (the last registered first). */
  onTeardown(teardown: () => unknown): void;
}

/**
 * One jest file's stack: an isolation, the services started with `startStack`, an admin token and helpers,
 * set up in a beforeAll and torn down in an afterAll registered where this is called.
 */
export function useStack(label: string, options: StackFixtureOptions = {}): StackFixture {
  const { env, throughProxy, start = startStack, adminToken, timeoutMs, eventDefaults, ...stackOptions } = options;
  let stack: Stack | undefined;
  let admin: string | undefined;
  let dbClient: Promise<Client> | undefined;
  const base = useFixtureBase(
    `useStack('${label}')`,
    label,
    { throughProxy, timeoutMs },
    {
      async setUp(isolation) {
        const extraEnv = { ...(typeof env === 'function' ? env(isolation) : env), ...base.proxyEnv };
        stack = await start(isolation, { ...stackOptions, env: extraEnv });
        admin = await (adminToken ?? (() => userToken(newUserId(), { admin: true })))();
      },
      async tearDown() {
        await (await dbClient?.catch(() => undefined))?.end();
        await stack?.stop();
      },
    },
  );

  const started = (): { isolation: Isolation; stack: Stack; admin: string } => {
    const { isolation } = base;
    if (!stack || admin === undefined) throw new Error(`useStack('${label}') is read before its beforeAll ran`);
    return { isolation, stack, admin };
  };
  const connectDb = async (databaseUrl: string): Promise<Client> => {
    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    return client;
  };
  const hasGateway = (stackOptions.services ?? ['gateway']).includes('gateway');
  const serviceEnv = (overrides: Record<string, string> = {}): Record<string, string> => {
    const {
      isolation: current,
      stack: { urls },
    } = started();
    return {
      ...current.env,
      ...base.proxyEnv,
      EVENT_SERVICE_URL: urls['event-service'][0]!,
      SEAT_SERVICE_URL: urls['seat-service'][0]!,
      NOTIFIER_URL: urls.notifier[0]!,
      ...overrides,
    };
  };

  /** An admin's call to the events API (the gateway, else the event-service); throws unless `expected`. */
  const eventsCall = async <T>(
    method: string,
    path: string,
    expected: number,
    options: { body: unknown; headers?: Record<string, string> },
  ): Promise<T> => {
    const { stack: current, admin: token } = started();
    const baseUrl = hasGateway ? current.gatewayUrl : current.urls['event-service'][0]!;
    const res = await http<T>(baseUrl, method, path, { token, ...options });
    if (res.status !== expected) {
      const logs = current.of('event-service').map((p) => p.output().slice(-3000));
      throw new Error(`${method} ${path} answered ${res.status} ${JSON.stringify(res.body)}\n${logs.join('\n')}`);
    }
    return res.body;
  };

  return {
    get isolation() {
      return started().isolation;
    },
    get proxy() {
      return base.proxy;
    },
    get admin() {
      return started().admin;
    },
    get processes() {
      return started().stack.processes;
    },
    get urls() {
      return started().stack.urls;
    },
    get gatewayUrl() {
      return started().stack.gatewayUrl;
    },
    of: (name) => started().stack.of(name),
    envFor: (name, port) => started().stack.envFor(name, port),
    urlOf: (name) => started().stack.urls[name][0]!,
    async createEvent(body = {}, { headers } = {}) {
      const created = await eventsCall<{ id: string }>('POST', '/api/events', 201, {
        headers,
        body: { name: 'Show', totalSeats: 20, ...eventDefaults, ...body },
      });
      return created.id;
    },
    async updateEvent(eventId, body) {
      await eventsCall('PATCH', `/api/events/${eventId}`, 200, { body });
    },
    serviceEnv,
    async startService(name, overrides, startOptions) {
      const extra = await startService(name, serviceEnv(overrides), startOptions);
      base.teardowns.add(() => extra.stop());
      return extra;
    },
    async openWs(path = '/ws', { baseUrl, headers } = {}) {
      const client = await connectWs(
        `${(baseUrl ?? started().stack.gatewayUrl).replace(/^http/, 'ws')}${path}`,
        headers,
      );
      base.teardowns.add(() => client.close());
      return client;
    },
    db: {
      async query<R extends QueryResultRow>(sql: string, values?: unknown[]) {
        dbClient ??= connectDb(started().isolation.databaseUrl);
        return (await dbClient).query<R>(sql, values);
      },
    },
    onTeardown: base.teardowns.add,
  };
}
