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
  type SeatFailure,
  type SeatCounts,
  type SeatMap,
  type SeatStatus,
  type ServiceName,
} from '@zephyr/contracts';
import { AppError } from '@zephyr/runtime/errors';
import { isLive, type SeatState } from './seat-state';
import type {
  CommitOutcome,
  EventDirectoryPort,
  NoEvent,
  Refused,
  ReservationsPort,
  SeatClaim,
  SeatLocks,
  SeatStorePort,
} from './ports';

/** How long a reserve may stay "in flight" before the expiry path checks PostgreSQL and settles it. */
const RESERVE_DEADLINE_MS = 10_000;
const RESERVE_LOCK_TTL_MS = 5_000;

export type { SeatLocks } from './ports';

/** What the composition root gives the rules besides their ports: who they are, and where outcomes are counted. */
export interface SeatRulesContext {
  /** The envelope `producer` of the events these rules write: this service's name from the manifest. */
  producer: ServiceName;
  onOutcome(action: 'hold' | 'reserve' | 'refresh' | 'release', result: string): void;
}

export type ExpireOutcome =
  | { outcome: 'expired'; expiresAt: string }
  | { outcome: 'not-due'; expiresAt: string }
  | { outcome: 'gone' };

const ERROR_MESSAGES: Partial<Record<ErrorCode, string>> = {
  SEAT_NOT_FOUND: 'Seat number is above the event capacity',
  EVENT_NOT_ACTIVE: 'The event is not active',
  SEAT_UNAVAILABLE: 'The seat is held or reserved by someone else',
  HOLD_NOT_FOUND: 'You have no live hold on this seat',
  USER_LIMIT_REACHED: 'You already hold or reserved the maximum number of seats for this event',
  EVENT_NOT_FOUND: 'Event not found',
};

function fail(code: ErrorCode, message?: string): never {
  throw new AppError(code, message ?? ERROR_MESSAGES[code] ?? code);
}

/** The all-or-nothing 409 of a multi-seat request: the first failing seat's code, every failure in details. */
function failSeats(failures: SeatFailure[]): never {
  const first = failures[0]!;
  throw new AppError(first.code, ERROR_MESSAGES[first.code] ?? first.code, failures);
}

const iso = (ms: number) => new Date(ms).toISOString();
const isNoEvent = (r: { kind: string }): r is NoEvent => r.kind === 'no-event';
const isRefused = (r: { kind: string }): r is Refused => r.kind === 'refused';

/** The seat rules (SPEC.md §3 Seats): who may hold, refresh, release and reserve which seat. */
export class SeatRules {
  constructor(
    private readonly store: SeatStorePort,
    private readonly reservations: ReservationsPort,
    private readonly directory: EventDirectoryPort,
    private readonly locks: SeatLocks,
    private readonly context: SeatRulesContext,
  ) {}

  /**
   * Runs a script; if Redis does not know the event yet, loads it once and runs the script again. A
   * refusal becomes its error; what is left is the script's success.
   */
  private async onEvent<R extends { kind: string }>(
    eventId: string,
    run: () => Promise<R | NoEvent | Refused>,
  ): Promise<R> {
    await this.directory.ensureReconciled(eventId);
    let result = await run();
    if (result.kind === 'no-event') {
      await this.directory.load(eventId);
      result = await run();
    }
    if (isNoEvent(result)) fail(ErrorCodes.EventNotFound);
    if (isRefused(result)) fail(result.code);
    return result;
  }

  private async ensureEvent(eventId: string): Promise<void> {
    if (!(await this.store.hasEvent(eventId))) await this.directory.load(eventId);
  }

  async hold(eventId: string, seatNumber: number, userId: string, durationSec: number = LIMITS.holdDurationDefault) {
    try {
      const held = await this.onEvent(eventId, () => this.store.hold(eventId, seatNumber, userId, durationSec));
      const hold: Hold = { eventId, seatNumber, userId, heldAt: iso(held.heldAt), expiresAt: iso(held.expiresAt) };
      const created = held.kind === 'held';
      this.context.onOutcome('hold', created ? 'held' : 'existing');
      return { created, hold };
    } catch (err) {
      if (err instanceof AppError) this.context.onOutcome('hold', err.code);
      throw err;
    }
  }

