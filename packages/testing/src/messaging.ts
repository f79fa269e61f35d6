import { randomUUID } from 'node:crypto';
import {
  ENVELOPE_VERSION,
  parseEnvelope,
  type DomainEnvelope,
  RoutingKeys,
  seatChangeBatches,
  type SeatChangeBatchEnvelope,
  type SeatChangedData,
  type SeatEnvelope,
  type SeatRoutingKey,
  type SeatStatus,
} from '@zephyr/contracts';
import { connectBroker, type Broker, type BrokerLogger, type BrokerOptions } from '@zephyr/runtime/messaging';
import { BACKING } from './backing';

/** Test brokers stay silent: a test asserts on what it receives, not on connection chatter. */
export const quietLogger: BrokerLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** A publisher on a test's own (isolated) exchange. */
export function testBroker(
  exchange: string,
  url: string = BACKING.amqpUrl,
  options: Pick<BrokerOptions, 'onUnroutable' | 'isMandatory'> = {},
): Broker {
  return connectBroker({ url, exchange, logger: quietLogger, ...options });
}

/**
 * A test publisher that records the routing key of every publish no queue took (all its publishes are
 * mandatory, seat.* facts too: the broker returns one before its confirm). How a test shows that nothing
 * is bound to a key any more.
 */
export function unroutableRecordingBroker(exchange: string): { broker: Broker; returned: string[] } {
  const returned: string[] = [];
  const broker = testBroker(exchange, BACKING.amqpUrl, {
    onUnroutable: (routingKey) => returned.push(routingKey),
    isMandatory: () => true,
  });
  return { broker, returned };
}

/** The seat's status after each seat.* fact, as the seat-service publishes it. */
export const STATUS_AFTER: Readonly<Record<SeatRoutingKey, SeatStatus>> = {
  [RoutingKeys.SeatHeld]: 'held',
  [RoutingKeys.SeatRefreshed]: 'held',
  [RoutingKeys.SeatReserved]: 'reserved',
  [RoutingKeys.SeatReleased]: 'available',
  [RoutingKeys.SeatExpired]: 'available',
};

/** What a test must say about a seat change; the rest gets a valid default. */
export type SeatFacts = Pick<SeatChangedData, 'eventId' | 'seatNumber'> & Partial<SeatChangedData>;

let seatVersion = 0;

/**
 * A seat.* envelope as the seat-service publishes it. Unless given: `status` follows the routing key, the
 * user is a fresh id, `version` grows per call in this process and `holdVersion` is 1.
 */
export function seatEnvelope(type: SeatRoutingKey, facts: SeatFacts): SeatEnvelope {
  return {
    id: randomUUID(),
    type,
    version: ENVELOPE_VERSION,
    occurredAt: new Date().toISOString(),
    producer: 'test',
    data: {
      status: STATUS_AFTER[type],
      userId: randomUUID(),
      version: ++seatVersion,
      holdVersion: 1,
      ...facts,
    },
  };
}

/**
 * Seat changes as the relays hand them to bulk consumers (seat counts, the expiry schedule): batch
 * envelopes of at most MAX_SEAT_CHANGE_BATCH changes each, in order.
 */
export function seatChangeBatchesFor(changes: readonly SeatEnvelope[]): SeatChangeBatchEnvelope[] {
  return seatChangeBatches(changes, 'test', randomUUID, new Date().toISOString());
}

/** Publishes seat changes as the relays do, in seat-changes.batch messages: what every consumer of seat changes binds. */
export async function publishSeatChanges(broker: Broker, ...changes: SeatEnvelope[]): Promise<void> {
  for (const batch of seatChangeBatchesFor(changes)) await broker.publish(batch);
}

/** The few amqplib channel calls the tests make (through the broker's own connection, so a test needs no amqplib of its own). */
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
