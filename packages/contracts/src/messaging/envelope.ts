import Joi from 'joi';
import {
  BatchRoutingKeys,
  EVENT_ROUTING_KEYS,
  RoutingKeys,
  SEAT_ROUTING_KEYS,
  type BatchRoutingKey,
  type RoutingKey,
} from './names';
import type { Event, SeatStatus } from '../http/types';
import { LIMITS, uuidSchema } from '../http/schemas';
import { isValidSeatChangeBatchFrame, isValidSeatEnvelope } from './envelope-check';

export const ENVELOPE_VERSION = 1;

/** Revisions are a PostgreSQL integer in the event-service. */
export const MAX_EVENT_REVISION = 2 ** 31 - 1;

export interface Envelope<TType extends RoutingKey | BatchRoutingKey = RoutingKey, TData = unknown> {
  id: string;
  type: TType;
  version: number;
  occurredAt: string;
  producer: string;
  data: TData;
}

/** event.created / event.updated: the whole event after the change. `revision` orders updates. */
export interface EventChangedData extends Event {
  revision: number;
}

/**
 * seat.*: one seat's state after the change. `version` is the event's seat-change counter (it grows
 * with every change in the event, so it also grows per seat); `holdVersion` fences a hold's lifetime.
 */
export interface SeatChangedData {
  eventId: string;
  seatNumber: number;
  status: SeatStatus;
  userId: string;
  version: number;
  holdVersion: number;
  heldAt?: string;
  expiresAt?: string;
  reservedAt?: string;
}

export type EventEnvelope = Envelope<(typeof EVENT_ROUTING_KEYS)[number], EventChangedData>;
export type SeatEnvelope = Envelope<(typeof SEAT_ROUTING_KEYS)[number], SeatChangedData>;
/** Most changes in one batch message (a relay turn with more is split): bounds a message to ~200 KB. */
export const MAX_SEAT_CHANGE_BATCH = 500;

/** seat-changes.batch: seat.* envelopes as published, in publish order, each keeping its own id. */
export interface SeatChangeBatchData {
  changes: SeatEnvelope[];
}

export type SeatChangeBatchEnvelope = Envelope<typeof BatchRoutingKeys.SeatChanges, SeatChangeBatchData>;
export type DomainEnvelope = EventEnvelope | SeatEnvelope | SeatChangeBatchEnvelope;

const isoTimestamp = Joi.string().isoDate().pattern(/Z$/);
// The contract's one UUID rule (canonical hyphenated form), the same the HTTP and WebSocket schemas use.
const uuid = uuidSchema;

export const eventChangedDataSchema = Joi.object<EventChangedData>({
  id: uuid.required(),
  name: Joi.string().min(1).max(LIMITS.nameMax).required(),
  description: Joi.string().allow('').max(LIMITS.descriptionMax).required(),
  // Bounded even though only the cluster sends these: a huge totalSeats would exhaust memory, a huge
  // revision would pin the event's config for ever (the event-service stores it as a 32-bit integer).
  totalSeats: Joi.number().integer().min(1).max(LIMITS.totalSeatsMax).required(),
  maxSeatsPerUser: Joi.number().integer().min(1).max(Joi.ref('totalSeats')).required(),
  // Messages written before rows existed carry none: one row of totalSeats.
  seatsPerRow: Joi.number().integer().min(1),
  status: Joi.string().valid('active', 'inactive', 'cancelled').required(),
  revision: Joi.number().integer().min(1).max(MAX_EVENT_REVISION).required(),
  createdAt: isoTimestamp.required(),
  updatedAt: isoTimestamp.required(),
});

export const seatChangedDataSchema = Joi.object<SeatChangedData>({
  eventId: uuid.required(),
  seatNumber: Joi.number().integer().min(1).required(),
  status: Joi.string().valid('available', 'held', 'reserved').required(),
  userId: uuid.required(),
  version: Joi.number().integer().min(0).required(),
  holdVersion: Joi.number().integer().min(0).required(),
  heldAt: isoTimestamp,
  expiresAt: isoTimestamp,
  reservedAt: isoTimestamp,
});

