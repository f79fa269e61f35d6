import { Router, type Request, type RequestHandler, type Response } from 'express';
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

type SeatTarget = { eventId: string; seatNumber: number };

function seatTarget(req: Request): SeatTarget {
  const params = validate<{ eventId: string; seatNumber: string }>(seatParams, req.params, 'path');
  // Canonical numbers too large for any event are still valid syntax: they are simply above totalSeats.
  const seatNumber = params.seatNumber.length > 9 ? Number.MAX_SAFE_INTEGER : Number(params.seatNumber);
  return { eventId: params.eventId.toLowerCase(), seatNumber };
}

/** The `:eventId` of the path, validated, in its canonical (lower) case. */
export function eventIdOf(req: Request): string {
  return validate<{ eventId: string }>(eventParams, req.params, 'path').eventId.toLowerCase();
}

/**
 * Every mutation: the caller's identity and the JSON body; then the path (`target`), then the body checked
 * against `schema` (an absent body is `{}` unless the schema requires one; a userId in it must be the
 * caller's), then `handle`.
 */
export function mutationRoute<T, B>(
  verifier: TokenVerifier,
  target: (req: Request) => T,
  schema: Joi.Schema,
  handle: (target: T, body: B, req: Request, res: Response) => Promise<void>,
): RequestHandler[] {
  const bodyRequired = (schema.describe() as { flags?: { presence?: string } }).flags?.presence === 'required';
  return [
    authenticate(verifier, 'user'),
    jsonBody(),
    route(async (req, res) => {
      const parsedTarget = target(req);
      const body = validate<B & { userId?: string }>(
        schema,
        req.body === undefined && !bodyRequired ? {} : req.body,
        'body',
      );
      assertOwnUserId(req.caller!, body.userId);
      await handle(parsedTarget, body, req, res);
    }),
  ];
}

function readQuery(req: Request, schema: Joi.Schema = noQuery): Record<string, string> {
  return validate<Record<string, string>>(schema, { ...req.query }, 'query');
}

export function seatRoutes(rules: SeatRules, verifier: TokenVerifier): Router {
  const router = Router();

  router.post(
    '/api/seats/:eventId/:seatNumber/hold',
    ...mutationRoute<SeatTarget, HoldBody>(verifier, seatTarget, holdBody, async (seat, body, req, res) => {
      const { created, hold } = await rules.hold(seat.eventId, seat.seatNumber, req.caller!.userId, body.holdDuration);
      res.status(created ? 201 : 200).json(hold);
    }),
  );

  router.post(
    '/api/seats/:eventId/:seatNumber/reserve',
    ...mutationRoute<SeatTarget, UserBody>(verifier, seatTarget, reserveBody, async (seat, _body, req, res) => {
      res.status(200).json(await rules.reserve(seat.eventId, seat.seatNumber, req.caller!.userId, req.requestId));
    }),
  );

  router.post(
    '/api/seats/:eventId/reserve',
    ...mutationRoute<string, MultiReserveBody>(
      verifier,
      eventIdOf,
      multiReserveBody,
      async (eventId, body, req, res) => {
        res
          .status(200)
          .json({ items: await rules.reserveMany(eventId, body.seats, req.caller!.userId, req.requestId) });
      },
    ),
  );

  router.post(
    '/api/seats/:eventId/:seatNumber/refresh',
    ...mutationRoute<SeatTarget, HoldBody>(verifier, seatTarget, refreshBody, async (seat, body, req, res) => {
      res.status(200).json(await rules.refresh(seat.eventId, seat.seatNumber, req.caller!.userId, body.holdDuration));
    }),
  );

  router.delete(
    '/api/seats/:eventId/:seatNumber/hold',
    ...mutationRoute<SeatTarget, UserBody>(verifier, seatTarget, releaseBody, async (seat, _body, req, res) => {
      await rules.release(seat.eventId, seat.seatNumber, req.caller!.userId);
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
      const eventId = eventIdOf(req);
      readQuery(req);
      res.json(await rules.availableSeats(eventId));
    }),
  );

  router.get(
    '/api/events/:eventId/seats',
    authenticate(verifier, 'public'),
    route(async (req, res) => {
      const eventId = eventIdOf(req);
      readQuery(req);
      res.json(await rules.seatMap(eventId, req.caller));
    }),
  );

  router.get(
    '/api/events/:eventId/history',
    authenticate(verifier, 'admin'),
    route(async (req, res) => {
      const eventId = eventIdOf(req);
      const query = readQuery(req, pageQuery);
      const limit = query.limit ? Number(query.limit) : LIMITS.pageLimitDefault;
      let afterSeq = 0;
      if (query.cursor !== undefined) {
        const decoded = decodeSeqCursor(query.cursor);
        if (decoded === undefined) throw new AppError(ErrorCodes.ValidationFailed, 'Invalid cursor');
        afterSeq = decoded;
      }
      res.json(await rules.history(eventId, afterSeq, limit));
    }),
  );

  return router;
}
