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
  /** Installs the event again (config from the event-service, reservations from PostgreSQL). */
  loadEvent(eventId: string): Promise<void>;
  announceLostHold(eventId: string, hold: OpenHold): Promise<boolean | 'NO_EVENT'>;
}

const CLAIM_TTL_MS = 60_000;
/** Longest a hold can stay open without an action, with margin. */
const OPEN_WINDOW_SECONDS = LIMITS.holdDurationMax * 2;

/**
 * Holds live only in Redis. When Redis comes back without its data, every hold the audit shows open is
 * announced as ended (seat.expired: subscribers see the seat available, the audit gets its end, and the
 * holder's list no longer shows it), instead of silently vanishing. One replica does it per loss.
 * Returns how many holds were announced, or undefined when there was nothing to recover.
 */
export async function recoverLostHolds(ports: LostHoldsPorts): Promise<number | undefined> {
  if (!(await ports.claimEpochRecovery(CLAIM_TTL_MS))) return undefined;
  try {
    const holds = await ports.openHolds(OPEN_WINDOW_SECONDS);
    const byEvent = new Map<string, OpenHold[]>();
    for (const hold of holds) byEvent.set(hold.eventId, [...(byEvent.get(hold.eventId) ?? []), hold]);
    let announced = 0;
    for (const [eventId, eventHolds] of byEvent) {
      try {
        await ports.loadEvent(eventId);
      } catch (err) {
        if (err instanceof AppError && err.code === ErrorCodes.EventNotFound) continue;
        throw err;
      }
      for (const hold of eventHolds) if ((await ports.announceLostHold(eventId, hold)) === true) announced++;
    }
    await ports.settleEpoch();
    return announced;
  } catch (err) {
    await ports.dropEpochClaim().catch(() => undefined);
    throw err;
  }
}
