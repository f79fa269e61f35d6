// npm run bench:hops: what one HTTP hop costs on this machine, by layer. The same hold request (POST with a
// JSON body and a bearer token) goes by wrk to each of:
//   node          Node's http server answering itself (the floor of a hop)
//   express       express 5 answering from a route (one express hop; the hold bench's baseline without Redis)
//   express-app-server  the same, served as the services serve express (createAppServer)
//   node-proxy    Node's http server and client relaying to a trivial upstream (the floor of a proxying hop)
//   express-hpm   express 5 + http-proxy-middleware relaying to it (the gateway's two packages, nothing else)
//   express-hpm-app-server  the same, served by createAppServer
//   express-gateway-proxy  express 5 + the gateway's own proxy middleware (its options and error handling)
//   gateway       the Zephyr gateway relaying to it (rate limits off; auth, guard, metrics, idempotency on;
//                 holds proxied one by one, HOLD_BATCHING=false)
// All but the gateway are bare processes forked here (hop-servers.mjs). The upstream answers like the
// seat-service's hold but does no work, so each row is the hop's own cost.
// BENCH_HOP_COMPARE_ROOT=<another built checkout> adds a row for that checkout's gateway, in the same
// alternating windows: an A/B of a gateway change on one noisy machine. BENCH_CPU_PROF=gateway writes the
// gateway's .cpuprofile to BENCH_CPU_PROF_DIR (default /tmp/zephyr-prof).
// Windows of BENCH_HOP_WINDOW_SECONDS (3) go to each target in turn, BENCH_HOP_ROUNDS (5) times after a
// warm-up round, so a machine whose speed drifts affects every row alike. Prints CPU µs per request of the
// hop's process (and of the upstream) and requests/s, and one JSON line.
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, ensureInstall } from '../ensure-install.mjs';
import { cpuSeconds, startStack } from './stack.mjs';
import { requireWrk, runWrk } from './wrk.mjs';

const ROUNDS = Number(process.env.BENCH_HOP_ROUNDS ?? 5);
const WINDOW_SECONDS = Number(process.env.BENCH_HOP_WINDOW_SECONDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const COMPARE_ROOT = process.env.BENCH_HOP_COMPARE_ROOT;
const PROFILE_GATEWAY = process.env.BENCH_CPU_PROF === 'gateway';
const PROFILE_DIR = process.env.BENCH_CPU_PROF_DIR ?? '/tmp/zephyr-prof';
const USER_ID = '00000000-0000-4000-8000-000000000002';
const here = path.dirname(fileURLToPath(import.meta.url));
const children = [];

async function startHop(kind, upstreamUrl) {
  const child = fork(path.join(here, 'hop-servers.mjs'), {
    env: { ...process.env, HOP_KIND: kind, HOP_UPSTREAM_URL: upstreamUrl ?? '' },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  children.push(child);
  const { port } = await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`${kind} exited with ${code}`)));
  });
  return { name: kind, child, url: `http://127.0.0.1:${port}` };
}

