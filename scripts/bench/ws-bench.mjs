// npm run bench:ws: many anonymous watchers of one event through the gateway while holds stream in.
// Per notifier replica count, socket count and mode (batch SEAT_UPDATES / v1 SEAT_UPDATE): subscribed,
// delivered/expected, p50/p99/max from each hold's HTTP answer to the last socket's receipt, REST hold p50/p99
// during the storm (and its ratio to the same storm with no sockets, when BENCH_SOCKETS includes 0), CPU and
// RSS of the notifiers (summed; max RSS), gateway and client processes, the clients' own event-loop p99 (a
// late receipt only counts against the server if the clients kept up), unplanned disconnects.
// Loopback only, bounded: the whole run stops after BENCH_BUDGET_S (90).
// Env: BENCH_SOCKETS (1000,5000), BENCH_MODES (batch,v1), BENCH_RATE holds/s (20), BENCH_SECONDS (10),
// BENCH_WORKERS client processes (4), BENCH_NOTIFIERS replica counts (1; "1,2" compares), BENCH_DIRECT=1 to
// connect to the notifiers instead of the gateway (client process i to replica i mod n, as a proxy in front
// would spread them), BENCH_CLIENT_NICE (10): the client processes' nice value. They stand in for
// browsers on other machines, which take no CPU from the services; here they share two cores with them, so
// they run at a lower priority and take what the services leave. 0 lets them compete as equals.
import { execSync, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, ensureInstall } from '../ensure-install.mjs';
import { cpuSeconds, startStack } from './stack.mjs';

const SOCKETS = (process.env.BENCH_SOCKETS ?? '1000,5000').split(',').map(Number);
const MODES = (process.env.BENCH_MODES ?? 'batch,v1').split(',');
const RATE = Number(process.env.BENCH_RATE ?? 20);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 4);
const DIRECT = process.env.BENCH_DIRECT === '1';
const CLIENT_NICE = Number(process.env.BENCH_CLIENT_NICE ?? 10);
/** SPEC.md: an event has at most 1,000 seats. */
const MAX_SEATS = 1000;
const NOTIFIER_COUNTS = (process.env.BENCH_NOTIFIERS ?? '1').split(',').map(Number);
/** BENCH_CPU_PROF=<service>: that service's .cpuprofile goes to BENCH_CPU_PROF_DIR (/tmp/zephyr-prof). */
const PROFILED = process.env.BENCH_CPU_PROF;
const PROFILE_DIR = process.env.BENCH_CPU_PROF_DIR ?? '/tmp/zephyr-prof';
const BUDGET_MS = Number(process.env.BENCH_BUDGET_S ?? 90) * 1000;
const here = path.dirname(fileURLToPath(import.meta.url));
let started = Date.now();
/** Everything this run started, so a hard stop leaves no process, database or queue behind. */
const live = { stack: undefined, workers: new Set(), rows: [] };

async function abort(reason) {
  console.error(`bench:ws: ${reason}; stopping`);
  for (const child of live.workers) child.kill('SIGKILL');
  if (live.rows.length) console.table(live.rows);
  const cleanup = live.stack?.stop().catch((err) => console.error(`cleanup: ${err.message}`));
  await Promise.race([cleanup, new Promise((r) => setTimeout(r, 15_000))]);
  process.exit(3);
}
process.once('SIGINT', () => void abort('interrupted'));
process.once('SIGTERM', () => void abort('terminated'));

const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] : NaN);
const rssMb = (pid) => {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/);
    return line ? Math.round(Number(line[1]) / 1024) : NaN;
  } catch {
    return NaN;
  }
};

function startWorkers(urls, eventIds, total, batch) {
  const per = Math.ceil(total / WORKERS);
  return Array.from({ length: WORKERS }, (_, i) => {
    const count = Math.max(0, Math.min(per, total - i * per));
    const url = urls[i % urls.length];
    const child = fork(path.join(here, 'ws-bench-client.mjs'), [JSON.stringify({ url, eventIds, count, batch })]);
    live.workers.add(child);
    os.setPriority(child.pid, CLIENT_NICE);
    child.once('exit', () => live.workers.delete(child));
    const next = (type) => new Promise((resolve) => child.on('message', (m) => m.type === type && resolve(m)));
    const report = () => {
      if (!child.connected) return Promise.resolve({ seen: [], disconnects: 0, cpuSeconds: 0, loopDelayP99Ms: NaN });
      child.send({ type: 'report' });
      return next('report');
    };
    return { child, subscribed: next('subscribed'), report };
  });
}

