import type { AuditEntry, EventStatus, SeatEnvelope, SeatFailure } from '@zephyr/contracts';
import type { SeatState } from './seat-state';

/**
 * The seat rules' ports: what the domain needs from Redis, PostgreSQL, the event-service and the seat
 * locks, in the domain's own words. data-access implements them; the rules never see a Lua reply or a key.
 * Times are epoch milliseconds from Redis' clock.
 */

/** The 409/404 codes a seat script can refuse a single-seat action with. */
export type SeatRefusalCode =
  | 'SEAT_NOT_FOUND'
  | 'EVENT_NOT_ACTIVE'
  | 'SEAT_UNAVAILABLE'
  | 'HOLD_NOT_FOUND'
  | 'USER_LIMIT_REACHED';

/** Redis does not know the event (just created, or Redis lost its data): load it and try once more. */
export type NoEvent = { kind: 'no-event' };
export type Refused = { kind: 'refused'; code: SeatRefusalCode };

export type HoldResult = NoEvent | Refused | { kind: 'held' | 'existing'; heldAt: number; expiresAt: number };
export type RefreshResult = NoEvent | Refused | { kind: 'refreshed'; heldAt: number; expiresAt: number };
export type ReleaseResult = NoEvent | Refused | { kind: 'released' };

/** The counters Redis gave a seat's reserve: the hold version it claims, the change's version and audit seq. */
export interface ReserveTicket {
  holdVersion: number;
  version: number;
  auditSeq: number;
}

export type BeginReserveResult =
  | NoEvent
  | Refused
  | { kind: 'already'; reservedAt: number }
  | ({ kind: 'begun' } & ReserveTicket);

export type BegunSeat =
  | { seatNumber: number; already: true; reservedAt: number }
  | ({ seatNumber: number; already: false } & ReserveTicket);

export type BeginReserveManyResult =
  | NoEvent
  | Refused
  /** More seats than maxSeatsPerUser, or a seat above the capacity. */
  | { kind: 'bad-seats' }
  | { kind: 'seats-refused'; failures: SeatFailure[] }
  | { kind: 'begun'; seats: BegunSeat[] };

export interface HeldSeat {
  seatNumber: number;
  heldAt: number;
  expiresAt: number;
  /** Newly held by this request (false: it already was the caller's). */
  created: boolean;
}

export type MultiHoldReply =
  | NoEvent
  | { kind: 'refused'; code: 'EVENT_NOT_ACTIVE' }
  /** The body breaks the event's own bounds (SPEC.md §7: still a 400). */
  | { kind: 'invalid'; reason: 'too-many' | 'out-of-range' }
  | { kind: 'failed'; code: 'SEAT_UNAVAILABLE' | 'USER_LIMIT_REACHED'; failures: SeatFailure[] }
  | { kind: 'held'; seats: HeldSeat[] };

export type ExpireReply =
  | { kind: 'expired' | 'not-due'; expiresAt: number }
  /** A reserve in flight outlived its deadline: PostgreSQL's verdict decides. `holderId` is the reserving user. */
  | { kind: 'stalled'; holderId: string }
  | { kind: 'gone' };

export interface EventSnapshot {
  nowMs: number;
  status: EventStatus;
  totalSeats: number;
  version: number;
  seats: Map<number, SeatState>;
}

/** A seat whose reservation PostgreSQL committed, to be recorded in Redis. */
export interface FinishedSeat {
  eventId: string;
  seatNumber: number;
  userId: string;
  reservedAtMs: number;
  holdVersion: number;
}

/** The seat.reserved event to append behind the seat's earlier events. */
export interface ReservedEvent {
  messageId: string;
  version: number;
  auditSeq: number;
}

