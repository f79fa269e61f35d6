import type { ExpiryCounts } from '@zephyr/contracts';
import { Counter, Gauge, Histogram, type Registry } from '@zephyr/runtime';

export interface ExpiryMetrics {
  observeExpired(lagSeconds: number | undefined): void;
}

/** Domain metrics; the gauges read the schedule's counts on every scrape and keep their last value when that fails. */
export function createExpiryMetrics(registry: Registry, counts: () => Promise<ExpiryCounts>): ExpiryMetrics {
  const expiries = new Counter({
    name: 'zephyr_seat_expiries_total',
    help: 'Holds this worker released because they expired',
    registers: [registry],
  });
  const lag = new Histogram({
    name: 'zephyr_expiry_lag_seconds',
    help: 'Time from a hold expiresAt to its release by this worker',
    buckets: [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10],
    registers: [registry],
  });
  let latest: Promise<ExpiryCounts | undefined> | undefined;
  // One index read per scrape feeds both gauges.
  const readCounts = (): Promise<ExpiryCounts | undefined> => {
    latest ??= counts()
      .catch(() => undefined)
      .finally(() => {
        latest = undefined;
      });
    return latest;
  };
  // A gauge of one of the counts, read when scraped.
  const countGauge = (name: string, help: string, count: 'backlog' | 'scheduled') =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        const current = await readCounts();
        if (current) this.set(current[count]);
      },
    });
  countGauge('zephyr_expiry_backlog', 'Holds past their expiresAt and not released yet', 'backlog');
  countGauge('zephyr_expiry_scheduled', 'Holds tracked in the expiry index', 'scheduled');
  return {
    observeExpired(lagSeconds) {
      expiries.inc();
      if (lagSeconds !== undefined) lag.observe(lagSeconds);
    },
  };
}
