// npm run dlq:replay -- <queue> [--from <dead-letter queue>] [--max N] [--url amqp://...]
// Moves the messages of a dead-letter queue (default `<queue>.dlq`) back into <queue>, one at a time: each
// is republished to the queue itself (default exchange, so no other consumer gets a second copy) with
// publisher confirms, and only then acked in the DLQ, so a crash mid-replay duplicates at most one message
// (consumers are idempotent on the envelope id) and never loses one. Run it after fixing what dead-lettered
// them (the consumer logs say why); a message that still cannot be applied ends in the DLQ again.
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from './ensure-install.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    from: { type: 'string' },
    max: { type: 'string' },
    url: { type: 'string', default: process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672' },
  },
});
const queue = positionals[0];
const max = values.max === undefined ? Infinity : Number(values.max);
if (!queue || !(max > 0)) {
  console.error('dlq:replay: usage: npm run dlq:replay -- <queue> [--from <dlq>] [--max N] [--url amqp://...]');
  console.error('  e.g. npm run dlq:replay -- zephyr.domain.seat-service.event-config');
  process.exit(2);
}
const from = values.from ?? `${queue}.dlq`;
const amqp = createRequire(path.join(ROOT, 'packages', 'runtime', 'package.json'))('amqplib');

const connection = await amqp.connect(values.url);
let moved = 0;
try {
  const channel = await connection.createConfirmChannel();
  // Both must exist: checkQueue fails (and closes the channel) instead of creating a queue by mistake.
  await channel.checkQueue(queue);
  const { messageCount } = await channel.checkQueue(from);
  console.log(`dlq:replay: ${messageCount} message(s) in ${from}; replaying into ${queue}`);
  // Only what was there at the start: a message that fails again comes back to the DLQ and must not loop.
  const limit = Math.min(max, messageCount);
  while (moved < limit) {
    const message = await channel.get(from, { noAck: false });
    if (!message) break;
    // The broker's dead-lettering bookkeeping stays behind: the replayed copy starts a fresh delivery count.
    const headers = Object.fromEntries(
      Object.entries(message.properties.headers ?? {}).filter(([name]) => !/^x-(death|delivery-count)/.test(name)),
    );
    channel.sendToQueue(queue, message.content, {
      persistent: true,
      contentType: message.properties.contentType,
      messageId: message.properties.messageId,
      type: message.properties.type,
      timestamp: message.properties.timestamp,
      headers,
    });
    await channel.waitForConfirms();
    channel.ack(message);
    moved += 1;
  }
  await channel.close();
} finally {
  await connection.close();
}
console.log(`dlq:replay: moved ${moved} message(s) from ${from} to ${queue}`);