/** The event's seats in Redis; every write is one atomic script. */
export interface SeatStorePort {
  hasEvent(eventId: string): Promise<boolean>;
  hold(eventId: string, seat: number, userId: string, durationSec: number): Promise<HoldResult>;
  refresh(eventId: string, seat: number, userId: string, durationSec: number | undefined): Promise<RefreshResult>;
  release(eventId: string, seat: number, userId: string): Promise<ReleaseResult>;
  beginReserve(eventId: string, seat: number, userId: string, deadlineMs: number): Promise<BeginReserveResult>;
  /** Seats distinct and ascending. */
  beginReserveMany(
    eventId: string,
    seats: number[],
    userId: string,
    deadlineMs: number,
  ): Promise<BeginReserveManyResult>;
  /** `event` appends seat.reserved to the event's stream (only the reserve that inserted the row passes it). */
  finishReserve(seat: FinishedSeat, event?: ReservedEvent): Promise<void>;
  /** `userId` is the reserving user (the in-flight state's holder), whose user set the hold returns to. */
  abortReserve(eventId: string, seat: number, holdVersion: number, userId: string): Promise<void>;
  /** Seats distinct and ascending; all held or none. */
  multiHold(eventId: string, seats: readonly number[], userId: string, durationSec: number): Promise<MultiHoldReply>;
  bestAvailable(
    eventId: string,
    count: number,
    adjacent: boolean,
    userId: string,
    durationSec: number,
  ): Promise<MultiHoldReply>;
  expire(eventId: string, seat: number, holdVersion: number): Promise<ExpireReply>;
  snapshot(eventId: string): Promise<EventSnapshot | undefined>;
  seat(eventId: string, seat: number): Promise<'NO_EVENT' | 'SEAT_NOT_FOUND' | { nowMs: number; state?: SeatState }>;
  userSeats(eventId: string, userId: string): Promise<{ nowMs: number; seats: Map<number, SeatState> } | undefined>;
}

/** One seat of a reserve: the hold version it claims and the counters Redis gave the change. */
export interface SeatClaim extends ReserveTicket {
  seatNumber: number;
}

export interface NewReservations {
  eventId: string;
  userId: string;
  /** Ascending seat order, so concurrent multi-seat commits lock rows in one order (no deadlock). */
  seats: SeatClaim[];
}

export type SeatCommit =
  | { seatNumber: number; outcome: 'reserved'; reservedAt: Date; messageId: string }
  | { seatNumber: number; outcome: 'already'; reservedAt: Date };

/** Why a seat could not be committed: its hold was given up ('lost'), or another user has the seat. */
export interface SeatRefusal {
  seatNumber: number;
  reason: 'lost' | 'taken';
}

export type CommitOutcome =
  | { outcome: 'committed'; seats: SeatCommit[] }
  | { outcome: 'refused'; refusals: SeatRefusal[] };

export type HoldVerdict = 'reserved' | 'abandoned';

/** Reservations, hold verdicts and the audit trail in PostgreSQL (the truth for reservations). */
export interface FoundReservation {
  userId: string;
  reservedAt: Date;
  holdVersion: number;
}

export interface ReservationsPort {
  commit(
    reservations: NewReservations,
    envelope: (claim: SeatClaim, reservedAt: Date) => SeatEnvelope,
    requestId?: string,
  ): Promise<CommitOutcome>;
  abandonHold(eventId: string, seatNumber: number, holdVersion: number): Promise<HoldVerdict>;
  verdict(eventId: string, seatNumber: number, holdVersion: number): Promise<HoldVerdict | undefined>;
  find(eventId: string, seatNumber: number): Promise<FoundReservation | undefined>;
  /**
   * Seats whose reservation committed at least `olderThanMs` ago but whose seat.reserved is still in the
   * PostgreSQL outbox: the reserve never finished (its process died between the commit and Redis).
   */
  unfinishedReserves(olderThanMs: number, limit: number): Promise<{ eventId: string; seatNumber: number }[]>;
  /** The seat's seat.reserved still waiting in the PostgreSQL outbox, with its counters; undefined once delivered. */
  undeliveredReservedEvent(eventId: string, seatNumber: number): Promise<ReservedEvent | undefined>;
  history(eventId: string, afterSeq: number, limit: number): Promise<AuditEntry[]>;
}

/** The event configs the scripts need; loads one Redis does not know, or throws EVENT_NOT_FOUND. */
export interface EventDirectoryPort {
  load(eventId: string): Promise<void>;
  /** Resolves once the event is safe to change in Redis on the current connection (see EventDirectory). */
  ensureReconciled(eventId: string): Promise<void>;
}

export interface SeatLocks {
  /** Serialises the commit step of reserves on these seats of one event; resolves to a release function. */
  acquire(eventId: string, seatNumbers: number[], ttlMs: number): Promise<() => Promise<void>>;
}