  async refresh(eventId: string, seatNumber: number, userId: string, durationSec?: number): Promise<Hold> {
    const held = await this.onEvent(eventId, () => this.store.refresh(eventId, seatNumber, userId, durationSec));
    this.context.onOutcome('refresh', 'refreshed');
    return { eventId, seatNumber, userId, heldAt: iso(held.heldAt), expiresAt: iso(held.expiresAt) };
  }

  async release(eventId: string, seatNumber: number, userId: string): Promise<void> {
    await this.onEvent(eventId, () => this.store.release(eventId, seatNumber, userId));
    this.context.onOutcome('release', 'released');
  }

  /**
   * Reserve = (1) Redis marks the caller's live hold "reserve in flight" so nothing else can take it,
   * (2) PostgreSQL commits the reservation, its audit row and its event, fenced by the hold version's
   * verdict and the primary key, (3) Redis records the seat as reserved.
   */
  async reserve(eventId: string, seatNumber: number, userId: string, requestId?: string): Promise<Seat> {
    const begin = await this.onEvent(eventId, () =>
      this.store.beginReserve(eventId, seatNumber, userId, RESERVE_DEADLINE_MS),
    );
    if (begin.kind === 'already') {
      this.context.onOutcome('reserve', 'already');
      return { eventId, seatNumber, status: 'reserved', userId, reservedAt: iso(begin.reservedAt) };
    }
    const claim = { seatNumber, holdVersion: begin.holdVersion, version: begin.version, auditSeq: begin.auditSeq };
    const [seat] = await this.commitClaims(eventId, userId, [claim], requestId);
    return seat!;
  }

  /**
   * SPEC.md §7 multi-seat reserve: all or nothing. Every seat must be the caller's live hold or already the
   * caller's reservation; otherwise nothing changes and the 409 names every failing seat.
   */
  async reserveMany(eventId: string, seatNumbers: number[], userId: string, requestId?: string): Promise<Seat[]> {
    const seats = [...seatNumbers].sort((a, b) => a - b);
    const begin = await this.onEvent(eventId, () =>
      this.store.beginReserveMany(eventId, seats, userId, RESERVE_DEADLINE_MS),
    );
    if (begin.kind === 'bad-seats') {
      fail(ErrorCodes.ValidationFailed, 'Each seat must be within the event and at most maxSeatsPerUser seats');
    }
    if (begin.kind === 'seats-refused') {
      this.context.onOutcome('reserve', begin.failures[0]!.code);
      failSeats(begin.failures);
    }
    const claims: SeatClaim[] = [];
    const already: Seat[] = [];
    for (const seat of begin.seats) {
      if (seat.already) {
        already.push({
          eventId,
          seatNumber: seat.seatNumber,
          status: 'reserved',
          userId,
          reservedAt: iso(seat.reservedAt),
        });
      } else {
        const { seatNumber, holdVersion, version, auditSeq } = seat;
        claims.push({ seatNumber, holdVersion, version, auditSeq });
      }
    }
    const committed = claims.length > 0 ? await this.commitClaims(eventId, userId, claims, requestId) : [];
    if (claims.length === 0) this.context.onOutcome('reserve', 'already');
    return [...already, ...committed].sort((a, b) => a.seatNumber - b.seatNumber);
  }