async function api(stack, method, route, token, body) {
  const t0 = Date.now();
  const res = await fetch(`${stack.gatewayUrl}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json().catch(() => ({}));
  return { status: res.status, json, at: Date.now(), ms: Date.now() - t0 };
}

async function runOne(stack, notifiers, sockets, mode) {
  const admin = await stack.token(randomUUID(), true);
  // Each event takes up to 2,000 changes: its 1,000 seats held one by one, then released in the same order.
  // Past that the storm spreads over more events, round robin, and every socket watches all of them.
  const eventIds = [];
  for (let i = 0; i < Math.ceil((RATE * SECONDS) / (2 * MAX_SEATS)); i++) {
    const event = await api(stack, 'POST', '/api/events', admin, {
      name: `ws bench ${sockets} #${i}`,
      totalSeats: MAX_SEATS,
    });
    if (event.status !== 201) throw new Error(`event create: ${event.status} ${JSON.stringify(event.json)}`);
    eventIds.push(event.json.id);
  }
  const notifierProcesses = stack.children.filter((c) => c.name === 'notifier');
  const urls = DIRECT
    ? notifierProcesses.map((c) => `ws://127.0.0.1:${c.port}/ws`)
    : [`ws://127.0.0.1:${stack.ports.gateway}/ws`];
  const workers = startWorkers(urls, eventIds, sockets, mode === 'batch');
  const subs = await Promise.all(workers.map((w) => w.subscribed));
  const subscribed = subs.reduce((n, s) => n + s.subscribed, 0);
  const refused = subs.reduce((n, s) => n + s.refused, 0);
  const subscribeErrors = subs.reduce((n, s) => n + s.subscribeErrors, 0);

  const notifierPids = notifierProcesses.map((c) => c.child.pid);
  const gatewayPid = stack.children.find((c) => c.name === 'gateway').child.pid;
  const notifierCpu = () => notifierPids.reduce((n, pid) => n + cpuSeconds(pid), 0);
  const cpu0 = { notifier: notifierCpu(), gateway: cpuSeconds(gatewayPid) };
  // The storm: RATE holds per second on distinct seats, each by its own user.
  const holds = [];
  const tokens = await Promise.all(Array.from({ length: RATE * SECONDS }, () => stack.token(randomUUID())));
  const stormStart = Date.now();
  for (let i = 0; i < RATE * SECONDS; i++) {
    const due = stormStart + (i * 1000) / RATE;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const eventId = eventIds[i % eventIds.length];
    const onEvent = Math.floor(i / eventIds.length);
    const seat = (onEvent % MAX_SEATS) + 1;
    const release = onEvent >= MAX_SEATS;
    // A release is by the user whose hold it ends: the one of the change MAX_SEATS turns earlier.
    const token = tokens[release ? i - MAX_SEATS * eventIds.length : i];
    holds.push(
      api(stack, release ? 'DELETE' : 'POST', `/api/seats/${eventId}/${seat}/hold`, token).then((r) => ({
        key: `${eventId} ${seat} ${release ? 'available' : 'held'}`,
        ...r,
      })),
    );
  }
  const answers = await Promise.all(holds);
  const stormMs = Date.now() - stormStart;
  const ok = answers.filter((a) => a.status === 201 || a.status === 204);
  // Let the last pushes land.
  await new Promise((r) => setTimeout(r, 2000));
  const rss = { notifier: Math.max(...notifierPids.map(rssMb)), gateway: rssMb(gatewayPid) };
  const cpu = {
    notifier: notifierCpu() - cpu0.notifier,
    gateway: cpuSeconds(gatewayPid) - cpu0.gateway,
  };
  const reports = await Promise.all(workers.map((w) => w.report()));
  const bySeat = new Map();
  let disconnects = 0;
  for (const report of reports) {
    disconnects += report.disconnects;
    for (const [key, [n, at]] of report.seen) {
      const entry = bySeat.get(key) ?? [0, 0];
      bySeat.set(key, [entry[0] + n, Math.max(entry[1], at)]);
    }
  }
  let delivered = 0;
  const lat = [];
  for (const a of ok) {
    const entry = bySeat.get(a.key);
    if (!entry) continue;
    delivered += entry[0];
    lat.push(Math.max(0, entry[1] - a.at));
  }
  lat.sort((x, y) => x - y);
  const rest = answers.map((a) => a.ms).sort((x, y) => x - y);
  const elapsed = (stormMs + 2000) / 1000;
  return {
    notifiers,
    sockets,
    mode,
    subscribed,
    refused,
    subscribeErrors,
    delivered: `${delivered}/${ok.length * subscribed}`,
    changesOk: `${ok.length}/${answers.length}`,
    p50: pct(lat, 0.5),
    p99: pct(lat, 0.99),
    max: lat[lat.length - 1] ?? NaN,
    restP50: pct(rest, 0.5),
    restP99: pct(rest, 0.99),
    notifierCpu: `${Math.round((cpu.notifier / elapsed) * 100)}%`,
    gatewayCpu: `${Math.round((cpu.gateway / elapsed) * 100)}%`,
    clientsCpu: `${Math.round((reports.reduce((n, r) => n + r.cpuSeconds, 0) / elapsed) * 100)}%`,
    clientLoopP99: Math.round(Math.max(...reports.map((r) => r.loopDelayP99Ms))),
    notifierRssMb: rss.notifier,
    gatewayRssMb: rss.gateway,
    disconnects,
  };
}

