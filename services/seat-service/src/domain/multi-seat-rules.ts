import { ErrorCodes, LIMITS, type ErrorCode, type Hold } from '@zephyr/contracts';
import { AppError } from '@zephyr/runtime/errors';
import type { EventDirectoryPort, MultiHoldReply, SeatStorePort } from './ports';
import type { SeatRulesContext } from './seat-rules';

export interface MultiHoldResult {
  /** Ascending seat order. */
  items: Hold[];
  /** How many of them this request newly held (the others were already the caller's). */
  created: number;
}

const MESSAGES: Partial<Record<ErrorCode, string>> = {
  EVENT_NOT_ACTIVE: 'The event is not active',
  SEAT_UNAVAILABLE: 'A seat is held or reserved by someone else, or no such seats are available',
  USER_LIMIT_REACHED: 'These seats would exceed the maximum number of seats per user for this event',
  EVENT_NOT_FOUND: 'Event not found',
};

/** A body that breaks the event's own bounds (SPEC.md §7: still a 400). */
const INVALID: Record<'too-many' | 'out-of-range', string> = {
  'too-many': 'More seats than the event allows per user (maxSeatsPerUser)',
  'out-of-range': 'A seat number is above the event capacity (totalSeats)',
};

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * SPEC.md §7: holding several seats at once and best available. Each request is one atomic script; this
 * class turns its reply into holds or into the 409 with one detail per failing seat.
 */
export class MultiSeatRules {
  constructor(
    private readonly store: SeatStorePort,
    private readonly directory: EventDirectoryPort,
    private readonly context: SeatRulesContext,
  ) {}

  async hold(
    eventId: string,
    seats: readonly number[],
    userId: string,
    durationSec: number = LIMITS.holdDurationDefault,
  ): Promise<MultiHoldResult> {
    const ascending = [...seats].sort((a, b) => a - b);
    return this.outcome(eventId, userId, () => this.store.multiHold(eventId, ascending, userId, durationSec));
  }

  async bestAvailable(
    eventId: string,
    count: number,
    adjacent: boolean,
    userId: string,
    durationSec: number = LIMITS.holdDurationDefault,
  ): Promise<MultiHoldResult> {
    return this.outcome(eventId, userId, () => this.store.bestAvailable(eventId, count, adjacent, userId, durationSec));
  }

  private async outcome(eventId: string, userId: string, run: () => Promise<MultiHoldReply>): Promise<MultiHoldResult> {
    try {
      await this.directory.ensureReconciled(eventId);
      let reply = await run();
      if (reply.kind === 'no-event') {
        // Redis does not know the event yet (just created, or Redis lost its data): load it once.
        await this.directory.load(eventId);
        reply = await run();
      }
      const result = toResult(eventId, userId, reply);
      this.context.onOutcome('hold', result.created > 0 ? 'held' : 'existing');
      return result;
    } catch (err) {
      if (err instanceof AppError) this.context.onOutcome('hold', err.code);
      throw err;
    }
  }
}

function toResult(eventId: string, userId: string, reply: MultiHoldReply): MultiHoldResult {
  switch (reply.kind) {
    case 'held':
      return {
        items: reply.seats.map((seat) => ({
          eventId,
          seatNumber: seat.seatNumber,
          userId,
          heldAt: iso(seat.heldAt),
          expiresAt: iso(seat.expiresAt),
        })),
        created: reply.seats.filter((seat) => seat.created).length,
      };
    case 'failed':
      throw new AppError(
        reply.code,
        MESSAGES[reply.code] ?? reply.code,
        reply.failures.length > 0 ? reply.failures : undefined,
      );
    case 'invalid': {
      const message = INVALID[reply.reason];
      throw new AppError(ErrorCodes.ValidationFailed, message, [{ path: 'body', message }]);
    }
    case 'no-event':
      throw new AppError(ErrorCodes.EventNotFound, MESSAGES.EVENT_NOT_FOUND!);
    case 'refused':
      throw new AppError(reply.code, MESSAGES[reply.code]!);
  }
}
