import { settle } from '../../domain/settlement';
import type { ExpiryIndex, HoldExpirer } from '../../domain/ports';

/** Where the loop reports pauses and recoveries (the service's pino logger fits). */
export interface ExpiryLoopLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ExpiryLoopOptions {
  index: ExpiryIndex;
  expirer: HoldExpirer;
  logger: ExpiryLoopLog;
  batchSize: number;
  pollMs: number;
  leaseMs: number;
  onExpired(lagSeconds: number | undefined): void;
}

export interface ExpiryLoop {
  /** Stops claiming; resolves once the batch in flight (if any) is settled. */
  stop(): Promise<void>;
}

const MIN_DELAY_MS = 5;
const MAX_BACKOFF_MS = 2000;

/**
 * Claims due holds, asks the seat-service to expire them, and settles the answers, forever. A full batch
 * means a backlog, so the next claim follows at once; otherwise it sleeps until the next due time (at most
 * pollMs). Any failure is logged and retried with backoff; claimed holds stay leased and come back on their own.
 */
export function startExpiryLoop(options: ExpiryLoopOptions): ExpiryLoop {
  const { index, expirer, logger, batchSize, pollMs, leaseMs } = options;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  let failures = 0;

  const tick = async (): Promise<number> => {
    const startedAt = Date.now();
    const claim = await index.claimDue(batchSize, leaseMs);
    if (claim.holds.length > 0) {
      const results = await expirer.expire(claim.holds);
      const settlement = settle(claim.holds, results, Date.now());
      await index.settle({ done: settlement.done, rescheduled: settlement.rescheduled });
      for (const { lagSeconds } of settlement.expired) options.onExpired(lagSeconds);
      if (settlement.unanswered.length > 0) {
        logger.warn(
          { count: settlement.unanswered.length },
          'seat-service gave no usable answer for some holds; lease will retry them',
        );
      }
      logger.debug(
        { claimed: claim.holds.length, expired: settlement.expired.length, rescheduled: settlement.rescheduled.length },
        'expiry batch settled',
      );
    }
    if (claim.holds.length >= batchSize) return 0;
    if (claim.nextAtMs === undefined) return pollMs;
    const untilNext = claim.nextAtMs - claim.nowMs - (Date.now() - startedAt);
    return Math.min(pollMs, Math.max(MIN_DELAY_MS, untilNext));
  };

  const run = (): void => {
    timer = undefined;
    inFlight = tick()
      .then((delay) => {
        if (failures > 0) logger.info({ failures }, 'expiry loop recovered');
        failures = 0;
        return delay;
      })
      .catch((err: unknown) => {
        failures += 1;
        const delay = Math.min(MAX_BACKOFF_MS, pollMs * 2 ** Math.min(failures, 10));
        logger.warn(
          { err: err instanceof Error ? err.message : String(err), failures, retryInMs: delay },
          'expiry batch failed',
        );
        return delay;
      })
      .then((delay) => {
        inFlight = undefined;
        if (!stopped) timer = setTimeout(run, delay);
      });
  };

  timer = setTimeout(run, 0);

  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await inFlight;
    },
  };
}
