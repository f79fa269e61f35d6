import { randomUUID } from 'node:crypto';
import type { RedisClient } from '@zephyr/runtime';
import type { EventStatus, SeatFailure } from '@zephyr/contracts';
import type { OpenHold } from '../domain/lost-holds';
import { SeatScripts } from './seat-scripts';
import { MultiSeatScripts } from './multi-seat-scripts';
import type { SeatState } from '../domain/seat-state';
import type {
  BeginReserveManyResult,
  BeginReserveResult,
  BegunSeat,
  EventSnapshot,
  ExpireReply,
  FinishedSeat,
  HeldSeat,
  HoldResult,
  MultiHoldReply,
  NoEvent,
  Refused,
  RefreshResult,
  ReservedEvent,
  ReleaseResult,
  SeatRefusalCode,
  SeatStorePort,
} from '../domain/ports';

export type { SeatState } from '../domain/seat-state';
export type { EventSnapshot } from '../domain/ports';

const ALL_SCRIPTS = { ...SeatScripts, ...MultiSeatScripts };
/** How soon a failed "stream has news" mark is tried again. */
const MARK_RETRY_MS = 250;
type ScriptName = keyof typeof ALL_SCRIPTS;

/** Keys of one event; the `{eventId}` hash tag keeps them in one Redis Cluster slot. */
export const seatKeys = {
  meta: (eventId: string) => `seat:{${eventId}}:meta`,
  seats: (eventId: string) => `seat:{${eventId}}:seats`,
  user: (eventId: string, userId: string) => `seat:{${eventId}}:user:${userId}`,
  outbox: (eventId: string) => `seat:{${eventId}}:outbox`,
  lock: (eventId: string, seatNumber: number) => `seat:{${eventId}}:lock:${seatNumber}`,
  /** Events that have an outbox stream; swept only when a relay leader takes over or starts. */
  outboxIndex: () => 'seat:outbox-streams',
  /** Events whose stream has news since the relay last read it: the relay's work list. */
  outboxDirty: () => 'seat:outbox-dirty',
  /** Present while Redis keeps its data; its absence tells a replica that Redis lost everything. */
  epoch: () => 'seat:epoch',
  /** The lease of the one relay that reads the streams. */
  relayLeader: () => 'seat:outbox-relay-leader',
  /** Held by the replica scanning for idle events this round. */
  idleScan: () => 'seat:idle-scan',
};

/**
 * The leading KEYS of the event scripts: meta, seats and outbox, and the user's set where the script
 * touches a user's seats (see `numberOfKeys` in seat-scripts.ts).
 */
export function eventKeys(eventId: string, userId?: string): string[] {
  const keys = [seatKeys.meta(eventId), seatKeys.seats(eventId), seatKeys.outbox(eventId)];
  if (userId !== undefined) keys.push(seatKeys.user(eventId, userId));
  return keys;
}

export { OUTBOX_GROUP } from './seat-scripts';

export function parseSeatState(raw: string): SeatState | undefined {
  if (!raw) return undefined;
  const f = raw.split('|');
  // A hold ('H') and a hold being reserved ('P') share their first fields.
  const hold = () => ({ userId: f[1]!, heldAt: +f[2]!, expiresAt: +f[3]!, durationSec: +f[4]!, holdVersion: +f[5]! });
  switch (f[0]) {
    case 'H':
      return { kind: 'held', ...hold() };
    case 'P':
      return { kind: 'reserving', ...hold(), version: +f[7]! };
    case 'R':
      return { kind: 'reserved', userId: f[1]!, reservedAt: +f[2]!, holdVersion: +f[3]! };
    default:
      return undefined;
  }
}

const messageIds = (n: number): string[] => Array.from({ length: n }, () => randomUUID());

type ScriptReply = (string | number | ScriptReply)[];
type ScriptRunner = (...args: (string | number)[]) => Promise<ScriptReply>;

export interface EventConfig {
  revision: number;
  status: EventStatus;
  totalSeats: number;
  maxSeatsPerUser: number;
  seatsPerRow: number;
}

export interface RestoredReservation {
  seatNumber: number;
  userId: string;
  reservedAtMs: number;
  holdVersion: number;
}

/** Scripts that never append to the event's outbox stream. */
const READ_ONLY_SCRIPTS = new Set<ScriptName>([
  'snapshot',
  'seat',
  'userSeats',
  'abortReserve',
  'installEvent',
  'evictIfIdle',
]);

const eventIdOfKey = (key: string | number) => /\{([^}]+)\}/.exec(String(key))?.[1];

