// npm start: install, build, migrate, then run all five services on this machine (gateway on :3000).
import { spawn, execFileSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, build, ensureInstall } from './ensure-install.mjs';
import { localJwtSecret } from './local-secret.mjs';

ensureInstall();
build();

// The service manifest (names, default ports, start order) is contract data: read it from the build.
const {
  SERVICE_MANIFEST: SERVICES,
  serviceNodeArgs,
  HealthPaths,
} = await import(pathToFileURL(path.join(ROOT, 'packages', 'contracts', 'dist', 'index.js')).href);

/** Resolves true when something already listens on the port (another stack would answer our readiness checks). */
const portTaken = (port) =>
  new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

const taken = [];
for (const s of SERVICES) if (await portTaken(s.port)) taken.push(s);
if (taken.length > 0) {
  console.error(
    `zephyr: port(s) ${taken.map((s) => `${s.port} (${s.name})`).join(', ')} already in use; is another stack running? Stop it first.`,
  );
  process.exit(1);
}

const found = localJwtSecret({ create: true });
if (found.created)
  console.log(
    `zephyr: JWT_SECRET was not set; created a random local secret in ${path.relative(ROOT, found.source)} (git-ignored). Set JWT_SECRET to use your own.`,
  );
else if (found.source !== 'JWT_SECRET')
  console.log(`zephyr: using the local JWT secret from ${path.relative(ROOT, found.source)}`);
const env = { ...process.env, JWT_SECRET: found.secret, MIGRATE_ON_START: 'false' };

for (const name of ['event-service', 'seat-service']) {
  try {
    process.stdout.write(
      execFileSync(process.execPath, [path.join(ROOT, 'services', name, 'dist', 'migrate.js')], { env }).toString(),
    );
  } catch (err) {
    console.error(
      `zephyr: migrations of ${name} failed. Is PostgreSQL running (DATABASE_URL)?\n${err.stderr ?? err.message}`,
    );
    process.exit(1);
  }
}

const children = [];
let stopping = false;
function launch(service) {
  const child = spawn(
    process.execPath,
    [...serviceNodeArgs(service.name), path.join(ROOT, 'services', service.name, 'dist', 'main.js')],
    {
      env: { ...env, PORT: String(service.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const prefix = `[${service.name}] `;
  const forward = (stream) => (chunk) => {
    for (const line of chunk.toString().split('\n')) if (line) stream.write(prefix + line + '\n');
  };
  child.stdout.on('data', forward(process.stdout));
  child.stderr.on('data', forward(process.stderr));
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`zephyr: ${service.name} exited (${signal ?? code}); stopping the stack`);
      stop(1);
    }
  });
  children.push({ ...service, child });
}

const isReady = async (service) => {
  try {
    const res = await fetch(`http://127.0.0.1:${service.port}${HealthPaths.ready}`, {
      signal: AbortSignal.timeout(1000),
    });
    return res.status === 200;
  } catch {
    return false;
  }
};

/** One service at a time, each after the one it calls is ready (no connection-refused noise at start). */
async function waitReady() {
  const deadline = Date.now() + 60_000;
  const pending = new Set(SERVICES.map((s) => s.name));
  for (const service of SERVICES) {
    if (stopping) return;
    launch(service);
    while (!stopping && Date.now() < deadline && !(await isReady(service)))
      await new Promise((r) => setTimeout(r, 200));
    if (stopping || Date.now() >= deadline) break;
    pending.delete(service.name);
  }
  if (stopping) return;
  if (pending.size > 0) {
    console.error(
      `zephyr: not ready after 60 s: ${[...pending].join(', ')} (are PostgreSQL, Redis and RabbitMQ running?)`,
    );
  } else {
    console.log(
      '\nzephyr: all five services are up. Gateway: http://127.0.0.1:3000  WebSocket: ws://127.0.0.1:3000/ws',
    );
    console.log('zephyr: live seat map: http://127.0.0.1:3000/ (paste a token to hold seats)');
    console.log('zephyr: mint a token with `npm run token -- --user <uuid> [--admin]`; Ctrl-C stops everything.\n');
  }
}

function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  console.log('zephyr: stopping...');
  for (const { child } of children) if (child.exitCode === null) child.kill('SIGTERM');
  const timer = setTimeout(() => {
    for (const { child } of children) if (child.exitCode === null) child.kill('SIGKILL');
    process.exit(code);
  }, 15_000);
  Promise.all(
    children.map(({ child }) => (child.exitCode !== null ? null : new Promise((r) => child.once('exit', r)))),
  ).then(() => {
    clearTimeout(timer);
    process.exit(code);
  });
}

process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
void waitReady();
