import {
  holdVersionKey,
  type ClaimedHold,
  type ExpireHoldResult,
  type ExpireOutcomeName,
  type HoldVersionRef,
} from '@zephyr/contracts';

/** One hold's lifetime: the seat-service fences every expiry by holdVersion, so this triple is its identity. */
export type HoldRef = HoldVersionRef;
export type { ClaimedHold };

export type ExpireOutcome = ExpireOutcomeName;

/**
 * The seat-service's verdict on one hold (POST /internal/holds/expire), as the contract defines it;
 * `expiresAt` is the hold's current expiry, present on `not-due` (it was refreshed).
 */
export type ExpireResult = ExpireHoldResult;

export interface Settlement {
  /** Finished with: expired by us, or no longer there to expire. */
  done: HoldRef[];
  /** Refreshed since it was scheduled: back into the index at its new expiry. */
  rescheduled: { hold: HoldRef; dueAtMs: number }[];
  /** Holds we released, with how late that was (seconds after expiresAt) when known. */
  expired: { hold: HoldRef; lagSeconds?: number }[];
  /** No usable answer: left claimed so the lease hands them out again. */
  unanswered: HoldRef[];
}

/** Turns the seat-service's answers for a claimed batch into index updates. */
export function settle(
  claimed: readonly ClaimedHold[],
  results: readonly ExpireResult[],
  releasedAtMs: number,
): Settlement {
  const byKey = new Map(results.map((r) => [holdVersionKey(r), r]));
  const settlement: Settlement = { done: [], rescheduled: [], expired: [], unanswered: [] };
  for (const hold of claimed) {
    const ref: HoldRef = { eventId: hold.eventId, seatNumber: hold.seatNumber, holdVersion: hold.holdVersion };
    const result = byKey.get(holdVersionKey(ref));
    const expiresAtMs = result?.expiresAt === undefined ? NaN : Date.parse(result.expiresAt);
    if (result?.outcome === 'expired') {
      settlement.done.push(ref);
      const dueAtMs = Number.isFinite(expiresAtMs) ? expiresAtMs : hold.dueAtMs;
      settlement.expired.push({
        hold: ref,
        lagSeconds: dueAtMs === undefined ? undefined : Math.max(0, releasedAtMs - dueAtMs) / 1000,
      });
    } else if (result?.outcome === 'gone') {
      settlement.done.push(ref);
    } else if (result?.outcome === 'not-due' && Number.isFinite(expiresAtMs)) {
      settlement.rescheduled.push({ hold: ref, dueAtMs: expiresAtMs });
    } else {
      settlement.unanswered.push(ref);
    }
  }
  return settlement;
}
