/**
 * Which sockets to ping on each heartbeat tick: every socket once per round of `ticksPerRound` ticks, in
 * slices that differ by at most one socket, so no tick writes to all of them at once. A round is the set of
 * sockets open when it starts; sockets that open meanwhile join the next one.
 */
export class PingRounds<T> {
  private round: T[] = [];
  private tick = 0;

  constructor(
    private readonly ticksPerRound: number,
    private readonly openNow: () => Iterable<T>,
  ) {}

  /** The sockets this tick pings (some may have closed since the round began: callers skip those). */
  next(): T[] {
    const position = this.tick % this.ticksPerRound;
    if (position === 0) this.round = [...this.openNow()];
    this.tick++;
    const size = this.round.length;
    return this.round.slice(
      Math.ceil((position * size) / this.ticksPerRound),
      Math.ceil(((position + 1) * size) / this.ticksPerRound),
    );
  }
}
