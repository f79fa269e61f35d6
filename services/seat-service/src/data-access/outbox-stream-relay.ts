import os from 'node:os';
import { publishInOrder, type Broker } from '@zephyr/runtime/messaging';
import { backoffMs, type BackoffPolicy } from '@zephyr/runtime/backoff';
import {
  createSlotPipeline,
  createWakeableSleep,
  outboxMetrics,
  type Logger,
  type RedisClient,
  type Registry,
} from '@zephyr/runtime';
import { decodeEntry, seatChangeBatchesOf, type StreamEntry } from './outbox-codec';
import { createLease } from './relay-lease';
import type { ExpiryIndex } from './expiry-index';
import { scheduleChangeFor } from '../domain/expiry-schedule';
import { OUTBOX_GROUP, seatKeys } from './seat-store';
import type { ReservationRepository } from './reservation-repository';

/** Most streams read per turn, and most entries per stream per turn (the rest waits a turn). */
const STREAMS_PER_TURN = 200;
const ENTRIES_PER_STREAM = 200;
const LEASE_MS = 10_000;
/** Renew this long before the lease ends; never publish or acknowledge with less than SAFETY_MS left. */
const RENEW_BEFORE_MS = 6_000;
const SAFETY_MS = 2_000;
const FOLLOWER_RETRY_MS = 1_000;
const IDLE_WAIT_MS = 50;
/** A last safety net for a change whose "stream has news" mark was lost (its writer died in between). */
const SWEEP_EVERY_MS = 5 * 60_000;
const SWEEP_CHUNK = 1000;
/** The consumer name in every stream's group: the same for every leader, so a new leader sees the old one's pending entries. */
const CONSUMER = 'relay';
/**
 * Entries published but not yet audited (PostgreSQL down) are remembered so they are not published again;
 * past this many the relay stops publishing new ones until the audit catches up (memory stays bounded).
 */
const MAX_UNAUDITED = 20_000;
/**
 * After a failed turn: 250 ms doubling to 1 s while failures repeat. Retries publish nothing again (see
 * `unaudited`), and a new change must still be pushed within a second while PostgreSQL is down.
 */
const RETRY: BackoffPolicy = { firstMs: 250, maxMs: 1_000 };
export interface StreamRelayOptions {
  redis: RedisClient;
  broker: Broker;
  reservations: ReservationRepository;
  /** The expiry schedule, kept in step with every change the relay hands on (the expiry worker claims from it). */
  expirySchedule: Pick<ExpiryIndex, 'apply'>;
  logger: Logger;
  registry: Registry;
  producer: string;
}

type XReply = [string, [string, string[] | null][]][] | null;

/**
 * Relays the per-event Redis outbox streams (written by the seat scripts in the same atomic step as the
 * change) to the broker. Work follows news, not size: every write marks its event in one "dirty" set
 * (seatKeys.outboxDirty) and the relay reads only those streams, so idle events cost nothing.
 *
 * One replica at a time leads (a Redis lease) and reads streams in order, so a seat's events reach the
 * broker in the order they happened. Each batch is published with confirms, its audit rows written and the
 * expiry schedule updated, the PostgreSQL fallback copies of reservations forgotten, then XACK+XDEL; the
 * lease is checked before the publish and before the acknowledgement. A failure marks the streams dirty again with their pending
 * entries to be read first (consumers dedupe on envelope id). Publishing comes before the audit so that
 * pushes keep flowing while PostgreSQL is down (holds need only Redis); an entry published but not yet
 * audited is remembered (by envelope id, while this replica leads) and not published again: the retries
 * of an outage only retry the audit, with backoff. A new leader, and every replica at start,
 * sweeps the index once so that no stream with entries is forgotten.
 */
