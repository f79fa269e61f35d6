import type { SeatChangedData, SeatCounts, SeatStatus } from '@zephyr/contracts';

/** What the counts need to know about one seat, as last told by a seat.* message. */
export interface SeatState {
  eventId: string;
  seatNumber: number;
  status: SeatStatus;
  /** The event's seat-change counter at this change: orders messages that arrive out of order. */
  version: number;
  expiresAt: string | null;
}

export interface StoredSeatTotals {
  held: number;
  reserved: number;
}

export interface SeatStateStore {
  /** Applies each state unless the stored one is at least as new (see `supersedes`). */
  applyNewer(states: readonly SeatState[]): Promise<void>;
  /** Live holds (not yet expired) and reservations of one event. */
  totals(eventId: string): Promise<StoredSeatTotals>;
}

export function seatStateFrom(data: SeatChangedData): SeatState {
  return {
    eventId: data.eventId,
    seatNumber: data.seatNumber,
    status: data.status,
    version: data.version,
    expiresAt: data.status === 'held' ? (data.expiresAt ?? null) : null,
  };
}

/**
 * True when `next` should replace `current`: a newer version, or the same version with a later expiry
 * (seat.refreshed keeps the version and moves expiresAt). The SQL upsert applies the same rule.
 */
export function supersedes(next: SeatState, current: SeatState): boolean {
  if (next.version !== current.version) return next.version > current.version;
  if (next.expiresAt === null || current.expiresAt === null) return false;
  return Date.parse(next.expiresAt) > Date.parse(current.expiresAt);
}

/**
 * One state per seat (the newest), so a batch can go into a single upsert statement, sorted by seat key:
 * concurrent batches (several replicas) then lock rows in the same order and cannot deadlock each other.
 */
export function newestPerSeat(states: readonly SeatState[]): SeatState[] {
  const bySeat = new Map<string, SeatState>();
  for (const state of states) {
    const key = `${state.eventId}:${state.seatNumber}`;
    const current = bySeat.get(key);
    if (!current || supersedes(state, current)) bySeat.set(key, state);
  }
  return [...bySeat.values()].sort((a, b) =>
    a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : a.seatNumber - b.seatNumber,
  );
}

export function seatCounts(totalSeats: number, totals: StoredSeatTotals): SeatCounts {
  const held = Math.min(totals.held, totalSeats);
  const reserved = Math.min(totals.reserved, totalSeats - held);
  return { available: totalSeats - held - reserved, held, reserved };
}
