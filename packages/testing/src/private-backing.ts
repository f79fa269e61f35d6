import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from './index';

/** Where a test's PostgreSQL, Redis and RabbitMQ are. */
export interface BackingUrls {
  postgresAdminUrl: string;
  redisUrl: string;
  amqpUrl: string;
}

/**
 * PostgreSQL, Redis and RabbitMQ of a test's own, started from the machine's binaries on free loopback
 * ports, so a fault-injection run can restart them (and lose Redis data) without disturbing anyone else
 * who uses the machine's instances.
 */
export interface PrivateBacking extends BackingUrls {
  /** SIGKILLs Redis and starts it again: with 'aof' it keeps what its AOF (fsync every second) had. */
  restartRedis(keep: 'aof' | 'nothing'): Promise<void>;
  restartRabbitMq(): Promise<void>;
  /** An immediate shutdown (no checkpoint, like a crash), then a start with crash recovery. */
  restartPostgres(): Promise<void>;
  stop(): Promise<void>;
}

const isRoot = process.getuid?.() === 0;

/** Runs a server's tool as its system user when we are root (PostgreSQL refuses to run as root). */
function run(user: string, command: string, args: string[], env: Record<string, string> = {}): string {
  const [file, argv] = isRoot
    ? ['runuser', ['-u', user, '--', 'env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), command, ...args]]
    : [command, args];
  return execFileSync(file, argv, {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function ownedDir(parent: string, name: string, user: string): string {
  const dir = path.join(parent, name);
  mkdirSync(dir, { recursive: true });
  if (isRoot) execFileSync('chown', ['-R', user, dir]);
  return dir;
}

function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const version = readdirSync(root).sort((a, b) => Number(b) - Number(a))[0];
  if (!version) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql');
  return path.join(root, version, 'bin');
}

async function startPostgres(base: string) {
  const port = await freePort();
  const dir = ownedDir(base, 'postgres', 'postgres');
  const bin = postgresBin();
  run('postgres', path.join(bin, 'initdb'), ['-D', dir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8']);
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c max_connections=300`;
  const start = () =>
    run('postgres', path.join(bin, 'pg_ctl'), ['-D', dir, '-o', options, '-l', `${dir}/log`, '-w', 'start']);
  const stop = (mode: 'fast' | 'immediate') =>
    run('postgres', path.join(bin, 'pg_ctl'), ['-D', dir, '-m', mode, '-w', 'stop']);
  start();
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, start, stop };
}

async function startRedis(base: string) {
  const port = await freePort();
  const dir = ownedDir(base, 'redis', os.userInfo().username);
  const pidFile = path.join(dir, 'redis.pid');
  const start = async (appendonly: boolean) => {
    execFileSync('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--daemonize', 'yes',
      '--appendonly', appendonly ? 'yes' : 'no', '--appendfsync', 'everysec',
      '--dir', dir, '--pidfile', pidFile, '--logfile', path.join(dir, 'redis.log'),
    ]); // prettier-ignore
    await waitFor(() => (execFileSync('redis-cli', ['-p', String(port), 'ping'], { stdio: 'ignore' }), true), {
      timeoutMs: 20_000,
      intervalMs: 100,
      what: 'private Redis',
    });
  };
  const kill = () => {
    const pid = Number(readFileSync(pidFile, 'utf8'));
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    execFileSync('sh', ['-c', `while kill -0 ${pid} 2>/dev/null; do sleep 0.05; done`]);
    rmSync(pidFile, { force: true });
  };
  await start(true);
  return { url: `redis://127.0.0.1:${port}`, dir, start, kill };
}

async function startRabbitMq(base: string) {
  const port = await freePort();
  const distPort = await freePort();
  const dir = ownedDir(base, 'rabbitmq', 'rabbitmq');
  const node = `zephyr-${path.basename(base).replace(/[^a-z0-9]/gi, '')}@localhost`;
  // Its own config file: the machine's may bind the standard port; no plugins (the management plugin
  // would bind the machine's management port).
  writeFileSync(path.join(dir, 'rabbitmq.conf'), `listeners.tcp.local = 127.0.0.1:${port}\nloopback_users = none\n`);
  writeFileSync(path.join(dir, 'enabled_plugins'), '[].\n');
  if (isRoot) execFileSync('chown', ['-R', 'rabbitmq', dir]);
  const env = {
    HOME: isRoot ? '/var/lib/rabbitmq' : os.homedir(),
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_CONFIG_FILE: path.join(dir, 'rabbitmq.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'),
    RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(dir, 'log'),
    RABBITMQ_PID_FILE: path.join(dir, 'rabbitmq.pid'),
  };
  const sbin = '/usr/lib/rabbitmq/bin';
  const ctl = (...args: string[]) => run('rabbitmq', path.join(sbin, 'rabbitmqctl'), ['-n', node, ...args], env);
  run('rabbitmq', path.join(sbin, 'rabbitmq-server'), ['-detached'], env);
  // The node registers a moment after -detached returns; await_startup fails on a node not there yet.
  await waitFor(() => (ctl('ping'), true), { timeoutMs: 90_000, intervalMs: 500, what: 'private RabbitMQ node' });
  ctl('await_startup', '--timeout', '90');
  return { url: `amqp://guest:guest@127.0.0.1:${port}`, ctl };
}

/** Starts the three on free ports under a temporary folder (removed again by `stop`). */
export async function startPrivateBacking(): Promise<PrivateBacking> {
  const base = mkdtempSync(path.join(os.tmpdir(), 'zephyr-backing-'));
  if (isRoot) chownSync(base, 0, 0);
  execFileSync('chmod', ['755', base]);
  const stops: (() => void)[] = [];
  try {
    const postgres = await startPostgres(base);
    stops.push(() => postgres.stop('immediate'));
    const redis = await startRedis(base);
    stops.push(() => redis.kill());
    const rabbit = await startRabbitMq(base);
    stops.push(() => rabbit.ctl('stop'));
    return {
      postgresAdminUrl: postgres.url,
      redisUrl: redis.url,
      amqpUrl: rabbit.url,
      async restartRedis(keep) {
        redis.kill();
        if (keep === 'nothing')
          for (const f of readdirSync(redis.dir))
            if (f !== 'redis.log') rmSync(path.join(redis.dir, f), { recursive: true, force: true });
        await redis.start(true);
      },
      async restartRabbitMq() {
        rabbit.ctl('stop_app');
        rabbit.ctl('start_app');
        rabbit.ctl('await_startup', '--timeout', '90');
      },
      async restartPostgres() {
        postgres.stop('immediate');
        postgres.start();
      },
      async stop() {
        for (const stop of stops.reverse()) {
          try {
            stop();
          } catch {
            /* best effort: the folder goes anyway */
          }
        }
        rmSync(base, { recursive: true, force: true });
      },
    };
  } catch (err) {
    for (const stop of stops.reverse()) {
      try {
        stop();
      } catch {
        /* best effort */
      }
    }
    rmSync(base, { recursive: true, force: true });
    throw err;
  }
}