export function startStreamRelay(options: StreamRelayOptions) {
  const { redis, broker, reservations, logger } = options;
  const { published, backlog: backlogGauge, turnSize } = outboxMetrics(options.registry);
  const lease = createLease(redis, seatKeys.relayLeader(), `${os.hostname()}-${process.pid}`, LEASE_MS);

  let running = true;
  let lastSweep = 0;
  /** Events whose streams may hold entries read but never acknowledged (after a takeover or a failure). */
  const maybePending = new Set<string>();
  /** Envelope ids this leader published whose audit (and so acknowledgement) is still to come. */
  const unaudited = new Set<string>();
  let failures = 0;
  const { sleep: pause, wake: wakeUp } = createWakeableSleep();

  /** Marks every event whose stream has entries dirty (and possibly pending): O(events), so rare. */
  const sweep = async () => {
    lastSweep = Date.now();
    const ids = await redis.smembers(seatKeys.outboxIndex());
    for (let i = 0; i < ids.length; i += SWEEP_CHUNK) {
      const chunk = ids.slice(i, i + SWEEP_CHUNK);
      const pipeline = createSlotPipeline(redis);
      for (const id of chunk) pipeline.add(id, (p) => p.xlen(seatKeys.outbox(id)));
      const lengths = await pipeline.exec();
      const busy = chunk.filter((_, j) => Number(lengths[j]?.[1] ?? 0) > 0);
      if (busy.length > 0) {
        await redis.sadd(seatKeys.outboxDirty(), ...busy);
        for (const id of busy) maybePending.add(id);
      }
    }
  };

  const createGroup = (eventId: string) =>
    // ioredis does not prefix XGROUP's key, so name it in full.
    redis
      .xgroup('CREATE', `${redis.options.keyPrefix ?? ''}${seatKeys.outbox(eventId)}`, OUTBOX_GROUP, '0', 'MKSTREAM')
      .catch(() => undefined);

  /** Reads the dirty streams, one command per stream, in one pipeline (one per stream on a Cluster). */
  const read = async (eventIds: string[]) => {
    const pipeline = createSlotPipeline(redis);
    const reads: { eventId: string; pending: boolean }[] = [];
    for (const eventId of eventIds) {
      const stream = seatKeys.outbox(eventId);
      for (const pending of maybePending.has(eventId) ? [true, false] : [false]) {
        pipeline.add(eventId, (p) =>
          p.xreadgroup(
            'GROUP',
            OUTBOX_GROUP,
            CONSUMER,
            'COUNT',
            ENTRIES_PER_STREAM,
            'STREAMS',
            stream,
            pending ? '0' : '>',
          ),
        );
        reads.push({ eventId, pending });
      }
    }
    const replies = await pipeline.exec();
    const entries: StreamEntry[] = [];
    const full = new Set<string>();
    const vanished = createSlotPipeline(redis);
    for (let i = 0; i < reads.length; i++) {
      const { eventId, pending } = reads[i]!;
      const [err, reply] = replies[i] ?? [];
      if (err) {
        if (err.message.includes('NOGROUP')) await createGroup(eventId);
        throw err;
      }
      const items = (reply as XReply)?.[0]?.[1] ?? [];
      if (pending) maybePending.delete(eventId);
      if (items.length >= ENTRIES_PER_STREAM) full.add(eventId);
      const gone: string[] = [];
      for (const [entryId, fields] of items) {
        if (fields) entries.push(decodeEntry(eventId, entryId, fields, options.producer));
        else gone.push(entryId); // pending but already deleted: nothing left to deliver
      }
      if (gone.length > 0) vanished.add(eventId, (p) => p.xack(seatKeys.outbox(eventId), OUTBOX_GROUP, ...gone));
    }
    if (vanished.length > 0) await vanished.exec();
    return { entries, full };
  };

  const deliver = async (entries: StreamEntry[]) => {
    if (!lease.held(SAFETY_MS)) throw new Error('relay lease ends before the publish');
    const fresh = entries.filter((e) => !unaudited.has(e.envelope.id));
    if (fresh.length > 0 && unaudited.size + fresh.length > MAX_UNAUDITED) {
      throw new Error('too many published entries wait for their audit; holding new ones back');
    }
    // One channel, publishes issued in stream order: the broker routes them in that order. Each change
    // goes out inside the turn's batch for the bulk consumers (the notifier: live pushes, so first) and once
    // more on its own (seat.*).
    const changes = fresh.map((e) => e.envelope);
    const batches = seatChangeBatchesOf(changes, options.producer);
    await publishInOrder(
      broker,
      [...batches, ...changes].map((envelope) => ({ envelope })),
    );
    for (const e of fresh) unaudited.add(e.envelope.id);
    // Both are idempotent, so a failed turn simply does them again.
    await Promise.all([
      reservations.appendAudit(entries.map((e) => e.audit)),
      options.expirySchedule.apply(entries.map((e) => scheduleChangeFor(e.envelope))),
    ]);
    await reservations.forgetOutboxCopies(
      entries.filter((e) => e.audit.action === 'reserved').map((e) => e.envelope.id),
    );
    if (!lease.held(SAFETY_MS)) throw new Error('relay lease ends before the acknowledgement');
    const byStream = new Map<string, string[]>();
    for (const e of entries) byStream.set(e.eventId, [...(byStream.get(e.eventId) ?? []), e.entryId]);
    const pipeline = createSlotPipeline(redis);
    for (const [eventId, ids] of byStream) {
      pipeline.add(eventId, (p) => p.xack(seatKeys.outbox(eventId), OUTBOX_GROUP, ...ids));
      pipeline.add(eventId, (p) => p.xdel(seatKeys.outbox(eventId), ...ids));
    }
    // A failed acknowledgement leaves its entries pending: the turn fails so that they are read again.
    const failed = (await pipeline.exec()).find(([err]) => err)?.[0];
    if (failed) throw failed;
    for (const e of entries) unaudited.delete(e.envelope.id);
    published.inc({ outbox: 'redis' }, fresh.length);
    if (fresh.length > 0) turnSize.observe({ outbox: 'redis' }, fresh.length);
  };

  /** One turn as leader: take a share of the dirty events, relay their news. False when there was none. */
  const turn = async (): Promise<boolean> => {
    const eventIds = (await redis.spop(seatKeys.outboxDirty(), STREAMS_PER_TURN)) as string[];
    if (eventIds.length === 0) return false;
    try {
      const { entries, full } = await read(eventIds);
      if (entries.length > 0) await deliver(entries);
      // Streams with more than one turn's worth wait for the next turn, behind the other events.
      if (full.size > 0) await redis.sadd(seatKeys.outboxDirty(), ...full);
    } catch (err) {
      for (const id of eventIds) maybePending.add(id);
      await redis.sadd(seatKeys.outboxDirty(), ...eventIds).catch(() => undefined);
      throw err;
    }
    return true;
  };

  const startupSweep = sweep().catch((err: Error) =>
    logger.warn({ err: err.message }, 'outbox sweep failed; the next leader sweeps again'),
  );

  const loop = (async () => {
    await startupSweep;
    while (running) {
      try {
        if (!broker.isConnected() || redis.status !== 'ready') {
          await pause(200);
          continue;
        }
        if (!lease.held(RENEW_BEFORE_MS)) {
          const { held, takenOver } = await lease.renew();
          if (!held) {
            // Another leader relays (again) what this one had published and not yet acknowledged.
            unaudited.clear();
            await pause(FOLLOWER_RETRY_MS);
            continue;
          }
          if (takenOver) await sweep();
        }
        if (Date.now() - lastSweep > SWEEP_EVERY_MS) await sweep();
        const busy = await turn();
        // An empty turn found the dirty set empty: an idle leader asks Redis one thing per poll, not two.
        backlogGauge.set({ outbox: 'redis' }, busy ? await redis.scard(seatKeys.outboxDirty()) : 0);
        failures = 0;
        if (!busy) await pause(IDLE_WAIT_MS);
      } catch (err) {
        if (failures % 10 === 0) {
          logger.warn({ err: (err as Error).message, failures }, 'outbox stream relay failed; retrying');
        }
        await pause(backoffMs(failures, RETRY));
        failures++;
      }
    }
  })();

  return {
    /** A local write just appended to an event's stream: read it now rather than at the next poll. */
    wake() {
      if (lease.held()) wakeUp();
    },
    async stop() {
      running = false;
      wakeUp();
      await loop;
      // Hand the streams over at once instead of making the next leader wait for the lease to run out.
      await lease.release();
    },
  };
}
