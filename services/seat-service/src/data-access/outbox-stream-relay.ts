import os from 'node:os';
import { ENVELOPE_VERSION, type AuditAction, type Broker, type SeatEnvelope, type SeatRoutingKey } from '@zephyr/contracts';
import { outboxMetrics, type Logger, type Redis, type Registry } from '@zephyr/runtime';
import { OUTBOX_GROUP, seatKeys } from './seat-store';
import type { AuditRow, ReservationRepository } from './reservation-repository';

const BATCH = 500;
const BLOCK_MS = 50;
const CLAIM_EVERY_MS = 5_000;
const CLAIM_MIN_IDLE_MS = 15_000;
const STREAM_LIST_TTL_MS = 1_000;

const ACTION_BY_KEY: Record<SeatRoutingKey, AuditAction> = {
  'seat.held': 'held',
  'seat.refreshed': 'refreshed',
  'seat.released': 'released',
  'seat.expired': 'expired',
  'seat.reserved': 'reserved',
};

interface StreamEntry {
  stream: string;
  entryId: string;
  envelope: SeatEnvelope;
  audit: AuditRow;
}

export interface StreamRelayOptions {
  redis: Redis;
  keyPrefix: string;
  broker: Broker;
  reservations: ReservationRepository;
  logger: Logger;
  registry: Registry;
  producer: string;
}

/**
 * Relays the per-event Redis outbox streams (written by the seat scripts in the same atomic step as the
 * change): publish with confirms, write the audit rows, then XACK+XDEL. A failure leaves entries pending
 * and they are retried (consumers dedupe on envelope id; audit rows are unique per message id). Pending
 * entries of a relay that died are claimed by another after CLAIM_MIN_IDLE_MS.
 */
export function startStreamRelay(options: StreamRelayOptions) {
  const { redis, keyPrefix, broker, reservations, logger } = options;
  const consumer = `${os.hostname()}-${process.pid}`;
  const { published, backlog: backlogGauge } = outboxMetrics(options.registry);

  let running = true;
  let streams: string[] = [];
  let streamsLoadedAt = 0;
  let retryPending = true;
  let lastClaim = 0;

  const loadStreams = async () => {
    if (Date.now() - streamsLoadedAt < STREAM_LIST_TTL_MS) return;
    const eventIds = await redis.smembers(seatKeys.outboxIndex());
    streams = eventIds.map((id) => seatKeys.outbox(id));
    streamsLoadedAt = Date.now();
  };

  const toEntry = (stream: string, entryId: string, fields: string[]): StreamEntry => {
    const f: Record<string, string> = {};
    for (let i = 0; i < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
    const eventId = /\{([^}]+)\}/.exec(stream)![1]!;
    const type = f.t as SeatRoutingKey;
    const at = new Date(Number(f.a));
    const data: SeatEnvelope['data'] = {
      eventId,
      seatNumber: Number(f.s),
      status: f.st as SeatEnvelope['data']['status'],
      userId: f.u!,
      version: Number(f.v),
      holdVersion: Number(f.hv),
    };
    if (f.ha) data.heldAt = new Date(Number(f.ha)).toISOString();
    if (f.ea) data.expiresAt = new Date(Number(f.ea)).toISOString();
    const envelope: SeatEnvelope = {
      id: f.i!,
      type,
      version: ENVELOPE_VERSION,
      occurredAt: at.toISOString(),
      producer: options.producer,
      data,
    };
    const action = ACTION_BY_KEY[type];
    return {
      stream,
      entryId,
      envelope,
      audit: {
        eventId,
        seq: Number(f.q),
        action,
        seatNumber: data.seatNumber,
        userId: data.userId,
        version: data.version,
        at,
        expiresAt: action === 'held' || action === 'refreshed' ? new Date(Number(f.ea)) : undefined,
        messageId: envelope.id,
      },
    };
  };

  type XReply = [string, [string, string[]][]][] | null;

  const read = async (pending: boolean): Promise<StreamEntry[]> => {
    if (streams.length === 0) return [];
    const ids = streams.map(() => (pending ? '0' : '>'));
    const args: (string | number)[] = ['GROUP', OUTBOX_GROUP, consumer, 'COUNT', BATCH];
    if (!pending) args.push('BLOCK', BLOCK_MS);
    const reply = (await (redis as unknown as { xreadgroup: (...a: (string | number)[]) => Promise<XReply> }).xreadgroup(
      ...args,
      'STREAMS',
      ...streams,
      ...ids,
    )) as XReply;
    const entries: StreamEntry[] = [];
    for (const [prefixedStream, items] of reply ?? []) {
      const stream = prefixedStream.startsWith(keyPrefix) ? prefixedStream.slice(keyPrefix.length) : prefixedStream;
      const vanished: string[] = [];
      for (const [entryId, fields] of items) {
        if (fields) entries.push(toEntry(stream, entryId, fields));
        else vanished.push(entryId); // pending but already deleted: nothing left to deliver
      }
      if (vanished.length > 0) await redis.xack(stream, OUTBOX_GROUP, ...vanished);
    }
    return entries;
  };

  const claimAbandoned = async () => {
    if (Date.now() - lastClaim < CLAIM_EVERY_MS) return;
    lastClaim = Date.now();
    for (const stream of streams) {
      await redis.xautoclaim(stream, OUTBOX_GROUP, consumer, CLAIM_MIN_IDLE_MS, '0', 'COUNT', BATCH);
    }
    retryPending = true;
    let backlog = 0;
    for (const stream of streams) backlog += await redis.xlen(stream);
    backlogGauge.set({ outbox: 'redis' }, backlog);
  };

  const recreateGroups = async () => {
    for (const stream of streams) {
      // ioredis does not prefix XGROUP's key, so name it in full.
      await redis.xgroup('CREATE', `${keyPrefix}${stream}`, OUTBOX_GROUP, '0', 'MKSTREAM').catch(() => undefined);
    }
  };

  const deliver = async (entries: StreamEntry[]) => {
    await Promise.all(entries.map((e) => broker.publish(e.envelope)));
    await reservations.appendAudit(entries.map((e) => e.audit));
    const byStream = new Map<string, string[]>();
    for (const e of entries) byStream.set(e.stream, [...(byStream.get(e.stream) ?? []), e.entryId]);
    const pipeline = redis.pipeline();
    for (const [stream, ids] of byStream) {
      pipeline.xack(stream, OUTBOX_GROUP, ...ids);
      pipeline.xdel(stream, ...ids);
    }
    await pipeline.exec();
    published.inc({ outbox: 'redis' }, entries.length);
  };

  const loop = (async () => {
    while (running) {
      try {
        if (!broker.isConnected() || redis.status !== 'ready') {
          await new Promise((resolve) => setTimeout(resolve, 200));
          continue;
        }
        await loadStreams();
        if (streams.length === 0) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          continue;
        }
        await claimAbandoned();
        let entries: StreamEntry[] = [];
        if (retryPending) {
          entries = await read(true);
          if (entries.length === 0) retryPending = false;
        }
        if (entries.length === 0) entries = await read(false);
        if (entries.length > 0) await deliver(entries);
      } catch (err) {
        retryPending = true;
        streamsLoadedAt = 0;
        if ((err as Error).message.includes('NOGROUP')) await recreateGroups().catch(() => undefined);
        logger.warn({ err: (err as Error).message }, 'outbox stream relay failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  })();

  return {
    async stop() {
      running = false;
      await loop;
    },
  };
}
