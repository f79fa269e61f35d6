import { ErrorCodes, LIMITS, type ErrorCode, type Hold, type SeatFailure } from '@zephyr/contracts';
import { AppError } from '@zephyr/runtime';
import type { SeatStore } from '../data-access/seat-store';
import type { EventDirectory } from '../data-access/event-directory';
import type { SeatRulesHooks } from './seat-rules';

type Reply = (string | number | Reply)[];

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

/** Script words for a body that breaks the event's own bounds (SPEC.md §7: still a 400). */
const INVALID: Record<string, string> = {
  TOO_MANY: 'More seats than the event allows per user (maxSeatsPerUser)',
  OUT_OF_RANGE: 'A seat number is above the event capacity (totalSeats)',
};

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * SPEC.md §7: holding several seats at once and best available. Each request is one atomic script; this
 * class turns its reply into holds or into the 409 with one detail per failing seat.
 */
export class MultiSeatRules {
  constructor(
    private readonly store: SeatStore,
    private readonly directory: EventDirectory,
    private readonly hooks: SeatRulesHooks,
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

  private async outcome(eventId: string, userId: string, run: () => Promise<Reply>): Promise<MultiHoldResult> {
    try {
      let reply = await run();
      if (reply[0] === 'NO_EVENT') {
        // Redis does not know the event yet (just created, or Redis lost its data): load it once.
        await this.directory.load(eventId);
        reply = await run();
      }
      const result = toResult(eventId, userId, reply);
      this.hooks.onOutcome('hold', result.created > 0 ? 'held' : 'existing');
      return result;
    } catch (err) {
      if (err instanceof AppError) this.hooks.onOutcome('hold', err.code);
      throw err;
    }
  }
}

function toResult(eventId: string, userId: string, reply: Reply): MultiHoldResult {
  const word = String(reply[0]);
  if (word === 'HELD') {
    const items: Hold[] = [];
    let created = 0;
    for (let i = 1; i < reply.length; i += 4) {
      items.push({
        eventId,
        seatNumber: Number(reply[i]),
        userId,
        heldAt: iso(Number(reply[i + 1])),
        expiresAt: iso(Number(reply[i + 2])),
      });
      created += Number(reply[i + 3]);
    }
    return { items, created };
  }
  if (word === 'FAILED') {
    const code = String(reply[1]) as ErrorCode;
    const details: SeatFailure[] = [];
    for (let i = 2; i < reply.length; i += 2) {
      details.push({ seatNumber: Number(reply[i]), code: String(reply[i + 1]) as ErrorCode });
    }
    throw new AppError(code, MESSAGES[code] ?? code, details.length > 0 ? details : undefined);
  }
  const invalid = INVALID[word];
  if (invalid !== undefined)
    throw new AppError(ErrorCodes.ValidationFailed, invalid, [{ path: 'body', message: invalid }]);
  if (word === 'NO_EVENT') throw new AppError(ErrorCodes.EventNotFound, MESSAGES.EVENT_NOT_FOUND!);
  if (word === ErrorCodes.EventNotActive) throw new AppError(ErrorCodes.EventNotActive, MESSAGES.EVENT_NOT_ACTIVE!);
  throw new Error(`unexpected seat script reply ${word}`);
}
