import { ErrorCodes, LIMITS } from '@zephyr/contracts';
import { AppError } from '@zephyr/runtime/errors';

/** A hold PostgreSQL's audit shows open while Redis no longer has it. */
export interface OpenHold {
  eventId: string;
  seatNumber: number;
  userId: string;
  holdVersion: number;
  heldAtMs: number;
  expiresAtMs: number;
}

export interface LostHoldsPorts {
  claimEpochRecovery(ttlMs: number): Promise<boolean>;
  settleEpoch(): Promise<void>;
  dropEpochClaim(): Promise<void>;
  openHolds(withinSeconds: number): Promise<OpenHold[]>;
  /**
   * Installs the event again if Redis lacks it (config from the event-service, reservations from
   * PostgreSQL), announcing its open holds as ended in the same atomic step.
   */
  loadEvent(eventId: string): Promise<void>;
}

const CLAIM_TTL_MS = 60_000;
/** Longest a hold can stay open without an action, with margin. */
export const OPEN_HOLDS_WINDOW_SECONDS = LIMITS.holdDurationMax * 2;

/**
 * Holds live only in Redis. When Redis comes back without its data, every hold the audit shows open is
 * announced as ended (seat.expired: subscribers see the seat available, the audit gets its end, and the
 * holder's list no longer shows it), instead of silently vanishing. The announcement is part of the
 * event's reinstall (INSTALL_EVENT), which happens at the event's first use after the loss, so nobody can
 * hold such a seat before its lost hold was announced; this watch reinstalls the events nobody uses.
 * One replica does it per loss. Returns how many events had open holds, or undefined when there was
 * nothing to recover.
 */
export async function recoverLostHolds(ports: LostHoldsPorts): Promise<number | undefined> {
  if (!(await ports.claimEpochRecovery(CLAIM_TTL_MS))) return undefined;
  try {
    const holds = await ports.openHolds(OPEN_HOLDS_WINDOW_SECONDS);
    const events = new Set(holds.map((hold) => hold.eventId));
    for (const eventId of events) {
      try {
        await ports.loadEvent(eventId);
      } catch (err) {
        if (err instanceof AppError && err.code === ErrorCodes.EventNotFound) continue;
        throw err;
      }
    }
    await ports.settleEpoch();
    return events.size;
  } catch (err) {
    await ports.dropEpochClaim().catch(() => undefined);
    throw err;
  }
}
