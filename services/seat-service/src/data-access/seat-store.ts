import { randomUUID } from 'node:crypto';
import type { RedisClient } from '@zephyr/runtime';
import type { EventStatus } from '@zephyr/contracts';
import type { OpenHold } from '../domain/lost-holds';
import { SeatScripts } from './seat-scripts';
import { MultiSeatScripts } from './multi-seat-scripts';

const ALL_SCRIPTS = { ...SeatScripts, ...MultiSeatScripts };
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
};

export { OUTBOX_GROUP } from './seat-scripts';

/** A seat's stored state (absent = available). Times are epoch milliseconds from Redis' clock. */
export type SeatState =
  | { kind: 'held'; userId: string; heldAt: number; expiresAt: number; durationSec: number; holdVersion: number }
  | {
      kind: 'reserving';
      userId: string;
      heldAt: number;
      expiresAt: number;
      durationSec: number;
      holdVersion: number;
      version: number;
    }
  | { kind: 'reserved'; userId: string; reservedAt: number; holdVersion: number };

export function parseSeatState(raw: string): SeatState | undefined {
  if (!raw) return undefined;
  const f = raw.split('|');
  switch (f[0]) {
    case 'H':
      return {
        kind: 'held',
        userId: f[1]!,
        heldAt: +f[2]!,
        expiresAt: +f[3]!,
        durationSec: +f[4]!,
        holdVersion: +f[5]!,
      };
    case 'P':
      return {
        kind: 'reserving',
        userId: f[1]!,
        heldAt: +f[2]!,
        expiresAt: +f[3]!,
        durationSec: +f[4]!,
        holdVersion: +f[5]!,
        version: +f[7]!,
      };
    case 'R':
      return { kind: 'reserved', userId: f[1]!, reservedAt: +f[2]!, holdVersion: +f[3]! };
    default:
      return undefined;
  }
}

/** A hold counts until expiresAt; a reserve in flight and a reservation always count. */
export function isLive(state: SeatState | undefined, nowMs: number): state is SeatState {
  if (!state) return false;
  return state.kind !== 'held' || state.expiresAt > nowMs;
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

export interface EventSnapshot {
  nowMs: number;
  status: EventStatus;
  totalSeats: number;
  version: number;
  seats: Map<number, SeatState>;
}

/** Scripts that never append to the event's outbox stream. */
const READ_ONLY_SCRIPTS = new Set<ScriptName>(['snapshot', 'seat', 'userSeats', 'abortReserve', 'installEvent']);

const eventIdOfKey = (key: string | number) => /\{([^}]+)\}/.exec(String(key))?.[1];

/** Typed access to the seat scripts. Results are returned as the scripts' first word plus fields. */
export class SeatStore {
  private readonly run: Record<ScriptName, ScriptRunner>;

  /** `onAppend` hears of every script that may have appended to an event's stream (the relay wakes). */
  constructor(
    private readonly redis: RedisClient,
    private readonly onAppend: (eventId: string) => void = () => undefined,
  ) {
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
    if (eventId) {
      // Not awaited: a lost mark only delays the entry until the next sweep, and the answer need not wait.
      this.redis.sadd(seatKeys.outboxDirty(), eventId).catch(() => undefined);
      this.onAppend(eventId);
    }
    return result;
  }

  hold(eventId: string, seat: number, userId: string, durationSec: number) {
    return this.run.hold(
      seatKeys.meta(eventId),
      seatKeys.seats(eventId),
      seatKeys.outbox(eventId),
      seatKeys.user(eventId, userId),
      seat,
      userId,
      durationSec,
      randomUUID(),
      randomUUID(),
    );
  }

  refresh(eventId: string, seat: number, userId: string, durationSec: number | undefined) {
    return this.run.refresh(
      seatKeys.meta(eventId),
      seatKeys.seats(eventId),
      seatKeys.outbox(eventId),
      seatKeys.user(eventId, userId),
      seat,
      userId,
      durationSec ?? '',
      randomUUID(),
      randomUUID(),
    );
  }

  release(eventId: string, seat: number, userId: string) {
    return this.run.release(
      seatKeys.meta(eventId),
      seatKeys.seats(eventId),
      seatKeys.outbox(eventId),
      seatKeys.user(eventId, userId),
      seat,
      userId,
      randomUUID(),
      randomUUID(),
    );
  }

  beginReserve(eventId: string, seat: number, userId: string, deadlineMs: number) {
    return this.run.beginReserve(
      seatKeys.meta(eventId),
      seatKeys.seats(eventId),
      seatKeys.outbox(eventId),
      seatKeys.user(eventId, userId),
      seat,
      userId,
      deadlineMs,
      randomUUID(),
    );
  }

