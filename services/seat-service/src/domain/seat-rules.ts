import {
  ENVELOPE_VERSION,
  ErrorCodes,
  LIMITS,
  RoutingKeys,
  type AuditEntry,
  type AvailableSeats,
  type ErrorCode,
  type Hold,
  type Identity,
  type Page,
  type Seat,
  type SeatEnvelope,
  type SeatMap,
} from '@zephyr/contracts';
import { AppError } from '@zephyr/runtime/errors';
import { randomUUID } from 'node:crypto';
import { isLive, seatKeys, type SeatState, type SeatStore } from '../data-access/seat-store';
import type { ReservationRepository } from '../data-access/reservation-repository';
import type { EventDirectory } from '../data-access/event-directory';

export const PRODUCER = 'seat-service';
/** How long a reserve may stay "in flight" before the expiry path checks PostgreSQL and settles it. */
const RESERVE_DEADLINE_MS = 10_000;
const RESERVE_LOCK_TTL_MS = 5_000;

export interface SeatLocks {
  /** Serialises the commit step of reserves on one seat; resolves to a release function. */
  acquire(key: string, ttlMs: number): Promise<() => Promise<void>>;
}

export interface SeatRulesHooks {
  onOutcome(action: 'hold' | 'reserve' | 'refresh' | 'release', result: string): void;
}

export type ExpireOutcome =
  | { outcome: 'expired'; expiresAt: string }
  | { outcome: 'not-due'; expiresAt: string }
  | { outcome: 'gone' };

const SCRIPT_ERRORS = new Set<string>([
  ErrorCodes.SeatNotFound,
  ErrorCodes.EventNotActive,
  ErrorCodes.SeatUnavailable,
  ErrorCodes.HoldNotFound,
  ErrorCodes.UserLimitReached,
]);

const ERROR_MESSAGES: Partial<Record<ErrorCode, string>> = {
  SEAT_NOT_FOUND: 'Seat number is above the event capacity',
  EVENT_NOT_ACTIVE: 'The event is not active',
  SEAT_UNAVAILABLE: 'The seat is held or reserved by someone else',
  HOLD_NOT_FOUND: 'You have no live hold on this seat',
  USER_LIMIT_REACHED: 'You already hold or reserved the maximum number of seats for this event',
  EVENT_NOT_FOUND: 'Event not found',
};

function fail(code: ErrorCode): never {
  throw new AppError(code, ERROR_MESSAGES[code] ?? code);
}

const iso = (ms: number) => new Date(ms).toISOString();

type Reply = (string | number | Reply)[];

/** The seat rules (SPEC.md §3 Seats): who may hold, refresh, release and reserve which seat. */
export class SeatRules {
  constructor(
    private readonly store: SeatStore,
    private readonly reservations: ReservationRepository,
    private readonly directory: EventDirectory,
    private readonly locks: SeatLocks,
    private readonly hooks: SeatRulesHooks,
  ) {}

  /** Runs a script; if Redis does not know the event yet, loads it once and runs the script again. */
  private async onEvent(eventId: string, run: () => Promise<Reply>): Promise<Reply> {
    let reply = await run();
    if (reply[0] === 'NO_EVENT') {
      await this.directory.load(eventId);
      reply = await run();
      if (reply[0] === 'NO_EVENT') fail(ErrorCodes.EventNotFound);
    }
    const word = String(reply[0]);
    if (SCRIPT_ERRORS.has(word)) fail(word as ErrorCode);
    return reply;
  }

  private async ensureEvent(eventId: string): Promise<void> {
    if (!(await this.store.hasEvent(eventId))) await this.directory.load(eventId);
  }

  async hold(eventId: string, seatNumber: number, userId: string, durationSec: number = LIMITS.holdDurationDefault) {
    try {
      const reply = await this.onEvent(eventId, () => this.store.hold(eventId, seatNumber, userId, durationSec));
      const hold: Hold = {
        eventId,
        seatNumber,
        userId,
        heldAt: iso(Number(reply[1])),
        expiresAt: iso(Number(reply[2])),
      };
      const created = reply[0] === 'HELD';
      this.hooks.onOutcome('hold', created ? 'held' : 'existing');
      return { created, hold };
    } catch (err) {
      if (err instanceof AppError) this.hooks.onOutcome('hold', err.code);
      throw err;
    }
  }

