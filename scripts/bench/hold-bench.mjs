// npm run bench: holds/s, p99 and CPU per hold through the whole stack (gateway → JWT → seat-service →
// Redis → durable event), against a baseline measured in the same run (bare express + one Redis Lua call).
// Then, on the same stack, SPEC.md §7: 4-seat multi-holds and best-available (4 adjacent seats), each as
// requests/s and seats/s with the ratio of its request rate to the single hold's.
// Load comes from wrk on loopback, bounded in time. Env: BENCH_SECONDS (10), BENCH_CONNECTIONS (64).
import { execFileSync, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, ensureInstall } from '../ensure-install.mjs';
import { cpuSeconds, startStack } from './stack.mjs';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const SEATS_PER_EVENT = 1000;
const USERS = 256;
const here = path.dirname(fileURLToPath(import.meta.url));

function requireWrk() {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
  } catch (err) {
    if (err.code === 'ENOENT') {
      console.error('bench: wrk is required (Debian: apt-get install -y wrk)');
      process.exit(2);
    }
  }
}

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
function init(args)
  nthreads = #threads
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

function runWrk(url, script) {
  const out = execFileSync('wrk', ['-t4', `-c${CONNECTIONS}`, `-d${SECONDS}s`, '--latency', '-s', script, url], {
    encoding: 'utf8',
    timeout: (SECONDS + 30) * 1000,
  });
  const total = Number(/(\d+) requests in/.exec(out)[1]);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const p99 = /99%\s+([\d.]+)(us|ms|s)/.exec(out);
  const p99ms = p99 ? Number(p99[1]) * { us: 0.001, ms: 1, s: 1000 }[p99[2]] : NaN;
  const p50 = /50%\s+([\d.]+)(us|ms|s)/.exec(out);
  const p50ms = p50 ? Number(p50[1]) * { us: 0.001, ms: 1, s: 1000 }[p50[2]] : NaN;
  return { total, ok: total - non2xx, non2xx, p99ms, p50ms };
}

const pidsOf = (name) => {
  try {
    return execFileSync('pgrep', ['-f', name], { encoding: 'utf8' }).trim().split('\n').map(Number).filter(Boolean);
  } catch {
    return [];
  }
};
const backingPids = () => [...pidsOf('redis-server'), ...pidsOf('beam.smp'), ...pidsOf('postgres')];
const cpuOf = (pids) => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);

async function baseline() {
  const prefix = `benchbase_${randomBytes(3).toString('hex')}:`;
  const server = fork(path.join(here, 'baseline-server.mjs'), {
    env: { ...process.env, PORT: '4190', PREFIX: prefix },
    stdio: 'ignore',
  });
  await new Promise((resolve) => server.once('message', resolve));
  const events = Array.from({ length: 200 }, (_, i) => `e${i}`);
  const script = wrkScript({ events, tokens: [], pathFor: '"/hold/" .. ev .. "/" .. seat' });
  const cpu0 = cpuSeconds(server.pid);
  const result = runWrk('http://127.0.0.1:4190', script);
  const cpu = cpuSeconds(server.pid) - cpu0;
  server.kill();
  execFileSync('sh', ['-c', `redis-cli --scan --pattern '${prefix}*' | xargs -r redis-cli del > /dev/null`]);
  return { ...result, cpuPerOpUs: (cpu / result.ok) * 1e6 };
}

