import net from 'node:net';
import { BACKING } from './backing';
import type { Isolation } from './index';

export interface TcpProxy {
  port: number;
  /** Simulates an outage: refuses new connections and cuts the open ones. */
  down(): Promise<void>;
  up(): Promise<void>;
  /** Delays every chunk in both directions by `ms` from now on (0: none), keeping each direction's order. */
  delay(ms: number): void;
  close(): Promise<void>;
}

/** `url` (a backing service's) with its port swapped for the proxy's, so a client connects through it. */
export function proxiedUrl(url: string, proxy: TcpProxy): string {
  const through = new URL(url);
  through.port = String(proxy.port);
  return through.toString();
}

/** A TCP proxy in front of a real backing service, so a test can cut it without stopping it for others. */
export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let delayMs = 0;
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  };
  // One FIFO per direction: a chunk never overtakes the one before it, whatever the delay does meanwhile.
  const forward = (from: net.Socket, to: net.Socket) => {
    const queue: { due: number; run: () => void }[] = [];
    let timer: NodeJS.Timeout | undefined;
    const drain = () => {
      timer = undefined;
      while (queue.length > 0 && queue[0]!.due <= Date.now()) queue.shift()!.run();
      if (queue.length > 0) timer = setTimeout(drain, queue[0]!.due - Date.now());
    };
    const send = (run: () => void) => {
      if (delayMs === 0 && queue.length === 0) return run();
      queue.push({ due: Date.now() + delayMs, run });
      if (!timer) timer = setTimeout(drain, Math.max(0, queue[0]!.due - Date.now()));
    };
    from.on('data', (chunk) => send(() => to.destroyed || to.write(chunk)));
    from.on('end', () => send(() => to.end()));
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost);
    track(client);
    track(upstream);
    forward(client, upstream);
    forward(upstream, client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  const listen = (port: number) => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  await listen(0);
  const { port } = server.address() as net.AddressInfo;
  const down = async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await closed;
  };
  return {
    port,
    down,
    up: () => listen(port),
    delay: (ms) => {
      delayMs = ms;
    },
    close: () => (server.listening ? down() : Promise.resolve()),
  };
}

/** A backing service a fixture's processes reach only through a TCP proxy the test cuts. */
export type ProxiedBacking = 'postgres' | 'redis' | 'amqp';

/** Starts a TCP proxy in front of `backing` and returns it with the env that routes the stack through it. */
export async function proxyInFront(
  backing: ProxiedBacking,
  isolation: Isolation,
): Promise<{ proxy: TcpProxy; env: Record<string, string> }> {
  if (backing === 'redis') {
    const proxy = await startTcpProxy(Number(new URL(BACKING.redisUrl).port || 6379));
    return { proxy, env: { REDIS_URL: proxiedUrl(BACKING.redisUrl, proxy) } };
  }
  if (backing === 'amqp') {
    const proxy = await startTcpProxy(Number(new URL(BACKING.amqpUrl).port || 5672));
    return { proxy, env: { AMQP_URL: proxiedUrl(isolation.env.AMQP_URL!, proxy) } };
  }
  const proxy = await startTcpProxy(Number(new URL(BACKING.postgresAdminUrl).port || 5432));
  return { proxy, env: { DATABASE_URL: proxiedUrl(isolation.databaseUrl, proxy) } };
}