  async refresh(eventId: string, seatNumber: number, userId: string, durationSec?: number): Promise<Hold> {
    const reply = await this.onEvent(eventId, () => this.store.refresh(eventId, seatNumber, userId, durationSec));
    this.hooks.onOutcome('refresh', 'refreshed');
    return { eventId, seatNumber, userId, heldAt: iso(Number(reply[1])), expiresAt: iso(Number(reply[2])) };
  }

  async release(eventId: string, seatNumber: number, userId: string): Promise<void> {
    await this.onEvent(eventId, () => this.store.release(eventId, seatNumber, userId));
    this.hooks.onOutcome('release', 'released');
  }

  /**
   * Reserve = (1) Redis marks the caller's live hold "reserve in flight" so nothing else can take it,
   * (2) PostgreSQL commits the reservation, its audit row and its event (the primary key is the last
   * guard against a double booking), (3) Redis records the seat as reserved.
   */
  async reserve(eventId: string, seatNumber: number, userId: string, requestId?: string): Promise<Seat> {
    const begin = await this.onEvent(eventId, () =>
      this.store.beginReserve(eventId, seatNumber, userId, RESERVE_DEADLINE_MS),
    );
    if (begin[0] === 'ALREADY') {
      this.hooks.onOutcome('reserve', 'already');
      return { eventId, seatNumber, status: 'reserved', userId, reservedAt: iso(Number(begin[1])) };
    }
    const holdVersion = Number(begin[1]);
    const version = Number(begin[2]);
    const auditSeq = Number(begin[3]);

    const release = await this.locks.acquire(seatKeys.lock(eventId, seatNumber), RESERVE_LOCK_TTL_MS);
    let outcome;
    try {
      outcome = await this.reservations.commit(
        { eventId, seatNumber, userId, holdVersion, version, auditSeq },
        (reservedAt) => this.reservedEnvelope(eventId, seatNumber, userId, version, holdVersion, reservedAt),
        requestId,
      );
    } catch (err) {
      await this.store.abortReserve(eventId, seatNumber, holdVersion).catch(() => undefined);
      throw err;
    } finally {
      await release();
    }
    if (outcome.outcome === 'taken') {
      await this.store.abortReserve(eventId, seatNumber, holdVersion).catch(() => undefined);
      this.hooks.onOutcome('reserve', ErrorCodes.SeatUnavailable);
      fail(ErrorCodes.SeatUnavailable);
    }
    // PostgreSQL has it; if Redis fails now, the expiry path settles the seat from PostgreSQL later and
    // the PostgreSQL outbox publishes the event.
    const event = outcome.outcome === 'reserved' ? { messageId: outcome.messageId, version, auditSeq } : undefined;
    await this.store
      .finishReserve(eventId, seatNumber, userId, outcome.reservedAt.getTime(), holdVersion, event)
      .catch(() => undefined);
    this.hooks.onOutcome('reserve', outcome.outcome);
    return { eventId, seatNumber, status: 'reserved', userId, reservedAt: outcome.reservedAt.toISOString() };
  }

  private reservedEnvelope(
    eventId: string,
    seatNumber: number,
    userId: string,
    version: number,
    holdVersion: number,
    reservedAt: Date,
  ): SeatEnvelope {
    return {
      id: randomUUID(),
      type: RoutingKeys.SeatReserved,
      version: ENVELOPE_VERSION,
      occurredAt: reservedAt.toISOString(),
      producer: PRODUCER,
      data: {
        eventId,
        seatNumber,
        status: 'reserved',
        userId,
        version,
        holdVersion,
        reservedAt: reservedAt.toISOString(),
      },
    };
  }

  async seatStatus(eventId: string, seatNumber: number, caller?: Identity): Promise<Seat> {
    let result = await this.store.seat(eventId, seatNumber);
    if (result === 'NO_EVENT') {
      await this.directory.load(eventId);
      result = await this.store.seat(eventId, seatNumber);
      if (result === 'NO_EVENT') fail(ErrorCodes.EventNotFound);
    }
    if (result === 'SEAT_NOT_FOUND') fail(ErrorCodes.SeatNotFound);
    return toSeat(eventId, seatNumber, result.state, result.nowMs, caller);
  }

  private async snapshot(eventId: string) {
    let snapshot = await this.store.snapshot(eventId);
    if (!snapshot) {
      await this.directory.load(eventId);
      snapshot = await this.store.snapshot(eventId);
      if (!snapshot) fail(ErrorCodes.EventNotFound);
    }
    return snapshot;
  }

