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
const rule = (method: string, path: string, upstream: Upstream, access: Access, doc: RouteDoc): RouteRule => ({
  method,
  path,
  pattern: new RegExp(`^${path.replace(/:[a-zA-Z]+/g, SEG)}/?$`),
  upstream,
  access,
  mutation: method !== 'GET',
  doc,
});

const E = ErrorCodes;
const SEAT_409S = [E.EventNotActive, E.SeatUnavailable, E.HoldNotFound, E.UserLimitReached] as const;
const ok = (schema: ResponseSchemaName, description: string, status = 200): RouteAnswer => ({
  status,
  schema,
  description,
});

// Order matters: the first match wins, so literal segments come before parameters.
export const ROUTES: readonly RouteRule[] = [
  rule('GET', '/api/events', 'event', 'public', {
    summary: 'List events, newest first',
    tag: 'events',
    query: pageQuery,
    answers: [ok('EventPage', 'A page of events')],
    errors: [],
  }),
  rule('POST', '/api/events', 'event', 'admin', {
    summary: 'Create an event',
    tag: 'events',
    body: createEventBody,
    answers: [ok('Event', 'The created event', 201)],
    errors: [],
  }),
  rule('GET', '/api/events/:id/seats/available', 'seat', 'public', {
    summary: "An event's available seat numbers, ascending",
    tag: 'events',
    answers: [ok('AvailableSeats', 'Available seats')],
    errors: [E.EventNotFound],
  }),
  rule('GET', '/api/events/:id/seats', 'seat', 'public', {
    summary: "An event's whole seat map, with the version it is complete up to",
    tag: 'events',
    answers: [ok('SeatMap', 'The seat map')],
    errors: [E.EventNotFound],
  }),
  rule('GET', '/api/events/:id/history', 'seat', 'admin', {
    summary: "An event's audit trail, oldest first",
    tag: 'events',
    query: pageQuery,
    answers: [ok('AuditPage', 'A page of audit entries')],
    errors: [E.EventNotFound],
  }),
  rule('GET', '/api/events/:id', 'event', 'public', {
    summary: 'One event with its seat counts',
    tag: 'events',
    answers: [ok('EventWithCounts', 'The event')],
    errors: [E.EventNotFound],
  }),
  rule('PATCH', '/api/events/:id', 'event', 'admin', {
    summary: "Change an event's status, name or description",
    tag: 'events',
    body: updateEventBody,
    answers: [ok('Event', 'The changed event')],
    errors: [E.EventNotFound],
  }),
  rule('POST', '/api/seats/:eventId/hold', 'seat', 'user', {
    summary: 'Hold several seats, all or nothing',
    tag: 'seats',
    body: multiHoldBody,
    answers: [ok('HoldList', 'The holds, in ascending seat order', 201)],
    errors: [E.EventNotFound, E.EventNotActive, E.SeatUnavailable, E.UserLimitReached],
  }),
  rule('POST', '/api/seats/:eventId/reserve', 'seat', 'user', {
    summary: "Reserve several of the caller's held seats, all or nothing",
    tag: 'seats',
    body: multiReserveBody,
    answers: [ok('SeatList', 'The reserved seats, in ascending seat order')],
    errors: [E.EventNotFound, E.EventNotActive, E.SeatUnavailable, E.HoldNotFound],
  }),
  rule('POST', '/api/seats/:eventId/best-available', 'seat', 'user', {
    summary: 'Hold the best available seats (one adjacent run by default), atomically',
    tag: 'seats',
    body: bestAvailableBody,
    answers: [ok('HoldList', 'The holds, in ascending seat order', 201)],
    errors: [E.EventNotFound, E.EventNotActive, E.SeatUnavailable, E.UserLimitReached],
  }),
  rule('POST', '/api/seats/:eventId/:seatNumber/hold', 'seat', 'user', {
    summary: 'Hold one seat',
    tag: 'seats',
    body: holdBody,
    answers: [
      ok('Hold', 'The new hold', 201),
      ok('Hold', 'The caller already held this seat: the current hold, unchanged'),
    ],
    errors: [E.EventNotFound, E.SeatNotFound, ...SEAT_409S.filter((c) => c !== E.HoldNotFound)],
  }),
  rule('DELETE', '/api/seats/:eventId/:seatNumber/hold', 'seat', 'user', {
    summary: "Release the caller's hold; the seat is available again at once",
    tag: 'seats',
    body: releaseBody,
    answers: [{ status: 204, description: 'Released' }],
    errors: [E.EventNotFound, E.SeatNotFound, E.SeatUnavailable, E.HoldNotFound],
  }),
  rule('POST', '/api/seats/:eventId/:seatNumber/reserve', 'seat', 'user', {
    summary: 'Reserve a seat the caller holds (repeats by the holder answer 200 with one reservedAt)',
    tag: 'seats',
    body: reserveBody,
    answers: [ok('Seat', 'The reserved seat')],
    errors: [E.EventNotFound, E.SeatNotFound, E.EventNotActive, E.SeatUnavailable, E.HoldNotFound],
  }),
  rule('POST', '/api/seats/:eventId/:seatNumber/refresh', 'seat', 'user', {
    summary: "Extend the caller's hold (not a seat change: no SEAT_UPDATE, no version)",
    tag: 'seats',
    body: refreshBody,
    answers: [ok('Hold', 'The hold with its new expiresAt')],
    errors: [E.EventNotFound, E.SeatNotFound, E.EventNotActive, E.SeatUnavailable, E.HoldNotFound],
  }),
  rule('GET', '/api/seats/:eventId/:seatNumber/status', 'seat', 'public', {
    summary: "One seat's state (userId only for its holder or an admin)",
    tag: 'seats',
    answers: [ok('Seat', 'The seat')],
    errors: [E.EventNotFound, E.SeatNotFound],
  }),
  rule('GET', '/api/seats/:eventId/user/:userId/holds', 'seat', 'user', {
    summary: "A user's live holds in an event (own only, unless admin)",
    tag: 'seats',
    answers: [ok('HoldList', 'Live holds')],
    errors: [E.Forbidden, E.EventNotFound],
  }),
];

/** Matches the raw path (query stripped); HEAD is served like GET. */
export function matchRoute(method: string, rawUrl: string): RouteRule | undefined {
  const path = rawUrl.split('?', 1)[0]!;
  const effective = method === 'HEAD' ? 'GET' : method;
  return ROUTES.find((r) => r.method === effective && r.pattern.test(path));
}
