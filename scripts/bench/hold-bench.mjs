// npm run bench: the on-sale storm through the whole stack (gateway → JWT → seat-service → Redis → durable
// event → consumers), against a baseline measured in the same run (bare express + one Redis Lua call).
// Each idle-event count gets a stack of its own with that many events, each with one past seat change, so the
// table shows whether the stack's cost grows with events that merely exist; the single-seat storms alternate
// between the stacks in a mirrored order (0, 10,000, 10,000, 0). Then SPEC.md §7 on the first stack: 4-seat
// multi-holds and best-available (4 adjacent seats).
// A 3 s baseline window runs right before and right after each storm, so a storm can also be compared with
// the machine's speed at that moment (it drifts by up to 1.5 times within minutes here).
// Prints one table (rows: figures; columns: runs) and one JSON line. Load comes from wrk on loopback.
// Env: BENCH_SECONDS (10), BENCH_CONNECTIONS (64), BENCH_IDLE_EVENTS (0,10000), BENCH_BUDGET_SECONDS (1800),
// BENCH_CPU_PROF=<service> (writes that service's .cpuprofile to BENCH_CPU_PROF_DIR, default /tmp/zephyr-prof),
// BENCH_SMOKE=1 (a few seconds, 20 idle events, no §7 runs; exits non-zero only on errors, double grants or
// lost pushes — nothing about time), BENCH_NODE_ARGS (extra node flags for every service, for A/B runs of V8
// settings, e.g. "--max-semi-space-size=32").
import { execFileSync, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, ensureInstall } from '../ensure-install.mjs';
import { BACKING_NAMES, cpuBetween, cpuSnapshot, processesOf, rssPeaks } from './processes.mjs';
import { startPushProbe } from './push-probe.mjs';
import { requireWrk, runWrk } from './wrk.mjs';
import { SERVICE_NAMES, startStack } from './stack.mjs';

const SMOKE = process.env.BENCH_SMOKE === '1';
const SECONDS = Number(process.env.BENCH_SECONDS ?? (SMOKE ? 3 : 10));
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? (SMOKE ? 16 : 64));
const IDLE_EVENTS = (process.env.BENCH_IDLE_EVENTS ?? (SMOKE ? '0,20' : '0,10000')).split(',').map(Number);
const BUDGET_SECONDS = Number(process.env.BENCH_BUDGET_SECONDS ?? (SMOKE ? 180 : 1800));
const GROUP_STORMS = process.env.BENCH_GROUP_STORMS !== '0';
const WARM_UP_SECONDS = SMOKE ? 1 : 5;
const BESIDE_SECONDS = SMOKE ? 1 : 3;
const HOLD_PATH = '"/api/seats/" .. ev .. "/" .. seat .. "/hold"';
const PROFILED = process.env.BENCH_CPU_PROF;
const PROFILE_DIR = process.env.BENCH_CPU_PROF_DIR ?? '/tmp/zephyr-prof';
const EXTRA_NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
const SEATS_PER_EVENT = 1000;
const USERS = 256;
// Holds outlive the whole run, so no expiry from one run lands in the next.
const HOLD_BODY = '{"holdDuration":3600}';
const GROUP = 4;
const here = path.dirname(fileURLToPath(import.meta.url));

const live = { stacks: [], baselineServer: undefined };
async function abort(reason) {
  console.error(`bench: ${reason}; stopping`);
  live.baselineServer?.kill();
  const cleanup = Promise.all(
    live.stacks.map((stack) => stack.stop().catch((err) => console.error(`cleanup: ${err.message}`))),
  );
  await Promise.race([cleanup, new Promise((r) => setTimeout(r, 15_000))]);
  process.exit(3);
}
process.once('SIGINT', () => void abort('interrupted'));
process.once('SIGTERM', () => void abort('terminated'));