  /** Steps (2) and (3) of a reserve for seats that are "reserve in flight" for this caller. */
  private async commitClaims(eventId: string, userId: string, claims: SeatClaim[], requestId?: string) {
    const abort = (which: SeatClaim[]) =>
      Promise.all(
        which.map((c) => this.store.abortReserve(eventId, c.seatNumber, c.holdVersion, userId).catch(() => undefined)),
      );
    let outcome: CommitOutcome;
    try {
      const release = await this.locks.acquire(
        eventId,
        claims.map((c) => c.seatNumber),
        RESERVE_LOCK_TTL_MS,
      );
      try {
        outcome = await this.reservations.commit(
          { eventId, userId, seats: claims },
          (claim, reservedAt) => this.reservedEnvelope(eventId, claim, userId, reservedAt),
          requestId,
        );
      } finally {
        await release();
      }
    } catch (err) {
      outcome = await this.afterFailedCommit(eventId, userId, claims, err, abort);
    }
    if (outcome.outcome === 'refused') {
      // A lost hold's in-flight mark is left for the expiry path, which has already given the hold up.
      const lost = new Set(outcome.refusals.filter((r) => r.reason === 'lost').map((r) => r.seatNumber));
      await abort(claims.filter((c) => !lost.has(c.seatNumber)));
      const failures = outcome.refusals
        .map((r) => ({
          seatNumber: r.seatNumber,
          code: r.reason === 'lost' ? ErrorCodes.HoldNotFound : ErrorCodes.SeatUnavailable,
        }))
        .sort((a, b) => a.seatNumber - b.seatNumber);
      this.context.onOutcome('reserve', failures[0]!.code);
      if (claims.length === 1) fail(failures[0]!.code);
      failSeats(failures);
    }
    // PostgreSQL has them; if Redis fails now, the expiry path settles each seat from PostgreSQL later and
    // the PostgreSQL outbox publishes the events.
    const byVersion = new Map(claims.map((c) => [c.seatNumber, c]));
    await Promise.all(
      outcome.seats.map((seat) => {
        const claim = byVersion.get(seat.seatNumber)!;
        const event =
          seat.outcome === 'reserved'
            ? { messageId: seat.messageId, version: claim.version, auditSeq: claim.auditSeq }
            : undefined;
        return this.store
          .finishReserve(
            {
              eventId,
              seatNumber: seat.seatNumber,
              userId,
              reservedAtMs: seat.reservedAt.getTime(),
              holdVersion: claim.holdVersion,
            },
            event,
          )
          .catch(() => undefined);
      }),
    );
    for (const seat of outcome.seats) this.context.onOutcome('reserve', seat.outcome);
    return outcome.seats.map(
      (seat): Seat => ({
        eventId,
        seatNumber: seat.seatNumber,
        status: 'reserved',
        userId,
        reservedAt: seat.reservedAt.toISOString(),
      }),
    );
  }

  /**
   * The commit threw: answer only what is known. The verdicts tell whether it committed after all (the
   * client library lost the answer), was fenced off, or never happened; if even that cannot be read, the
   * seats stay "reserve in flight" so a retried reserve joins them and converges, and the expiry path
   * settles them after the deadline otherwise.
   */
  private async afterFailedCommit(
    eventId: string,
    userId: string,
    claims: SeatClaim[],
    err: unknown,
    abort: (which: SeatClaim[]) => Promise<unknown>,
  ): Promise<CommitOutcome> {
    let verdicts;
    try {
      verdicts = await Promise.all(claims.map((c) => this.reservations.verdict(eventId, c.seatNumber, c.holdVersion)));
    } catch {
      throw err;
    }
    if (verdicts.every((v) => v === undefined)) {
      await abort(claims);
      throw err;
    }
    if (verdicts.every((v) => v === 'reserved')) {
      const seats = [];
      for (const claim of claims) {
        const found = await this.reservations.find(eventId, claim.seatNumber);
        if (!found || found.userId !== userId) throw err;
        seats.push({ seatNumber: claim.seatNumber, outcome: 'already' as const, reservedAt: found.reservedAt });
      }
      return { outcome: 'committed', seats };
    }
    return {
      outcome: 'refused',
      refusals: claims
        .filter((_, i) => verdicts[i] === 'abandoned')
        .map((c) => ({ seatNumber: c.seatNumber, reason: 'lost' as const })),
    };
  }

