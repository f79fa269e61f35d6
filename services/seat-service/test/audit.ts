import { waitFor, type StackFixture } from '@zephyr/testing';

/** Which audit rows of an event to count: one seat's, and/or some actions only. */
export interface AuditFilter {
  seatNumber?: number;
  actions?: string[];
}

/**
 * Waits until `count` audit rows of `eventId` match `filter`: the relay writes a row once it published the
 * action's fact, so this is "those facts have left".
 */
export function auditRowsReach(
  stack: StackFixture,
  eventId: string,
  count: number,
  what: string,
  filter: AuditFilter = {},
): Promise<unknown> {
  const values: unknown[] = [eventId];
  let sql = 'SELECT 1 FROM seat_service.seat_audit WHERE event_id = $1';
  if (filter.seatNumber !== undefined) sql += ` AND seat_number = $${values.push(filter.seatNumber)}`;
  if (filter.actions) sql += ` AND action = ANY($${values.push(filter.actions)})`;
  return waitFor(async () => (await stack.db.query(sql, values)).rowCount === count, { timeoutMs: 15_000, what });
}
