import Joi from 'joi';
import { EVENT_ROUTING_KEYS, RoutingKeys, SEAT_ROUTING_KEYS, type RoutingKey } from './names';
import type { Event, SeatStatus } from '../http/types';
import { LIMITS, uuidSchema } from '../http/schemas';
import { isValidSeatEnvelope } from './envelope-check';

export const ENVELOPE_VERSION = 1;

/** Revisions are a PostgreSQL integer in the event-service. */
export const MAX_EVENT_REVISION = 2 ** 31 - 1;

export interface Envelope<TType extends RoutingKey = RoutingKey, TData = unknown> {
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
export type DomainEnvelope = EventEnvelope | SeatEnvelope;

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

export class InvalidEnvelopeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidEnvelopeError';
  }
}

/** Validates a decoded message body; throws InvalidEnvelopeError (poison) when it breaks the contract. */
export function parseEnvelope(body: unknown): DomainEnvelope {
  if (isValidSeatEnvelope(body, ENVELOPE_VERSION)) return body;
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