  private reservedEnvelope(eventId: string, claim: SeatClaim, userId: string, reservedAt: Date): SeatEnvelope {
    const { seatNumber, version, holdVersion } = claim;
    return {
      id: crypto.randomUUID(),
      type: RoutingKeys.SeatReserved,
      version: ENVELOPE_VERSION,
      occurredAt: reservedAt.toISOString(),
      producer: this.context.producer,
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

  /** The seat map's statuses, tallied: what GET /api/events/:id shows as its counts. */
  async seatCounts(eventId: string): Promise<SeatCounts> {
    const snapshot = await this.snapshot(eventId);
    const counts: SeatCounts = { available: snapshot.totalSeats, held: 0, reserved: 0 };
    for (const state of snapshot.seats.values()) {
      const status = seatStatusOf(state, snapshot.nowMs);
      if (status === 'available') continue;
      counts[status] += 1;
      counts.available -= 1;
    }
    return counts;
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
    await this.directory.ensureReconciled(eventId);
    const result = await this.store.expire(eventId, seatNumber, holdVersion);
    switch (result.kind) {
      case 'expired':
      case 'not-due':
        return { outcome: result.kind, expiresAt: iso(result.expiresAt) };
      case 'stalled':
        return this.settleStalledReserve(eventId, seatNumber, holdVersion, result.holderId);
      case 'gone':
        return { outcome: 'gone' };
    }
  }

  /**
   * A reservation PostgreSQL committed but whose reserve never finished in Redis (its process stalled or died
   * in between): Redis records it, and its seat.reserved, if not delivered yet, is appended to the ordered
   * stream now (same message id, so the PostgreSQL fallback copy is deduplicated; appended once however many
   * paths finish it). False when there is nothing to finish here (no reservation, or Redis lacks the event:
   * then restoring the event from PostgreSQL records it and the fallback relay publishes the event).
   */
  async finishCommittedReserve(eventId: string, seatNumber: number): Promise<boolean> {
    const reservation = await this.reservations.find(eventId, seatNumber);
    if (!reservation || !(await this.store.hasEvent(eventId))) return false;
    const event = await this.reservations.undeliveredReservedEvent(eventId, seatNumber);
    const { userId, reservedAt, holdVersion } = reservation;
    await this.store.finishReserve(
      { eventId, seatNumber, userId, reservedAtMs: reservedAt.getTime(), holdVersion },
      event,
    );
    return true;
  }

  /**
   * A reserve that outlived its deadline (its process stalled or died): the hold version's verdict in
   * PostgreSQL decides. If the reserve committed first, Redis records the reservation; otherwise the hold
   * is given up for good (a late commit of it is refused) and expires now.
   */
  private async settleStalledReserve(
    eventId: string,
    seatNumber: number,
    holdVersion: number,
    holderId: string,
  ): Promise<ExpireOutcome> {
    const verdict = await this.reservations.abandonHold(eventId, seatNumber, holdVersion);
    if (verdict === 'reserved') {
      await this.finishCommittedReserve(eventId, seatNumber);
      return { outcome: 'gone' };
    }
    await this.store.abortReserve(eventId, seatNumber, holdVersion, holderId);
    return this.expire(eventId, seatNumber, holdVersion);
  }
}

/** A hold being reserved still shows as held; a hold past its expiresAt is available, expired or not. */
function seatStatusOf(state: SeatState | undefined, nowMs: number): SeatStatus {
  if (!isLive(state, nowMs)) return 'available';
  return state.kind === 'reserved' ? 'reserved' : 'held';
}

function toSeat(
  eventId: string,
  seatNumber: number,
  state: SeatState | undefined,
  nowMs: number,
  caller?: Identity,
): Seat {
  const status = seatStatusOf(state, nowMs);
  if (!state || status === 'available') return { eventId, seatNumber, status };
  const reveal = caller !== undefined && (caller.isAdmin || caller.userId === state.userId);
  const reserved = state.kind === 'reserved';
  return {
    eventId,
    seatNumber,
    status,
    ...(reveal ? { userId: state.userId } : {}),
    ...(reserved
      ? { reservedAt: iso(state.reservedAt) }
      : { heldAt: iso(state.heldAt), expiresAt: iso(state.expiresAt) }),
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
