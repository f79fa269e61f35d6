import type Joi from 'joi';
import { ErrorCodes, type ErrorCode } from './errors';
import {
  bestAvailableBody,
  createEventBody,
  holdBody,
  multiHoldBody,
  multiReserveBody,
  pageQuery,
  refreshBody,
  releaseBody,
  reserveBody,
  updateEventBody,
} from './schemas';
import type { ResponseSchemaName } from '../docs/response-schemas';

/**
 * The public REST routes (SPEC.md §2-§3, §7): which upstream owns each, who may call it, and what the
 * API documents say of it. The gateway routes by this table and the OpenAPI document is built from it,
 * so a route cannot exist without its document entry.
 */
export type Upstream = 'event' | 'seat';
export type Access = 'public' | 'user' | 'admin';

export interface RouteAnswer {
  status: number;
  /** Omitted for a bodiless answer (204). */
  schema?: ResponseSchemaName;
  description: string;
}

export interface RouteDoc {
  summary: string;
  tag: 'events' | 'seats';
  /** The Joi schema the owning service validates the body with. */
  body?: Joi.ObjectSchema;
  query?: Joi.ObjectSchema;
  /** Success answers, first one the usual. */
  answers: readonly RouteAnswer[];
  /** Domain error codes beyond those every route of its kind can answer (validation, auth, limits). */
  errors: readonly ErrorCode[];
}

export interface RouteRule {
  method: string;
  /** Express-style template, e.g. `/api/seats/:eventId/:seatNumber/hold`. */
  path: string;
  pattern: RegExp;
  upstream: Upstream;
  access: Access;
  /** Mutations count against the per-user rate limit. */
  mutation: boolean;
  doc: RouteDoc;
}

const SEG = '[^/]+';
const E = ErrorCodes;

/** What a row of the table says; the tag and the not-found errors follow from its path. */
type RouteRow = Omit<RouteDoc, 'tag' | 'errors'> & { errors?: readonly ErrorCode[] };

/** A path naming an event (`:id`, `:eventId`) may answer that it does not exist; one naming a seat, likewise. */
function notFoundErrors(path: string): ErrorCode[] {
  const codes: ErrorCode[] = [];
  if (/:(id|eventId)\b/.test(path)) codes.push(E.EventNotFound);
  if (path.includes(':seatNumber')) codes.push(E.SeatNotFound);
  return codes;
}

/** A row of the table; its tag is the path's first segment after /api (`/api/seats/...` → seats). */
const rule = (
  method: string,
  path: `/api/${RouteDoc['tag']}${string}`,
  upstream: Upstream,
  access: Access,
  { errors = [], ...row }: RouteRow,
): RouteRule => ({
  method,
  path,
  pattern: new RegExp(`^${path.replace(/:[a-zA-Z]+/g, SEG)}/?$`),
  upstream,
  access,
  mutation: method !== 'GET',
  doc: { ...row, tag: path.split('/')[2] as RouteDoc['tag'], errors: [...notFoundErrors(path), ...errors] },
});

const ok = (schema: ResponseSchemaName, description: string, status = 200): RouteAnswer => ({
  status,
  schema,
  description,
});
/** What taking seats may meet: the event closed, a seat taken, the caller's limit. */
const HOLD_CONFLICTS = [E.EventNotActive, E.SeatUnavailable, E.UserLimitReached];
/** What acting on the caller's holds may meet: the event closed, a seat taken, no such hold. */
const HELD_SEAT_CONFLICTS = [E.EventNotActive, E.SeatUnavailable, E.HoldNotFound];
const NEW_HOLDS = ok('HoldList', 'The holds, in ascending seat order', 201);

