// npm run watch -- <eventId> [--url ws://127.0.0.1:3000/ws] [--batch] [--seconds N]
// Prints every WebSocket message for one event as a JSON line: the walk-through's live view. It starts
// listening before it returns control (the SUBSCRIBED line is printed first) and needs no terminal input.
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from './ensure-install.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string', default: 'ws://127.0.0.1:3000/ws' },
    batch: { type: 'boolean', default: false },
    seconds: { type: 'string' },
  },
});
const eventId = positionals[0];
if (!eventId) {
  console.error('watch: usage: npm run watch -- <eventId> [--batch] [--seconds N]');
  process.exit(2);
}
const WebSocket = createRequire(path.join(ROOT, 'services', 'notifier', 'package.json'))('ws');
const socket = new WebSocket(values.url);
socket.on('open', () =>
  socket.send(JSON.stringify({ type: 'SUBSCRIBE_EVENT', eventId, ...(values.batch ? { batch: true } : {}) })),
);
socket.on('message', (data) => console.log(data.toString()));
socket.on('error', (err) => {
  console.error(`watch: ${err.message}`);
  process.exit(1);
});
socket.on('close', () => process.exit(0));
if (values.seconds) setTimeout(() => socket.close(), Number(values.seconds) * 1000);
process.on('SIGINT', () => socket.close());