// Each request i goes to event floor(i / perEvent) and uses slot k = i % perEvent in it (seat = k + 1).
function wrkScript({ events, tokens, pathFor, bodyFor = 'nil', perEvent = SEATS_PER_EVENT }) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zephyr-bench-'));
  const file = path.join(dir, 'hold.lua');
  writeFileSync(
    file,
    `
local events = {${events.map((e) => `"${e}"`).join(',')}}
local tokens = {${tokens.map((t) => `"${t}"`).join(',')}}
local threads = {}
local counter = 0
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
request = function()
  local i = tid + counter * 4
  counter = counter + 1
  local ev = events[(math.floor(i / ${perEvent}) % #events) + 1]
  local k = i % ${perEvent}
  local seat = k + 1
  local headers = {}
  if #tokens > 0 then headers["Authorization"] = "Bearer " .. tokens[(i % #tokens) + 1] end
  local body = ${bodyFor}
  if body then headers["Content-Type"] = "application/json" end
  return wrk.format("POST", ${pathFor}, headers, body)
end
`,
  );
  return file;
}

function runStorm(url, script, seconds = SECONDS) {
  return runWrk({ url, script, seconds, connections: CONNECTIONS });
}

const perHoldUs = (cpu, holds) => Object.fromEntries(Object.entries(cpu).map(([k, s]) => [k, (s / holds) * 1e6]));
const sum = (values) => values.reduce((a, b) => a + b, 0);
/** A storm's requests/s over the baseline's just before and after it. */
const ratioBeside = (run) => run.ok / SECONDS / run.beside.requestsPerSecond;

/**
 * The baseline server, kept up for the whole run: one full window first (the baseline column), then a short
 * window right before and right after each storm. This machine's speed drifts by up to 1.5 times within
 * minutes, so a storm is also compared with the baseline beside it, not only with the one minutes before.
 */
async function startBaseline() {
  const prefix = `benchbase_${randomBytes(3).toString('hex')}:`;
  const server = (live.baselineServer = fork(path.join(here, 'baseline-server.mjs'), {
    env: { ...process.env, PORT: '4190', PREFIX: prefix },
    stdio: 'ignore',
  }));
  await new Promise((resolve) => server.once('message', resolve));
  const procs = await processesOf([{ name: 'baseline express', child: server }]);
  delete procs.rabbitmq;
  delete procs.postgres;
  let windows = 0;
  return {
    async measure(seconds) {
      // Seats of their own per window: a seat held in an earlier window would answer 409.
      const window = windows++;
      const events = Array.from({ length: 200 }, (_, i) => `w${window}e${i}`);
      const script = wrkScript({ events, tokens: [], pathFor: '"/hold/" .. ev .. "/" .. seat' });
      const start = cpuSnapshot(procs);
      const stopRss = rssPeaks(procs);
      const result = await runStorm('http://127.0.0.1:4190', script, seconds);
      const cpu = cpuBetween(procs, procs, start, cpuSnapshot(procs));
      return { ...result, seconds, holds: result.ok, cpuUs: perHoldUs(cpu, result.ok), rssMb: stopRss() };
    },
    stop() {
      server.kill();
      live.baselineServer = undefined;
      execFileSync('sh', ['-c', `redis-cli --scan --pattern '${prefix}*' | xargs -r redis-cli del > /dev/null`]);
    },
  };
}