const REFUSALS = new Set<string>([
  'SEAT_NOT_FOUND',
  'EVENT_NOT_ACTIVE',
  'SEAT_UNAVAILABLE',
  'HOLD_NOT_FOUND',
  'USER_LIMIT_REACHED',
] satisfies SeatRefusalCode[]);

class UnexpectedReply extends Error {
  constructor(script: string, reply: ScriptReply) {
    super(`unexpected ${script} script reply ${JSON.stringify(reply)}`);
  }
}

/** How each first word of a script's reply is read; a word not listed is a bug. */
type ReplyCases<T> = Record<string, (reply: ScriptReply) => T>;

function parseReply<T>(script: string, reply: ScriptReply, cases: ReplyCases<T>): T {
  const word = String(reply[0]);
  if (!Object.hasOwn(cases, word)) throw new UnexpectedReply(script, reply);
  return cases[word]!(reply);
}

/** The words every single-seat script may answer before doing anything: no event, or a refusal. */
function refusal(reply: ScriptReply): NoEvent | Refused | undefined {
  const word = String(reply[0]);
  if (word === 'NO_EVENT') return { kind: 'no-event' };
  if (REFUSALS.has(word)) return { kind: 'refused', code: word as SeatRefusalCode };
  return undefined;
}

/** A single-seat script's reply: no event, a refusal, or one of its own results. */
function refusalOr<T>(script: string, reply: ScriptReply, cases: ReplyCases<T>): T | NoEvent | Refused {
  return refusal(reply) ?? parseReply(script, reply, cases);
}

/** `word, heldAt, expiresAt`: the hold's times as HOLD and REFRESH answer them. */
const holdTimes = (reply: ScriptReply) => ({ heldAt: Number(reply[1]), expiresAt: Number(reply[2]) });

/** `{seat, code, seat, code, …}` from `from` on. */
function failures(reply: ScriptReply, from: number): SeatFailure[] {
  const out: SeatFailure[] = [];
  for (let i = from; i < reply.length; i += 2) {
    out.push({ seatNumber: Number(reply[i]), code: String(reply[i + 1]) as SeatFailure['code'] });
  }
  return out;
}

/** Four fields a seat: seat, heldAt, expiresAt, created (1 or 0). */
function heldSeats(reply: ScriptReply): HeldSeat[] {
  const seats: HeldSeat[] = [];
  for (let i = 1; i < reply.length; i += 4) {
    seats.push({
      seatNumber: Number(reply[i]),
      heldAt: Number(reply[i + 1]),
      expiresAt: Number(reply[i + 2]),
      created: Number(reply[i + 3]) === 1,
    });
  }
  return seats;
}

/** MULTI_HOLD and BEST_AVAILABLE answer alike (see multi-seat-scripts.ts). */
function multiHoldReply(reply: ScriptReply): MultiHoldReply {
  return parseReply<MultiHoldReply>('multi-hold', reply, {
    NO_EVENT: () => ({ kind: 'no-event' }),
    EVENT_NOT_ACTIVE: () => ({ kind: 'refused', code: 'EVENT_NOT_ACTIVE' }),
    TOO_MANY: () => ({ kind: 'invalid', reason: 'too-many' }),
    OUT_OF_RANGE: () => ({ kind: 'invalid', reason: 'out-of-range' }),
    FAILED: (r) => {
      const code = String(r[1]);
      if (code !== 'SEAT_UNAVAILABLE' && code !== 'USER_LIMIT_REACHED') throw new UnexpectedReply('multi-hold', r);
      return { kind: 'failed', code, failures: failures(r, 2) };
    },
    HELD: (r) => ({ kind: 'held', seats: heldSeats(r) }),
  });
}

/** Five fields a seat: seat, 'ALREADY', reservedAt, 0, 0 | seat, 'BEGIN', holdVersion, version, auditSeq. */
function begunSeats(reply: ScriptReply): BegunSeat[] {
  const begun: BegunSeat[] = [];
  for (let i = 1; i < reply.length; i += 5) {
    const seatNumber = Number(reply[i]);
    begun.push(
      reply[i + 1] === 'ALREADY'
        ? { seatNumber, already: true, reservedAt: Number(reply[i + 2]) }
        : {
            seatNumber,
            already: false,
            holdVersion: Number(reply[i + 2]),
            version: Number(reply[i + 3]),
            auditSeq: Number(reply[i + 4]),
          },
    );
  }
  return begun;
}

/**
 * The seat scripts behind the domain's SeatStorePort: builds the keys and arguments, runs one script per
 * call, and parses its reply tuple into the port's typed result (an unknown reply is a bug: it throws).
 */