// Order matters: the first match wins, so literal segments come before parameters.
export const ROUTES: readonly RouteRule[] = [
  rule('GET', '/api/events', 'event', 'public', {
    summary: 'List events, newest first',
    query: pageQuery,
    answers: [ok('EventPage', 'A page of events')],
  }),
  rule('POST', '/api/events', 'event', 'admin', {
    summary: 'Create an event',
    body: createEventBody,
    answers: [ok('Event', 'The created event', 201)],
  }),
  rule('GET', '/api/events/:id/seats/available', 'seat', 'public', {
    summary: "An event's available seat numbers, ascending",
    answers: [ok('AvailableSeats', 'Available seats')],
  }),
  rule('GET', '/api/events/:id/seats', 'seat', 'public', {
    summary: "An event's whole seat map, with the version it is complete up to",
    answers: [ok('SeatMap', 'The seat map')],
  }),
  rule('GET', '/api/events/:id/history', 'seat', 'admin', {
    summary: "An event's audit trail, oldest first",
    query: pageQuery,
    answers: [ok('AuditPage', 'A page of audit entries')],
  }),
  rule('GET', '/api/events/:id', 'event', 'public', {
    summary: 'One event with its seat counts',
    answers: [ok('EventWithCounts', 'The event')],
  }),
  rule('PATCH', '/api/events/:id', 'event', 'admin', {
    summary: "Change an event's status, name or description",
    body: updateEventBody,
    answers: [ok('Event', 'The changed event')],
  }),
  rule('POST', '/api/seats/:eventId/hold', 'seat', 'user', {
    summary: 'Hold several seats, all or nothing',
    body: multiHoldBody,
    answers: [NEW_HOLDS],
    errors: HOLD_CONFLICTS,
  }),
  rule('POST', '/api/seats/:eventId/reserve', 'seat', 'user', {
    summary: "Reserve several of the caller's held seats, all or nothing",
    body: multiReserveBody,
    answers: [ok('SeatList', 'The reserved seats, in ascending seat order')],
    errors: HELD_SEAT_CONFLICTS,
  }),
  rule('POST', '/api/seats/:eventId/best-available', 'seat', 'user', {
    summary: 'Hold the best available seats (one adjacent run by default), atomically',
    body: bestAvailableBody,
    answers: [NEW_HOLDS],
    errors: HOLD_CONFLICTS,
  }),
  rule('POST', '/api/seats/:eventId/:seatNumber/hold', 'seat', 'user', {
    summary: 'Hold one seat',
    body: holdBody,
    answers: [
      ok('Hold', 'The new hold', 201),
      ok('Hold', 'The caller already held this seat: the current hold, unchanged'),
    ],
    errors: HOLD_CONFLICTS,
  }),
  rule('DELETE', '/api/seats/:eventId/:seatNumber/hold', 'seat', 'user', {
    summary: "Release the caller's hold; the seat is available again at once",
    body: releaseBody,
    answers: [{ status: 204, description: 'Released' }],
    errors: [E.SeatUnavailable, E.HoldNotFound],
  }),
  rule('POST', '/api/seats/:eventId/:seatNumber/reserve', 'seat', 'user', {
    summary: 'Reserve a seat the caller holds (repeats by the holder answer 200 with one reservedAt)',
    body: reserveBody,
    answers: [ok('Seat', 'The reserved seat')],
    errors: HELD_SEAT_CONFLICTS,
  }),
  rule('POST', '/api/seats/:eventId/:seatNumber/refresh', 'seat', 'user', {
    summary: "Extend the caller's hold (not a seat change: no SEAT_UPDATE, no version)",
    body: refreshBody,
    answers: [ok('Hold', 'The hold with its new expiresAt')],
    errors: HELD_SEAT_CONFLICTS,
  }),
  rule('GET', '/api/seats/:eventId/:seatNumber/status', 'seat', 'public', {
    summary: "One seat's state (userId only for its holder or an admin)",
    answers: [ok('Seat', 'The seat')],
  }),
  rule('GET', '/api/seats/:eventId/user/:userId/holds', 'seat', 'user', {
    summary: "A user's live holds in an event (own only, unless admin)",
    answers: [ok('HoldList', 'Live holds')],
    errors: [E.Forbidden],
  }),
];

/** Matches the raw path (query stripped); HEAD is served like GET. */
export function matchRoute(method: string, rawUrl: string): RouteRule | undefined {
  const path = rawUrl.split('?', 1)[0]!;
  const effective = method === 'HEAD' ? 'GET' : method;
  return ROUTES.find((r) => r.method === effective && r.pattern.test(path));
}
