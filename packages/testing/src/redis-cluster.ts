import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A local Redis Cluster of redis-server processes on loopback (no Docker), for tests. */
export interface LocalRedisCluster {
  /** `host:port,...` of every node: the REDIS_CLUSTER_NODES value. */
  nodes: string;
  ports: number[];
  /**
   * Kills one master (SIGKILL) — the one serving `key`'s slot when given — and resolves once its replica
   * was promoted and the cluster is ok again.
   */
  killMaster(key?: string): Promise<{ killed: number; promoted: number }>;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';

const cli = async (port: number, ...args: string[]): Promise<string> =>
  (await run('redis-cli', ['-h', HOST, '-p', String(port), ...args], { timeout: 10_000 })).stdout;

const portFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });

/**
 * Node and cluster-bus ports come from their own range: below the test services' ports (20000+, testing's
 * freePort) and Linux's ephemeral range (32768+), far from 6379. Each attempt takes a random block of it, so
 * two runs on one machine rarely meet; when they do, startRedisCluster notices and takes another block.
 */
const PORT_RANGE = { from: 16000, to: 20000 };

async function freePortBlock(size: number): Promise<number[]> {
  const blocks = Math.floor((PORT_RANGE.to - PORT_RANGE.from) / size);
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = PORT_RANGE.from + Math.floor(Math.random() * blocks) * size;
    const ports = Array.from({ length: size }, (_, i) => first + i);
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return ports;
  }
  throw new Error(`redis cluster: no free block of ${size} ports in ${PORT_RANGE.from}-${PORT_RANGE.to}`);
}

/**
 * setpriv --pdeathsig KILL: the kernel kills each redis-server when the process that started it dies, however
 * it dies (a crashed or interrupted jest never runs globalTeardown). setpriv execs redis-server in place, so
 * the child's pid is the server's. Without setpriv (not Linux), the exit hook below is the only net.
 */
