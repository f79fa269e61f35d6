import { Socket } from 'node:net';
import amqp, { type AmqpConnectionManager, type ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import { Counter, Gauge, type Registry } from 'prom-client';
import {
  InvalidEnvelopeError,
  MessageHeaders,
  QueueNames,
  isMandatoryRoutingKey,
  parseEnvelope,
  type DomainEnvelope,
} from '@zephyr/contracts';
import { isDependencyFailure } from './errors';
import { backoffMs, type BackoffPolicy } from './backoff';
import { coalesceSocketWrites } from './socket-writes';

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
  /** Which publishes are mandatory; the contract's rule (`isMandatoryRoutingKey`) unless given. */
  isMandatory?: (routingKey: string) => boolean;
  /** Where to count those returns (`zephyr_amqp_unroutable_total`): the publishing service's registry. */
  registry?: Registry;
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

/** The socket under an amqplib connection (its `connection.stream`), when it is one. */
function amqpSocketOf(model: unknown): Socket | undefined {
  const stream = (model as { connection?: { stream?: unknown } }).connection?.stream;
  return stream instanceof Socket ? stream : undefined;
}

async function declareExchanges(channel: ConfirmChannel, exchange: string): Promise<void> {
  await channel.assertExchange(exchange, 'topic', { durable: true });
  await channel.assertExchange(QueueNames.deadLetterExchange(exchange), 'direct', { durable: true });
}

export function connectBroker(options: BrokerOptions): Broker {
  const { url, exchange, logger } = options;
  const isMandatory = options.isMandatory ?? isMandatoryRoutingKey;
  const unroutable =
    options.registry &&
    new Counter({
      name: 'zephyr_amqp_unroutable_total',
      help: 'Published messages the broker returned as unroutable (no queue bound for their routing key)',
      registers: [options.registry],
    });
  const connection = amqp.connect([url], { heartbeatIntervalInSeconds: 5, reconnectTimeInSeconds: 1 });
  connection.on('disconnect', ({ err }) => logger.warn({ err: err?.message }, 'amqp disconnected'));
  connection.on('connect', ({ connection: model }) => {
    logger.info({}, 'amqp connected');
    // The broker's frames of one synchronous run (amqplib writes a publish's frames, and every queued
    // publish, ack and confirm, in one loop) leave in one system call instead of one each.
    const socket = amqpSocketOf(model);
    if (socket) coalesceSocketWrites(socket, process.nextTick);
  });
  connection.on('connectFailed', ({ err }) => logger.warn({ err: err?.message }, 'amqp connect failed'));

  const publisher: ChannelWrapper = connection.createChannel({
    name: 'publisher',
    confirm: true,
    publishTimeout: PUBLISH_TIMEOUT_MS,
    setup: async (channel: ConfirmChannel) => {
      channel.on('error', (err: Error) => logger.warn({ err: err.message }, 'publisher channel error'));
      channel.on('return', (message: ConsumeMessage) => {
        logger.warn({ routingKey: message.fields.routingKey }, 'unroutable message returned by broker');
        unroutable?.inc();
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
        mandatory: isMandatory(envelope.type),
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

/**
 * A relay turn's publishes are issued this many per pass of the event loop: eighty at once held the loop for
 * a few milliseconds, and the requests answered in the same process waited behind them.
 */
const PUBLISHES_PER_PASS = 16;
/**
 * A turn with more publishes than this means its relay is behind (a hold storm's turns stay under 150): they
 * go out at once to catch up. Yielding every PUBLISHES_PER_PASS there, when a storm makes every pass long
 * (four seats per request), slowed the relay below the rate of changes and live pushes fell seconds behind
 * SPEC's one second; a request waiting a few milliseconds more breaks nothing.
 */
const BACKLOG_PUBLISHES = 256;

const nextPass = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Publishes `messages` in their order, a slice per pass of the event loop unless they are a backlog, and
 * resolves when the broker confirmed them all. A refusal is held until every publish was issued (never an
 * unhandled rejection). The relays' one way to publish a turn.
 */
export async function publishInOrder(
  broker: Pick<Broker, 'publish'>,
  messages: readonly { envelope: DomainEnvelope; requestId?: string }[],
): Promise<void> {
  const slice = messages.length > BACKLOG_PUBLISHES ? messages.length : PUBLISHES_PER_PASS;
  const confirms: Promise<void>[] = [];
  for (let start = 0; start < messages.length; start += slice) {
    if (start > 0) await nextPass();
    for (const { envelope, requestId } of messages.slice(start, start + slice)) {
      const confirm = broker.publish(envelope, requestId);
      confirm.catch(() => undefined); // observed by Promise.all below
      confirms.push(confirm);
    }
  }
  await Promise.all(confirms);
}

export interface ConsumerOptions {
  broker: Broker;
  queue: string;
  bindings: readonly string[];
  /**
   * Patterns this queue was bound with before and must no longer receive (a durable queue keeps its
   * bindings across restarts): unbound at every setup, a no-op once gone.
   */
  retiredBindings?: readonly string[];
  /** Queues this consumer's queue replaces: deleted (with what they hold) at every setup, a no-op once gone. */
  retiredQueues?: readonly string[];
  prefetch: number;
  logger: BrokerLogger;
  /**
   * Durable quorum queue with its own dead-letter queue (default), or a replica-owned queue that expires when
   * idle, is bounded (`x-max-length`, oldest dropped first) and dead-letters into one DLQ shared by its kind.
   */
  kind?: 'durable' | 'replica';
  /** Redeliveries before a message whose effect keeps failing (not for a dependency outage) goes to the DLQ. */
  deliveryLimit?: number;
  /** Dead-letter queue name; default `<queue>.dlq`. Replica queues pass their kind's shared DLQ. */
  deadLetterQueue?: string;
  /** The process's metrics registry: the dead-letter queue's depth is reported as `zephyr_dlq_messages`. */
  registry?: Registry;
  handle: (envelope: DomainEnvelope, context: { requestId?: string; redelivered: boolean }) => Promise<void>;
  onPoison?: (reason: string) => void;
  /**
   * Called each time the queue has been declared on a fresh channel (the first connection and every
   * reconnection), saying whether the queue was already there: a queue that had to be created again lost
   * whatever was routed while it was gone. Costs one passive check per (re)connection when set.
   */
  onQueueDeclared?: (declared: QueueDeclared) => void;
}

export interface QueueDeclared {
  /** False when this declaration created the queue. */
  existed: boolean;
  /** Messages ready in the queue when it was declared. */
  messageCount: number;
  /** True on the consumer's first declaration (process start), false on a reconnection. */
  first: boolean;
}

export interface Consumer {
  close(): Promise<void>;
}

const REPLICA_QUEUE_IDLE_EXPIRY_MS = 60 * 60 * 1000;
/**
 * A replica queue holds at most this many messages; beyond it the oldest are dropped into the shared DLQ
 * (drop-head), never refused at publish (reject-publish would nack the publisher and stall every other
 * consumer's feed behind one stuck replica). A replica that far behind pushes stale updates anyway. Its
 * messages are seat-changes.batch messages, one per relay turn (up to 500 changes each), so this also bounds
 * what a replica that went away leaves on the broker until its queue expires: at most 1,000,000 changes, where
 * 100,000 single messages were 100,000. A message count, not bytes, so the consumer can tell from the count
 * alone that it overflowed.
 */
export const REPLICA_QUEUE_MAX_LENGTH = 2_000;
/** The shared replica DLQ is bounded too (oldest dropped): its depth is the alert, its content is stale pushes. */
export const REPLICA_DLQ_MAX_LENGTH = 10_000;
/** How long close() lets the messages in hand finish before closing anyway. */
const CLOSE_DRAIN_TIMEOUT_MS = 5000;
/** Backoff while a dependency is down: doubling from the first delay to the cap, with equal jitter. */
const DEPENDENCY_RETRY: BackoffPolicy = { firstMs: 100, maxMs: 5000, jitter: true };
/** A message whose effect fails for another reason is requeued after this pause (up to the delivery limit). */
const FAILURE_REQUEUE_DELAY_MS = 200;
const DLQ_DEPTH_TIMEOUT_MS = 2000;
/** Pause before reconnecting for a consumer channel the broker closed on its own. */
const CHANNEL_REOPEN_DELAY_MS = 1000;

/** Exponential backoff with equal jitter for attempt n (0-based). */
export function retryDelayMs(attempt: number): number {
  return backoffMs(attempt, DEPENDENCY_RETRY);
}

/** One `zephyr_dlq_messages{queue}` gauge per registry, read from the broker at scrape time. */
const dlqSources = new WeakMap<Registry, Map<string, () => Promise<number>>>();

function reportDlqDepth(registry: Registry, dlq: string, read: () => Promise<number>): () => void {
  let sources = dlqSources.get(registry);
  if (!sources) {
    const own = new Map<string, () => Promise<number>>();
    sources = own;
    dlqSources.set(registry, own);
    new Gauge({
      name: 'zephyr_dlq_messages',
      help: 'Messages waiting in a dead-letter queue (replay with npm run dlq:replay -- <queue>)',
      labelNames: ['queue'] as const,
      registers: [registry],
      async collect() {
        await Promise.all(
          [...own].map(async ([queue, depth]) => {
            // Broker unreachable: the last known depth stays (and the broker's own alerts fire).
            const count = await depth().catch(() => undefined);
            if (count !== undefined) this.set({ queue }, count);
          }),
        );
      },
    });
  }
  sources.set(dlq, read);
  return () => sources.delete(dlq);
}

/**
 * Acks coalesced per turn of the event loop. Deliveries finish out of order (prefetch > 1, batched
 * effects), so the longest run of finished deliveries from the oldest open one goes as ONE `multiple` ack
 * (a quorum queue then appends one settle command, not one per message); finished deliveries behind an
 * unfinished one are acked one by one in the same flush. Delivery tags belong to a channel: after a
 * reconnect the old deliveries come again on the new channel, so acks of an earlier channel are dropped.
 */
export function createAckBatcher(channelOf: () => ChannelWrapper) {
  let generation = 0;
  /** Unsettled delivery tags of the current channel, oldest first. */
  let open: number[] = [];
  let finished = new Map<number, ConsumeMessage>();
  const generationOf = new WeakMap<ConsumeMessage, number>();
  let scheduled = false;
  const settle = (message: ConsumeMessage) => {
    const at = open.indexOf(message.fields.deliveryTag);
    if (at >= 0) open.splice(at, 1);
  };

  const flush = () => {
    scheduled = false;
    if (finished.size === 0) return;
    let last: ConsumeMessage | undefined;
    while (open.length > 0 && finished.has(open[0]!)) {
      last = finished.get(open.shift()!);
      finished.delete(last!.fields.deliveryTag);
    }
    const channel = channelOf();
    if (last) channel.ack(last, true);
    for (const message of finished.values()) {
      channel.ack(message);
      settle(message);
    }
    finished = new Map();
  };
  const current = (message: ConsumeMessage) => generationOf.get(message) === generation;

  return {
    /** A new channel: tags start again, deliveries of the old one are redelivered. */
    reset() {
      generation++;
      open = [];
      finished = new Map();
    },
    received(message: ConsumeMessage) {
      generationOf.set(message, generation);
      open.push(message.fields.deliveryTag);
    },
    ack(message: ConsumeMessage) {
      if (!current(message)) return;
      finished.set(message.fields.deliveryTag, message);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    /** Sent at once: the acks waiting for this turn cover only finished deliveries, never this one. */
    nack(message: ConsumeMessage, requeue: boolean) {
      if (!current(message)) return;
      settle(message);
      channelOf().nack(message, false, requeue);
    },
    flush,
  };
}

/**
 * Consumes envelopes with manual acks: validate, run the effect, then ack. A message that breaks the
 * contract goes straight to the DLQ. An effect that fails because a dependency is unreachable (PostgreSQL,
 * Redis, HTTP, timeouts, deadlocks: `isDependencyFailure`) is retried in place with backoff for as long as
 * the outage lasts: the message stays in hand (at most `prefetch` of them), is never requeued and so never
 * reaches the delivery limit. Any other failure is requeued after a pause until the delivery limit
 * dead-letters it: a message that can never succeed ends in the DLQ, a good one never does.
 */
export function startConsumer(options: ConsumerOptions): Consumer {
  const { broker, queue, bindings, logger, handle } = options;
  const exchange = broker.exchange;
  const dlx = QueueNames.deadLetterExchange(exchange);
  const dlq = options.deadLetterQueue ?? QueueNames.deadLetter(queue);
  // Unchanged for existing queues (a different x-dead-letter-routing-key would fail their redeclaration).
  const dlqRoutingKey = options.deadLetterQueue ?? queue;
  let closing = false;
  const wakeOnClose = new Set<() => void>();
  /** Resolves after ms, or at once when close() begins. */
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        wakeOnClose.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      wakeOnClose.add(done);
    });

  // The channel is read when acks are sent, which is only ever after it has delivered something.
  const acks = createAckBatcher(() => channel);
  let declarations = 0;
  /**
   * amqp-connection-manager opens channels again only on a new connection. When the broker closes this channel
   * while the connection stays up (the queue was deleted under the consumer: cancel, then 404 on consuming
   * again), nothing would consume any more; reconnect, after a pause so a channel that keeps failing does not
   * spin, and the setup declares the queue again.
   */
  const reopenIfClosedAlone = (ch: ConfirmChannel) => {
    const owner = broker.connection.connection;
    ch.on('close', () => {
      setTimeout(() => {
        if (closing || !owner || broker.connection.connection !== owner) return;
        logger.warn({ queue }, 'consumer channel closed by the broker; reconnecting');
        try {
          broker.connection.reconnect();
        } catch {
          // The broker is being closed meanwhile: nothing to reopen.
        }
      }, CHANNEL_REOPEN_DELAY_MS).unref();
    });
  };
  const channel: ChannelWrapper = broker.connection.createChannel({
    name: `consumer:${queue}`,
    setup: async (ch: ConfirmChannel) => {
      acks.reset();
      ch.on('error', (err: Error) => logger.warn({ queue, err: err.message }, 'consumer channel error'));
      reopenIfClosedAlone(ch);
      await declareExchanges(ch, exchange);
      const dlqArgs: Record<string, unknown> = { 'x-queue-type': 'quorum' };
      if (options.kind === 'replica') {
        dlqArgs['x-max-length'] = REPLICA_DLQ_MAX_LENGTH;
        dlqArgs['x-overflow'] = 'drop-head';
      }
      await ch.assertQueue(dlq, { durable: true, arguments: dlqArgs });
      await ch.bindQueue(dlq, dlx, dlqRoutingKey);
      const args: Record<string, unknown> = {
        'x-queue-type': 'quorum',
        'x-delivery-limit': options.deliveryLimit ?? 10,
        'x-dead-letter-exchange': dlx,
        'x-dead-letter-routing-key': dlqRoutingKey,
      };
      if (options.kind === 'replica') {
        // Replica ids follow pod names: a replica's queue goes away an hour after it did, and its dead
        // letters land in the one shared DLQ, so autoscaling leaves nothing behind.
        args['x-expires'] = REPLICA_QUEUE_IDLE_EXPIRY_MS;
        args['x-max-length'] = REPLICA_QUEUE_MAX_LENGTH;
        args['x-overflow'] = 'drop-head';
      }
      for (const retired of options.retiredQueues ?? []) await ch.deleteQueue(retired);
      const existed = options.onQueueDeclared ? await queueExists(broker, queue) : true;
      const { messageCount } = await ch.assertQueue(queue, { durable: true, arguments: args });
      for (const pattern of bindings) await ch.bindQueue(queue, exchange, pattern);
      for (const pattern of options.retiredBindings ?? []) await ch.unbindQueue(queue, exchange, pattern);
      options.onQueueDeclared?.({ existed, messageCount, first: declarations++ === 0 });
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
      acks.nack(message, false);
      return;
    }
    const rawRequestId = message.properties.headers?.[MessageHeaders.requestId];
    const context = {
      requestId: typeof rawRequestId === 'string' ? rawRequestId : undefined,
      redelivered: message.fields.redelivered,
    };
    for (let attempt = 0; ; attempt++) {
      try {
        await handle(envelope, context);
        if (attempt > 0)
          logger.info({ queue, id: envelope.id, attempts: attempt + 1 }, 'message applied after retries');
        acks.ack(message);
        return;
      } catch (err) {
        const error = err as Error;
        if (closing) {
          // Back to the queue for the next consumer; it was not applied.
          acks.nack(message, true);
          return;
        }
        if (!isDependencyFailure(err)) {
          logger.error({ queue, id: envelope.id, err: error.message }, 'message handling failed; requeued');
          await pause(FAILURE_REQUEUE_DELAY_MS);
          acks.nack(message, true);
          return;
        }
        // Logged on the first failure and then at every 10th attempt, not at every retry of every message.
        if (attempt % 10 === 0) {
          logger.warn({ queue, id: envelope.id, attempt, err: error.message }, 'dependency down; retrying message');
        }
        await pause(retryDelayMs(attempt));
        if (closing) {
          acks.nack(message, true);
          return;
        }
      }
    }
  };

  const unreportDlq = options.registry
    ? reportDlqDepth(options.registry, dlq, () =>
        withTimeout(
          channel.checkQueue(dlq).then((reply) => reply.messageCount),
          DLQ_DEPTH_TIMEOUT_MS,
        ),
      )
    : undefined;

  let inFlight = 0;
  let idle: (() => void) | undefined;
  void channel
    .consume(
      queue,
      async (message: ConsumeMessage) => {
        acks.received(message);
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
      closing = true;
      unreportDlq?.();
      for (const wake of [...wakeOnClose]) wake();
      await channel.cancelAll().catch(() => undefined);
      if (inFlight > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((resolve) => (idle = resolve)),
          new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_DRAIN_TIMEOUT_MS))),
        ]);
        clearTimeout(timer);
      }
      acks.flush();
      // Every finished handler's ack is now written to this channel. Closing is a round trip on the same
      // channel and the broker handles a channel's frames in order, so close-ok means the acks were applied.
      await channel.close().catch(() => undefined);
    },
  };
}

/** A passive check on a channel of its own: a missing queue closes the channel it is checked on. */
async function queueExists(broker: Broker, queue: string): Promise<boolean> {
  const connection = broker.connection.connection;
  if (!connection) throw new Error('broker not connected');
  const probe = await connection.createChannel();
  probe.on('error', () => undefined);
  try {
    await probe.checkQueue(queue);
    return true;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return false;
    throw err;
  } finally {
    await probe.close().catch(() => undefined);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), ms))),
  ]).finally(() => clearTimeout(timer));
}

/** How often retired queues are deleted again (see retireQueues). */
const RETIRE_EVERY_MS = 60_000;

export interface QueueRetirement {
  stop(): Promise<void>;
}

/**
 * Deletes queues an earlier build declared and nothing reads any more (with what they still hold): as soon
 * as the broker is reachable, then every minute, because during a rolling upgrade a replica of the earlier
 * build declares its queue again when it loses it. Never blocks startup; deleting a missing queue is a no-op.
 */
export function retireQueues(
  broker: Broker,
  queues: readonly string[],
  everyMs: number = RETIRE_EVERY_MS,
): QueueRetirement {
  const channel: ChannelWrapper = broker.connection.createChannel({
    setup: async (ch: ConfirmChannel) => {
      for (const queue of queues) await ch.deleteQueue(queue);
    },
  });
  channel.on('error', () => undefined);
  const timer = setInterval(() => {
    if (!broker.isConnected()) return;
    for (const queue of queues) channel.deleteQueue(queue).catch(() => undefined);
  }, everyMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await channel.close().catch(() => undefined);
    },
  };
}
