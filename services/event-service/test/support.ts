import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { parseEnvelope, type DomainEnvelope } from '@zephyr/contracts';
import type { Broker } from '@zephyr/runtime/messaging';
import { startFakeHttp } from '@zephyr/testing';

/** The few amqplib channel calls the tests make (amqplib itself is not a dependency of this service). */
interface TestChannel {
  assertExchange(exchange: string, type: string, options: object): Promise<unknown>;
  assertQueue(queue: string, options: object): Promise<unknown>;
  bindQueue(queue: string, exchange: string, pattern: string): Promise<unknown>;
  consume(queue: string, onMessage: (message: { content: Buffer } | null) => void, options: object): Promise<unknown>;
  deleteQueue(queue: string): Promise<unknown>;
  deleteExchange(exchange: string): Promise<unknown>;
}

async function withChannel(
  broker: Broker,
  work: (channel: TestChannel) => Promise<void>,
): Promise<() => Promise<void>> {
  const wrapper = broker.connection.createChannel({ setup: (channel: TestChannel) => work(channel) });
  await wrapper.waitForConnect();
  return () => wrapper.close();
}

export interface Probe {
  received: DomainEnvelope[];
  /** Messages that failed parseEnvelope (the contract check), with the reason. */
  invalid: string[];
  close(): Promise<void>;
}

/** A temporary queue bound to the isolated exchange: records every envelope, validated with parseEnvelope. */
export async function probeQueue(broker: Broker, pattern: string): Promise<Probe> {
  const received: DomainEnvelope[] = [];
  const invalid: string[] = [];
  const record = (content: Buffer) => {
    try {
      received.push(parseEnvelope(JSON.parse(content.toString('utf8'))));
    } catch (err) {
      invalid.push((err as Error).message);
    }
  };
  const queue = `${broker.exchange}.probe.${randomUUID()}`;
  const close = await withChannel(broker, async (channel) => {
    await channel.assertExchange(broker.exchange, 'topic', { durable: true });
    await channel.assertQueue(queue, { exclusive: true, autoDelete: true });
    await channel.bindQueue(queue, broker.exchange, pattern);
    await channel.consume(queue, (message) => message && record(message.content), { noAck: true });
  });
  return { received, invalid, close };
}

export interface FakeSeatService {
  url: string;
  puts: { path: string; body: unknown }[];
  /** 'hang' never answers, to show the push is bounded by its timeout. */
  mode: 'ok' | 'hang';
  close(): Promise<void>;
}

/** Stands in for seat-service's PUT /internal/events/:id and records what event-service pushed. */
export async function startFakeSeatService(): Promise<FakeSeatService> {
  const fake: Omit<FakeSeatService, 'url' | 'close'> = { puts: [], mode: 'ok' };
  const server = await startFakeHttp((req, res) => {
    fake.puts.push({ path: `${req.method} ${req.url}`, body: req.body ? JSON.parse(req.body) : undefined });
    if (fake.mode === 'ok') res.writeHead(204).end();
  });
  return Object.assign(fake, { url: server.url, close: server.stop });
}

/** A loopback port nothing listens on (for a broker or database that is down). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
