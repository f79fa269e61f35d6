/** This service's PostgreSQL schema and tables; no other service reads them. */
export const SCHEMA = 'event_service';

export const Tables = {
  events: 'events',
  /**
   * No longer read or written: the counts come from the seat-service. Kept while a rolling update runs the
   * previous release beside this one (docs/deploy.md: add first, remove in a later release).
   */
  seatStates: 'seat_states',
} as const;