/** The gateway of the checkout at COMPARE_ROOT, with this stack's gateway settings on a port of its own. */
async function startComparedGateway(stack) {
  const port = stack.ports.gateway + 100;
  const child = spawn(process.execPath, [path.join(COMPARE_ROOT, 'services', 'gateway', 'dist', 'main.js')], {
    env: { ...process.env, ...stack.envFor('gateway'), PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    const ready = await fetch(`${url}/health/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return { name: `gateway (${COMPARE_ROOT})`, child, url };
    if (attempt > 100 || child.exitCode !== null) throw new Error('the compared gateway did not become ready');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function holdScript(token) {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'zephyr-hops-')), 'hold.lua');
  writeFileSync(
    file,
    `local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "/api/seats/00000000-0000-4000-8000-000000000001/" .. (n % 1000 + 1) .. "/hold",
    {["Authorization"] = "Bearer ${token}", ["Content-Type"] = "application/json"}, '{"holdDuration":3600}')
end
`,
  );
  return file;
}

async function main() {
  requireWrk();
  ensureInstall();
  build();
  const upstream = await startHop('upstream');
  const targets = [];
  for (const kind of [
    'node',
    'express',
    'express-app-server',
    'node-proxy',
    'express-hpm',
    'express-hpm-app-server',
    'express-gateway-proxy',
  ])
    targets.push(await startHop(kind, upstream.url));
  const stack = await startStack({
    services: ['gateway'],
    env: {
      RATE_LIMIT_PER_IP: '0',
      RATE_LIMIT_PER_USER: '0',
      SEAT_SERVICE_URL: upstream.url,
      EVENT_SERVICE_URL: upstream.url,
      // The rows measure one proxied hop; batched holds (the gateway's default) are `npm run bench`'s.
      HOLD_BATCHING: 'false',
    },
    nodeArgs: PROFILE_GATEWAY ? { gateway: ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] } : {},
  });
  try {
    targets.push({ name: 'gateway', child: stack.children[0].child, url: stack.gatewayUrl });
    if (COMPARE_ROOT) targets.push(await startComparedGateway(stack));
    const script = holdScript(await stack.token(USER_ID));
    console.log(
      `bench:hops: ${ROUNDS} rounds of ${WINDOW_SECONDS}s windows per target (after a warm-up round), ` +
        `${CONNECTIONS} connections, wrk on 127.0.0.1, ${os.cpus().length} cores\n`,
    );
    const totals = new Map(
      targets.map((t) => [t.name, { requests: 0, errors: 0, seconds: 0, cpu: 0, upstreamCpu: 0 }]),
    );
    for (let round = 0; round <= ROUNDS; round++) {
      for (const target of targets) {
        const before = [cpuSeconds(target.child.pid), cpuSeconds(upstream.child.pid)];
        const result = await runWrk({ url: target.url, script, seconds: WINDOW_SECONDS, connections: CONNECTIONS });
        // A process that died mid-window has no CPU figure left to read: that is the bench failing.
        for (const { name, child } of [target, upstream]) {
          if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited during the run`);
        }
        if (round === 0) continue;
        const sum = totals.get(target.name);
        sum.requests += result.ok;
        sum.errors += result.non2xx + result.socketErrors;
        sum.seconds += WINDOW_SECONDS;
        sum.cpu += cpuSeconds(target.child.pid) - before[0];
        sum.upstreamCpu += cpuSeconds(upstream.child.pid) - before[1];
      }
    }
    const rows = targets.map(({ name }) => {
      const sum = totals.get(name);
      return {
        name,
        requestsPerSecond: Math.round(sum.requests / sum.seconds),
        errors: sum.errors,
        cpuUsPerRequest: Math.round((sum.cpu / sum.requests) * 1e6),
        upstreamCpuUsPerRequest: Math.round((sum.upstreamCpu / sum.requests) * 1e6),
      };
    });
    const express = rows.find((r) => r.name === 'express').cpuUsPerRequest;
    console.log('| hop | requests/s | CPU µs/request, the hop | × express | CPU µs/request, upstream | errors |');
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const r of rows) {
      const upstreamCost =
        !r.name.includes('proxy') && !r.name.includes('hpm') && r.name !== 'gateway' ? '–' : r.upstreamCpuUsPerRequest;
      console.log(
        `| ${r.name} | ${r.requestsPerSecond} | ${r.cpuUsPerRequest} | ${(r.cpuUsPerRequest / express).toFixed(2)} | ${upstreamCost} | ${r.errors} |`,
      );
    }
    console.log(`BENCH_HOPS_JSON ${JSON.stringify({ rounds: ROUNDS, windowSeconds: WINDOW_SECONDS, rows })}`);
    if (rows.some((r) => r.errors > 0)) process.exitCode = 1;
  } finally {
    await stack.stop();
    for (const child of children) child.kill('SIGTERM');
  }
}

main().catch((err) => {
  console.error(err);
  for (const child of children) child.kill('SIGTERM');
  process.exit(1);
});
