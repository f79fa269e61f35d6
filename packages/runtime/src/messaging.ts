import amqp, { type AmqpConnectionManager, type ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import {
  InvalidEnvelopeError,
  MessageHeaders,
  QueueNames,
  parseEnvelope,
  type DomainEnvelope,
} from '@zephyr/contracts';

/**
 * RabbitMQ connection, publisher, consumer and dead-letter wiring. The names and envelopes it speaks are the
 * contract's (`@zephyr/contracts`); the I/O lives here so the contract stays pure data.
 */

/** Structured logger shape (pino-compatible): any logger with these three methods will do. */
export interface BrokerLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface BrokerOptions {
  url: string;
  exchange: string;
  logger: BrokerLogger;
  /** Called for every publish the broker returned as unroutable (mandatory flag). */
  onUnroutable?: (routingKey: string) => void;
}

export interface Broker {
  readonly exchange: string;
  readonly connection: AmqpConnectionManager;
  isConnected(): boolean;
  /** Resolves when the broker confirmed the message; rejects on nack, timeout or disconnect. */
  publish(envelope: DomainEnvelope, requestId?: string): Promise<void>;
  close(): Promise<void>;
}

const PUBLISH_TIMEOUT_MS = 10_000;

async function declareExchanges(channel: ConfirmChannel, exchange: string): Promise<void> {
  await channel.assertExchange(exchange, 'topic', { durable: true });
  await channel.assertExchange(QueueNames.deadLetterExchange(exchange), 'direct', { durable: true });
}

export function connectBroker(options: BrokerOptions): Broker {
  const { url, exchange, logger } = options;
  const connection = amqp.connect([url], { heartbeatIntervalInSeconds: 5, reconnectTimeInSeconds: 1 });
  connection.on('disconnect', ({ err }) => logger.warn({ err: err?.message }, 'amqp disconnected'));
  connection.on('connect', () => logger.info({}, 'amqp connected'));
  connection.on('connectFailed', ({ err }) => logger.warn({ err: err?.message }, 'amqp connect failed'));

  const publisher: ChannelWrapper = connection.createChannel({
    name: 'publisher',
    confirm: true,
    publishTimeout: PUBLISH_TIMEOUT_MS,
    setup: async (channel: ConfirmChannel) => {
      channel.on('error', (err: Error) => logger.warn({ err: err.message }, 'publisher channel error'));
      channel.on('return', (message: ConsumeMessage) => {
        logger.warn({ routingKey: message.fields.routingKey }, 'unroutable message returned by broker');
        options.onUnroutable?.(message.fields.routingKey);
      });
      await declareExchanges(channel, exchange);
    },
  });

  return {
    exchange,
    connection,
    isConnected: () => connection.isConnected(),
    async publish(envelope, requestId) {
      if (!connection.isConnected()) {
        // Refuse instead of buffering in memory: the caller's outbox keeps the message until it is confirmed.
        throw new Error('broker not connected');
      }
      const headers: Record<string, string> = {};
      if (requestId) headers[MessageHeaders.requestId] = requestId;
      const publishOptions: Options.Publish = {
        persistent: true,
        mandatory: true,
        contentType: 'application/json',
        messageId: envelope.id,
        type: envelope.type,
        timestamp: Math.floor(Date.parse(envelope.occurredAt) / 1000),
        headers,
      };
      await publisher.publish(exchange, envelope.type, Buffer.from(JSON.stringify(envelope)), publishOptions);
    },
    async close() {
      await publisher.close().catch(() => undefined);
      await connection.close().catch(() => undefined);
    },
  };
}

export interface ConsumerOptions {
  broker: Broker;
  queue: string;
  bindings: readonly string[];
  prefetch: number;
  logger: BrokerLogger;
  /** Durable quorum queue with a dead-letter queue (default), or a replica-owned queue that expires when idle. */
  kind?: 'durable' | 'replica';
  /** Redeliveries before a message goes to the DLQ. */
  deliveryLimit?: number;
  handle: (envelope: DomainEnvelope, context: { requestId?: string; redelivered: boolean }) => Promise<void>;
  onPoison?: (reason: string) => void;
}

export interface Consumer {
  close(): Promise<void>;
}

const REPLICA_QUEUE_IDLE_EXPIRY_MS = 60 * 60 * 1000;
/** How long close() lets the messages in hand finish before closing anyway. */
const CLOSE_DRAIN_TIMEOUT_MS = 5000;

/**
 * Consumes envelopes with manual acks: validate, run the effect, then ack. A message that breaks the
 * contract goes straight to the DLQ; a failing effect is requeued until the delivery limit dead-letters it.
 */
export function startConsumer(options: ConsumerOptions): Consumer {
  const { broker, queue, bindings, logger, handle } = options;
  const exchange = broker.exchange;
  const dlx = QueueNames.deadLetterExchange(exchange);
  const dlq = QueueNames.deadLetter(queue);

  const channel: ChannelWrapper = broker.connection.createChannel({
    name: `consumer:${queue}`,
    setup: async (ch: ConfirmChannel) => {
      ch.on('error', (err: Error) => logger.warn({ queue, err: err.message }, 'consumer channel error'));
      await declareExchanges(ch, exchange);
      await ch.assertQueue(dlq, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      await ch.bindQueue(dlq, dlx, queue);
      const args: Record<string, unknown> = {
        'x-queue-type': 'quorum',
        'x-delivery-limit': options.deliveryLimit ?? 10,
        'x-dead-letter-exchange': dlx,
        'x-dead-letter-routing-key': queue,
      };
      if (options.kind === 'replica') args['x-expires'] = REPLICA_QUEUE_IDLE_EXPIRY_MS;
      await ch.assertQueue(queue, { durable: true, arguments: args });
      for (const pattern of bindings) await ch.bindQueue(queue, exchange, pattern);
    },
  });

  const onMessage = async (message: ConsumeMessage) => {
    let envelope: DomainEnvelope;
    try {
      envelope = parseEnvelope(JSON.parse(message.content.toString('utf8')));
    } catch (err) {
      const reason = err instanceof InvalidEnvelopeError ? err.message : 'malformed JSON';
      logger.error({ queue, reason }, 'poison message sent to dead-letter queue');
      options.onPoison?.(reason);
      channel.nack(message, false, false);
      return;
    }
    const rawRequestId = message.properties.headers?.[MessageHeaders.requestId];
    try {
      await handle(envelope, {
        requestId: typeof rawRequestId === 'string' ? rawRequestId : undefined,
        redelivered: message.fields.redelivered,
      });
      channel.ack(message);
    } catch (err) {
      logger.error({ queue, id: envelope.id, err: (err as Error).message }, 'message handling failed; requeued');
      channel.nack(message, false, true);
    }
  };

  let inFlight = 0;
  let idle: (() => void) | undefined;
  void channel
    .consume(
      queue,
      async (message: ConsumeMessage) => {
        inFlight++;
        try {
          await onMessage(message);
        } finally {
          inFlight--;
          if (inFlight === 0) idle?.();
        }
      },
      { prefetch: options.prefetch },
    )
    .catch((err: Error) => logger.error({ queue, err: err.message }, 'consumer start failed'));

  return {
    /**
     * Stop taking messages, let the ones in hand finish and their acks reach the broker, then close. Closing
     * with acks still in flight gets those messages redelivered to the next consumer.
     */
    async close() {
      await channel.cancelAll().catch(() => undefined);
      if (inFlight > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((resolve) => (idle = resolve)),
          new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_DRAIN_TIMEOUT_MS))),
        ]);
        clearTimeout(timer);
      }
      // Each ack was written to this channel when its handler finished. Closing is a round trip on the same
      // channel and the broker handles a channel's frames in order, so close-ok means the acks were applied.
      await channel.close().catch(() => undefined);
    },
  };
}