async function main() {
  ensureInstall();
  build();
  // The 90 s bound covers the stack and the runs, not the build; a hard stop still cleans up.
  started = Date.now();
  setTimeout(() => void abort(`${BUDGET_MS / 1000} s budget reached`), BUDGET_MS).unref();
  const ulimit = execSync('ulimit -n', { shell: '/bin/sh' }).toString().trim();
  console.log(
    `bench:ws  ulimit -n ${ulimit}  rate ${RATE}/s for ${SECONDS}s  ${WORKERS} client processes at nice ${CLIENT_NICE}  ${DIRECT ? 'direct to notifier' : 'through the gateway'}`,
  );
  const huge = '100000';
  const rows = live.rows;
  for (const notifiers of NOTIFIER_COUNTS) {
    const stack = (live.stack = await startStack({
      services: ['event-service', 'seat-service', 'notifier', 'gateway'],
      replicas: { notifier: notifiers },
      env: {
        RATE_LIMIT_PER_IP: '0',
        RATE_LIMIT_PER_USER: '0',
        WS_MAX_CONNECTIONS: huge,
      },
      nodeArgs: PROFILED ? { [PROFILED]: ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] } : {},
    }));
    try {
      for (const sockets of SOCKETS) {
        for (const mode of MODES) {
          // Each run needs connect + storm + drain; skip what cannot finish inside the budget.
          if (Date.now() - started + (SECONDS + 8) * 1000 + sockets * 2 > BUDGET_MS - 5000) {
            console.log(`skipped ${notifiers}×${sockets} ${mode}: not enough of the ${BUDGET_MS / 1000} s budget left`);
            continue;
          }
          const row = await runOne(stack, notifiers, sockets, mode);
          rows.push(row);
          console.log(JSON.stringify(row));
        }
      }
    } finally {
      await stack.stop().catch((err) => console.error(`cleanup: ${err.message}`));
      live.stack = undefined;
    }
  }
  // REST during the storm against the same storm with no sockets (same replicas and mode), when measured.
  for (const row of rows) {
    const quiet = rows.find((r) => r.sockets === 0 && r.notifiers === row.notifiers && r.mode === row.mode);
    if (quiet && row.sockets > 0) row.restP99VsNoSockets = Number((row.restP99 / quiet.restP99).toFixed(2));
  }
  console.table(rows);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
