import type { Knex } from '@zephyr/runtime';
import type { SeatStateStore } from '../domain/seat-states';
import { SCHEMA, Tables } from './schema';

/**
 * One statement per batch. The WHERE on the conflict branch is the same rule as `supersedes`: a row only
 * moves forward, so duplicates and out-of-order deliveries are harmless. Callers pass one state per seat
 * (ON CONFLICT cannot touch a row twice in one statement). Rows go in key order so that two replicas' batches
 * take their row locks in the same order (no deadlock; a 40P01 would still only be retried by the consumer).
 */
const UPSERT_SQL = `
INSERT INTO ??.?? AS s (event_id, seat_number, status, version, expires_at)
SELECT event_id, seat_number, status, version, expires_at
FROM jsonb_to_recordset(?::jsonb) AS x(event_id uuid, seat_number int, status text, version bigint, expires_at timestamptz)
ORDER BY event_id, seat_number
ON CONFLICT (event_id, seat_number) DO UPDATE
SET status = excluded.status, version = excluded.version, expires_at = excluded.expires_at
WHERE excluded.version > s.version
   OR (excluded.version = s.version AND excluded.expires_at > s.expires_at)`;

export function createSeatStateStore(db: Knex): SeatStateStore {
  return {
    async applyNewer(states) {
      if (states.length === 0) return;
      const rows = states.map((s) => ({
        event_id: s.eventId,
        seat_number: s.seatNumber,
        status: s.status,
        version: s.version,
        expires_at: s.expiresAt,
      }));
      await db.raw(UPSERT_SQL, [SCHEMA, Tables.seatStates, JSON.stringify(rows)]);
    },

    async totals(eventId) {
      const row = (await db
        .withSchema(SCHEMA)
        .from(Tables.seatStates)
        .where({ event_id: eventId })
        .select(
          db.raw("count(*) FILTER (WHERE status = 'held' AND expires_at > now())::int AS held"),
          db.raw("count(*) FILTER (WHERE status = 'reserved')::int AS reserved"),
        )
        .first()) as { held: number; reserved: number } | undefined;
      return { held: row?.held ?? 0, reserved: row?.reserved ?? 0 };
    },
  };
}