export const envelopeSchema = Joi.object<DomainEnvelope>({
  id: Joi.string().min(1).max(100).required(),
  type: Joi.string()
    .valid(...Object.values(RoutingKeys))
    .required(),
  version: Joi.number().valid(ENVELOPE_VERSION).required(),
  occurredAt: isoTimestamp.required(),
  producer: Joi.string().min(1).max(100).required(),
  data: Joi.when('type', {
    is: Joi.valid(...EVENT_ROUTING_KEYS),
    then: eventChangedDataSchema.required(),
    otherwise: seatChangedDataSchema.required(),
  }),
}).options({ presence: 'optional', allowUnknown: false, convert: false });

/** The batch's own fields; each change is then checked as the seat envelope it is (parseSeatChangeBatch). */
export const seatChangeBatchSchema = Joi.object<SeatChangeBatchEnvelope>({
  id: Joi.string().min(1).max(100).required(),
  type: Joi.string().valid(BatchRoutingKeys.SeatChanges).required(),
  version: Joi.number().valid(ENVELOPE_VERSION).required(),
  occurredAt: isoTimestamp.required(),
  producer: Joi.string().min(1).max(100).required(),
  data: Joi.object({
    changes: Joi.array().items(Joi.object()).min(1).max(MAX_SEAT_CHANGE_BATCH).required(),
  }).required(),
}).options({ presence: 'optional', allowUnknown: false, convert: false });

export class InvalidEnvelopeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidEnvelopeError';
  }
}

function parseSeatChangeBatch(body: unknown): SeatChangeBatchEnvelope {
  let batch = body as SeatChangeBatchEnvelope;
  if (!isValidSeatChangeBatchFrame(body, ENVELOPE_VERSION, MAX_SEAT_CHANGE_BATCH)) {
    const { error, value } = seatChangeBatchSchema.validate(body);
    if (error) throw new InvalidEnvelopeError(error.message);
    batch = value as SeatChangeBatchEnvelope;
  }
  batch.data.changes.forEach((change, i) => {
    const parsed = parseEnvelope(change);
    if (!isSeatEnvelope(parsed)) throw new InvalidEnvelopeError(`"data.changes[${i}]" is not a seat change`);
  });
  return batch;
}

const isBatch = (body: unknown): boolean =>
  typeof body === 'object' && body !== null && (body as { type?: unknown }).type === BatchRoutingKeys.SeatChanges;

/** Validates a decoded message body; throws InvalidEnvelopeError (poison) when it breaks the contract. */
export function parseEnvelope(body: unknown): DomainEnvelope {
  if (isValidSeatEnvelope(body, ENVELOPE_VERSION)) return body;
  if (isBatch(body)) return parseSeatChangeBatch(body);
  const { error, value } = envelopeSchema.validate(body);
  if (error) throw new InvalidEnvelopeError(error.message);
  return value as DomainEnvelope;
}

export function isSeatEnvelope(envelope: DomainEnvelope): envelope is SeatEnvelope {
  return (SEAT_ROUTING_KEYS as readonly string[]).includes(envelope.type);
}

export function isEventEnvelope(envelope: DomainEnvelope): envelope is EventEnvelope {
  return (EVENT_ROUTING_KEYS as readonly string[]).includes(envelope.type);
}

/**
 * The seat changes a message carries: itself for a seat.* envelope, its changes for a batch, none for
 * anything else. Consumers that take both shapes (a queue may still hold single messages from before it
 * was moved to batches) read them through this.
 */
export function seatChangesOf(envelope: DomainEnvelope): readonly SeatEnvelope[] {
  if (envelope.type === BatchRoutingKeys.SeatChanges) return envelope.data.changes;
  return isSeatEnvelope(envelope) ? [envelope] : [];
}

/** Splits seat changes, in order, into batch envelopes of at most MAX_SEAT_CHANGE_BATCH changes. */
export function seatChangeBatches(
  changes: readonly SeatEnvelope[],
  producer: string,
  newId: () => string,
  occurredAt: string,
): SeatChangeBatchEnvelope[] {
  const batches: SeatChangeBatchEnvelope[] = [];
  for (let i = 0; i < changes.length; i += MAX_SEAT_CHANGE_BATCH) {
    batches.push({
      id: newId(),
      type: BatchRoutingKeys.SeatChanges,
      version: ENVELOPE_VERSION,
      occurredAt,
      producer,
      data: { changes: changes.slice(i, i + MAX_SEAT_CHANGE_BATCH) },
    });
  }
  return batches;
}