export class SeatStore implements SeatStorePort {
  private readonly run: Record<ScriptName, ScriptRunner>;
  /** Counts Redis (re)connections (on a cluster also nodes joining, as after a failover). */
  connectionGeneration = 0;

  /** `onAppend` hears of every script that may have appended to an event's stream (the relay wakes). */
  constructor(
    private readonly redis: RedisClient,
    private readonly onAppend: (eventId: string) => void = () => undefined,
  ) {
    // Every (re)connection may be to a Redis that lost writes: events are reconciled again before use.
    redis.on('ready', () => (this.connectionGeneration += 1));
    redis.on('+node', () => (this.connectionGeneration += 1));
    const run = {} as Record<ScriptName, ScriptRunner>;
    for (const [name, script] of Object.entries(ALL_SCRIPTS) as [ScriptName, (typeof ALL_SCRIPTS)[ScriptName]][]) {
      const command = `zephyrSeat_${name}`;
      redis.defineCommand(command, { numberOfKeys: script.numberOfKeys, lua: script.lua });
      const fn = (redis as unknown as Record<string, ScriptRunner>)[command]!.bind(redis);
      run[name] = READ_ONLY_SCRIPTS.has(name) ? fn : (...args) => this.marked(fn(...args), eventIdOfKey(args[0]!));
    }
    this.run = run;
  }

  /** After a write script, its event's stream may have news: mark it for the relay (single-key, cluster-safe). */
  private async marked(reply: Promise<ScriptReply>, eventId: string | undefined): Promise<ScriptReply> {
    const result = await reply;
    if (eventId) this.mark(eventId);
    return result;
  }

  /** Events whose marks wait for the end of this turn of the event loop. */
  private readonly unmarked = new Set<string>();

  /**
   * One SADD per turn of the event loop for every script that answered in it (a storm's holds share a few
   * events), instead of one per script. Not awaited by the answers. A mark that fails (Redis lost between
   * the script and the mark, a failover of the dirty set's shard) is tried again every MARK_RETRY_MS until
   * it lands; only a mark whose process died is left to the next sweep. The relay is woken once the mark
   * is in, so its next read finds it.
   */
  private mark(eventId: string, delayMs = 0): void {
    if (this.unmarked.size === 0) {
      if (delayMs > 0) setTimeout(() => this.flushMarks(), delayMs).unref();
      else setImmediate(() => this.flushMarks());
    }
    this.unmarked.add(eventId);
  }

  private flushMarks(): void {
    const eventIds = [...this.unmarked];
    this.unmarked.clear();
    this.redis.sadd(seatKeys.outboxDirty(), ...eventIds).then(
      () => eventIds.forEach((id) => this.onAppend(id)),
      () => eventIds.forEach((id) => this.mark(id, MARK_RETRY_MS)),
    );
  }

  async hold(eventId: string, seat: number, userId: string, durationSec: number): Promise<HoldResult> {
    const reply = await this.run.hold(...eventKeys(eventId, userId), seat, userId, durationSec, ...messageIds(2));
    return refusalOr<HoldResult>('hold', reply, {
      HELD: (r) => ({ kind: 'held', ...holdTimes(r) }),
      EXISTING: (r) => ({ kind: 'existing', ...holdTimes(r) }),
    });
  }

  async refresh(
    eventId: string,
    seat: number,
    userId: string,
    durationSec: number | undefined,
  ): Promise<RefreshResult> {
    const args = [seat, userId, durationSec ?? '', ...messageIds(2)];
    const reply = await this.run.refresh(...eventKeys(eventId, userId), ...args);
    return refusalOr<RefreshResult>('refresh', reply, { REFRESHED: (r) => ({ kind: 'refreshed', ...holdTimes(r) }) });
  }

  async release(eventId: string, seat: number, userId: string): Promise<ReleaseResult> {
    const reply = await this.run.release(...eventKeys(eventId, userId), seat, userId, ...messageIds(2));
    return refusalOr<ReleaseResult>('release', reply, { RELEASED: () => ({ kind: 'released' }) });
  }

  async beginReserve(eventId: string, seat: number, userId: string, deadlineMs: number): Promise<BeginReserveResult> {
    const reply = await this.run.beginReserve(...eventKeys(eventId, userId), seat, userId, deadlineMs, randomUUID());
    return refusalOr<BeginReserveResult>('beginReserve', reply, {
      ALREADY: (r) => ({ kind: 'already', reservedAt: Number(r[1]) }),
      BEGIN: (r) => ({ kind: 'begun', holdVersion: Number(r[1]), version: Number(r[2]), auditSeq: Number(r[3]) }),
    });
  }

