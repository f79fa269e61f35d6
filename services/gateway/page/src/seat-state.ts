import type { Seat, SeatStatus } from './contracts.js';

/** One seat as the page shows it. */
export interface SeatView {
  status: SeatStatus;
  /** Version of the last change applied to this seat (the snapshot's version for a seat it carried). */
  version: number;
  /** Held or reserved by the signed-in user (known from the user channel and the user's holds). */
  mine: boolean;
}

export interface SeatChange {
  seatNumber: number;
  status: SeatStatus;
  version: number;
  /** Present only on the user's own channel. */
  userId?: string;
}

export interface Counts {
  available: number;
  held: number;
  reserved: number;
}

/**
 * The seat map kept by versions (SPEC.md §4): a snapshot is complete up to its version; a change applies
 * when it is newer than what the seat shows. Changes that arrive before the snapshot wait for it, so
 * nothing between subscribe and snapshot is lost, and nothing older ever overwrites something newer.
 */
export class SeatBook {
  readonly seats = new Map<number, SeatView>();
  private waiting: SeatChange[] | undefined = [];

  constructor(private readonly userId: string | undefined) {}

  get hasSnapshot(): boolean {
    return this.waiting === undefined;
  }

  /** A new subscription is on its way (a reconnect): hold changes until its snapshot; keep showing the old map. */
  awaitSnapshot(): void {
    this.waiting = [];
  }

  /** Applies a snapshot and then the changes that waited for it; returns the seat numbers whose view changed. */
  applySnapshot(version: number, seats: readonly Seat[]): number[] {
    const changed: number[] = [];
    for (const seat of seats) {
      const before = this.seats.get(seat.seatNumber);
      // The event channel carries no user ids: a seat stays "mine" while it keeps the state it had.
      const mine =
        seat.status !== 'available' &&
        ((seat.userId !== undefined && seat.userId === this.userId) ||
          (before?.mine === true && before.status !== 'available'));
      const next: SeatView = { status: seat.status, version, mine };
      if (!before || before.status !== next.status || before.mine !== next.mine) changed.push(seat.seatNumber);
      this.seats.set(seat.seatNumber, next);
    }
    const waiting = this.waiting ?? [];
    this.waiting = undefined;
    for (const change of waiting) changed.push(...this.apply(change));
    return [...new Set(changed)];
  }

  /** Applies one change if it is newer; returns the seat numbers whose view changed (none or one). */
  apply(change: SeatChange): number[] {
    if (this.waiting) {
      this.waiting.push(change);
      return [];
    }
    const seat = this.seats.get(change.seatNumber);
    if (!seat) return [];
    const own = change.userId !== undefined && change.userId === this.userId;
    // The user channel repeats a change the event channel already brought; it only adds who made it.
    if (change.version < seat.version || (change.version === seat.version && !own)) return [];
    const mine = change.status !== 'available' && (own || (seat.mine && change.status === 'reserved'));
    if (seat.status === change.status && seat.mine === mine) {
      seat.version = change.version;
      return [];
    }
    this.seats.set(change.seatNumber, { status: change.status, version: change.version, mine });
    return [change.seatNumber];
  }

  /** Marks seats the user holds (from the holds list) as theirs, if the map still shows them held. */
  markMine(seatNumbers: readonly number[]): number[] {
    const changed: number[] = [];
    for (const n of seatNumbers) {
      const seat = this.seats.get(n);
      if (seat && seat.status === 'held' && !seat.mine) {
        seat.mine = true;
        changed.push(n);
      }
    }
    return changed;
  }

  counts(): Counts {
    const counts: Counts = { available: 0, held: 0, reserved: 0 };
    for (const seat of this.seats.values()) counts[seat.status]++;
    return counts;
  }
}
