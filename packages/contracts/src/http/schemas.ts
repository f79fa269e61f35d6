import Joi from 'joi';
import { integerIn, matches, objectCheck, withFastCheck } from './fast-checks';

/** Strings are stored exactly as sent; only NUL is refused (it breaks PostgreSQL text and most clients). */
const text = () =>
  Joi.string()
    .pattern(/^[^\u0000]*$/, { name: 'no NUL characters' })
    // Lone surrogates cannot be stored as sent (they would come back as U+FFFD), so they are refused.
    .custom((value: string, helpers) =>
      (value as string & { isWellFormed(): boolean }).isWellFormed() ? value : helpers.error('string.wellFormed'),
    )
    .messages({ 'string.wellFormed': '{{#label}} must be well-formed Unicode' });

/** Canonical hyphenated UUIDs only (Joi's guid() also accepts braces and other separators). */
export const UUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
export const uuidSchema = Joi.string().pattern(UUID_PATTERN, { name: 'UUID' });

/** A seat number in a path: canonical positive decimal (no sign, leading zero or exponent). */
export const SEAT_NUMBER_PATTERN = /^[1-9][0-9]{0,99}$/;

const strictObject = (shape: Record<string, Joi.Schema>) =>
  Joi.object(shape).options({ allowUnknown: false, convert: false, abortEarly: false });

export const LIMITS = {
  nameMax: 200,
  descriptionMax: 2000,
  totalSeatsMin: 10,
  totalSeatsMax: 1000,
  holdDurationMin: 10,
  holdDurationMax: 3600,
  holdDurationDefault: 60,
  maxSeatsPerUserDefault: 10,
  pageLimitMax: 100,
  pageLimitDefault: 20,
} as const;

export const createEventBody = strictObject({
  name: text().min(1).max(LIMITS.nameMax).required(),
  description: text().allow('').max(LIMITS.descriptionMax),
  totalSeats: Joi.number().integer().min(LIMITS.totalSeatsMin).max(LIMITS.totalSeatsMax).required(),
  maxSeatsPerUser: Joi.number().integer().min(1).max(Joi.ref('totalSeats')),
  seatsPerRow: Joi.number().integer().min(1).max(Joi.ref('totalSeats')),
}).required();

export const updateEventBody = strictObject({
  status: Joi.string().valid('active', 'inactive', 'cancelled'),
  name: text().min(1).max(LIMITS.nameMax),
  description: text().allow('').max(LIMITS.descriptionMax),
});

const holdDuration = Joi.number().integer().min(LIMITS.holdDurationMin).max(LIMITS.holdDurationMax);

const isUuid = matches(UUID_PATTERN);
const isHoldDuration = integerIn(LIMITS.holdDurationMin, LIMITS.holdDurationMax);

// The single-seat bodies are on every hold, refresh, reserve and release: each has a hand-written check.
const durationBody = () =>
  withFastCheck(
    strictObject({ userId: uuidSchema, holdDuration }),
    objectCheck({ userId: isUuid, holdDuration: isHoldDuration }),
  );
const userBody = () => withFastCheck(strictObject({ userId: uuidSchema }), objectCheck({ userId: isUuid }));
export const holdBody = durationBody();
export const refreshBody = durationBody();
export const reserveBody = userBody();
export const releaseBody = userBody();

/**
 * SPEC.md §7 multi-seat bodies. The per-event bounds (each seat ≤ totalSeats, at most maxSeatsPerUser
 * seats) are checked by the seat-service against the event, still as 400 VALIDATION_FAILED.
 */
const seatList = Joi.array()
  .items(Joi.number().integer().min(1).max(LIMITS.totalSeatsMax))
  .min(1)
  .max(LIMITS.totalSeatsMax)
  .unique();
export const multiHoldBody = strictObject({ seats: seatList.required(), holdDuration }).required();
export const multiReserveBody = strictObject({ seats: seatList.required() }).required();
export const bestAvailableBody = strictObject({
  count: Joi.number().integer().min(1).max(LIMITS.totalSeatsMax).required(),
  holdDuration,
  adjacent: Joi.boolean(),
}).required();

/** SPEC.md §7: `Idempotency-Key` is 1-255 printable ASCII characters. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;
/** How long a completed answer is kept for replay. */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;

/** Query strings arrive as text: limit is parsed here, strictly canonical. */
export const pageQuery = strictObject({
  limit: Joi.string().pattern(/^(100|[1-9][0-9]?)$/, { name: 'integer 1-100' }),
  cursor: Joi.string()
    .max(200)
    .pattern(/^[A-Za-z0-9_-]+$/, { name: 'cursor' }),
});

export interface CreateEventBody {
  name: string;
  description?: string;
  totalSeats: number;
  maxSeatsPerUser?: number;
  seatsPerRow?: number;
}
export interface UpdateEventBody {
  status?: 'active' | 'inactive' | 'cancelled';
  name?: string;
  description?: string;
}
export interface HoldBody {
  userId?: string;
  holdDuration?: number;
}
export interface UserBody {
  userId?: string;
}
export interface MultiHoldBody {
  seats: number[];
  holdDuration?: number;
}
export interface MultiReserveBody {
  seats: number[];
}
export interface BestAvailableBody {
  count: number;
  holdDuration?: number;
  adjacent?: boolean;
}