  /** Seats must be distinct and ascending. */
  async beginReserveMany(
    eventId: string,
    seats: number[],
    userId: string,
    deadlineMs: number,
  ): Promise<BeginReserveManyResult> {
    const args: (string | number)[] = [userId, deadlineMs];
    for (const seat of seats) args.push(seat, randomUUID());
    const reply = await this.run.beginReserveMany(...eventKeys(eventId, userId), ...args);
    return parseReply<BeginReserveManyResult>('beginReserveMany', reply, {
      NO_EVENT: () => ({ kind: 'no-event' }),
      EVENT_NOT_ACTIVE: () => ({ kind: 'refused', code: 'EVENT_NOT_ACTIVE' }),
      BAD_SEATS: () => ({ kind: 'bad-seats' }),
      REFUSED: (r) => ({ kind: 'seats-refused', failures: failures(r, 1) }),
      BEGUN: (r) => ({ kind: 'begun', seats: begunSeats(r) }),
    });
  }

  /** `event` appends seat.reserved to the ordered stream (only the reserve that inserted the row passes it). */
  async finishReserve(
    { eventId, seatNumber, userId, reservedAtMs, holdVersion }: FinishedSeat,
    event?: ReservedEvent,
  ): Promise<void> {
    const args: (string | number)[] = [seatNumber, userId, reservedAtMs, holdVersion];
    if (event) args.push(event.messageId, event.version, event.auditSeq);
    await this.run.finishReserve(...eventKeys(eventId, userId), ...args);
  }

  /** `userId` is the reserving user (the in-flight state's holder), whose user set the hold returns to. */
  async abortReserve(eventId: string, seat: number, holdVersion: number, userId: string): Promise<void> {
    await this.run.abortReserve(...eventKeys(eventId, userId), seat, holdVersion);
  }

  /** SPEC.md §7: `seats` ascending and distinct; all held or none. */
  async multiHold(eventId: string, seats: readonly number[], userId: string, durationSec: number) {
    const args = [userId, durationSec, seats.length, ...seats, ...messageIds(2 * seats.length)];
    return multiHoldReply(await this.run.multiHold(...eventKeys(eventId, userId), ...args));
  }

  /** SPEC.md §7: chooses `count` seats and holds them in the same call. */
  async bestAvailable(eventId: string, count: number, adjacent: boolean, userId: string, durationSec: number) {
    const args = [userId, durationSec, count, adjacent ? 1 : 0, ...messageIds(2 * count)];
    return multiHoldReply(await this.run.bestAvailable(...eventKeys(eventId, userId), ...args));
  }

  async expire(eventId: string, seat: number, holdVersion: number): Promise<ExpireReply> {
    const reply = await this.run.expire(...eventKeys(eventId), seat, holdVersion, randomUUID());
    return parseReply<ExpireReply>('expire', reply, {
      EXPIRED: (r) => ({ kind: 'expired', expiresAt: Number(r[1]) }),
      NOT_DUE: (r) => ({ kind: 'not-due', expiresAt: Number(r[1]) }),
      STALLED: (r) => ({ kind: 'stalled', holderId: String(r[1]) }),
      GONE: () => ({ kind: 'gone' }),
    });
  }

  async snapshot(eventId: string): Promise<EventSnapshot | undefined> {
    const reply = await this.run.snapshot(seatKeys.meta(eventId), seatKeys.seats(eventId));
    if (reply[0] === 'NO_EVENT') return undefined;
    const flat = reply[5] as string[];
    const seats = new Map<number, SeatState>();
    for (let i = 0; i < flat.length; i += 2) {
      const state = parseSeatState(flat[i + 1]!);
      if (state) seats.set(Number(flat[i]), state);
    }
    return {
      nowMs: Number(reply[1]),
      status: reply[2] as EventStatus,
      totalSeats: Number(reply[3]),
      version: Number(reply[4]),
      seats,
    };
  }

  async seat(
    eventId: string,
    seat: number | string,
  ): Promise<'NO_EVENT' | 'SEAT_NOT_FOUND' | { nowMs: number; state?: SeatState }> {
    const reply = await this.run.seat(seatKeys.meta(eventId), seatKeys.seats(eventId), seat);
    if (reply[0] !== 'OK') return reply[0] as 'NO_EVENT' | 'SEAT_NOT_FOUND';
    return { nowMs: Number(reply[1]), state: parseSeatState(String(reply[2])) };
  }