async function createEvents(stack, admin, count) {
  const events = [];
  // A few at a time: the event-service commits each one.
  for (let i = 0; i < count; i += 8) {
    const batch = Array.from({ length: Math.min(8, count - i) }, (_, j) =>
      fetch(`${stack.gatewayUrl}/api/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          name: `bench ${i + j}`,
          totalSeats: SEATS_PER_EVENT,
          maxSeatsPerUser: SEATS_PER_EVENT,
          seatsPerRow: 20,
        }),
      }).then(async (res) => (await res.json()).id),
    );
    events.push(...(await Promise.all(batch)));
  }
  // Warm up connections, JIT and the event configs in Redis.
  for (const e of events)
    await fetch(`${stack.gatewayUrl}/api/events/${e}/seats/available`).then((r) => r.arrayBuffer());
  return events;
}

async function measure(stack, script) {
  const pids = stack.children.map((c) => c.child.pid);
  const backing = backingPids();
  const perService0 = stack.children.map((c) => cpuSeconds(c.child.pid));
  const cpu0 = cpuOf(pids);
  const backing0 = cpuOf(backing);
  const result = runWrk(stack.gatewayUrl, script);
  // Let the relays publish what the run committed, so their CPU is part of the cost.
  await new Promise((r) => setTimeout(r, 2000));
  const cpu = cpuOf(pids) - cpu0;
  const backingCpu = cpuOf(backing) - backing0;
  const perService = Object.fromEntries(
    stack.children.map((c, i) => [c.name, ((cpuSeconds(c.child.pid) - perService0[i]) / result.ok) * 1e6]),
  );
  return {
    ...result,
    cpuPerOpUs: (cpu / result.ok) * 1e6,
    backingCpuPerOpUs: (backingCpu / result.ok) * 1e6,
    perService,
  };
}

const GROUP = 4;

async function zephyr() {
  const stack = await startStack({
    basePort: 4100,
    env: { RATE_LIMIT_PER_IP: '100000000', RATE_LIMIT_PER_USER: '100000000' },
  });
  try {
    const admin = await stack.token('00000000-0000-4000-8000-000000000001', true);
    const tokens = [];
    for (let i = 0; i < USERS; i++)
      tokens.push(await stack.token(`00000000-0000-4000-9000-${String(i).padStart(12, '0')}`));

    // Fresh events per run, sized for the fastest rate this machine could plausibly reach.
    const single = await measure(
      stack,
      wrkScript({
        events: await createEvents(stack, admin, Math.ceil((SECONDS * 12000) / SEATS_PER_EVENT)),
        tokens,
        pathFor: '"/api/seats/" .. ev .. "/" .. seat .. "/hold"',
      }),
    );
    const perEvent = SEATS_PER_EVENT / GROUP;
    const groupEvents = () => createEvents(stack, admin, Math.ceil((SECONDS * 4000) / perEvent));
    const multi = await measure(
      stack,
      wrkScript({
        events: await groupEvents(),
        tokens,
        perEvent,
        pathFor: '"/api/seats/" .. ev .. "/hold"',
        bodyFor: `'{"seats":[' .. (${GROUP} * k + 1) .. ',' .. (${GROUP} * k + 2) .. ',' .. (${GROUP} * k + 3) .. ',' .. (${GROUP} * k + 4) .. ']}'`,
      }),
    );
    // Every request on an event asks for 4 adjacent seats; requests past what an event can seat get a 409.
    const best = await measure(
      stack,
      wrkScript({
        events: await groupEvents(),
        tokens,
        perEvent,
        pathFor: '"/api/seats/" .. ev .. "/best-available"',
        bodyFor: `'{"count":${GROUP}}'`,
      }),
    );
    return { single, multi, best };
  } finally {
    await stack.stop();
  }
}

requireWrk();
ensureInstall();
build();
console.log(`bench: ${SECONDS}s per run, ${CONNECTIONS} connections, wrk on 127.0.0.1, ${os.cpus().length} cores\n`);
const base = await baseline();
const { single: z, multi, best } = await zephyr();
const row = (name, r, unit) =>
  `${name.padEnd(44)} ${(r.ok / SECONDS).toFixed(0).padStart(7)} ${unit}/s  p50 ${r.p50ms.toFixed(2).padStart(6)} ms  p99 ${r.p99ms
    .toFixed(2)
    .padStart(6)} ms  CPU ${r.cpuPerOpUs.toFixed(0).padStart(4)} µs/op  non-2xx ${r.non2xx}`;
console.log(row('baseline: express + 1 Redis Lua call', base, 'req'));
console.log(row('zephyr: hold through gateway (JWT, events)', z, 'hold'));
console.log(
  `${''.padEnd(44)} per process, µs CPU/hold: ${Object.entries(z.perService)
    .map(([name, us]) => `${name} ${us.toFixed(0)}`)
    .join(', ')}`,
);
console.log(
  `${''.padEnd(44)} backing services (Redis, RabbitMQ, PostgreSQL) CPU ${z.backingCpuPerOpUs.toFixed(0)} µs/hold`,
);
const groupRow = (name, r) =>
  `${row(name, r, 'req')}\n${''.padEnd(44)} ${((r.ok * GROUP) / SECONDS).toFixed(0).padStart(7)} seats/s, ${(r.ok / z.ok).toFixed(2)} × the single hold's request rate`;
console.log(groupRow('zephyr: multi-hold of 4 seats (§7)', multi));
console.log(groupRow('zephyr: best-available, 4 adjacent (§7)', best));
console.log(
  `\ntargets: >= 4400 holds/s, <= 300 µs CPU per hold over Zephyr's processes, p99 < 20 ms at 64 connections;\n         multi-hold and best-available >= 0.5 × the single hold's request rate`,
);