  /** Seats must be distinct and ascending. */
  beginReserveMany(eventId: string, seats: number[], userId: string, deadlineMs: number) {
    const args: (string | number)[] = [userId, deadlineMs];
    for (const seat of seats) args.push(seat, randomUUID());
    return this.run.beginReserveMany(
      seatKeys.meta(eventId),
      seatKeys.seats(eventId),
      seatKeys.outbox(eventId),
      seatKeys.user(eventId, userId),
      ...args,
    );
  }

  /** `event` appends seat.reserved to the ordered stream (only the reserve that inserted the row passes it). */
  finishReserve(
    eventId: string,
    seat: number,
    userId: string,
    reservedAtMs: number,
    holdVersion: number,
    event?: { messageId: string; version: number; auditSeq: number },
  ) {
    const args: (string | number)[] = [seat, userId, reservedAtMs, holdVersion];
    if (event) args.push(event.messageId, event.version, event.auditSeq);
    return this.run.finishReserve(
      seatKeys.meta(eventId),
      seatKeys.seats(eventId),
      seatKeys.outbox(eventId),
      seatKeys.user(eventId, userId),
      ...args,
    );
  }

  /** `userId` is the reserving user (the in-flight state's holder), whose user set the hold returns to. */
  abortReserve(eventId: string, seat: number, holdVersion: number, userId: string) {
    return this.run.abortReserve(
      seatKeys.meta(eventId),
      seatKeys.seats(eventId),
      seatKeys.outbox(eventId),
      seatKeys.user(eventId, userId),
      seat,
      holdVersion,
    );
  }

  /** SPEC.md §7: `seats` ascending and distinct; all held or none. */
  multiHold(eventId: string, seats: readonly number[], userId: string, durationSec: number) {
    return this.run.multiHold(
      seatKeys.meta(eventId),
      seatKeys.seats(eventId),
      seatKeys.outbox(eventId),
      seatKeys.user(eventId, userId),
      userId,
      durationSec,
      seats.length,
      ...seats,
      ...messageIds(2 * seats.length),
    );
  }

  /** SPEC.md §7: chooses `count` seats and holds them in the same call. */
  bestAvailable(eventId: string, count: number, adjacent: boolean, userId: string, durationSec: number) {
    return this.run.bestAvailable(
      seatKeys.meta(eventId),
      seatKeys.seats(eventId),
      seatKeys.outbox(eventId),
      seatKeys.user(eventId, userId),
      userId,
      durationSec,
      count,
      adjacent ? 1 : 0,
      ...messageIds(2 * count),
    );
  }

  expire(eventId: string, seat: number, holdVersion: number) {
    return this.run.expire(
      seatKeys.meta(eventId),
      seatKeys.seats(eventId),
      seatKeys.outbox(eventId),
      seat,
      holdVersion,
      randomUUID(),
    );
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
    const reply = await this.run.userSeats(
      seatKeys.meta(eventId),
      seatKeys.seats(eventId),
      seatKeys.outbox(eventId),
      seatKeys.user(eventId, userId),
    );
    if (reply[0] !== 'OK') return undefined;
    const seats = new Map<number, SeatState>();
    for (let i = 2; i < reply.length; i += 2) {
      const state = parseSeatState(String(reply[i + 1]));
      if (state) seats.set(Number(reply[i]), state);
    }
    return { nowMs: Number(reply[1]), seats };
  }

  /** Installs/updates the config; on a fresh install restores reservations and starts counters at `counterFloor`. */
  async installEvent(eventId: string, config: EventConfig, counterFloor: number, reservations: RestoredReservation[]) {
    const args: (string | number)[] = [
      config.revision,
      config.status,
      config.totalSeats,
      config.maxSeatsPerUser,
      counterFloor,
      config.seatsPerRow,
    ];
    for (const r of reservations) args.push(r.seatNumber, r.userId, r.reservedAtMs, r.holdVersion);
    // Every restored user's set is declared, so the key count varies and leads the arguments.
    const keys = [
      seatKeys.meta(eventId),
      seatKeys.seats(eventId),
      seatKeys.outbox(eventId),
      ...new Set(reservations.map((r) => seatKeys.user(eventId, r.userId))),
    ];
    const reply = await this.run.installEvent(keys.length, ...keys, ...args);
    await this.redis.sadd(seatKeys.outboxIndex(), eventId);
    return reply[0] as 'INSTALLED' | 'UPDATED';
  }

  /** Ends a hold that Redis lost (see ANNOUNCE_LOST_HOLD); false when the seat was acted on since. */
  async announceLostHold(eventId: string, hold: OpenHold): Promise<boolean | 'NO_EVENT'> {
    const reply = await this.run.announceLostHold(
      seatKeys.meta(eventId),
      seatKeys.seats(eventId),
      seatKeys.outbox(eventId),
      hold.seatNumber,
      hold.userId,
      hold.holdVersion,
      hold.heldAtMs,
      hold.expiresAtMs,
      randomUUID(),
    );
    return reply[0] === 'NO_EVENT' ? 'NO_EVENT' : reply[0] === 'ANNOUNCED';
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
}
