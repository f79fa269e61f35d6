import { holdVersionKey, RoutingKeys, type HoldVersionRef, type SeatEnvelope } from '@zephyr/contracts';

/** One hold's lifetime: every expiry is fenced by holdVersion, so this triple is its identity. */
export type HoldRef = HoldVersionRef;

export type ScheduleChange =
  | { kind: 'schedule'; hold: HoldRef; dueAtMs: number }
  | { kind: 'unschedule'; hold: HoldRef }
  | { kind: 'ignore'; reason: string };

export const holdKey = holdVersionKey;

export function parseHoldKey(key: string): HoldRef | undefined {
  const [eventId, seatNumber, holdVersion, ...rest] = key.split('|');
  if (!eventId || rest.length > 0 || !/^\d+$/.test(seatNumber ?? '') || !/^\d+$/.test(holdVersion ?? ''))
    return undefined;
  return { eventId, seatNumber: Number(seatNumber), holdVersion: Number(holdVersion) };
}

/**
 * What a seat fact means for the expiry schedule. A hold that starts or is refreshed is (re)scheduled at its
 * expiresAt; a hold that ends any other way is dropped. Order between facts is not trusted: a stale entry
 * only costs one `gone` answer to the worker, since the expiry is fenced by holdVersion.
 */
export function scheduleChangeFor(envelope: SeatEnvelope): ScheduleChange {
  const { eventId, seatNumber, holdVersion, expiresAt } = envelope.data;
  const hold: HoldRef = { eventId, seatNumber, holdVersion };
  switch (envelope.type) {
    case RoutingKeys.SeatHeld:
    case RoutingKeys.SeatRefreshed: {
      const dueAtMs = expiresAt === undefined ? NaN : Date.parse(expiresAt);
      if (!Number.isFinite(dueAtMs)) return { kind: 'ignore', reason: `${envelope.type} without a valid expiresAt` };
      return { kind: 'schedule', hold, dueAtMs };
    }
    case RoutingKeys.SeatReleased:
    case RoutingKeys.SeatExpired:
    case RoutingKeys.SeatReserved:
      return { kind: 'unschedule', hold };
  }
}
