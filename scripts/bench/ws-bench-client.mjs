// One child process of `npm run bench:ws`: opens its share of WebSocket watchers on one event, and records
// for every change (by seat number) how many sockets got it and when the last one did.
import { createRequire } from 'node:module';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ROOT } from '../ensure-install.mjs';

const require = createRequire(import.meta.url);
const WebSocket = require(path.join(ROOT, 'services', 'notifier', 'node_modules', 'ws'));

const { url, eventIds, count, batch } = JSON.parse(process.argv[2]);
const CONNECT_CONCURRENCY = 50;
/** "eventId seatNumber status" → [sockets that got that change, time the last one did]: a seat is held once
 * and released once at most in a run, so the key names one change. */
const seen = new Map();
let subscribed = 0;
let refused = 0;
let subscribeErrors = 0;
let disconnects = 0;
let stopping = false;
const sockets = [];
const socketSubscriptions = new Map();
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
let cpuAtSubscribed;

function record(eventId, seatNumber, status, at) {
  const key = `${eventId} ${seatNumber} ${status}`;
  const entry = seen.get(key);
  if (entry) {
    entry[0]++;
    entry[1] = at;
  } else seen.set(key, [1, at]);
}

function open() {
  return new Promise((resolve) => {
    // The bench checks what arrives by parsing it; ws's own UTF-8 check would only add client CPU.
    const socket = new WebSocket(url, { skipUTF8Validation: true, perMessageDeflate: false });
    socket.on('unexpected-response', (req) => {
      refused++;
      req.destroy();
      resolve();
    });
    socket.on('error', () => resolve());
    socket.on('close', () => {
      if (!stopping) disconnects++;
    });
    socketSubscriptions.set(socket, [0]);
    socket.on('open', () => {
      sockets.push(socket);
      for (const eventId of eventIds) socket.send(JSON.stringify({ type: 'SUBSCRIBE_EVENT', eventId, batch }));
    });
    socket.on('message', (data) => {
      const at = Date.now();
      const message = JSON.parse(data.toString());
      if (message.type === 'SEAT_UPDATES')
        for (const u of message.updates) record(message.eventId, u.seatNumber, u.status, at);
      else if (message.type === 'SEAT_UPDATE') record(message.eventId, message.seatNumber, message.status, at);
      else if (message.type === 'SUBSCRIBED') {
        // A socket counts once it follows every event of the run.
        if (++socketSubscriptions.get(socket)[0] === eventIds.length) {
          subscribed++;
          resolve();
        }
      } else if (message.type === 'ERROR') {
        subscribeErrors++;
        resolve();
      }
    });
  });
}

async function connectAll() {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      await open();
    }
  };
  await Promise.all(Array.from({ length: CONNECT_CONCURRENCY }, worker));
  process.send({ type: 'subscribed', subscribed, refused, subscribeErrors });
  // From here on the storm runs: a late receive timestamp is only the server's fault if this loop kept up.
  cpuAtSubscribed = process.cpuUsage();
  loopDelay.enable();
}

process.on('message', (message) => {
  if (message.type !== 'report') return;
  stopping = true;
  process.send({
    type: 'report',
    seen: [...seen],
    disconnects,
    open: sockets.filter((s) => s.readyState === 1).length,
    cpuSeconds: cpuAtSubscribed
      ? (() => {
          const d = process.cpuUsage(cpuAtSubscribed);
          return (d.user + d.system) / 1e6;
        })()
      : 0,
    loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
  });
  for (const socket of sockets) socket.terminate();
  setTimeout(() => process.exit(0), 100);
});

void connectAll();
