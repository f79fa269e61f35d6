// The benchmarks' stack: the one launcher the tests and the chaos run use (@zephyr/testing startStack), on
// an isolation of its own (database, Redis prefix, exchange), shaped for the bench scripts: the first port of
// each service, its processes, tokens. stop() removes the database, queues and Redis keys it made.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ROOT } from '../ensure-install.mjs';

const require = createRequire(import.meta.url);
const testing = require(path.join(ROOT, 'packages', 'testing', 'dist', 'index.js'));
const { SERVICE_MANIFEST } = require(path.join(ROOT, 'packages', 'contracts', 'dist', 'index.js'));

export const SERVICE_NAMES = SERVICE_MANIFEST.map((service) => service.name);

/**
 * `services` (default all five, started in manifest order), `replicas` per service, `env` for every process,
 * `nodeArgs` per service (`--cpu-prof`).
 */
export async function startStack({ env = {}, services = SERVICE_NAMES, replicas = {}, nodeArgs = {} } = {}) {
  const isolation = await testing.isolate('bench');
  let stack;
  try {
    stack = await testing.startStack(isolation, { services, replicas, env, nodeArgs });
  } catch (err) {
    await isolation.cleanup();
    throw err;
  }
  const ports = Object.fromEntries(
    Object.entries(stack.urls).map(([name, urls]) => [name, Number(new URL(urls[0]).port)]),
  );
  return {
    id: isolation.id,
    /** The PostgreSQL database this stack's services use (its backends are counted per database). */
    database: new URL(isolation.databaseUrl).pathname.slice(1),
    ports,
    /** Every process started: `{name, port, child}`; a bench may add one it restarts. */
    children: stack.processes,
    envFor: (name) => stack.envFor(name, ports[name]),
    gatewayUrl: stack.gatewayUrl,
    token: (userId, admin = false) => testing.userToken(userId, { admin, expiresInSeconds: 24 * 3600 }),
    /** Starts one more process of `name` on its first port (a replica the bench stopped) and waits until ready. */
    restart: (name) => testing.startService(name, stack.envFor(name, ports[name]), { port: ports[name] }),
    async stop() {
      await stack.stop();
      await testing.deleteRedisKeys(isolation.redisPrefix);
      await isolation.cleanup();
    },
  };
}

/** Total CPU seconds (user + system) a process has used, from /proc. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}