  async userSeats(
    eventId: string,
    userId: string,
  ): Promise<undefined | { nowMs: number; seats: Map<number, SeatState> }> {
    const reply = await this.run.userSeats(...eventKeys(eventId, userId));
    if (reply[0] !== 'OK') return undefined;
    const seats = new Map<number, SeatState>();
    for (let i = 2; i < reply.length; i += 2) {
      const state = parseSeatState(String(reply[i + 1]));
      if (state) seats.set(Number(reply[i]), state);
    }
    return { nowMs: Number(reply[1]), seats };
  }

  /**
   * Installs/updates the config, raises the counters to at least `counterFloor` and records `reservations`;
   * a fresh install also announces `lostHolds` as ended. Without a config it only reconciles an event Redis
   * has ('NO_EVENT' otherwise).
   */
  async installEvent(
    eventId: string,
    config: EventConfig | undefined,
    counterFloor: number,
    reservations: RestoredReservation[],
    lostHolds: OpenHold[] = [],
  ): Promise<'INSTALLED' | 'UPDATED' | 'NO_EVENT'> {
    const args: (string | number)[] = [
      config?.revision ?? '',
      config?.status ?? '',
      config?.totalSeats ?? '',
      config?.maxSeatsPerUser ?? '',
      counterFloor,
      config?.seatsPerRow ?? '',
    ];
    args.push(reservations.length);
    for (const r of reservations) args.push(r.seatNumber, r.userId, r.reservedAtMs, r.holdVersion);
    for (const h of lostHolds)
      args.push(h.seatNumber, h.userId, h.holdVersion, h.heldAtMs, h.expiresAtMs, randomUUID());
    // Every restored user's set is declared, so the key count varies and leads the arguments.
    const keys = [...eventKeys(eventId), ...new Set(reservations.map((r) => seatKeys.user(eventId, r.userId)))];
    const reply = await this.run.installEvent(keys.length, ...keys, ...args);
    if (reply[0] === 'NO_EVENT') return 'NO_EVENT';
    await this.redis.sadd(seatKeys.outboxIndex(), eventId);
    if (reply[0] === 'INSTALLED' && lostHolds.length > 0) {
      // Announcements were appended: the relay's work list must hear of them (see `marked`).
      await this.redis.sadd(seatKeys.outboxDirty(), eventId);
      this.onAppend(eventId);
    }
    return reply[0] as 'INSTALLED' | 'UPDATED';
  }

  /**
   * Claims the recovery of a Redis that has no epoch marker (fresh, or it lost its data): true for the one
   * replica that gets it. The claim lapses after `ttlMs` so a replica that died while recovering is replaced.
   */
  async claimEpochRecovery(ttlMs: number): Promise<boolean> {
    return (await this.redis.set(seatKeys.epoch(), 'recovering', 'PX', ttlMs, 'NX')) === 'OK';
  }

  /** Recovery done: the marker stays until Redis loses its data again. */
  async settleEpoch(): Promise<void> {
    await this.redis.set(seatKeys.epoch(), new Date().toISOString());
  }

  /** Recovery failed: let the next check (on any replica) try again. */
  async dropEpochClaim(): Promise<void> {
    await this.redis.del(seatKeys.epoch());
  }

  async hasEvent(eventId: string): Promise<boolean> {
    return (await this.redis.exists(seatKeys.meta(eventId))) === 1;
  }

  /** One round of the idle-event scan per `ttlMs` across replicas: true for the replica that does it. */
  async claimIdleScan(ttlMs: number): Promise<boolean> {
    return (await this.redis.set(seatKeys.idleScan(), '1', 'PX', ttlMs, 'NX')) === 'OK';
  }

  /** A page of the events Redis has (the stream index), for the idle-event scan. */
  async scanEvents(cursor: string): Promise<{ cursor: string; eventIds: string[] }> {
    const [next, eventIds] = await this.redis.sscan(seatKeys.outboxIndex(), cursor, 'COUNT', 500);
    return { cursor: next, eventIds };
  }

  /** Deletes an idle event's keys (see EVICT_IF_IDLE) and, once gone, its entry in the stream index. */
  async evictIfIdle(eventId: string, idleMs: number): Promise<'evicted' | 'busy' | 'gone'> {
    const reply = await this.run.evictIfIdle(...eventKeys(eventId), idleMs);
    if (reply[0] === 'BUSY') return 'busy';
    // The index is another slot, so not in the script; an install in between adds the event back.
    await this.redis.srem(seatKeys.outboxIndex(), eventId);
    if (await this.hasEvent(eventId)) await this.redis.sadd(seatKeys.outboxIndex(), eventId);
    return reply[0] === 'EVICTED' ? 'evicted' : 'gone';
  }
}
