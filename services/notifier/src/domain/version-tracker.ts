/**
 * Remembers the last version pushed per (event, seat) so a late or replayed update never overwrites a newer
 * one on a client. Memory stays bounded: an event's map is dropped when nobody watches it any more, at most
 * `maxEvents` maps are kept (least recently updated evicted first), and a map holds at most one entry per
 * seat of the event.
 */
export class VersionTracker {
  private readonly events = new Map<string, Map<number, number>>();

  constructor(private readonly maxEvents: number) {}

  /** Records `version` and returns true when it is newer than the last one accepted for that seat. */
  accept(eventId: string, seatNumber: number, version: number): boolean {
    let seats = this.events.get(eventId);
    if (seats) {
      // Re-insert to keep Map order = least recently updated first.
      this.events.delete(eventId);
    } else {
      seats = new Map();
      if (this.events.size >= this.maxEvents) this.events.delete(this.events.keys().next().value as string);
    }
    this.events.set(eventId, seats);
    const last = seats.get(seatNumber);
    if (last !== undefined && version <= last) return false;
    seats.set(seatNumber, version);
    return true;
  }

  forget(eventId: string): void {
    this.events.delete(eventId);
  }

  get trackedEvents(): number {
    return this.events.size;
  }
}
