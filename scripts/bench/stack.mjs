// Starts an isolated Zephyr stack for benchmarks: own database, Redis prefix, exchange and ports.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { createRequire } from 'node:module';
import { ROOT } from '../ensure-install.mjs';

const require = createRequire(import.meta.url);

export const SERVICE_NAMES = ['event-service', 'seat-service', 'notifier', 'expiry-worker', 'gateway'];

export async function startStack({
  basePort,
  env = {},
  services = SERVICE_NAMES,
  replicas = {},
  serviceEnv = {},
  nodeArgs = {},
}) {
  const id = `bench_${randomBytes(3).toString('hex')}`;
  const secret = randomBytes(32).toString('base64url');
  const ports = {
    gateway: basePort,
    'event-service': basePort + 1,
    'seat-service': basePort + 2,
    notifier: basePort + 3,
    'expiry-worker': basePort + 4,
  };
  const shared = {
    ...process.env,
    DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${id}`,
    REDIS_KEY_PREFIX: `${id}:`,
    AMQP_EXCHANGE: id,
    JWT_SECRET: secret,
    LOG_LEVEL: 'warn',
    SHUTDOWN_DRAIN_MS: '0',
    EVENT_SERVICE_URL: `http://127.0.0.1:${ports['event-service']}`,
    SEAT_SERVICE_URL: `http://127.0.0.1:${ports['seat-service']}`,
    NOTIFIER_URL: `http://127.0.0.1:${ports.notifier}`,
    ...env,
  };
  const children = [];
  const killAll = () => children.forEach(({ child }) => child.exitCode === null && child.kill('SIGKILL'));
  try {
    for (const name of services) {
      const count = replicas[name] ?? 1;
      for (let i = 0; i < count; i++) {
        const port = i === 0 ? ports[name] : ports[name] + 10 * i;
        const child = spawn(
          process.execPath,
          [...(nodeArgs[name] ?? []), path.join(ROOT, 'services', name, 'dist', 'main.js')],
          {
            env: { ...shared, ...(serviceEnv[name] ?? {}), PORT: String(port), NOTIFIER_REPLICA_ID: `${id}-${port}` },
            stdio: ['ignore', 'ignore', 'inherit'],
          },
        );
        children.push({ name, port, child });
      }
      // Databases are created by the first service that migrates; start the rest once it is ready.
      for (const c of children.filter((c) => c.name === name)) await waitReady(c.port);
    }
  } catch (err) {
    killAll();
    throw err;
  }
  const { mintToken } = require(path.join(ROOT, 'packages', 'runtime', 'dist', 'index.js'));
  return {
    id,
    ports,
    envFor: (name) => ({
      ...shared,
      ...(serviceEnv[name] ?? {}),
      PORT: String(ports[name]),
      NOTIFIER_REPLICA_ID: `${id}-${ports[name]}`,
    }),
    children,
    gatewayUrl: `http://127.0.0.1:${ports.gateway}`,
    token: (userId, admin = false) => mintToken({ secret, userId, admin, expiresInSeconds: 3600 }),
    async stop() {
      for (const { child } of children) child.kill('SIGTERM');
      await Promise.all(
        children.map(({ child }) => (child.exitCode !== null ? null : new Promise((r) => child.once('exit', r)))),
      );
      // Durable quorum queues are not free: remove this run's exchange and queues.
      const { deleteBrokerObjects } = require(path.join(ROOT, 'packages', 'testing', 'dist', 'index.js'));
      const { QueueNames } = require(path.join(ROOT, 'packages', 'contracts', 'dist', 'index.js'));
      const notifierQueues = children
        .filter((c) => c.name === 'notifier')
        .map((c) => QueueNames.notifierReplica(id, `${id}-${c.port}`));
      await deleteBrokerObjects(id, notifierQueues);
      const { Client } = require(path.join(ROOT, 'packages', 'runtime', 'node_modules', 'pg'));
      const admin = new Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS "${id}" WITH (FORCE)`).catch(() => undefined);
      await admin.end();
    },
  };
}

export async function waitReady(port, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health/ready`);
      if (res.status === 200) return;
    } catch {
      /* starting */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`port ${port} not ready`);
}

/** Total CPU seconds (user + system) a process has used, from /proc. */
export function cpuSeconds(pid) {
  try {
    const stat = require('node:fs').readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}
