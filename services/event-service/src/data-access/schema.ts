/** This service's PostgreSQL schema and tables; no other service reads them. */
export const SCHEMA = 'event_service';

export const Tables = {
  events: 'events',
} as const;
