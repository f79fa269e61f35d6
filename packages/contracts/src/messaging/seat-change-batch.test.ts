import { randomUUID } from 'node:crypto';
import {
  ENVELOPE_VERSION,
  InvalidEnvelopeError,
  MAX_SEAT_CHANGE_BATCH,
  parseEnvelope,
  seatChangeBatches,
  seatChangesOf,
  type EventEnvelope,
  type SeatEnvelope,
} from './envelope';
import { BatchRoutingKeys, RoutingKeys } from './names';

const EVENT_ID = '123e4567-e89b-12d3-a456-426614174000';
const USER_ID = '223e4567-e89b-12d3-a456-426614174000';
const AT = '2026-01-01T00:00:00.000Z';

const change = (seatNumber: number): SeatEnvelope => ({
  id: `stream-${seatNumber}-0`,
  type: RoutingKeys.SeatHeld,
  version: ENVELOPE_VERSION,
  occurredAt: AT,
  producer: 'seat-service',
  data: {
    eventId: EVENT_ID,
    seatNumber,
    status: 'held',
    userId: USER_ID,
    version: seatNumber,
    holdVersion: seatNumber,
    heldAt: AT,
    expiresAt: '2026-01-01T00:10:00.000Z',
  },
});

const eventEnvelope: EventEnvelope = {
  id: randomUUID(),
  type: RoutingKeys.EventCreated,
  version: ENVELOPE_VERSION,
  occurredAt: AT,
  producer: 'event-service',
  data: {
    id: EVENT_ID,
    name: 'Show',
    description: '',
    totalSeats: 10,
    maxSeatsPerUser: 2,
    seatsPerRow: 10,
    status: 'active',
    revision: 1,
    createdAt: AT,
    updatedAt: AT,
  },
};

const batchOf = (changes: unknown[]) => ({
  id: randomUUID(),
  type: BatchRoutingKeys.SeatChanges,
  version: ENVELOPE_VERSION,
  occurredAt: AT,
  producer: 'seat-service',
  data: { changes },
});

/** What a consumer gets: the published JSON, parsed and checked. */
const received = (body: unknown) => parseEnvelope(JSON.parse(JSON.stringify(body)));

it('splits changes into batches of at most MAX_SEAT_CHANGE_BATCH, in order, each with its own id', () => {
  const changes = Array.from({ length: 2 * MAX_SEAT_CHANGE_BATCH + 1 }, (_, i) => change(i + 1));
  const batches = seatChangeBatches(changes, 'seat-service', randomUUID, AT);

  expect(batches.map((b) => b.data.changes.length)).toEqual([MAX_SEAT_CHANGE_BATCH, MAX_SEAT_CHANGE_BATCH, 1]);
  expect(batches.flatMap((b) => b.data.changes)).toEqual(changes);
  expect(new Set(batches.map((b) => b.id)).size).toBe(3);
  expect(seatChangeBatches([], 'seat-service', randomUUID, AT)).toEqual([]);
});

it('a batch passes the contract check and reads back as the seat changes it carries, each with its id', () => {
  const [batch] = seatChangeBatches([change(1), change(2)], 'seat-service', randomUUID, AT);
  const parsed = received(batch);

  expect(parsed.type).toBe(BatchRoutingKeys.SeatChanges);
  expect(seatChangesOf(parsed).map((c) => c.id)).toEqual(['stream-1-0', 'stream-2-0']);
});

it('a single seat.* message reads as itself and an event.* message as no seat change', () => {
  expect(seatChangesOf(received(change(3)))).toEqual([change(3)]);
  expect(seatChangesOf(received(eventEnvelope))).toEqual([]);
});

it.each([
  ['no changes', batchOf([])],
  ['too many changes', batchOf(Array.from({ length: MAX_SEAT_CHANGE_BATCH + 1 }, (_, i) => change(i + 1)))],
  [
    'a change that breaks the seat contract',
    batchOf([change(1), { ...change(2), data: { ...change(2).data, seatNumber: 0 } }]),
  ],
  ['an event.* envelope among the changes', batchOf([change(1), eventEnvelope])],
  ['a batch inside a batch', batchOf([batchOf([change(1)])])],
  ['a field the contract does not know', { ...batchOf([change(1)]), extra: true }],
  ['another envelope version', { ...batchOf([change(1)]), version: ENVELOPE_VERSION + 1 }],
])('a batch with %s is poison', (_name, body) => {
  expect(() => received(body)).toThrow(InvalidEnvelopeError);
});
