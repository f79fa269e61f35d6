import { ErrorCodes } from '../http/errors';
import type { JsonSchema } from './json-schema';

/**
 * The public answers of SPEC.md §3/§7 (the interfaces in http/types.ts) as JSON Schema. The documents
 * reference them by name; the gateway's document test checks real answers against them.
 */
const ref = (name: ResponseSchemaName): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const timestamp: JsonSchema = { type: 'string', format: 'date-time', description: 'ISO-8601 UTC, ending in `Z`.' };
const uuid: JsonSchema = { type: 'string', format: 'uuid' };
const seatStatus: JsonSchema = { type: 'string', enum: ['available', 'held', 'reserved'] };
const closed = (properties: Record<string, JsonSchema>, required: string[]): JsonSchema => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
});
const itemsOf = (name: ResponseSchemaName): JsonSchema =>
  closed({ items: { type: 'array', items: ref(name) } }, ['items']);
const pageOf = (name: ResponseSchemaName): JsonSchema =>
  closed(
    {
      items: { type: 'array', items: ref(name) },
      nextCursor: { type: ['string', 'null'], description: 'Pass as `cursor` for the next page; null on the last.' },
    },
    ['items', 'nextCursor'],
  );

const eventProperties: Record<string, JsonSchema> = {
  id: uuid,
  name: { type: 'string' },
  description: { type: 'string' },
  totalSeats: { type: 'integer' },
  maxSeatsPerUser: { type: 'integer' },
  seatsPerRow: { type: 'integer', description: 'Rows are seats 1..seatsPerRow, seatsPerRow+1..2*seatsPerRow, ...' },
  status: { type: 'string', enum: ['active', 'inactive', 'cancelled'] },
  createdAt: timestamp,
  updatedAt: timestamp,
};
const eventRequired = Object.keys(eventProperties);

export const RESPONSE_SCHEMAS = {
  Event: closed(eventProperties, eventRequired),
  EventWithCounts: closed(
    {
      ...eventProperties,
      seats: {
        ...closed({ available: { type: 'integer' }, held: { type: 'integer' }, reserved: { type: 'integer' } }, [
          'available',
          'held',
          'reserved',
        ]),
        description: 'Seat counts; may lag writes by at most 1 s.',
      },
    },
    [...eventRequired, 'seats'],
  ),
  EventPage: pageOf('Event'),
  Seat: closed(
    {
      eventId: uuid,
      seatNumber: { type: 'integer', minimum: 1 },
      status: seatStatus,
      userId: { ...uuid, description: 'Shown only to the holder and to admins.' },
      heldAt: timestamp,
      expiresAt: timestamp,
      reservedAt: timestamp,
    },
    ['eventId', 'seatNumber', 'status'],
  ),
  Hold: closed(
    {
      eventId: uuid,
      seatNumber: { type: 'integer', minimum: 1 },
      userId: uuid,
      heldAt: timestamp,
      expiresAt: timestamp,
    },
    ['eventId', 'seatNumber', 'userId', 'heldAt', 'expiresAt'],
  ),
  HoldList: itemsOf('Hold'),
  SeatList: itemsOf('Seat'),
  SeatMap: closed(
    {
      eventId: uuid,
      version: { type: 'integer', description: 'Grows with every seat change in the event; complete up to here.' },
      seats: { type: 'array', items: ref('Seat') },
    },
    ['eventId', 'version', 'seats'],
  ),
  AvailableSeats: closed(
    { eventId: uuid, count: { type: 'integer' }, seats: { type: 'array', items: { type: 'integer' } } },
    ['eventId', 'count', 'seats'],
  ),
  AuditEntry: closed(
    {
      seq: { type: 'integer' },
      at: timestamp,
      action: { type: 'string', enum: ['held', 'refreshed', 'released', 'expired', 'reserved'] },
      seatNumber: { type: 'integer', minimum: 1 },
      userId: uuid,
      expiresAt: timestamp,
    },
    ['seq', 'at', 'action', 'seatNumber', 'userId'],
  ),
  AuditPage: pageOf('AuditEntry'),
  Error: closed(
    {
      error: closed(
        {
          code: { type: 'string', enum: Object.values(ErrorCodes) },
          message: { type: 'string' },
          details: {
            type: 'array',
            items: {
              anyOf: [
                {
                  ...closed({ path: { type: 'string' }, message: { type: 'string' } }, ['path', 'message']),
                  description: 'VALIDATION_FAILED: one broken rule of the body or query.',
                },
                {
                  ...closed(
                    {
                      seatNumber: { type: 'integer', minimum: 1 },
                      code: { type: 'string', enum: Object.values(ErrorCodes) },
                    },
                    ['seatNumber', 'code'],
                  ),
                  description: 'All-or-nothing multi-seat requests: one seat that failed.',
                },
              ],
            },
          },
        },
        ['code', 'message'],
      ),
    },
    ['error'],
  ),
  Health: {
    type: 'object',
    properties: {
      status: { type: 'string' },
      checks: { type: 'object', additionalProperties: { type: 'string', enum: ['up', 'down'] } },
    },
    required: ['status'],
  },
} satisfies Record<ResponseSchemaName, JsonSchema>;

export type ResponseSchemaName =
  | 'Event'
  | 'EventWithCounts'
  | 'EventPage'
  | 'Seat'
  | 'Hold'
  | 'HoldList'
  | 'SeatList'
  | 'SeatMap'
  | 'AvailableSeats'
  | 'AuditEntry'
  | 'AuditPage'
  | 'Error'
  | 'Health';