  async seatMap(eventId: string, caller?: Identity): Promise<SeatMap> {
    const snapshot = await this.snapshot(eventId);
    const seats: Seat[] = [];
    // The map's version promises "every change up to here is in it": a reserve in flight already took
    // its version but still shows as held, so report just below it.
    let version = snapshot.version;
    for (let n = 1; n <= snapshot.totalSeats; n++) {
      const state = snapshot.seats.get(n);
      if (state?.kind === 'reserving') version = Math.min(version, state.version - 1);
      seats.push(toSeat(eventId, n, state, snapshot.nowMs, caller));
    }
    return { eventId, version, seats };
  }

  async availableSeats(eventId: string): Promise<AvailableSeats> {
    const snapshot = await this.snapshot(eventId);
    const seats: number[] = [];
    for (let n = 1; n <= snapshot.totalSeats; n++) {
      if (!isLive(snapshot.seats.get(n), snapshot.nowMs)) seats.push(n);
    }
    return { eventId, count: seats.length, seats };
  }

  async userHolds(eventId: string, userId: string): Promise<Hold[]> {
    let result = await this.store.userSeats(eventId, userId);
    if (!result) {
      await this.directory.load(eventId);
      result = await this.store.userSeats(eventId, userId);
      if (!result) fail(ErrorCodes.EventNotFound);
    }
    const holds: Hold[] = [];
    for (const [seatNumber, state] of [...result.seats].sort((a, b) => a[0] - b[0])) {
      if (state.kind === 'reserved' || state.userId !== userId || !isLive(state, result.nowMs)) continue;
      holds.push({ eventId, seatNumber, userId, heldAt: iso(state.heldAt), expiresAt: iso(state.expiresAt) });
    }
    return holds;
  }

  async history(eventId: string, afterSeq: number, limit: number): Promise<Page<AuditEntry>> {
    await this.ensureEvent(eventId);
    const items = await this.reservations.history(eventId, afterSeq, limit + 1);
    const hasMore = items.length > limit;
    const page = hasMore ? items.slice(0, limit) : items;
    return { items: page, nextCursor: hasMore ? encodeSeqCursor(page[page.length - 1]!.seq) : null };
  }

  /** Expires one hold version if it is due; fenced so concurrent workers and late calls are harmless. */
  async expire(eventId: string, seatNumber: number, holdVersion: number): Promise<ExpireOutcome> {
    const reply = await this.store.expire(eventId, seatNumber, holdVersion);
    switch (reply[0]) {
      case 'EXPIRED':
        return { outcome: 'expired', expiresAt: iso(Number(reply[1])) };
      case 'NOT_DUE':
        return { outcome: 'not-due', expiresAt: iso(Number(reply[1])) };
      case 'STALLED':
        return this.settleStalledReserve(eventId, seatNumber, holdVersion);
      default:
        return { outcome: 'gone' };
    }
  }

  /** A reserve whose process died mid-way: PostgreSQL decides whether it happened. */
  private async settleStalledReserve(eventId: string, seatNumber: number, holdVersion: number): Promise<ExpireOutcome> {
    const reservation = await this.reservations.find(eventId, seatNumber);
    if (reservation) {
      await this.store.finishReserve(
        eventId,
        seatNumber,
        reservation.userId,
        reservation.reservedAt.getTime(),
        holdVersion,
      );
      return { outcome: 'gone' };
    }
    await this.store.abortReserve(eventId, seatNumber, holdVersion);
    return this.expire(eventId, seatNumber, holdVersion);
  }
}

function toSeat(
  eventId: string,
  seatNumber: number,
  state: SeatState | undefined,
  nowMs: number,
  caller?: Identity,
): Seat {
  if (!state || !isLive(state, nowMs)) return { eventId, seatNumber, status: 'available' };
  const reveal = caller !== undefined && (caller.isAdmin || caller.userId === state.userId);
  if (state.kind === 'reserved') {
    return {
      eventId,
      seatNumber,
      status: 'reserved',
      ...(reveal ? { userId: state.userId } : {}),
      reservedAt: iso(state.reservedAt),
    };
  }
  return {
    eventId,
    seatNumber,
    status: 'held',
    ...(reveal ? { userId: state.userId } : {}),
    heldAt: iso(state.heldAt),
    expiresAt: iso(state.expiresAt),
  };
}

export function encodeSeqCursor(seq: number): string {
  return Buffer.from(`s${seq}`).toString('base64url');
}

/** Returns the seq after which to continue, or undefined for a cursor this service never issued. */
export function decodeSeqCursor(cursor: string): number | undefined {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^s(\d{1,15})$/.exec(text);
  return match ? Number(match[1]) : undefined;
}
