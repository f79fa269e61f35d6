import os from 'node:os';
import { ENVELOPE_VERSION, type AuditAction, type SeatEnvelope, type SeatRoutingKey } from '@zephyr/contracts';
import { type Broker } from '@zephyr/runtime/messaging';
import { outboxMetrics, type Logger, type Redis, type Registry } from '@zephyr/runtime';
import { OUTBOX_GROUP, seatKeys } from './seat-store';
import type { AuditRow, ReservationRepository } from './reservation-repository';

const BATCH = 500;
const BLOCK_MS = 50;
const LEASE_MS = 10_000;
const LEASE_RENEW_BEFORE_MS = 6_000;
const LEASE_RETRY_MS = 2_000;
const STREAM_LIST_TTL_MS = 1_000;
const BACKLOG_EVERY_MS = 5_000;

const ACTION_BY_KEY: Record<SeatRoutingKey, AuditAction> = {
  'seat.held': 'held',
  'seat.refreshed': 'refreshed',
  'seat.released': 'released',
  'seat.expired': 'expired',
  'seat.reserved': 'reserved',
};

/** Takes or renews the lease on one event's stream; only the holder reads it, so it is published in order. */
const LEASE_SCRIPT = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] or not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

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
 * change). One replica at a time holds each stream's lease and reads it in order, so a seat's events reach
 * the broker in the order they happened. Each batch is published with confirms, its audit rows written,
 * the PostgreSQL fallback copies of reservations forgotten, then XACK+XDEL. A failure leaves entries
 * pending and they are retried (consumers dedupe on envelope id). A new lease holder first takes over the
 * previous holder's pending entries.
 */
export function startStreamRelay(options: StreamRelayOptions) {
  const { redis, keyPrefix, broker, reservations, logger } = options;
  const consumer = `${os.hostname()}-${process.pid}`;
  const { published, backlog: backlogGauge } = outboxMetrics(options.registry);
  redis.defineCommand('zephyrRelayLease', { numberOfKeys: 1, lua: LEASE_SCRIPT });
  const lease = (
    redis as unknown as { zephyrRelayLease: (key: string, holder: string, ms: number) => Promise<number> }
  ).zephyrRelayLease.bind(redis);

  let running = true;
  let known: string[] = [];
  let knownLoadedAt = 0;
  let retryPending = true;
  let lastBacklog = 0;
  /** stream → when our lease ends (owned) or when to try again (not owned, negative). */
  const leases = new Map<string, number>();

  const eventIdOf = (stream: string) => /\{([^}]+)\}/.exec(stream)![1]!;
  const leaseKey = (stream: string) => `seat:{${eventIdOf(stream)}}:relay-lease`;

  const refreshLeases = async (): Promise<string[]> => {
    if (Date.now() - knownLoadedAt > STREAM_LIST_TTL_MS) {
      known = (await redis.smembers(seatKeys.outboxIndex())).map((id) => seatKeys.outbox(id));
      knownLoadedAt = Date.now();
    }
    const now = Date.now();
    const owned: string[] = [];
    for (const stream of known) {
      const state = leases.get(stream) ?? 0;
      const ownedUntil = state > 0 ? state : 0;
      const due = state > 0 ? ownedUntil - now < LEASE_RENEW_BEFORE_MS : now >= -state;
      if (due) {
        const got = (await lease(leaseKey(stream), consumer, LEASE_MS)) === 1;
        if (got && state <= 0) {
          // New to this stream: take over whatever the previous holder read but never acknowledged.
          await redis.xautoclaim(stream, OUTBOX_GROUP, consumer, 0, '0', 'COUNT', 10_000);
          retryPending = true;
        }
        leases.set(stream, got ? now + LEASE_MS : -(now + LEASE_RETRY_MS));
      }
      if ((leases.get(stream) ?? 0) > 0) owned.push(stream);
    }
    return owned;
  };

  const toEntry = (stream: string, entryId: string, fields: string[]): StreamEntry => {
    const f: Record<string, string> = {};
    for (let i = 0; i < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
    const eventId = eventIdOf(stream);
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
    if (f.ra) data.reservedAt = new Date(Number(f.ra)).toISOString();
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

  type XReply = [string, [string, string[] | null][]][] | null;

  const read = async (streams: string[], pending: boolean): Promise<StreamEntry[]> => {
    const args: (string | number)[] = ['GROUP', OUTBOX_GROUP, consumer, 'COUNT', BATCH];
    if (!pending) args.push('BLOCK', BLOCK_MS);
    const reply = (await (
      redis as unknown as { xreadgroup: (...a: (string | number)[]) => Promise<XReply> }
    ).xreadgroup(...args, 'STREAMS', ...streams, ...streams.map(() => (pending ? '0' : '>')))) as XReply;
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

  const recreateGroups = async () => {
    for (const stream of known) {
      // ioredis does not prefix XGROUP's key, so name it in full.
      await redis.xgroup('CREATE', `${keyPrefix}${stream}`, OUTBOX_GROUP, '0', 'MKSTREAM').catch(() => undefined);
    }
  };

  const reportBacklog = async () => {
    if (Date.now() - lastBacklog < BACKLOG_EVERY_MS) return;
    lastBacklog = Date.now();
    let backlog = 0;
    for (const stream of known) backlog += await redis.xlen(stream);
    backlogGauge.set({ outbox: 'redis' }, backlog);
  };

  const deliver = async (entries: StreamEntry[]) => {
    // One channel, publishes issued in stream order: the broker routes them in that order.
    await Promise.all(entries.map((e) => broker.publish(e.envelope)));
    await reservations.appendAudit(entries.map((e) => e.audit));
    await reservations.forgetOutboxCopies(
      entries.filter((e) => e.audit.action === 'reserved').map((e) => e.envelope.id),
    );
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
        const owned = await refreshLeases();
        await reportBacklog();
        if (owned.length === 0) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          continue;
        }
        let entries: StreamEntry[] = [];
        if (retryPending) {
          entries = await read(owned, true);
          if (entries.length === 0) retryPending = false;
        }
        if (entries.length === 0) entries = await read(owned, false);
        if (entries.length > 0) await deliver(entries);
      } catch (err) {
        retryPending = true;
        knownLoadedAt = 0;
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
      // Hand the streams over at once instead of making the next holder wait for the lease to run out.
      for (const [stream, until] of leases) {
        if (until <= 0) continue;
        const key = leaseKey(stream);
        if ((await redis.get(key).catch(() => null)) === consumer) await redis.del(key).catch(() => undefined);
      }
    },
  };
}
