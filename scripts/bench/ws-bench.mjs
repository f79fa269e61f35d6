// npm run bench:ws: many anonymous watchers of one event through the gateway while holds stream in.
// Per socket count and mode (batch SEAT_UPDATES / v1 SEAT_UPDATE): subscribed, delivered/expected, p50/p99/max
// from each hold's HTTP answer to the last socket's receipt, REST hold p50/p99 during the storm, CPU and RSS
// of the notifier and gateway, unplanned disconnects. Loopback only, bounded: the whole run stops at 90 s.
// Env: BENCH_SOCKETS (1000,5000), BENCH_MODES (batch,v1), BENCH_RATE holds/s (20), BENCH_SECONDS (10),
// BENCH_WORKERS client processes (4), BENCH_DIRECT=1 to connect to the notifier instead of the gateway.
import { execSync, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
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
const BUDGET_MS = 90_000;
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

function startWorkers(url, eventId, total, batch) {
  const per = Math.ceil(total / WORKERS);
  return Array.from({ length: WORKERS }, (_, i) => {
    const count = Math.max(0, Math.min(per, total - i * per));
    const child = fork(path.join(here, 'ws-bench-client.mjs'), [JSON.stringify({ url, eventId, count, batch })]);
    live.workers.add(child);
    child.once('exit', () => live.workers.delete(child));
    const next = (type) => new Promise((resolve) => child.on('message', (m) => m.type === type && resolve(m)));
    const report = () => {
      if (!child.connected) return Promise.resolve({ seen: [], disconnects: 0 });
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

async function runOne(stack, sockets, mode) {
  const admin = await stack.token(randomUUID(), true);
  const event = await api(stack, 'POST', '/api/events', admin, { name: `ws bench ${sockets}`, totalSeats: 1000 });
  if (event.status !== 201) throw new Error(`event create: ${event.status} ${JSON.stringify(event.json)}`);
  const eventId = event.json.id;
  const url = DIRECT ? `ws://127.0.0.1:${stack.ports.notifier}/ws` : `ws://127.0.0.1:${stack.ports.gateway}/ws`;
  const workers = startWorkers(url, eventId, sockets, mode === 'batch');
  const subs = await Promise.all(workers.map((w) => w.subscribed));
  const subscribed = subs.reduce((n, s) => n + s.subscribed, 0);
  const refused = subs.reduce((n, s) => n + s.refused, 0);
  const subscribeErrors = subs.reduce((n, s) => n + s.subscribeErrors, 0);

  const pids = Object.fromEntries(stack.children.map((c) => [c.name, c.child.pid]));
  const cpu0 = { notifier: cpuSeconds(pids.notifier), gateway: cpuSeconds(pids.gateway) };
  // The storm: RATE holds per second on distinct seats, each by its own user.
  const holds = [];
  const tokens = await Promise.all(Array.from({ length: RATE * SECONDS }, () => stack.token(randomUUID())));
  const stormStart = Date.now();
  for (let i = 0; i < RATE * SECONDS; i++) {
    const due = stormStart + (i * 1000) / RATE;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const seat = i + 1;
    holds.push(api(stack, 'POST', `/api/seats/${eventId}/${seat}/hold`, tokens[i]).then((r) => ({ seat, ...r })));
  }
  const answers = await Promise.all(holds);
  const stormMs = Date.now() - stormStart;
  const ok = answers.filter((a) => a.status === 201);
  // Let the last pushes land.
  await new Promise((r) => setTimeout(r, 2000));
  const rss = { notifier: rssMb(pids.notifier), gateway: rssMb(pids.gateway) };
  const cpu = {
    notifier: cpuSeconds(pids.notifier) - cpu0.notifier,
    gateway: cpuSeconds(pids.gateway) - cpu0.gateway,
  };
  const reports = await Promise.all(workers.map((w) => w.report()));
  const bySeat = new Map();
  let disconnects = 0;
  for (const report of reports) {
    disconnects += report.disconnects;
    for (const [seat, [n, at]] of report.seen) {
      const entry = bySeat.get(seat) ?? [0, 0];
      bySeat.set(seat, [entry[0] + n, Math.max(entry[1], at)]);
    }
  }
  let delivered = 0;
  const lat = [];
  for (const a of ok) {
    const entry = bySeat.get(a.seat);
    if (!entry) continue;
    delivered += entry[0];
    lat.push(Math.max(0, entry[1] - a.at));
  }
  lat.sort((x, y) => x - y);
  const rest = answers.map((a) => a.ms).sort((x, y) => x - y);
  const elapsed = (stormMs + 2000) / 1000;
  return {
    sockets,
    mode,
    subscribed,
    refused,
    subscribeErrors,
    delivered: `${delivered}/${ok.length * subscribed}`,
    holdsOk: `${ok.length}/${answers.length}`,
    p50: pct(lat, 0.5),
    p99: pct(lat, 0.99),
    max: lat[lat.length - 1] ?? NaN,
    restP50: pct(rest, 0.5),
    restP99: pct(rest, 0.99),
    notifierCpu: `${Math.round((cpu.notifier / elapsed) * 100)}%`,
    gatewayCpu: `${Math.round((cpu.gateway / elapsed) * 100)}%`,
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
  setTimeout(() => void abort('90 s budget reached'), BUDGET_MS).unref();
  const ulimit = execSync('ulimit -n', { shell: '/bin/sh' }).toString().trim();
  console.log(
    `bench:ws  ulimit -n ${ulimit}  rate ${RATE}/s for ${SECONDS}s  ${WORKERS} client processes  ${DIRECT ? 'direct to notifier' : 'through the gateway'}`,
  );
  const huge = '100000';
  const stack = (live.stack = await startStack({
    basePort: 24000 + Math.floor(Math.random() * 2000) * 10,
    services: ['event-service', 'seat-service', 'notifier', 'gateway'],
    env: { RATE_LIMIT_PER_IP: '0', RATE_LIMIT_PER_USER: '0', WS_MAX_CONNECTIONS: huge },
  }));
  const rows = live.rows;
  try {
    for (const sockets of SOCKETS) {
      for (const mode of MODES) {
        // Each run needs connect + storm + drain; skip what cannot finish inside the budget.
        if (Date.now() - started + (SECONDS + 8) * 1000 + sockets * 2 > BUDGET_MS - 5000) {
          console.log(`skipped ${sockets} ${mode}: not enough of the 90 s budget left`);
          continue;
        }
        const row = await runOne(stack, sockets, mode);
        rows.push(row);
        console.log(JSON.stringify(row));
      }
    }
  } finally {
    await stack.stop().catch((err) => console.error(`cleanup: ${err.message}`));
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
