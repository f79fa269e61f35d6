import { Router, type Request, type RequestHandler } from 'express';
import Joi from 'joi';
import {
  ErrorCodes,
  LIMITS,
  SEAT_NUMBER_PATTERN,
  holdBody,
  multiReserveBody,
  pageQuery,
  refreshBody,
  releaseBody,
  reserveBody,
  uuidSchema,
  type HoldBody,
  type MultiReserveBody,
  type UserBody,
} from '@zephyr/contracts';
import { AppError, authenticate, jsonBody, route, validate, type TokenVerifier } from '@zephyr/runtime';
import { decodeSeqCursor, type SeatRules } from '../../domain/seat-rules';
import { assertOwnUserId } from './identity';

const eventIdParam = uuidSchema.required();
const seatParams = Joi.object({
  eventId: eventIdParam,
  seatNumber: Joi.string().pattern(SEAT_NUMBER_PATTERN, { name: 'canonical positive integer' }).required(),
}).options({ abortEarly: false });
const userHoldsParams = Joi.object({ eventId: eventIdParam, userId: uuidSchema.required() }).options({
  abortEarly: false,
});
const eventParams = Joi.object({ eventId: eventIdParam });
const noQuery = Joi.object({}).options({ allowUnknown: false });

function seatTarget(req: Request): { eventId: string; seatNumber: number } {
  const params = validate<{ eventId: string; seatNumber: string }>(seatParams, req.params, 'path');
  // Canonical numbers too large for any event are still valid syntax: they are simply above totalSeats.
  const seatNumber = params.seatNumber.length > 9 ? Number.MAX_SAFE_INTEGER : Number(params.seatNumber);
  return { eventId: params.eventId.toLowerCase(), seatNumber };
}

/** The identity-then-body preamble of every mutation. */
export function mutation(verifier: TokenVerifier): RequestHandler[] {
  return [authenticate(verifier, 'user'), jsonBody()];
}

function readQuery(req: Request, schema: Joi.Schema = noQuery): Record<string, string> {
  return validate<Record<string, string>>(schema, { ...req.query }, 'query');
}

export function seatRoutes(rules: SeatRules, verifier: TokenVerifier): Router {
  const router = Router();

  router.post(
    '/api/seats/:eventId/:seatNumber/hold',
    ...mutation(verifier),
    route(async (req, res) => {
      const target = seatTarget(req);
      const body = validate<HoldBody>(holdBody, req.body === undefined ? {} : req.body, 'body');
      assertOwnUserId(req.caller!, body.userId);
      const { created, hold } = await rules.hold(
        target.eventId,
        target.seatNumber,
        req.caller!.userId,
        body.holdDuration,
      );
      res.status(created ? 201 : 200).json(hold);
    }),
  );

  router.post(
    '/api/seats/:eventId/:seatNumber/reserve',
    ...mutation(verifier),
    route(async (req, res) => {
      const target = seatTarget(req);
      const body = validate<UserBody>(reserveBody, req.body === undefined ? {} : req.body, 'body');
      assertOwnUserId(req.caller!, body.userId);
      res.status(200).json(await rules.reserve(target.eventId, target.seatNumber, req.caller!.userId, req.requestId));
    }),
  );

  router.post(
    '/api/seats/:eventId/reserve',
    ...mutation(verifier),
    route(async (req, res) => {
      const { eventId } = validate<{ eventId: string }>(eventParams, req.params, 'path');
      const body = validate<MultiReserveBody>(multiReserveBody, req.body, 'body');
      res.status(200).json({
        items: await rules.reserveMany(eventId.toLowerCase(), body.seats, req.caller!.userId, req.requestId),
      });
    }),
  );

  router.post(
    '/api/seats/:eventId/:seatNumber/refresh',
    ...mutation(verifier),
    route(async (req, res) => {
      const target = seatTarget(req);
      const body = validate<HoldBody>(refreshBody, req.body === undefined ? {} : req.body, 'body');
      assertOwnUserId(req.caller!, body.userId);
      res
        .status(200)
        .json(await rules.refresh(target.eventId, target.seatNumber, req.caller!.userId, body.holdDuration));
    }),
  );

  router.delete(
    '/api/seats/:eventId/:seatNumber/hold',
    ...mutation(verifier),
    route(async (req, res) => {
      const target = seatTarget(req);
      const body = validate<UserBody>(releaseBody, req.body === undefined ? {} : req.body, 'body');
      assertOwnUserId(req.caller!, body.userId);
      await rules.release(target.eventId, target.seatNumber, req.caller!.userId);
      res.status(204).end();
    }),
  );

  router.get(
    '/api/seats/:eventId/:seatNumber/status',
    authenticate(verifier, 'public'),
    route(async (req, res) => {
      const target = seatTarget(req);
      readQuery(req);
      res.json(await rules.seatStatus(target.eventId, target.seatNumber, req.caller));
    }),
  );

  router.get(
    '/api/seats/:eventId/user/:userId/holds',
    authenticate(verifier, 'user'),
    route(async (req, res) => {
      const params = validate<{ eventId: string; userId: string }>(userHoldsParams, req.params, 'path');
      readQuery(req);
      const userId = params.userId.toLowerCase();
      if (!req.caller!.isAdmin && req.caller!.userId !== userId) {
        throw new AppError(ErrorCodes.Forbidden, 'You can only read your own holds');
      }
      res.json({ items: await rules.userHolds(params.eventId.toLowerCase(), userId) });
    }),
  );

  router.get(
    '/api/events/:eventId/seats/available',
    authenticate(verifier, 'public'),
    route(async (req, res) => {
      const { eventId } = validate<{ eventId: string }>(eventParams, req.params, 'path');
      readQuery(req);
      res.json(await rules.availableSeats(eventId.toLowerCase()));
    }),
  );

  router.get(
    '/api/events/:eventId/seats',
    authenticate(verifier, 'public'),
    route(async (req, res) => {
      const { eventId } = validate<{ eventId: string }>(eventParams, req.params, 'path');
      readQuery(req);
      res.json(await rules.seatMap(eventId.toLowerCase(), req.caller));
    }),
  );

  router.get(
    '/api/events/:eventId/history',
    authenticate(verifier, 'admin'),
    route(async (req, res) => {
      const { eventId } = validate<{ eventId: string }>(eventParams, req.params, 'path');
      const query = readQuery(req, pageQuery);
      const limit = query.limit ? Number(query.limit) : LIMITS.pageLimitDefault;
      let afterSeq = 0;
      if (query.cursor !== undefined) {
        const decoded = decodeSeqCursor(query.cursor);
        if (decoded === undefined) throw new AppError(ErrorCodes.ValidationFailed, 'Invalid cursor');
        afterSeq = decoded;
      }
      res.json(await rules.history(eventId.toLowerCase(), afterSeq, limit));
    }),
  );

  return router;
}
