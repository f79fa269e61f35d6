import { ENVELOPE_VERSION, RoutingKeys, type SeatEnvelope, type SeatRoutingKey } from '@zephyr/contracts';
import { holdKey, parseHoldKey, scheduleChangeFor } from './expiry-schedule';

const eventId = crypto.randomUUID();
const hold = { eventId, seatNumber: 7, holdVersion: 42 };
const expiresAt = '2030-01-01T00:00:10.250Z';

const envelope = (type: SeatRoutingKey, withExpiry = true): SeatEnvelope => ({
  id: crypto.randomUUID(),
  type,
  version: ENVELOPE_VERSION,
  occurredAt: '2030-01-01T00:00:00.000Z',
  producer: 'test',
  data: {
    ...hold,
    status: 'held',
    userId: crypto.randomUUID(),
    version: 3,
    ...(withExpiry ? { heldAt: '2030-01-01T00:00:00.000Z', expiresAt } : {}),
  },
});

test('held and refreshed schedule the hold at expiresAt', () => {
  for (const type of [RoutingKeys.SeatHeld, RoutingKeys.SeatRefreshed]) {
    expect(scheduleChangeFor(envelope(type))).toEqual({ kind: 'schedule', hold, dueAtMs: Date.parse(expiresAt) });
  }
});

test('released, expired and reserved unschedule that hold version', () => {
  for (const type of [RoutingKeys.SeatReleased, RoutingKeys.SeatExpired, RoutingKeys.SeatReserved]) {
    expect(scheduleChangeFor(envelope(type, false))).toEqual({ kind: 'unschedule', hold });
  }
});

test('a hold fact without expiresAt is ignored with a reason', () => {
  const change = scheduleChangeFor(envelope(RoutingKeys.SeatHeld, false));
  expect(change.kind).toBe('ignore');
});

test('hold keys round-trip and reject anything else', () => {
  expect(holdKey(hold)).toBe(`${eventId}|7|42`);
  expect(parseHoldKey(holdKey(hold))).toEqual(hold);
  for (const bad of ['', 'x', `${eventId}|7`, `${eventId}|7|42|1`, `${eventId}|-1|2`, `${eventId}|7|v`, '|7|42']) {
    expect(parseHoldKey(bad)).toBeUndefined();
  }
});
