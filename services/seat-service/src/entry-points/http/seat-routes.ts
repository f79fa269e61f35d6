import type { Request, Router } from 'express';
import Joi from 'joi';
import {
  ErrorCodes,
  LIMITS,
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
  type Identity,
} from '@zephyr/contracts';
import { AppError, validate, type TokenVerifier } from '@zephyr/runtime';
import { decodeSeqCursor, type SeatRules } from '../../domain/seat-rules';
import { eventIdOf, seatRouter, seatTarget, type SeatTarget } from './seat-router';

const userHoldsParams = Joi.object({ eventId: uuidSchema.required(), userId: uuidSchema.required() }).options({
  abortEarly: false,
});

/** The `:eventId` and `:userId` of the path, validated, in their canonical (lower) case. */
function userHoldsTarget(req: Request): { eventId: string; userId: string } {
  const params = validate<{ eventId: string; userId: string }>(userHoldsParams, req.params, 'path');
  return { eventId: params.eventId.toLowerCase(), userId: params.userId.toLowerCase() };
}

/** The single-seat hold: its route (also its metrics label), and its rule and status, which the batch shares. */
export const HOLD_ROUTE = '/api/seats/:eventId/:seatNumber/hold';

/** The single-seat hold route's rule and status, shared with the batch of holds the gateway sends. */
export async function holdSeat(rules: SeatRules, seat: SeatTarget, caller: Identity, body: HoldBody) {
  const { created, hold } = await rules.hold(seat.eventId, seat.seatNumber, caller.userId, body.holdDuration);
  return { status: created ? 201 : 200, hold };
}

export function seatRoutes(rules: SeatRules, verifier: TokenVerifier): Router {
  const { router, mutation, read } = seatRouter(verifier);
  const seatPath = (action: string) => `/api/seats/:eventId/:seatNumber/${action}`;

  mutation<SeatTarget, HoldBody>('post', HOLD_ROUTE, seatTarget, holdBody, async (seat, body, req, res) => {
    const { status, hold } = await holdSeat(rules, seat, req.caller!, body);
    res.status(status).json(hold);
  });

  mutation<SeatTarget, UserBody>(
    'post',
    seatPath('reserve'),
    seatTarget,
    reserveBody,
    async (seat, _body, req, res) => {
      res.status(200).json(await rules.reserve(seat.eventId, seat.seatNumber, req.caller!.userId, req.requestId));
    },
  );

  mutation<string, MultiReserveBody>(
    'post',
    '/api/seats/:eventId/reserve',
    eventIdOf,
    multiReserveBody,
    async (eventId, body, req, res) => {
      res.status(200).json({ items: await rules.reserveMany(eventId, body.seats, req.caller!.userId, req.requestId) });
    },
  );

  mutation<SeatTarget, HoldBody>('post', seatPath('refresh'), seatTarget, refreshBody, async (seat, body, req, res) => {
    res.status(200).json(await rules.refresh(seat.eventId, seat.seatNumber, req.caller!.userId, body.holdDuration));
  });

  mutation<SeatTarget, UserBody>('delete', seatPath('hold'), seatTarget, releaseBody, async (seat, _body, req, res) => {
    await rules.release(seat.eventId, seat.seatNumber, req.caller!.userId);
    res.status(204).end();
  });

  read(seatPath('status'), 'public', seatTarget, async (seat, _query, req, res) => {
    res.json(await rules.seatStatus(seat.eventId, seat.seatNumber, req.caller));
  });

  read(
    '/api/seats/:eventId/user/:userId/holds',
    'user',
    userHoldsTarget,
    async ({ eventId, userId }, _query, req, res) => {
      if (!req.caller!.isAdmin && req.caller!.userId !== userId) {
        throw new AppError(ErrorCodes.Forbidden, 'You can only read your own holds');
      }
      res.json({ items: await rules.userHolds(eventId, userId) });
    },
  );

  read('/api/events/:eventId/seats/available', 'public', eventIdOf, async (eventId, _query, _req, res) => {
    res.json(await rules.availableSeats(eventId));
  });

  read('/api/events/:eventId/seats', 'public', eventIdOf, async (eventId, _query, req, res) => {
    res.json(await rules.seatMap(eventId, req.caller));
  });

  read(
    '/api/events/:eventId/history',
    'admin',
    eventIdOf,
    async (eventId, query, _req, res) => {
      const limit = query.limit ? Number(query.limit) : LIMITS.pageLimitDefault;
      let afterSeq = 0;
      if (query.cursor !== undefined) {
        const decoded = decodeSeqCursor(query.cursor);
        if (decoded === undefined) throw new AppError(ErrorCodes.ValidationFailed, 'Invalid cursor');
        afterSeq = decoded;
      }
      res.json(await rules.history(eventId, afterSeq, limit));
    },
    pageQuery,
  );

  return router;
}
