// npm run bench:expiry: expiry lag (expiresAt → SEAT_UPDATE available at a WebSocket client) with 10,000
// holds expiring within the same minute, then catch-up after the worker was stopped for 10× the hold TTL.
// Env: EXPIRY_HOLDS (10000), CATCHUP_HOLDS (1000). All traffic on 127.0.0.1; every wait is bounded.
import { createRequire } from 'node:module';
import path from 'node:path';
import { ROOT, build, ensureInstall } from '../ensure-install.mjs';
import { startStack } from './stack.mjs';

const HOLDS = Number(process.env.EXPIRY_HOLDS ?? 10_000);
const CATCHUP = Number(process.env.CATCHUP_HOLDS ?? 1000);
const TTL = 10;
const CATCHUP_WAIT_S = Number(process.env.CATCHUP_WAIT_S ?? TTL * 10);
const require = createRequire(path.join(ROOT, 'packages', 'testing', 'package.json'));
const WebSocket = require('ws');

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function post(url, token, body) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await res.json() };
}

async function pool(limit, tasks) {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < tasks.length) await tasks[next++]();
    }),
  );
}

ensureInstall();
build();
const stack = await startStack({ env: { RATE_LIMIT_PER_IP: '0', RATE_LIMIT_PER_USER: '0' } });
try {
  const admin = await stack.token('00000000-0000-4000-8000-000000000001', true);
  const user = await stack.token('00000000-0000-4000-9000-000000000001');
  const events = [];
  for (let i = 0; i < Math.ceil((HOLDS + CATCHUP) / 1000); i++) {
    events.push(
      (
        await post(`${stack.gatewayUrl}/api/events`, admin, {
          name: `expiry ${i}`,
          totalSeats: 1000,
          maxSeatsPerUser: 1000,
        })
      ).body.id,
    );
  }
  const started0 = Date.now();
  const ws = new WebSocket(`ws://127.0.0.1:${stack.ports.gateway}/ws`);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const expiresAt = new Map();
  const lags = [];
  ws.on('message', (raw) => {
    const m = JSON.parse(raw);
    if (m.type !== 'SEAT_UPDATE' || m.status !== 'available') return;
    const due = expiresAt.get(`${m.eventId}/${m.seatNumber}`);
    if (due !== undefined) lags.push(Date.now() - due);
  });
  ws.on('close', (code) =>
    console.log(`expiry: WebSocket closed (${code}) after ${((Date.now() - started0) / 1000).toFixed(0)} s`),
  );
  for (const e of events) ws.send(JSON.stringify({ type: 'SUBSCRIBE_EVENT', eventId: e }));
  await new Promise((r) => setTimeout(r, 500));

  const holdAll = async (count, offset, duration) => {
    const tasks = Array.from({ length: count }, (_, k) => async () => {
      const i = offset + k;
      const eventId = events[Math.floor(i / 1000)];
      const seat = (i % 1000) + 1;
      const res = await post(`${stack.gatewayUrl}/api/seats/${eventId}/${seat}/hold`, user, { holdDuration: duration });
      if (res.status === 201) expiresAt.set(`${eventId}/${seat}`, Date.parse(res.body.expiresAt));
    });
    await pool(32, tasks);
  };

  // Phase 1: HOLDS holds, all expiring within one minute.
  const started = Date.now();
  await holdAll(HOLDS, 0, 60);
  console.log(
    `expiry: ${expiresAt.size} holds created in ${((Date.now() - started) / 1000).toFixed(1)} s; waiting for them to expire...`,
  );
  const lastDue = Math.max(...expiresAt.values());
  const deadline = lastDue + 5000;
  while (lags.length < expiresAt.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  const sorted = [...lags].sort((a, b) => a - b);
  console.log(
    `expiry lag over ${sorted.length}/${expiresAt.size} holds: p50 ${pct(sorted, 50)} ms, p95 ${pct(sorted, 95)} ms, p99 ${pct(sorted, 99)} ms, max ${sorted[sorted.length - 1]} ms (target p99 < 1000 ms)`,
  );

  // Phase 2: the worker is stopped for 10× the TTL, then restarted: it must catch up.
  const worker = stack.children.find((c) => c.name === 'expiry-worker');
  worker.child.kill('SIGTERM');
  await new Promise((r) => worker.child.once('exit', r));
  lags.length = 0;
  expiresAt.clear();
  await holdAll(CATCHUP, HOLDS, TTL);
  console.log(
    `catch-up: ${expiresAt.size} holds of ${TTL} s created with the worker stopped; waiting ${CATCHUP_WAIT_S} s...`,
  );
  await new Promise((r) => setTimeout(r, TTL * 10 * 1000));
  const restartedAt = Date.now();
  stack.children.push(await stack.restart('expiry-worker'));
  while (lags.length < expiresAt.size && Date.now() - restartedAt < 60_000)
    await new Promise((r) => setTimeout(r, 100));
  console.log(
    `catch-up: ${lags.length}/${expiresAt.size} released ${((Date.now() - restartedAt) / 1000).toFixed(1)} s after the worker restarted`,
  );
  ws.close();
} finally {
  await stack.stop();
}
