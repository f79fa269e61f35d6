import { Counter, type Registry } from '@zephyr/runtime';

export interface EventServiceMetrics {
  eventsCreated: Counter;
}

/** Domain counters on top of the RED metrics createServiceApp already records. */
export function createEventServiceMetrics(registry: Registry): EventServiceMetrics {
  return {
    eventsCreated: new Counter({
      name: 'zephyr_events_created_total',
      help: 'Events created through POST /api/events',
      registers: [registry],
    }),
  };
}
