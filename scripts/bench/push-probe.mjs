// Runs beside a storm: a steady trickle of contested holds on one probe event, watched over a WebSocket.
// Every probe seat is asked for by two users at once, so a double grant shows as two 201s; every grant
// must reach the subscriber, and the delay from the HTTP answer to the push is the live-push latency.
import { createRequire } from 'node:module';
import path from 'node:path';
import { ROOT } from '../ensure-install.mjs';

const require = createRequire(import.meta.url);
const WebSocket = require(path.join(ROOT, 'services', 'notifier', 'node_modules', 'ws'));

const PROBE_SEATS = 1000;
const PUSH_GRACE_MS = 2000;

function subscribe(url, eventId, pushes) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const timer = setTimeout(() => reject(new Error('probe: no SUBSCRIBED within 10 s')), 10_000);
    socket.on('error', reject);
    socket.on('open', () => socket.send(JSON.stringify({ type: 'SUBSCRIBE_EVENT', eventId })));
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString());
      if (message.type === 'SUBSCRIBED') {
        clearTimeout(timer);
        resolve(socket);
      } else if (message.type === 'SEAT_UPDATE' && message.status === 'held' && !pushes.has(message.seatNumber))
        pushes.set(message.seatNumber, Date.now());
    });
  });
}

/**
 * Starts the probe on a fresh event; `stop()` ends the trickle, waits for late pushes and returns
 * {grants, doubleGrants, lostPushes, errors, latencies (sorted ms)}.
 */
export async function startPushProbe({ gatewayUrl, wsUrl, admin, tokens, seconds }) {
  const created = await fetch(`${gatewayUrl}/api/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'push probe', totalSeats: PROBE_SEATS, maxSeatsPerUser: PROBE_SEATS }),
  });
  const eventId = (await created.json()).id;
  const pushes = new Map();
  const socket = await subscribe(wsUrl, eventId, pushes);
  const answers = new Map(); // seat → times of its 201 answers
  let errors = 0;
  const hold = async (seat, token) => {
    try {
      const res = await fetch(`${gatewayUrl}/api/seats/${eventId}/${seat}/hold`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: '{"holdDuration":3600}',
      });
      await res.arrayBuffer();
      if (res.status === 201) answers.get(seat).push(Date.now());
      else if (res.status !== 409) errors++;
    } catch {
      errors++;
    }
  };
  // Spread the seats over the storm, at most 20 contested seats a second.
  const intervalMs = Math.max(50, (seconds * 1000) / (PROBE_SEATS - 100));
  let seat = 0;
  const inFlight = [];
  const timer = setInterval(() => {
    if (seat >= PROBE_SEATS) return;
    seat++;
    answers.set(seat, []);
    const pair = seat % tokens.length;
    inFlight.push(hold(seat, tokens[pair]), hold(seat, tokens[(pair + 1) % tokens.length]));
  }, intervalMs);

  return async function stop() {
    clearInterval(timer);
    await Promise.all(inFlight);
    await new Promise((r) => setTimeout(r, PUSH_GRACE_MS));
    socket.terminate();
    let grants = 0;
    let doubleGrants = 0;
    let lostPushes = 0;
    const latencies = [];
    for (const [seatNumber, times] of answers) {
      grants += times.length;
      if (times.length > 1) doubleGrants++;
      if (times.length === 0) continue;
      const pushedAt = pushes.get(seatNumber);
      if (pushedAt === undefined) lostPushes++;
      else latencies.push(Math.max(0, pushedAt - Math.min(...times)));
    }
    latencies.sort((a, b) => a - b);
    return { grants, doubleGrants, lostPushes, errors, latencies };
  };
}
