// The Dockerfile's build stage played without Docker: its COPY and RUN steps run here, per service, in a
// copy of the build context (.dockerignore applied), and each /out is what the runtime stage would copy
// into the image. Then the five outputs run together against this machine's PostgreSQL, Redis and
// RabbitMQ (own database, key prefix and exchange), migrations first as docker-compose does, and stop on
// SIGTERM. What this cannot show: the base images, tini, file ownership, the image size as Docker counts it.
// Usage: node build.mjs <work dir>
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createReport, documentedServices, readRepoFile, repoRoot } from './report.mjs';

const report = createReport('build');
const tools = join(dirname(fileURLToPath(import.meta.url)), '..');
const [work] = process.argv.slice(2);
const context = join(work, 'context');
const backing = {
  postgres: process.env.CHECK_DEPLOY_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432',
  redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  amqp: process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
};
// Fixed names, so repeated runs reuse one set of queues instead of leaving new ones behind.
const database = 'zephyr_check_deploy';

function sh(command, options = {}) {
  const result = spawnSync('bash', ['-euo', 'pipefail', '-c', command], { encoding: 'utf8', ...options });
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}`.trim() };
}

/** Dockerfile instructions grouped by stage name, continuation lines joined. */
function stagesOf(dockerfile) {
  let current = [];
  const stages = new Map([['global', current]]);
  for (const line of dockerfile.replace(/\\\n/g, ' ').split('\n')) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) continue;
    const [op, ...rest] = trimmed.split(/\s+/);
    const args = rest.join(' ');
    if (op.toUpperCase() === 'FROM') {
      current = [];
      stages.set(/ AS (\S+)$/i.exec(args)?.[1] ?? `stage${stages.size}`, current);
    } else {
      current.push({ op: op.toUpperCase(), args });
    }
  }
  return stages;
}

/** The build context as Docker would send it: the checkout minus .dockerignore's patterns. */
function copyContext() {
  const excludes = readRepoFile('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((p) => `--exclude='${p.replace(/^\*\*\//, '')}'`)
    .join(' ');
  mkdirSync(context, { recursive: true });
  return sh(`tar -C '${repoRoot}' ${excludes} -cf - . | tar -C '${context}' -xf -`);
}

function ensurePnpm(version) {
  const bin = join(tools, 'pnpm', 'node_modules', '.bin');
  if (!existsSync(join(bin, 'pnpm'))) {
    const install = sh(
      `npm install --prefix '${join(tools, 'pnpm')}' --no-audit --no-fund --loglevel=error pnpm@${version}`,
    );
    if (!install.ok) throw new Error(`could not install pnpm@${version}: ${install.output}`);
  }
  return bin;
}

/** Runs the "pnpm" and "build" stages for one service; returns its /out directory. */
function build(stages, service) {
  const out = join(work, `out-${service}`);
  const workdir = join(work, 'repo');
  mkdirSync(workdir, { recursive: true });
  let path = process.env.PATH;
  for (const { op, args } of stages.get('pnpm')) {
    const pnpm = /npm install -g pnpm@([\d.]+)/.exec(args);
    if (op === 'RUN' && pnpm) path = `${ensurePnpm(pnpm[1])}:${path}`;
    else if (op === 'RUN') throw new Error(`unsupported step in the pnpm stage: ${args}`);
  }
  const env = {
    ...process.env,
    ...{ CI: 'true', SERVICE: service, PATH: path, npm_config_store_dir: join(tools, 'pnpm-store') },
  };
  for (const { op, args } of stages.get('build')) {
    if (op === 'COPY') {
      const [dest, ...sources] = args.split(/\s+/).reverse();
      const from = sources
        .reverse()
        .map((s) => `'${s}'`)
        .join(' ');
      const step = sh(`cd '${context}' && cp -a ${from === "'.'" ? '.' : from} '${join(workdir, dest)}'`);
      if (!step.ok) throw new Error(`COPY ${args}: ${step.output}`);
    } else if (op === 'RUN') {
      const command = args.replace(/(?<![\w/.-])\/out\b/g, out);
      const step = sh(command, { cwd: workdir, env });
      if (!step.ok) throw new Error(`RUN ${args}\n${step.output.split('\n').slice(-15).join('\n')}`);
    }
  }
  return out;
}

function freePort() {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

function get(port, path) {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.end();
  });
}

async function waitReady(port, seconds) {
  for (let i = 0; i < seconds * 4; i += 1) {
    if ((await get(port, '/health/ready')).status === 200) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

/** The five outputs as one stack, configured the way docker-compose.yml configures the containers. */
async function runStack(outputs) {
  const ports = Object.fromEntries(await Promise.all([...outputs.keys()].map(async (s) => [s, await freePort()])));
  const url = (service) => `http://127.0.0.1:${ports[service]}`;
  const common = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    DATABASE_URL: `${backing.postgres}/${database}`,
    REDIS_URL: backing.redis,
    REDIS_KEY_PREFIX: 'check-deploy:',
    AMQP_URL: backing.amqp,
    AMQP_EXCHANGE: 'zephyr.check-deploy',
    JWT_SECRET: randomBytes(24).toString('hex'),
    SHUTDOWN_DRAIN_MS: '500',
    MIGRATE_ON_START: 'false',
    EVENT_SERVICE_URL: url('event-service'),
    SEAT_SERVICE_URL: url('seat-service'),
    NOTIFIER_URL: url('notifier'),
    TRUST_PROXY: '1',
  };
  for (const [service, out] of outputs) {
    if (!existsSync(join(out, 'dist', 'migrate.js'))) continue;
    const migrate = spawnSync('node', ['dist/migrate.js'], {
      cwd: out,
      env: common,
      encoding: 'utf8',
      timeout: 60_000,
    });
    report.check(
      migrate.status === 0,
      `${service}: node dist/migrate.js succeeds`,
      `${migrate.stdout}${migrate.stderr}`.trim().slice(-300),
    );
  }
  const running = new Map();
  for (const [service, out] of outputs) {
    const child = spawn('node', ['dist/main.js'], {
      cwd: out,
      env: { ...common, PORT: String(ports[service]) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    running.set(service, { child, stderr: () => stderr });
  }
  try {
    for (const [service, { child, stderr }] of running) {
      const ready = await waitReady(ports[service], 30);
      report.check(
        ready,
        `${service}: node dist/main.js becomes ready`,
        child.exitCode !== null ? `exited ${child.exitCode}: ${stderr().slice(-300)}` : 'not ready in 30 s',
      );
      const metrics = await get(ports[service], '/metrics');
      report.check(metrics.status === 200 && metrics.body.includes('process_cpu'), `${service}: /metrics answers`);
    }
    const events = await get(ports.gateway, '/api/events');
    report.check(
      events.status === 200 && events.body.includes('"items"'),
      'GET /api/events through the gateway answers 200',
      `${events.status} ${events.body.slice(0, 200)}`,
    );
  } finally {
    const exits = [...running].map(
      ([service, { child }]) =>
        new Promise((resolve) => {
          if (child.exitCode !== null) return resolve([service, child.exitCode, 0]);
          const started = Date.now();
          const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
          child.once('exit', (code, signal) => {
            clearTimeout(timer);
            resolve([service, signal ?? code, Date.now() - started]);
          });
          child.kill('SIGTERM');
        }),
    );
    for (const [service, code, ms] of await Promise.all(exits)) {
      report.check(code === 0, `${service}: SIGTERM drains and exits 0 (${(ms / 1000).toFixed(1)} s)`, `exit ${code}`);
    }
    sh(`psql '${backing.postgres}/postgres' -qc 'DROP DATABASE IF EXISTS ${database} WITH (FORCE)'`);
  }
}

async function main() {
  const copied = copyContext();
  report.check(copied.ok, 'build context copied with .dockerignore applied', copied.output);
  report.check(
    !existsSync(join(context, 'node_modules')) && !existsSync(join(context, '.git')),
    'context holds no node_modules or .git',
  );
  const stages = stagesOf(readRepoFile('Dockerfile'));
  const outputs = new Map();
  for (const service of documentedServices().keys()) {
    const started = Date.now();
    try {
      const out = build(stages, service);
      outputs.set(service, out);
      const store = readdirSync(join(out, 'node_modules', '.pnpm'));
      const devOnly = store.filter((name) => /^(typescript|jest|ts-jest|eslint|prettier|@zephyr\+testing)@/.test(name));
      const size = sh(`du -sm '${out}' | cut -f1`).output;
      report.check(
        devOnly.length === 0,
        `${service}: image payload has no dev-only packages (${size} MB, built in ${Math.round((Date.now() - started) / 1000)} s)`,
        devOnly.join(', '),
      );
      const pkg = JSON.parse(readFileSync(join(out, 'package.json'), 'utf8'));
      report.check(
        pkg.name === `@zephyr/${service}` && existsSync(join(out, 'dist', 'main.js')),
        `${service}: /out is the service with dist/main.js`,
      );
    } catch (err) {
      report.fail(`${service}: build stage failed: ${err.message}`);
    }
  }
  if (outputs.size === documentedServices().size) await runStack(outputs);
}

main()
  .catch((err) => report.fail(err.stack))
  .finally(() => report.finish());
