import { Counter, type Registry } from '@zephyr/runtime';
import type { SeatRulesContext } from './domain/seat-rules';

/** Domain counters on top of the RED metrics runService already records: every seat action's outcome. */
export function createSeatServiceMetrics(registry: Registry): Pick<SeatRulesContext, 'onOutcome'> {
  const outcomes = new Counter({
    name: 'zephyr_seat_actions_total',
    help: 'Seat actions by action and result (held, existing, reserved, error codes, ...)',
    labelNames: ['action', 'result'] as const,
    registers: [registry],
  });
  const holdsTotal = new Counter({
    name: 'zephyr_seat_holds_total',
    help: 'Hold requests by result',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const reservationsTotal = new Counter({
    name: 'zephyr_seat_reservations_total',
    help: 'Reserve requests by result',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const releasesTotal = new Counter({
    name: 'zephyr_seat_releases_total',
    help: 'Holds released by their holder',
    registers: [registry],
  });
  return {
    onOutcome: (action, result) => {
      outcomes.inc({ action, result });
      if (action === 'hold') holdsTotal.inc({ result });
      else if (action === 'reserve') reservationsTotal.inc({ result });
      else if (action === 'release') releasesTotal.inc();
    },
  };
}
