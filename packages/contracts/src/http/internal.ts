import Joi from 'joi';
import { uuidSchema } from './schemas';

/** Service-to-service routes (docs/interfaces.md). The gateway never routes them. */
export const InternalPaths = {
  expireHolds: '/internal/holds/expire',
  eventConfig: (eventId: string) => `/internal/events/${eventId}`,
  /** The seat-service's live counts of one event, read by the event-service for GET /api/events/:id. */
  seatCounts: (eventId: string) => `/internal/events/${eventId}/seat-counts`,
} as const;

export const MAX_EXPIRE_BATCH = 500;

export interface HoldVersionRef {
  eventId: string;
  seatNumber: number;
  holdVersion: number;
}

export type ExpireOutcomeName = 'expired' | 'not-due' | 'gone';

export interface ExpireHoldResult extends HoldVersionRef {
  outcome: ExpireOutcomeName;
  expiresAt?: string;
}

const holdVersionRef = Joi.object({
  eventId: uuidSchema.required(),
  seatNumber: Joi.number().integer().min(1).required(),
  holdVersion: Joi.number().integer().min(0).required(),
});

export const expireHoldsRequest = Joi.object({
  holds: Joi.array().items(holdVersionRef).max(MAX_EXPIRE_BATCH).required(),
}).options({ convert: false, allowUnknown: false });

/** Answers tolerate unknown fields so the seat-service can add some without breaking its callers. */
export const expireHoldsResponse = Joi.object({
  results: Joi.array()
    .items(
      holdVersionRef
        .keys({
          outcome: Joi.string().valid('expired', 'not-due', 'gone').required(),
          expiresAt: Joi.string().isoDate(),
        })
        .unknown(true),
    )
    .required(),
}).unknown(true);

/** GET InternalPaths.seatCounts: the seat map's statuses, tallied (unknown fields tolerated). */
export const seatCountsResponse = Joi.object({
  available: Joi.number().integer().min(0).required(),
  held: Joi.number().integer().min(0).required(),
  reserved: Joi.number().integer().min(0).required(),
}).unknown(true);
