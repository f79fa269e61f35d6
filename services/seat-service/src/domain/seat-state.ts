/** A seat's stored state (absent = available). Times are epoch milliseconds from Redis' clock. */
export type SeatState =
  | { kind: 'held'; userId: string; heldAt: number; expiresAt: number; durationSec: number; holdVersion: number }
  | {
      kind: 'reserving';
      userId: string;
      heldAt: number;
      expiresAt: number;
      durationSec: number;
      holdVersion: number;
      version: number;
    }
  | { kind: 'reserved'; userId: string; reservedAt: number; holdVersion: number };

/** A hold counts until expiresAt; a reserve in flight and a reservation always count. */
export function isLive(state: SeatState | undefined, nowMs: number): state is SeatState {
  if (!state) return false;
  return state.kind !== 'held' || state.expiresAt > nowMs;
}