async function api(stack, method, route, token, body) {
  const res = await fetch(`${stack.gatewayUrl}${route}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
    body,
  });
  const json = await res.json().catch(() => ({}));
  if (res.status >= 300) throw new Error(`${method} ${route}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Runs `task(i)` for i in [0, count) with `concurrency` in flight. */
async function pool(count, concurrency, task) {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

async function createEvents(stack, admin, count) {
  const events = new Array(count);
  await pool(count, 8, async (i) => {
    const body = { name: `bench ${i}`, totalSeats: SEATS_PER_EVENT, maxSeatsPerUser: SEATS_PER_EVENT, seatsPerRow: 20 };
    events[i] = (await api(stack, 'POST', '/api/events', admin, JSON.stringify(body))).id;
  });
  // Warm up connections, JIT and the event configs in Redis.
  await pool(count, 4, (i) => api(stack, 'GET', `/api/events/${events[i]}/seats/available`));
  return events;
}

/** `count` more events that each saw one seat change (a hold that outlives the run), then nothing. */
async function createIdleEvents(stack, admin, user, count) {
  const started = Date.now();
  await pool(count, 16, async (i) => {
    const body = { name: `idle ${i}`, totalSeats: 10 };
    const { id } = await api(stack, 'POST', '/api/events', admin, JSON.stringify(body));
    await api(stack, 'POST', `/api/seats/${id}/1/hold`, user, HOLD_BODY);
    if ((i + 1) % 2000 === 0) console.log(`  ${i + 1} idle events (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  });
}

/** Seats held in `events` according to the seat-service, to compare with the grants the clients saw. */
async function heldSeats(stack, events) {
  let held = 0;
  await pool(events.length, 8, async (i) => {
    const { count } = await api(stack, 'GET', `/api/events/${events[i]}/seats/available`);
    held += SEATS_PER_EVENT - count;
  });
  return held;
}

/**
 * prom-client samples the loop with a 10 ms timer (its default precision) and its histogram records the time
 * between callbacks, so an idle loop reads 10 ms: the delay is the figure minus that period.
 */
const LOOP_SAMPLING_MS = 10;

const metricsOf = (stack, service) => fetch(`http://127.0.0.1:${stack.ports[service]}/metrics`).then((r) => r.text());

/**
 * One sample's value in a service's Prometheus text: series `name` whose labels include `label` (any labels
 * when none is given); `absent` when there is no such sample (a labelled series appears with its first value).
 */
function sampleOf(text, name, { label, absent = NaN } = {}) {
  const labels = label ? `\\{[^}]*${label}[^}]*\\}` : '(?:\\{[^}]*\\})?';
  const match = new RegExp(`^${name}${labels} ([\\d.e+-]+)$`, 'm').exec(text);
  return match ? Number(match[1]) : absent;
}

/**
 * The seat-service's loop, from one reading of its metrics: the delay p99 since the last reading (reading
 * resets prom-client's histogram), and its stalls so far (zephyr_event_loop_stall*): how many, and the main
 * thread's time in them running its own work or waiting for a core.
 */
async function seatServiceLoop(stack) {
  const text = await metricsOf(stack, 'seat-service');
  const seconds = (state) => sampleOf(text, 'zephyr_event_loop_stall_seconds_total', { label: `state="${state}"` });
  return {
    delayP99ms: Math.max(0, sampleOf(text, 'nodejs_eventloop_lag_p99_seconds') * 1000 - LOOP_SAMPLING_MS),
    stalls: sampleOf(text, 'zephyr_event_loop_stalls_total'),
    running: seconds('running'),
    waiting: seconds('waiting'),
  };
}

/** The stream relay's turns and the events they published so far (its zephyr_outbox_turn_events histogram). */
async function relayTurns(stack) {
  const text = await metricsOf(stack, 'seat-service');
  const read = (name) => sampleOf(text, name, { label: 'outbox="redis"', absent: 0 });
  return { events: read('zephyr_outbox_turn_events_sum'), turns: read('zephyr_outbox_turn_events_count') };
}

/** The gateway's batched holds so far (its zephyr_hold_batch_size histogram): holds and batches. */
async function holdBatches(stack) {
  const text = await metricsOf(stack, 'gateway');
  const read = (name) => sampleOf(text, name, { absent: 0 });
  return { holds: read('zephyr_hold_batch_size_sum'), batches: read('zephyr_hold_batch_size_count') };
}

/** CPU each process burns with no requests at all (timers, polls, heartbeats), in cores. */
async function idleCores(stack, seconds = 3) {
  const procs = await processesOf(stack.children, stack.database);
  const start = cpuSnapshot(procs);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const used = cpuBetween(procs, procs, start, cpuSnapshot(procs));
  return Object.fromEntries(Object.entries(used).map(([name, s]) => [name, s / seconds]));
}

/** One storm: wrk plus the push probe, with CPU, RSS and the seat-service's loop delay around it. */
async function measure(stack, { events, script, seatsPerRequest, probeTokens, admin, baseline }) {
  const besideBefore = await baseline.measure(BESIDE_SECONDS);
  const idle = await idleCores(stack);
  const probe = await startPushProbe({
    gatewayUrl: stack.gatewayUrl,
    wsUrl: `ws://127.0.0.1:${stack.ports.gateway}/ws`,
    admin,
    tokens: probeTokens,
    seconds: SECONDS,
  });
  const procs = await processesOf(stack.children, stack.database);
  const turnsBefore = await relayTurns(stack);
  const batchesBefore = await holdBatches(stack);
  const loopBefore = await seatServiceLoop(stack); // resets the delay histogram: the next reading is the storm's
  const stopRss = rssPeaks(procs);
  const start = cpuSnapshot(procs);
  const startedAt = Date.now();
  const result = await runStorm(stack.gatewayUrl, script);
  const loopAfter = await seatServiceLoop(stack);
  const pushes = await probe(); // also lets the relays publish what the run committed, so their CPU counts
  const turnsAfter = await relayTurns(stack);
  const batchesAfter = await holdBatches(stack);
  const rss = stopRss();
  const procsEnd = await processesOf(stack.children, stack.database);
  const cpu = cpuBetween(procs, procsEnd, start, cpuSnapshot(procsEnd));
  const elapsed = (Date.now() - startedAt) / 1000;
  const holds = result.ok + pushes.grants;
  // What the holds added over the idle burn: steadier than the raw figure when a busy machine slows the run.
  const overIdle = Object.fromEntries(
    Object.entries(cpu).map(([n, s]) => [n, Math.max(0, s - (idle[n] ?? 0) * elapsed)]),
  );
  const held = await heldSeats(stack, events);
  const besideAfter = await baseline.measure(BESIDE_SECONDS);
  console.log(`  run done: ${(result.ok / SECONDS).toFixed(0)} requests/s (2xx), p99 ${result.p99ms.toFixed(1)} ms`);
  const besidePerSecond = [besideBefore, besideAfter].map((b) => b.ok / b.seconds);
  return {
    ...result,
    beside: {
      before: besidePerSecond[0],
      after: besidePerSecond[1],
      requestsPerSecond: sum(besidePerSecond) / 2,
      // The bare server's own tail at the same moment: what this machine allowed a p99 then.
      p99ms: [besideBefore.p99ms, besideAfter.p99ms],
    },
    holds,
    // Requests still in flight when wrk stops are granted but not counted: up to one per connection.
    unanswered: held - result.ok * seatsPerRequest,
    seatsPerRequest,
    cpuUs: perHoldUs(cpu, holds),
    cpuOverIdleUs: perHoldUs(overIdle, holds),
    rssMb: rss,
    loopP99ms: loopAfter.delayP99ms,
    loopStalls: {
      count: loopAfter.stalls - loopBefore.stalls,
      runningSeconds: loopAfter.running - loopBefore.running,
      waitingSeconds: loopAfter.waiting - loopBefore.waiting,
    },
    relayEventsPerTurn: (turnsAfter.events - turnsBefore.events) / Math.max(1, turnsAfter.turns - turnsBefore.turns),
    holdsPerBatch:
      (batchesAfter.holds - batchesBefore.holds) / Math.max(1, batchesAfter.batches - batchesBefore.batches),
    idleCores: idle,
    push: {
      grants: pushes.grants,
      doubleGrants: pushes.doubleGrants,
      lost: pushes.lostPushes,
      errors: pushes.errors,
      p50ms: pushes.latencies[Math.floor(pushes.latencies.length * 0.5)] ?? NaN,
      p99ms: pushes.latencies[Math.min(pushes.latencies.length - 1, Math.floor(pushes.latencies.length * 0.99))] ?? NaN,
    },
  };
}

/**
 * One stack per idle-event count, all up for the whole bench: each gets its idle events and a warm-up storm
 * first. The single-hold storms then alternate between them in a mirrored order (0, 10,000, 10,000, 0), so a
 * drift of the machine's speed during the run (up to 1.5 times within minutes here) weighs on both counts
 * alike; target (d) compares each count's mean. While one stack takes a storm, the others only idle.
 */
async function zephyr(baseline) {
  const profileArgs = ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`];
  if (PROFILED && !SERVICE_NAMES.includes(PROFILED)) throw new Error(`BENCH_CPU_PROF: not a service: ${PROFILED}`);
  const runs = [];
  try {
    const prepared = [];
    for (const idle of IDLE_EVENTS) {
      const stack = await startStack({
        env: { RATE_LIMIT_PER_IP: '0', RATE_LIMIT_PER_USER: '0' },
        nodeArgs: Object.fromEntries(
          SERVICE_NAMES.map((name) => [name, [...EXTRA_NODE_ARGS, ...(name === PROFILED ? profileArgs : [])]]),
        ),
      });
      live.stacks.push(stack);
      prepared.push(await prepareStack(stack, idle));
    }
    // Warm-ups last, back to back, so no stack waits long after its own.
    for (const { stack, warmUp } of prepared) await runStorm(stack.gatewayUrl, warmUp, WARM_UP_SECONDS);

    const order = prepared.length > 1 ? [...prepared, ...[...prepared].reverse()] : prepared;
    const rounds = new Map();
    for (const p of order) {
      const round = (rounds.get(p) ?? 0) + 1;
      rounds.set(p, round);
      const name = `hold, ${p.idle} idle events${order.length > prepared.length ? ` (${round})` : ''}`;
      runs.push({
        name,
        idleEvents: p.idle,
        ...(await p.storm(await p.stormEvents(), {
          pathFor: HOLD_PATH,
          bodyFor: `'${HOLD_BODY}'`,
          seatsPerRequest: 1,
        })),
      });
    }
    if (!SMOKE && GROUP_STORMS) {
      const [first] = prepared;
      const perEvent = SEATS_PER_EVENT / GROUP;
      const groupRuns = [
        {
          name: `multi-hold ×${GROUP}`,
          pathFor: '"/api/seats/" .. ev .. "/hold"',
          bodyFor: `'{"holdDuration":3600,"seats":[' .. (${GROUP} * k + 1) .. ',' .. (${GROUP} * k + 2) .. ',' .. (${GROUP} * k + 3) .. ',' .. (${GROUP} * k + 4) .. ']}'`,
        },
        // Every request on an event asks for 4 adjacent seats; requests past what an event can seat get a 409.
        {
          name: `best-available ×${GROUP}`,
          pathFor: '"/api/seats/" .. ev .. "/best-available"',
          bodyFor: `'{"holdDuration":3600,"count":${GROUP}}'`,
        },
      ];
      for (const { name, pathFor, bodyFor } of groupRuns) {
        const events = await createEvents(first.stack, first.admin, Math.ceil((SECONDS * 4000) / perEvent));
        runs.push({
          name: `${name}, ${first.idle} idle`,
          idleEvents: first.idle,
          ...(await first.storm(events, { pathFor, bodyFor, perEvent, seatsPerRequest: GROUP })),
        });
      }
    }
    return runs;
  } finally {
    for (const stack of live.stacks.splice(0)) await stack.stop();
  }

  /** Tokens, `idle` idle events and a warm-up script for one stack; `storm` measures one wrk run on it. */
  async function prepareStack(stack, idle) {
    const admin = await stack.token('00000000-0000-4000-8000-000000000001', true);
    const idleUser = await stack.token('00000000-0000-4000-8000-000000000002');
    const tokens = [];
    for (let i = 0; i < USERS; i++)
      tokens.push(await stack.token(`00000000-0000-4000-9000-${String(i).padStart(12, '0')}`));
    const probeTokens = tokens.slice(0, 16);
    // Sized for the fastest rate this machine could plausibly reach, so no seat is asked for twice.
    const stormEvents = () => createEvents(stack, admin, Math.ceil((SECONDS * 12000) / SEATS_PER_EVENT));
    if (idle > 0) {
      console.log(`creating ${idle} idle events...`);
      await createIdleEvents(stack, admin, idleUser, idle);
      await new Promise((r) => setTimeout(r, 3000)); // let the relays publish the last of them
    }
    // The first storm on a fresh stack would pay JIT compilation and heap and pool growth that the later
    // ones do not (the 10,000-idle storm ran 10-50 % faster than the 0-idle one before this): an unmeasured
    // storm on events of its own comes first, so every measured storm starts warm.
    const warmUp = wrkScript({ events: await stormEvents(), tokens, pathFor: HOLD_PATH, bodyFor: `'${HOLD_BODY}'` });
    /** One wrk run over `events`: each request's path and body are Lua expressions of `ev`, `seat` and `k`. */
    const storm = async (events, { pathFor, bodyFor, perEvent, seatsPerRequest }) => {
      const script = wrkScript({ events, tokens, perEvent, pathFor, bodyFor });
      return measure(stack, { events, script, seatsPerRequest, probeTokens, admin, baseline });
    };
    return { stack, idle, admin, stormEvents, warmUp, storm };
  }
}

function printTable(base, runs) {
  const columns = [{ name: 'baseline express+EVALSHA', ...base }, ...runs];
  const fmt = (v, digits = 0) => (v === undefined || Number.isNaN(v) ? '–' : v.toFixed(digits));
  const names = [...new Set(columns.flatMap((c) => Object.keys(c.cpuUs)))];
  const order = [...SERVICE_NAMES, ...BACKING_NAMES];
  names.sort((a, b) => (order.indexOf(a) + 1 || -1) - (order.indexOf(b) + 1 || -1));
  const rows = [
    ['requests/s (2xx)', (c) => fmt(c.ok / SECONDS)],
    ['ratio to baseline', (c) => fmt(c.ok / base.ok, 2)],
    [
      'baseline beside it, req/s before / after',
      (c) => (c.beside ? `${fmt(c.beside.before)} / ${fmt(c.beside.after)}` : '–'),
    ],
    ['ratio to the baseline beside it', (c) => (c.beside ? fmt(ratioBeside(c), 2) : '–')],
    [
      'baseline beside it, p99 ms before / after',
      (c) => (c.beside ? c.beside.p99ms.map((v) => fmt(v, 1)).join(' / ') : '–'),
    ],
    ['p50 ms', (c) => fmt(c.p50ms, 1)],
    ['p99 ms', (c) => fmt(c.p99ms, 1)],
    ['non-2xx / socket errors', (c) => `${c.non2xx} / ${c.socketErrors}`],
    ...names.map((n) => [`CPU µs/hold ${n}`, (c) => fmt(c.cpuUs[n])]),
    ['CPU µs/hold, all processes', (c) => fmt(sum(Object.values(c.cpuUs)))],
    [
      'CPU µs/hold over idle, services',
      (c) => (c.cpuOverIdleUs ? fmt(sum(SERVICE_NAMES.map((n) => c.cpuOverIdleUs[n]))) : '–'),
    ],
    ['CPU µs/hold over idle, all', (c) => (c.cpuOverIdleUs ? fmt(sum(Object.values(c.cpuOverIdleUs))) : '–')],
    [
      'idle before run, cores (services)',
      (c) => (c.idleCores ? fmt(sum(SERVICE_NAMES.map((n) => c.idleCores[n])), 2) : '–'),
    ],
    ['seat-service loop delay p99 ms', (c) => fmt(c.loopP99ms, 1)],
    [
      'seat-service loop stalls > 10 ms: count, waiting for a core',
      (c) => {
        if (!c.loopStalls) return '–';
        const { count, runningSeconds, waitingSeconds } = c.loopStalls;
        return `${count}, ${fmt((100 * waitingSeconds) / (runningSeconds + waitingSeconds))} %`;
      },
    ],
    ['seat-service relay: events per turn', (c) => fmt(c.relayEventsPerTurn, 1)],
    ['gateway: holds per batch to the seat-service', (c) => fmt(c.holdsPerBatch, 1)],
    ['live push p50 / p99 ms', (c) => (c.push ? `${fmt(c.push.p50ms)} / ${fmt(c.push.p99ms)}` : '–')],
    [
      'probe grants / double / lost push',
      (c) => (c.push ? `${c.push.grants} / ${c.push.doubleGrants} / ${c.push.lost}` : '–'),
    ],
    [
      `seats held − answered (0..${CONNECTIONS}×seats)`,
      (c) => (c.unanswered === undefined ? '–' : String(c.unanswered)),
    ],
    ...names.map((n) => [`RSS MB peak ${n}`, (c) => fmt(c.rssMb[n])]),
  ];
  const cells = [['', ...columns.map((c) => c.name)], ...rows.map(([label, f]) => [label, ...columns.map(f)])];
  const widths = cells[0].map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r) => `| ${r.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join(' | ')} |`;
  console.log(line(cells[0]));
  console.log(`|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const r of cells.slice(1)) console.log(line(r));
}

/**
 * Target (d): the mean of each idle-event count's single-hold storms against the first count's, in holds/s
 * and in the ratio to the baseline beside each storm.
 */
function printIdleComparison(runs) {
  const singles = runs.filter((r) => r.seatsPerRequest === 1);
  const counts = [...new Set(singles.map((r) => r.idleEvents))];
  const meanOf = (count, f) => {
    const of = singles.filter((r) => r.idleEvents === count);
    return sum(of.map(f)) / of.length;
  };
  const pct = (v) => `${v >= 0 ? '+' : ''}${(v * 100).toFixed(0)} %`;
  const [first] = counts;
  for (const count of counts.slice(1)) {
    const holds = meanOf(count, (r) => r.ok) / meanOf(first, (r) => r.ok) - 1;
    const beside = meanOf(count, ratioBeside) / meanOf(first, ratioBeside) - 1;
    console.log(
      `(d) ${count} idle events against ${first}, mean of ${singles.filter((r) => r.idleEvents === count).length} storms each: holds/s ${pct(holds)}, ratio to the baseline beside it ${pct(beside)}`,
    );
  }
}

/** What fails the smoke: errors, double grants, lost pushes, answers the seat-service does not agree with. */
function failures(runs) {
  const found = [];
  for (const r of runs) {
    const errors = r.socketErrors + r.push.errors + (r.name.startsWith('hold') ? r.non2xx : 0);
    if (errors) found.push(`${r.name}: ${errors} errors`);
    if (r.push.doubleGrants) found.push(`${r.name}: ${r.push.doubleGrants} double grants`);
    if (r.unanswered < 0 || r.unanswered > CONNECTIONS * r.seatsPerRequest)
      found.push(`${r.name}: seats held − answered = ${r.unanswered} (a grant lost or granted twice)`);
    if (r.push.lost) found.push(`${r.name}: ${r.push.lost} lost pushes`);
    if (r.push.grants === 0) found.push(`${r.name}: the probe got no hold`);
  }
  return found;
}

async function main() {
  requireWrk();
  ensureInstall();
  build();
  setTimeout(() => void abort(`${BUDGET_SECONDS} s budget reached`), BUDGET_SECONDS * 1000).unref();
  console.log(
    `bench${SMOKE ? ' (smoke)' : ''}: ${SECONDS}s per run, ${CONNECTIONS} connections, wrk on 127.0.0.1, ${os.cpus().length} cores, idle events ${IDLE_EVENTS.join(', ')}${PROFILED ? `, profiling ${PROFILED} into ${PROFILE_DIR}` : ''}\n`,
  );
  const baseline = await startBaseline();
  let base;
  let runs;
  try {
    base = await baseline.measure(SECONDS);
    runs = await zephyr(baseline);
  } finally {
    baseline.stop();
  }
  printTable(base, runs);
  printIdleComparison(runs);
  console.log(`BENCH_JSON ${JSON.stringify({ seconds: SECONDS, connections: CONNECTIONS, baseline: base, runs })}`);
  const found = failures(runs);
  if (found.length) {
    console.error(`bench: FAILED\n  ${found.join('\n  ')}`);
    process.exit(1);
  }
}

main().then(
  () => process.exit(0),
  async (err) => {
    console.error(err);
    await abort('error');
  },
);