const setpriv = (() => {
  try {
    execFileSync('setpriv', ['--help'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

function spawnRedis(args: string[], cwd: string): ChildProcess {
  return setpriv
    ? spawn('setpriv', ['--pdeathsig', 'KILL', '--', 'redis-server', ...args], { stdio: 'ignore', cwd })
    : spawn('redis-server', args, { stdio: 'ignore', cwd });
}

/** Every node this process started and has not stopped: killed synchronously if the process exits first. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** The redis-server answering on `port` is `child` (not another run's node that took the port first). */
const answersAs = async (port: number, child: ChildProcess): Promise<boolean> =>
  new RegExp(`^process_id:${child.pid}\\r?$`, 'm').test(await cli(port, 'info', 'server'));

const exited = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null;

/** Polls `check` until it holds; `hopeless` ends the wait early (a process that died will not answer). */
async function until(
  check: () => Promise<boolean>,
  what: string,
  { timeoutMs = 30_000, hopeless = () => false }: { timeoutMs?: number; hopeless?: () => boolean } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !hopeless()) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`redis cluster: ${hopeless() ? 'gave up' : 'timed out'} waiting for ${what}`);
}

const clusterOk = async (port: number): Promise<boolean> => /cluster_state:ok/.test(await cli(port, 'cluster', 'info'));

/** This node's view: port → role, for nodes it does not consider failed. */
async function roles(port: number): Promise<Map<number, 'master' | 'slave'>> {
  const out = new Map<number, 'master' | 'slave'>();
  for (const line of (await cli(port, 'cluster', 'nodes')).split('\n').filter(Boolean)) {
    const [, address, flags] = line.split(' ');
    if (!address || !flags || flags.includes('fail')) continue;
    const nodePort = Number(address.split('@')[0]!.split(':').pop());
    out.set(nodePort, flags.includes('master') ? 'master' : 'slave');
  }
  return out;
}

/** The port of the master serving `slot`, in this node's view. */
async function masterOf(port: number, slot: number): Promise<number | undefined> {
  for (const line of (await cli(port, 'cluster', 'nodes')).split('\n').filter(Boolean)) {
    const [, address, flags, , , , , , ...ranges] = line.split(' ');
    if (!address || !flags?.includes('master') || flags.includes('fail')) continue;
    for (const range of ranges) {
      const [from, to = from] = range.split('-').map(Number);
      if (from !== undefined && to !== undefined && slot >= from && slot <= to) {
        return Number(address.split('@')[0]!.split(':').pop());
      }
    }
  }
  return undefined;
}

/** Starts `masters` masters with `replicasPerMaster` replicas each, joined into one cluster with every slot covered. */
export async function startRedisCluster({ masters = 3, replicasPerMaster = 1 } = {}): Promise<LocalRedisCluster> {
  const count = masters * (1 + replicasPerMaster);
  for (let attempt = 1; ; attempt++) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'zephyr-redis-cluster-'));
    const children = new Map<number, ChildProcess>();
    const stop = async () => {
      await Promise.all(
        [...children.values()].map(
          (child) =>
            new Promise<void>((resolve) => {
              running.delete(child);
              if (exited(child)) return resolve();
              child.once('exit', () => resolve());
              child.kill('SIGKILL');
            }),
        ),
      );
      rmSync(dir, { recursive: true, force: true });
    };
    const block = await freePortBlock(2 * count);
    const ports = block.slice(0, count);
    try {
      for (const [i, port] of ports.entries()) {
        // A short node timeout keeps a test's failover to a few seconds; no persistence, it is throwaway.
        const child = spawnRedis(
          [
            ...['--port', String(port), '--bind', HOST, '--cluster-enabled', 'yes'],
            // The bus port from the same block (not port + 10000, which would land among the services' ports).
            ...['--cluster-port', String(block[count + i])],
            ...['--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '1500', '--dir', dir],
            ...['--save', '', '--appendonly', 'no', '--daemonize', 'no', '--logfile', `redis-${port}.log`],
            // Replicas sync straight over the socket, and a replica may always take over (a busy test machine
            // can delay its last contact with the master beyond the default validity window).
            ...['--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0'],
            ...['--cluster-replica-validity-factor', '0'],
          ],
          dir,
        );
        children.set(port, child);
        running.add(child);
      }
      // A node that lost a port race to another run exits (address in use), or the port answers as another
      // process: then this block is dropped and another one tried.
      await Promise.all(
        ports.map((port) => {
          const child = children.get(port)!;
          return until(() => answersAs(port, child), `${port} up`, { hopeless: () => exited(child) });
        }),
      );
    } catch (err) {
      await stop();
      if (attempt < 5) continue;
      throw err;
    }
    try {
      await run(
        'redis-cli',
        [
          '--cluster',
          'create',
          ...ports.map((port) => `${HOST}:${port}`),
          '--cluster-replicas',
          String(replicasPerMaster),
          '--cluster-yes',
        ],
        { timeout: 60_000 },
      );
      await Promise.all(ports.map((port) => until(() => clusterOk(port), `cluster ok on ${port}`)));
      // Every replica must be attached before a failover test can rely on one.
      await until(
        async () =>
          [...(await roles(ports[0]!)).values()].filter((r) => r === 'slave').length === masters * replicasPerMaster,
        'replicas attached',
      );
    } catch (err) {
      await stop();
      throw err;
    }
    return clusterHandle(ports, children, stop);
  }
}

function clusterHandle(
  ports: number[],
  children: Map<number, ChildProcess>,
  stop: () => Promise<void>,
): LocalRedisCluster {
  const alive = () => ports.filter((port) => !exited(children.get(port)!));
  return {
    nodes: ports.map((port) => `${HOST}:${port}`).join(','),
    ports,
    async killMaster(key) {
      const survivors = alive();
      const view = await roles(survivors[0]!);
      const killed =
        key === undefined
          ? survivors.find((port) => view.get(port) === 'master')
          : await masterOf(survivors[0]!, Number((await cli(survivors[0]!, 'cluster', 'keyslot', key)).trim()));
      if (killed === undefined) throw new Error('redis cluster: no live master');
      const replicaOf = async (port: number) =>
        (await cli(port, 'info', 'replication')).includes(`master_port:${killed}`);
      const replicas: number[] = [];
      for (const port of survivors) if (port !== killed && (await replicaOf(port))) replicas.push(port);
      if (replicas.length === 0) throw new Error(`redis cluster: master ${killed} has no replica`);
      const child = children.get(killed)!;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
      let promoted = 0;
      await until(async () => {
        for (const port of replicas) {
          if (/role:master/.test(await cli(port, 'info', 'replication'))) promoted = port;
        }
        return promoted !== 0;
      }, `a replica of ${killed} promoted`);
      const rest = alive();
      await Promise.all(rest.map((port) => until(() => clusterOk(port), `cluster ok on ${port} after failover`)));
      return { killed, promoted };
    },
    stop,
  };
}
