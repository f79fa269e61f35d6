import Joi from 'joi';

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
}).required();

export const updateEventBody = strictObject({
  status: Joi.string().valid('active', 'inactive', 'cancelled'),
  name: text().min(1).max(LIMITS.nameMax),
  description: text().allow('').max(LIMITS.descriptionMax),
});

const holdDuration = Joi.number().integer().min(LIMITS.holdDurationMin).max(LIMITS.holdDurationMax);

export const holdBody = strictObject({ userId: uuidSchema, holdDuration });
export const refreshBody = strictObject({ userId: uuidSchema, holdDuration });
export const reserveBody = strictObject({ userId: uuidSchema });
export const releaseBody = strictObject({ userId: uuidSchema });

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
