import Joi from 'joi';
import { uuidSchema } from './schemas';
import { MAX_BODY_BYTES } from './errors';
import { arrayCheck, matches, objectCheck, stringOfLength, withFastCheck } from './fast-checks';

/** Service-to-service routes (docs/interfaces.md). The gateway never routes them. */
export const InternalPaths = {
  expireHolds: '/internal/holds/expire',
  /** The seat-service's expiry schedule, which its relay keeps; the expiry worker claims from it and settles. */
  claimExpiries: '/internal/expiries/claim',
  settleExpiries: '/internal/expiries/settle',
  expiryCounts: '/internal/expiries/counts',
  eventConfig: (eventId: string) => `/internal/events/${eventId}`,
  /** The seat-service's live counts of one event, read by the event-service for GET /api/events/:id. */
  seatCounts: (eventId: string) => `/internal/events/${eventId}/seat-counts`,
  /** Single-seat holds the gateway received together, answered together (docs/architecture.md, Decisions). */
  holdBatch: '/internal/seats/holds',
} as const;

export const MAX_EXPIRE_BATCH = 500;

export interface HoldVersionRef {
  eventId: string;
  seatNumber: number;
  holdVersion: number;
}

/** One hold's identity in the expiry schedule: a hold version is never reused, so the triple names one hold. */
export function holdVersionKey(hold: HoldVersionRef): string {
  return `${hold.eventId}|${hold.seatNumber}|${hold.holdVersion}`;
}

/** A hold leased to one expiry worker; `dueAtMs` is the expiry the schedule had for it, when known. */
export interface ClaimedHold extends HoldVersionRef {
  dueAtMs?: number;
}

/** POST InternalPaths.claimExpiries: the holds leased to the caller, and when the next entry falls due. */
export interface ExpiryClaim {
  holds: ClaimedHold[];
  /** The schedule's clock (Redis, shared by every replica) at the claim. */
  nowMs: number;
  /** Earliest time another entry becomes claimable (a due time or a lease end), if any. */
  nextAtMs?: number;
}

/** POST InternalPaths.settleExpiries: what the worker finished with, and what goes back at a later expiry. */
export interface ExpirySettlement {
  done: HoldVersionRef[];
  rescheduled: { hold: HoldVersionRef; dueAtMs: number }[];
}

export interface ExpiryCounts {
  /** Entries whose expiry has passed and that are not settled yet (waiting or in flight). */
  backlog: number;
  /** Every entry the schedule tracks. */
  scheduled: number;
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

const epochMs = Joi.number().integer().min(0);

/** The longest lease a worker may ask for: a stuck claim comes back within this. */
export const MAX_EXPIRY_LEASE_MS = 10 * 60_000;

export const claimExpiriesRequest = Joi.object({
  limit: Joi.number().integer().min(1).max(MAX_EXPIRE_BATCH).required(),
  leaseMs: Joi.number().integer().min(1).max(MAX_EXPIRY_LEASE_MS).required(),
}).options({ convert: false, allowUnknown: false });

export const claimExpiriesResponse = Joi.object({
  holds: Joi.array()
    .items(holdVersionRef.keys({ dueAtMs: epochMs }).unknown(true))
    .required(),
  nowMs: epochMs.required(),
  nextAtMs: epochMs,
}).unknown(true);

export const settleExpiriesRequest = Joi.object({
  done: Joi.array().items(holdVersionRef).max(MAX_EXPIRE_BATCH).required(),
  rescheduled: Joi.array()
    .items(Joi.object({ hold: holdVersionRef.required(), dueAtMs: epochMs.required() }))
    .max(MAX_EXPIRE_BATCH)
    .required(),
}).options({ convert: false, allowUnknown: false });

export const expiryCountsResponse = Joi.object({
  backlog: Joi.number().integer().min(0).required(),
  scheduled: Joi.number().integer().min(0).required(),
}).unknown(true);

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

/**
 * One client's `POST /api/seats/:eventId/:seatNumber/hold`, as the gateway received it: the path segments
 * still percent-encoded, the body as sent. The seat-service applies exactly the checks of the public route
 * (the caller's token included), in the same order, so an item's answer is the one the route would give.
 */
export interface HoldBatchItem {
  requestId: string;
  authorization?: string;
  contentType?: string;
  eventId: string;
  seatNumber: string;
  body: string;
}

/** The public route's answer to one item: its status and JSON body. */
export interface HoldBatchAnswer {
  status: number;
  body: unknown;
}

/** At most this many holds travel in one request; the gateway splits larger turns. */
export const MAX_HOLD_BATCH = 128;

const PATH_SEGMENT_MAX = 2048;
const pathSegment = Joi.string().min(1).max(PATH_SEGMENT_MAX);
const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{1,100}$/;
const AUTHORIZATION_MAX = 16 * 1024;
const CONTENT_TYPE_MAX = 1024;

/**
 * POST InternalPaths.holdBatch: `{ items }`, answered `{ items: HoldBatchAnswer[] }` in the same order.
 * Checked by hand first: Joi's walk of every batch was half of the seat-service's Joi time in the storm.
 */
export const holdBatchRequest = withFastCheck(
  Joi.object({
    items: Joi.array()
      .items(
        Joi.object({
          requestId: Joi.string().pattern(REQUEST_ID_PATTERN).required(),
          authorization: Joi.string().max(AUTHORIZATION_MAX),
          contentType: Joi.string().max(CONTENT_TYPE_MAX),
          eventId: pathSegment.required(),
          seatNumber: pathSegment.required(),
          body: Joi.string().allow('').max(MAX_BODY_BYTES).required(),
        }),
      )
      .min(1)
      .max(MAX_HOLD_BATCH)
      .required(),
  }).options({ convert: false, allowUnknown: false }),
  objectCheck(
    {
      items: arrayCheck(
        objectCheck(
          {
            requestId: matches(REQUEST_ID_PATTERN),
            authorization: stringOfLength(1, AUTHORIZATION_MAX),
            contentType: stringOfLength(1, CONTENT_TYPE_MAX),
            eventId: stringOfLength(1, PATH_SEGMENT_MAX),
            seatNumber: stringOfLength(1, PATH_SEGMENT_MAX),
            body: stringOfLength(0, MAX_BODY_BYTES),
          },
          ['requestId', 'eventId', 'seatNumber', 'body'],
        ),
        1,
        MAX_HOLD_BATCH,
      ),
    },
    ['items'],
  ),
);

/**
 * The answers of a batch of `count` holds, or undefined when the value is not that (checked by hand: it is
 * read for every batch on the hot path, and has no details worth reporting).
 */
export function holdBatchAnswersOf(value: unknown, count: number): HoldBatchAnswer[] | undefined {
  const items = (value as { items?: unknown } | null)?.items;
  if (!Array.isArray(items) || items.length !== count) return undefined;
  for (const item of items as { status?: unknown }[]) {
    const status = item?.status;
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) return undefined;
  }
  return items as HoldBatchAnswer[];
}
